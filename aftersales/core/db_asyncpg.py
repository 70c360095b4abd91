"""The desk's PostgreSQL (asyncpg) client: Tortoise's, with after-commit frames.

Every transaction block, savepoints too, is wrapped in an
``aftercommit.TransactionFrame``. ``db.tortoise_config`` names this module as
the engine; its name must keep "asyncpg" in it, which is how Tortoise's
migrations pick their schema editor.
"""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    NestedTransactionContext,
    TransactionContext,
    TransactionContextPooled,
)

from aftersales.core.aftercommit import TransactionFrame


class DeskAsyncpgClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return TransactionFrame(
            TransactionContextPooled(DeskAsyncpgTransaction(self), self._pool_init_lock)
        )


class DeskAsyncpgTransaction(TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return TransactionFrame(NestedTransactionContext(DeskAsyncpgTransaction(self)))


client_class = DeskAsyncpgClient
