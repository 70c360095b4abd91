"""Database set-up: one Tortoise app per desk module, migrations per app.

Each module keeps its tables in its own Tortoise app (label = module name)
with its own ``migrations`` package, so a third-party module brings its own
schema without touching ours.
"""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as run_migrations

from aftersales.core.config import Settings
from aftersales.core.modules import Module, enabled_modules


def db_url(url: str) -> str:
    # Tortoise names the asyncpg backend "postgres"; accept the common spelling too.
    if url.startswith("postgresql://"):
        return "postgres://" + url.removeprefix("postgresql://")
    return url


def tortoise_config(settings: Settings, modules: list[Module] | None = None) -> dict[str, Any]:
    modules = enabled_modules(settings) if modules is None else modules
    apps: dict[str, Any] = {}
    for module in modules:
        if module.models is None:
            continue
        apps[module.name] = {
            "models": [module.models],
            "migrations": module.migrations,
            "default_connection": "default",
        }
    return {
        "connections": {"default": db_url(settings.database_url)},
        "apps": apps,
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(settings: Settings, *, create_db: bool = False) -> None:
    """Open the database for this process (web, worker or CLI)."""
    await Tortoise.init(
        config=tortoise_config(settings), _create_db=create_db, _enable_global_fallback=True
    )


async def migrate(settings: Settings, *, target: str | None = None) -> None:
    """Bring the schema to the newest migration of every enabled module."""
    await run_migrations(config=tortoise_config(settings), target=target)


async def close_db() -> None:
    await connections.close_all(discard=True)
    await Tortoise.close_connections()


async def ping() -> None:
    await connections.get("default").execute_query("SELECT 1")
