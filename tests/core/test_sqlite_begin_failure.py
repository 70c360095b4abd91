"""A transaction whose ``BEGIN IMMEDIATE`` fails must not leave the SQLite client locked.

Tortoise's SQLite transaction context takes the client's one lock before
``begin()``; if ``begin()`` raises (another process held the write lock past
the busy timeout) or is cancelled while waiting, its ``__aexit__`` never runs.
Every later query of the process would then wait for that lock forever.

SQLite-only by nature, so the test builds its own client on a temporary file
(it runs in the PostgreSQL pass too; the suite's database only provides
Tortoise's context).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tortoise import connections
from tortoise.exceptions import TransactionManagementError

from aftersales.core.db_sqlite import DeskSqliteClient

NAME = "begin_failure_test"

# Tortoise keeps its current connections in the context ``Tortoise.init`` sets up.
pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[DeskSqliteClient]:
    desk = DeskSqliteClient(str(tmp_path / "desk.db"), connection_name=NAME, busy_timeout=200)
    await desk.create_connection(with_db=True)
    await desk.execute_script("CREATE TABLE thing (id INTEGER PRIMARY KEY)")
    yield desk
    await desk.close()


@pytest.fixture
def other_writer(client: DeskSqliteClient) -> Iterator[sqlite3.Connection]:
    """A second process's connection (the CLI sync, say) holding the write lock."""
    other = sqlite3.connect(client.filename, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("COMMIT")
        other.close()


async def write_one(client: DeskSqliteClient) -> None:
    async with client._in_transaction() as conn:
        await conn.execute_insert("INSERT INTO thing DEFAULT VALUES", [])


async def assert_client_usable(client: DeskSqliteClient) -> None:
    """A plain query and a new transaction complete, and nothing was left open."""
    assert not client._lock.locked()
    assert connections._get_storage().get(NAME) is None
    count, _rows = await asyncio.wait_for(client.execute_query("SELECT id FROM thing"), 5)
    assert count == 0
    await asyncio.wait_for(write_one(client), 5)
    _count, rows = await asyncio.wait_for(client.execute_query("SELECT id FROM thing"), 5)
    assert len(rows) == 1
    assert client._connection is not None and not client._connection.in_transaction


async def test_a_begin_past_the_busy_timeout_releases_the_client(
    client: DeskSqliteClient, other_writer: sqlite3.Connection
) -> None:
    with pytest.raises(TransactionManagementError, match="locked"):
        await asyncio.wait_for(write_one(client), 5)
    other_writer.execute("COMMIT")

    await assert_client_usable(client)


async def test_a_begin_cancelled_while_waiting_releases_the_client(
    client: DeskSqliteClient, other_writer: sqlite3.Connection
) -> None:
    request = asyncio.create_task(write_one(client))
    await asyncio.sleep(0.05)  # the BEGIN IMMEDIATE waits on the other writer's lock
    assert client._lock.locked()
    request.cancel()
    other_writer.execute("COMMIT")  # the abandoned BEGIN may now succeed in aiosqlite's thread
    with pytest.raises(asyncio.CancelledError):
        await request

    await assert_client_usable(client)
