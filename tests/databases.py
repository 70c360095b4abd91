"""Real databases for tests: a temp SQLite file, or a fresh PostgreSQL database.

Set ``DATABASE_URL`` to a PostgreSQL server to run the suite there; each
``fresh_database_url`` call creates its own database and drops it after.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

T = TypeVar("T")


def server_url() -> str | None:
    url = os.environ.get("DATABASE_URL")
    return url if url and not url.startswith("sqlite") else None


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _asyncpg_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _sqlite_copy(source: str, target: str) -> None:
    """The whole of one SQLite database into a new file, through SQLite's backup."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


@contextlib.asynccontextmanager
async def fresh_database_url(directory: Path, *, copy_of: str | None = None) -> AsyncIterator[str]:
    """A URL to an empty database of the kind this run tests against, or to a copy of
    the database at ``copy_of`` (nobody may be connected to that one)."""
    server = server_url()
    if server is None:
        path = directory / f"db-{uuid.uuid4().hex[:8]}.sqlite3"
        if copy_of is not None:
            await asyncio.to_thread(_sqlite_copy, copy_of.removeprefix("sqlite://"), str(path))
        yield f"sqlite://{path}"
        return
    name = f"aftersales_test_{uuid.uuid4().hex[:10]}"
    template = "" if copy_of is None else f' TEMPLATE "{urlsplit(copy_of).path.lstrip("/")}"'
    admin = await asyncpg.connect(_asyncpg_url(_with_db(server, "postgres")))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await admin.close()
    try:
        yield _with_db(server, name)
    finally:
        admin = await asyncpg.connect(_asyncpg_url(_with_db(server, "postgres")))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def in_own_tortoise_context(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with no current Tortoise context, so the suite's stays untouched.

    ``Tortoise.init`` re-initialises whatever context is current, and
    pytest-asyncio shares one context across the session's tests.
    """
    from tortoise import context as tortoise_context

    context = contextvars.copy_context()
    context.run(tortoise_context._current_context.set, None)
    # The desk enables Tortoise's one process-wide fallback context; another
    # ``Tortoise.init`` refuses while one is set, so the suite's steps aside
    # for ``work`` and comes back after it.
    suite_global = tortoise_context._global_context
    tortoise_context._global_context = None
    try:
        return await asyncio.create_task(work(), context=context)
    finally:
        tortoise_context._global_context = suite_global
