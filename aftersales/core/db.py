"""Database set-up: one Tortoise app per desk module, migrations per app.

Each module keeps its tables in its own Tortoise app (label = module name)
with its own ``migrations`` package, so a third-party module brings its own
schema without touching ours.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.fields import TextField
from tortoise.migrations.api import migrate as run_migrations
from tortoise.models import Model

from aftersales.core.auth import MAX_TEXT
from aftersales.core.config import Settings
from aftersales.core.errors import ConfigError, InvalidInput, Msgid
from aftersales.core.i18n import N_
from aftersales.core.modules import Registry


def db_url(url: str) -> str:
    # Tortoise names the asyncpg backend "postgres"; accept the common spelling too.
    if url.startswith("postgresql://"):
        return "postgres://" + url.removeprefix("postgresql://")
    return url


# Tortoise's own engines and the desk's clients that replace them.
DESK_ENGINES = {
    "tortoise.backends.sqlite": "aftersales.core.db_sqlite",
    "tortoise.backends.asyncpg": "aftersales.core.db_asyncpg",
}


def connection_config(url: str) -> dict[str, Any]:
    """Tortoise's reading of the URL, on the desk's clients.

    They open an ``aftercommit`` frame around every transaction block, and on
    SQLite begin write transactions immediately with a busy timeout.
    """
    config: dict[str, Any] = expand_db_url(db_url(url))
    config["engine"] = DESK_ENGINES.get(config["engine"], config["engine"])
    return config


def tortoise_config(settings: Settings, registry: Registry | None = None) -> dict[str, Any]:
    apps = (registry or Registry.build(settings)).tortoise_apps()
    return {
        "connections": {"default": connection_config(settings.database_url)},
        "apps": apps,
        "use_tz": True,
        "timezone": "UTC",
    }


SQLITE_NEEDED = (3, 35)  # INSERT ... RETURNING, which bulk_upsert relies on
SQLITE_FILE_MODE = 0o600

log = logging.getLogger("aftersales.db")


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite://`` URL (as Tortoise reads it); None for memory or a server."""
    if not url.startswith("sqlite://"):
        return None
    parts = urlsplit(url)
    path = parts.netloc + parts.path
    return None if not path or path == ":memory:" else Path(path)


def private_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use 0644 and the umask).

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so
    they follow. A file an older desk made readable to others is tightened.
    """
    path = sqlite_path(url)
    if path is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    except FileExistsError:
        for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                mode = existing.stat().st_mode & 0o777
                if mode & 0o077:
                    os.chmod(existing, SQLITE_FILE_MODE)
                    log.info("db.file_made_private path=%s was=%o", existing, mode)
            except FileNotFoundError:
                continue
            except PermissionError:  # not ours to change: leave it to the operator
                continue
        return
    except OSError:  # no such folder, say: SQLite itself reports it in its own words
        return
    os.close(fd)


async def init_db(settings: Settings, *, create_db: bool = False) -> None:
    """Open the database for this process (web, worker or CLI)."""
    if not settings.database_url.startswith("postgres") and sqlite3.sqlite_version_info < (
        SQLITE_NEEDED
    ):
        raise ConfigError(
            "SQLite %(version)s is too old: the desk needs 3.35 or newer "
            "(or set DATABASE_URL to PostgreSQL).",
            version=sqlite3.sqlite_version,
        )
    private_sqlite_file(settings.database_url)
    await Tortoise.init(
        config=tortoise_config(settings), _create_db=create_db, _enable_global_fallback=True
    )


async def migrate(settings: Settings, *, target: str | None = None) -> None:
    """Bring the schema to the newest migration of every enabled module."""
    private_sqlite_file(settings.database_url)
    await run_migrations(config=tortoise_config(settings), target=target)


async def close_db() -> None:
    await connections.close_all(discard=True)
    await Tortoise.close_connections()


async def ping() -> None:
    await connections.get("default").execute_query("SELECT 1")


def too_long(
    model: type[Model], values: Mapping[str, Any], *, text_limit: int | None = None
) -> tuple[str, int, int] | None:
    """The first value longer than its column allows, as ``(field, limit, length)``.

    Limits come from the model's ``max_length``, so SQLite (which stores any
    length) refuses what PostgreSQL would. ``text_limit`` also bounds TEXT
    columns, for values people type.
    """
    fields_map = model._meta.fields_map
    for name, value in values.items():
        field = fields_map.get(name)
        if field is None or not isinstance(value, str):
            continue
        limit = getattr(field, "max_length", None)
        if limit is None and isinstance(field, TextField):
            limit = text_limit
        if limit is not None and len(value) > limit:
            return name, limit, len(value)
    return None


def check_lengths(
    model: type[Model], values: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> None:
    """Refuse a form or API value longer than its column (TEXT: ``MAX_TEXT``), with a 400."""
    problem = too_long(model, values, text_limit=MAX_TEXT)
    if problem is None:
        return
    name, limit, length = problem
    label = (labels or {}).get(name)
    raise InvalidInput(
        N_("%(field)s is at most %(max)s characters; this one has %(length)s."),
        field=Msgid(label) if label else name,
        max=limit,
        length=length,
        code="too_long",
    )


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(" ")


def _sqlite_enum(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _sqlite_converter(sample: Any) -> Callable[[Any], Any] | None:
    """How SQLite stores a value of this type, as Tortoise does; None: as it is."""
    if isinstance(sample, Decimal):
        return str
    if isinstance(sample, datetime):
        return _sqlite_time
    if isinstance(sample, Enum):
        return _sqlite_enum
    return None


def sqlite_value(value: Any) -> Any:
    """Store values exactly as Tortoise does on SQLite (text for decimals and times)."""
    convert = _sqlite_converter(value)
    return value if convert is None else convert(value)


def _postgres_column(values: tuple[Any, ...]) -> list[Any]:
    """One column's values for an array parameter; enums as their values.

    A column holds one type, so one look at a non-null value decides: the
    common case copies the column without a per-cell call.
    """
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, Enum):
        return [v.value if isinstance(v, Enum) else v for v in values]
    return list(values)


def _sqlite_column(values: Sequence[Any]) -> Sequence[Any]:
    """One column stored as ``sqlite_value`` stores it, with one type test for the column.

    A column holds one type, so one look at a non-null value decides, as in
    ``_postgres_column``: text and numbers pass as they are, and the rest are
    converted without a ``sqlite_value`` call per cell (a sync page has
    hundreds of thousands of cells).
    """
    convert = _sqlite_converter(next((v for v in values if v is not None), None))
    if convert is None:
        return values
    return [None if v is None else convert(v) for v in values]


def _sqlite_rows(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows with their values stored as ``sqlite_value`` stores them, column by column."""
    columns = [_sqlite_column(values) for values in zip(*rows, strict=True)]
    return [list(row) for row in zip(*columns, strict=True)]


