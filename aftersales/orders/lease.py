"""The per-(store, stream) sync lease that every syncing process takes.

A worker job and ``aftersales sync`` on the command line pull the same
platform into the same tables; run together they write the same rows twice
and fight over the cursor. So both hold this Redis lease while they sync: a
key with a random token that expires after ``AFTERSALES_SYNC_LEASE_SECONDS``
unless the holder refreshes it (after every committed page). A holder that
died loses its lease within that time and the next sync resumes from the
committed cursor.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time

from arq.connections import ArqRedis

POLL_SECONDS = 0.5


def lease_seconds() -> int:
    return int(os.environ.get("AFTERSALES_SYNC_LEASE_SECONDS", "60"))


def lock_key(store_id: int, stream: str) -> str:
    return f"aftersales:sync-lock:{store_id}:{stream}"


class StreamLease:
    """One holder's claim on one store's stream."""

    def __init__(self, redis: ArqRedis, store_id: int, stream: str) -> None:
        self.redis = redis
        self.key = lock_key(store_id, stream)
        self.token = secrets.token_hex(8)

    async def acquire(self, *, wait: float = 0) -> bool:
        """Take the lease, waiting up to ``wait`` seconds for its holder; False if still held."""
        deadline = time.monotonic() + wait
        while not await self.redis.set(self.key, self.token, nx=True, ex=lease_seconds()):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)
        return True

    async def held(self) -> bool:
        return bool((await self.redis.get(self.key) or b"").decode() == self.token)

    async def keep(self, _: object = None) -> None:
        """Refresh the lease (a sync's per-page progress callback)."""
        if await self.held():
            await self.redis.expire(self.key, lease_seconds())

    async def release(self) -> None:
        if await self.held():
            await self.redis.delete(self.key)
