"""The desk's SQLite client: immediate write transactions, a busy timeout, after-commit frames.

Write transactions begin with ``BEGIN IMMEDIATE``. A deferred transaction
that reads and then writes cannot wait for another process's write lock
(SQLite answers ``database is locked`` at once rather than risk a deadlock);
one that takes the lock at ``BEGIN`` waits up to ``busy_timeout`` like any
other writer. The CLI, the web process and a worker then share one file.

Every transaction block, savepoints too, is wrapped in an
``aftercommit.TransactionFrame`` (Tortoise's ``in_transaction()`` has no
after-commit hook). ``db.tortoise_config`` names this module as the engine;
its name must keep "sqlite" in it, which is how Tortoise's migrations pick
their schema editor.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.exceptions import TransactionManagementError

from aftersales.core.aftercommit import TransactionFrame

# Milliseconds a writer waits for another process's lock before giving up.
BUSY_TIMEOUT_MS = 15_000


class DeskSqliteClient(SqliteClient):
    """SQLite with immediate write transactions, a busy timeout and after-commit frames."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", BUSY_TIMEOUT_MS)
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return TransactionFrame(SqliteTransactionContext(DeskSqliteTransaction(self), self._lock))

    @translate_exceptions
    async def execute_many(self, query: str, values: list[Any]) -> None:
        # Tortoise's autocommit executemany opens a deferred transaction of its own.
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)
            await connection.execute("BEGIN IMMEDIATE")
            try:
                await connection.executemany(query, values)
            except Exception:
                await connection.rollback()
                raise
            else:
                await connection.commit()


class DeskSqliteTransaction(SqliteTransactionWrapper):
    """A SQLite transaction that takes the write lock when it begins."""

    def _in_transaction(self) -> TransactionContext:
        return TransactionFrame(NestedTransactionContext(DeskSqliteTransaction(self)))

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


client_class = DeskSqliteClient