# SQLite's default limit on ? parameters per statement since 3.32 is 32766.
SQLITE_MAX_VARIABLES = 32000


async def bulk_upsert(
    conn: BaseDBAsyncClient,
    table: str,
    columns: Sequence[str],
    rows: list[Sequence[Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
    returning: str | None = None,
    where: str | None = None,
    existed: set[Any] | None = None,
) -> dict[Any, Any]:
    """INSERT ... ON CONFLICT DO UPDATE for many rows in one round trip.

    Sync pages land through here rather than through model instances: building
    thousands of Tortoise objects per second cost more than the database did.
    Both SQLite (3.24+) and PostgreSQL speak this statement. With
    ``returning="id"`` it returns {last conflict column's value: id}, which
    callers need to link child rows.

    ``where`` guards the update inside the statement (``excluded."x" >=
    "table"."x"``), so two writers racing cannot undo each other: a row the
    guard refuses is left as it is and is not among the returned ids.

    On PostgreSQL, with ``returning``, ``existed`` collects the keys of the
    rows that were there before the statement (``xmax`` is 0 on a row it
    inserted). SQLite cannot tell them apart and refuses the argument.
    """
    if not rows:
        return {}
    postgres = conn.capabilities.dialect == "postgres"
    quoted = ", ".join(f'"{c}"' for c in columns)
    keys = ", ".join(f'"{c}"' for c in conflict)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in update)
    tail = f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    if where:
        tail += f" WHERE {where}"
    # The same key twice in one statement is an error on PostgreSQL: last one wins.
    width = len(conflict)
    assert list(columns[:width]) == list(conflict), "conflict columns must come first"
    unique = list({tuple(row[:width]): row for row in rows}.values()) if width else rows
    if not postgres:
        assert existed is None, "SQLite cannot tell inserted rows from updated ones"
        marks = "(" + ", ".join("?" for _ in columns) + ")"
        if returning is None:
            sql = f'INSERT INTO "{table}" ({quoted}) VALUES {marks} {tail}'
            await conn.execute_many(sql, _sqlite_rows(unique))
            return {}
        # RETURNING (SQLite 3.35+) hands back the ids of inserted and updated rows
        # alike. Looking them up afterwards with a row-value IN (VALUES ...) scanned
        # the whole table per page, so a sync got slower as the shop grew.
        found: dict[Any, Any] = {}
        per_statement = max(1, SQLITE_MAX_VARIABLES // len(columns))
        for start in range(0, len(unique), per_statement):
            chunk = unique[start : start + per_statement]
            sql = (
                f'INSERT INTO "{table}" ({quoted}) VALUES {", ".join(marks for _ in chunk)} '
                f'{tail} RETURNING "{conflict[-1]}", "{returning}"'
            )
            _, got = await conn.execute_query(sql, [v for row in _sqlite_rows(chunk) for v in row])
            found.update((r[0], r[1]) for r in got)
        return found
    # One statement with one array parameter per column, whatever the row count:
    # asyncpg binds arrays cheaply and the server plans it once, where a
    # multi-row VALUES list costs a parameter (and its parsing) per cell.
    types = await _postgres_types(conn, table)
    arrays = ", ".join(f"${n}::{types[c]}[]" for n, c in enumerate(columns, start=1))
    sql = f'INSERT INTO "{table}" ({quoted}) SELECT * FROM unnest({arrays}) {tail}'
    if returning:
        # Tortoise only fetches rows for statements that do not start with INSERT.
        sql = (
            f'WITH upserted AS ({sql} RETURNING "{conflict[-1]}", "{returning}", xmax <> 0) '
            "SELECT * FROM upserted"
        )
    values = [_postgres_column(column) for column in zip(*unique, strict=True)]
    _, got = await conn.execute_query(sql, values)
    if existed is not None:
        existed.update(r[0] for r in got if r[2])
    return {r[0]: r[1] for r in got} if returning else {}


async def bulk_insert(
    conn: BaseDBAsyncClient, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT many rows in one round trip, without model instances; a duplicate key raises.

    For lists written in one go (a handover's thousands of entries), where
    building a Tortoise object per row cost more than the database did.
    Values are stored as Tortoise stores them (``sqlite_value``); JSON
    columns take their text already encoded and lengths are the caller's to
    check (``too_long``), as with ``bulk_upsert``.
    """
    if not rows:
        return
    quoted = ", ".join(f'"{c}"' for c in columns)
    if conn.capabilities.dialect != "postgres":
        marks = "(" + ", ".join("?" for _ in columns) + ")"
        sql = f'INSERT INTO "{table}" ({quoted}) VALUES {marks}'
        await conn.execute_many(sql, _sqlite_rows(rows))
        return
    types = await _postgres_types(conn, table)
    arrays = ", ".join(f"${n}::{types[c]}[]" for n, c in enumerate(columns, start=1))
    sql = f'INSERT INTO "{table}" ({quoted}) SELECT * FROM unnest({arrays})'
    await conn.execute_query(sql, [_postgres_column(c) for c in zip(*rows, strict=True)])


async def insert_new(
    conn: BaseDBAsyncClient,
    table: str,
    columns: Sequence[str],
    rows: list[Sequence[Any]],
    *,
    conflict: Sequence[str],
) -> tuple[dict[Any, int], set[Any]]:
    """Insert the rows not there yet; ({last conflict column: id} of all, keys already there).

    Rows already there are left as they are: the caller decides later which
    of them to update (a buyer's details only when an order of theirs is
    written), and a first sync sends each row once. PostgreSQL tells the two
    apart in one upsert (``xmax`` is 0 on a row the statement inserted); a
    look-up first would be planned, on a table a first sync is still filling
    and has no statistics for, as a sequential scan per page. SQLite looks the
    keys up on the unique index first, then inserts the rest. All rows share
    the conflict columns but the last (one store's buyers).
    """
    if not rows:
        return {}, set()
    key = conflict[-1]
    if conn.capabilities.dialect == "postgres":
        existed: set[Any] = set()
        ids = await bulk_upsert(
            conn, table, columns, rows, conflict=conflict, update=[key], returning="id",
            existed=existed,
        )  # fmt: skip
        return ids, existed
    index = list(columns).index(key)
    scope = [(c, rows[0][list(columns).index(c)]) for c in conflict[:-1]]
    wanted = list({row[index] for row in rows})
    known: dict[Any, int] = {}
    where = " AND ".join(f'"{c}" = ?' for c, _ in scope)
    per_statement = SQLITE_MAX_VARIABLES - len(scope)
    for start in range(0, len(wanted), per_statement):
        chunk = wanted[start : start + per_statement]
        marks = ", ".join("?" for _ in chunk)
        sql = f'SELECT "{key}", "id" FROM "{table}" WHERE {where} AND "{key}" IN ({marks})'
        _, got = await conn.execute_query(sql, [*(sqlite_value(v) for _, v in scope), *chunk])
        known.update((r[0], r[1]) for r in got)
    fresh = [row for row in rows if row[index] not in known]
    ids = await bulk_upsert(
        conn, table, columns, fresh, conflict=conflict, update=[key], returning="id"
    )
    return known | ids, set(known)


_POSTGRES_TYPES: dict[str, dict[str, str]] = {}


async def _postgres_types(conn: BaseDBAsyncClient, table: str) -> dict[str, str]:
    """Column name -> SQL type of a table, read once per process from the catalog."""
    if table not in _POSTGRES_TYPES:
        _, rows = await conn.execute_query(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
            [f'"{table}"'],
        )
        _POSTGRES_TYPES[table] = {r[0]: r[1] for r in rows}
    return _POSTGRES_TYPES[table]
