"""The schema is managed by the committed migrations, and upgrading keeps data."""

from __future__ import annotations

import dataclasses
import importlib
from datetime import UTC, datetime
from pathlib import Path

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as run_migrations

from aftersales.core.config import Settings
from aftersales.core.db import tortoise_config
from tests.databases import fresh_database_url, in_own_tortoise_context

MIGRATIONS = Path(__file__).resolve().parents[2] / "aftersales" / "core" / "migrations"


def core_migrations() -> list[str]:
    return sorted(p.stem for p in MIGRATIONS.glob("0*.py"))


async def _rows(sql: str) -> list[dict]:
    _, rows = await connections.get("default").execute_query(sql)
    return [dict(row) for row in rows]


async def test_upgrade_from_the_previous_migration_keeps_every_row(
    settings: Settings, tmp_path: Path
) -> None:
    previous = core_migrations()[-2]
    async with fresh_database_url(tmp_path) as url:
        config = tortoise_config(dataclasses.replace(settings, database_url=url))
        await in_own_tortoise_context(lambda: _upgrade_keeps_rows(config, previous))


async def _upgrade_keeps_rows(config: dict, previous: str) -> None:
    await run_migrations(config=config, target=f"core.{previous}")
    conn = connections.get("default")
    for n in range(3):
        await conn.execute_insert(
            "INSERT INTO users (username, display_name, password_hash, role, is_active,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6)"
            if conn.capabilities.dialect == "postgres"
            else "INSERT INTO users (username, display_name, password_hash, role, is_active,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [f"old{n}", f"老用户{n}", "hash", "agent", True, datetime(2026, 1, 1, tzinfo=UTC)],
        )
    await Tortoise.close_connections()

    await run_migrations(config=config)
    rows = await _rows("SELECT username, display_name, locale FROM users ORDER BY username")
    assert rows == [
        {"username": f"old{n}", "display_name": f"老用户{n}", "locale": None} for n in range(3)
    ]
    # The newer schema works on the old rows.
    await connections.get("default").execute_script(
        "UPDATE users SET locale = 'zh_CN' WHERE username = 'old1'"
    )
    assert await _rows("SELECT count(*) AS n FROM orders") == [{"n": 0}]
    await Tortoise.close_connections()


async def test_migrating_twice_changes_nothing(settings: Settings, tmp_path: Path) -> None:
    async with fresh_database_url(tmp_path) as url:
        config = tortoise_config(dataclasses.replace(settings, database_url=url))
        await in_own_tortoise_context(lambda: _migrate_twice(config))


async def _migrate_twice(config: dict) -> None:
    await run_migrations(config=config)
    await Tortoise.close_connections()
    await run_migrations(config=config)
    assert await _rows("SELECT count(*) AS n FROM users") == [{"n": 0}]
    await Tortoise.close_connections()


def test_model_descriptions_hold_no_semicolons() -> None:
    """Tortoise's migration runner splits SQL on ';', and a table comment with one breaks it."""
    from aftersales.core.modules import all_modules

    for module in all_modules():
        if module.models is None:
            continue
        models = importlib.import_module(module.models)
        for value in vars(models).values():
            doc = getattr(value, "__doc__", None) or ""
            if getattr(value, "_meta", None) is not None and value.__module__ == models.__name__:
                assert ";" not in doc, f"{value.__name__}'s docstring has a ';'"
                for name, field in value._meta.fields_map.items():
                    said = field.description or ""
                    assert ";" not in said, f"{value.__name__}.{name}'s description has a ';'"


async def _unique_column_sets(table: str) -> set[tuple[str, ...]]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        _, rows = await conn.execute_query(
            "SELECT a.attname, i.indexrelid, array_position(i.indkey, a.attnum) "
            "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisunique",
            [f'"{table}"'],
        )
        found: dict[int, list[tuple[int, str]]] = {}
        for name, index, position in rows:
            found.setdefault(index, []).append((position, name))
        return {tuple(n for _, n in sorted(cols)) for cols in found.values()}
    sets = set()
    for index in await _rows(f'PRAGMA index_list("{table}")'):
        if index["unique"]:
            columns = await _rows(f'PRAGMA index_info("{index["name"]}")')
            sets.add(tuple(c["name"] for c in sorted(columns, key=lambda c: c["seqno"])))
    return sets


async def test_every_unique_together_survives_the_migrations(database: Settings) -> None:
    """Upserts depend on these constraints; a schema change that rebuilds a table
    (Tortoise's SQLite AlterField does) must not drop them."""
    checked = 0
    for app in Tortoise.apps.values():
        for model in app.values():
            meta = model._meta
            for fields in meta.unique_together or ():
                columns = tuple(meta.fields_map[f].source_field or f for f in fields)
                assert columns in await _unique_column_sets(meta.db_table), (meta.db_table, columns)
                checked += 1
    assert checked >= 6
