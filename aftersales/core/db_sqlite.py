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

import logging
import sqlite3
from typing import Any

import aiosqlite
from tortoise.backends.base.client import (
    NestedTransactionContext,
    TransactionalDBClient,
    TransactionContext,
)
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import ConnectionToken, get_connections
from tortoise.exceptions import TransactionManagementError

from aftersales.core.aftercommit import TransactionFrame

log = logging.getLogger("aftersales.db")

# Milliseconds a writer waits for another process's lock before giving up.
BUSY_TIMEOUT_MS = 15_000


class DeskSqliteClient(SqliteClient):
    """SQLite with immediate write transactions, a busy timeout and after-commit frames."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", BUSY_TIMEOUT_MS)
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        transaction = DeskSqliteTransaction(self)
        return TransactionFrame(DeskSqliteTransactionContext(transaction, self._lock))

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


class DeskSqliteTransactionContext(SqliteTransactionContext):
    """Tortoise's SQLite transaction context, which lets go of the client when BEGIN fails.

    Tortoise takes the client's one lock and sets the current connection
    before ``begin()``; ``__aexit__`` gives both back, but it never runs when
    ``__aenter__`` raises. ``BEGIN IMMEDIATE`` does raise when another process
    holds the write lock past the busy timeout, and a request can be
    cancelled while it waits: without this, the lock stayed taken and every
    later query of the process hung.
    """

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        token: ConnectionToken | None = None
        try:
            await self.ensure_connection()
            token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            try:
                await self._abandon_begin()
            finally:
                get_connections().reset(token)
                self._trxlock.release()
            raise
        self.token = token
        client: TransactionalDBClient = self.connection
        return client

    async def _abandon_begin(self) -> None:
        """Roll back a BEGIN that may still succeed after its caller gave up on it.

        A cancelled await does not stop aiosqlite's thread: the BEGIN still
        runs there and may open a transaction on the shared connection. The
        thread runs calls in order, so a rollback queued now runs after it;
        with no transaction open it does nothing.
        """
        connection: aiosqlite.Connection | None = self.connection._connection
        if connection is None:
            return
        try:
            await connection.rollback()
        except Exception as exc:  # the BEGIN's own error is the one to report
            log.warning("sqlite.rollback_after_failed_begin error=%s", exc)


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
