"""A fresh, migrated database for one benchmark run: the set-up every benchmark shares."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from aftersales.core import db
from aftersales.core.config import Settings
from tests.databases import fresh_database_url


@contextlib.asynccontextmanager
async def fresh_desk() -> AsyncIterator[tuple[Settings, str]]:
    """Settings for an empty database of the kind ``DATABASE_URL`` names, migrated and open.

    Yields the settings and the database's name for the output line
    (``SQLite`` or ``PostgreSQL``); the database is dropped afterwards.
    """
    with tempfile.TemporaryDirectory() as tmp:
        async with fresh_database_url(Path(tmp)) as url:
            settings = Settings.from_env(
                {"AFTERSALES_DATA_DIR": tmp, "DATABASE_URL": url, "REDIS_URL": "redis://x"}
            )
            await db.migrate(settings)
            await db.close_db()
            await db.init_db(settings)
            yield settings, "PostgreSQL" if url.startswith("postgres") else "SQLite"
