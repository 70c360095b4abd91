"""Kill -9 a real worker mid-drain, start another: every write lands exactly once.

A real ``aftersales worker`` process, real Redis, the real database and a fake
platform over HTTP that honours Idempotency-Key. The platform records a write
before it answers, so the killed worker leaves writes the platform did but
the desk never heard about; the retry must carry the same key.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from arq.connections import ArqRedis

from aftersales.core import outbox
from aftersales.core.config import Settings
from aftersales.core.jobs import kick_outbox
from aftersales.core.models import OutboxMessage, OutboxStatus
from aftersales.core.redis import RedisHandle
from tests.fakes.idempotent_platform import IdempotentPlatform
from tests.plugins import SITE

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 30


def start_worker(
    settings: Settings,
    redis_handle: RedisHandle,
    log: Path,
    *,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    redis_url = settings.redis_url or f"unix://{redis_handle.settings.unix_socket_path}"
    env = {
        **os.environ,
        "AFTERSALES_DATA_DIR": str(settings.data_dir),
        "AFTERSALES_SECRET_KEY": settings.secret_key,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(SITE)]),
        "AFTERSALES_OUTBOX_LEASE_SECONDS": "2",
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "aftersales", "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_killed_worker_mid_drain_delivers_every_row_exactly_once(
    clean_db: Settings, redis_handle: RedisHandle, redis: ArqRedis, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with IdempotentPlatform(delay=0.5) as platform:
        keys = [f"refund:{n}:approve" for n in range(MESSAGES)]
        rows = [
            await outbox.enqueue("sample.echo", {"url": platform.url, "n": n}, key)
            for n, key in enumerate(keys)
        ]
        await kick_outbox(redis, [(row.id, row.attempts) for row in rows])

        first = start_worker(clean_db, redis_handle, log)
        try:

            async def some_executed() -> bool:
                return len(platform.executed) >= 3

            await wait_for(some_executed, 60, "the first worker to start writing")
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        delivered_at_kill = await OutboxMessage.filter(status=OutboxStatus.DELIVERED).count()
        assert delivered_at_kill < MESSAGES, "the kill came too late to test anything"

        second = start_worker(clean_db, redis_handle, log)
        try:

            async def all_delivered() -> bool:
                return await OutboxMessage.filter(status=OutboxStatus.DELIVERED).count() == MESSAGES

            await wait_for(all_delivered, 90, "every row to be delivered")
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)

    assert dict(platform.executed) == {key: 1 for key in keys}, log.read_text()[-3000:]
    # Some writes were repeated after the crash, and the platform recognised them.
    assert sum(platform.received.values()) > MESSAGES
    results = await OutboxMessage.all().values_list("idempotency_key", "result")
    assert all(result["key"] == key for key, result in results)


@pytest.mark.usefixtures("clean_db")
async def test_sweep_re_enqueues_what_a_lost_queue_dropped(
    redis_handle: RedisHandle, redis: ArqRedis
) -> None:
    from aftersales.core.jobs import outbox_sweep

    rows = [await outbox.enqueue("sample.echo", {"n": n}, f"lost:{n}") for n in range(3)]
    await redis.flushdb()  # Redis lost every trigger; the table still has the rows
    assert await outbox_sweep({"redis": redis}) == 3
    queued = await redis.zrange("arq:queue", 0, -1)
    assert sorted(q.decode().rsplit(":", 1)[0] for q in queued) == sorted(
        f"outbox:{r.id}:0" for r in rows
    )
    # A second sweep in the same minute does not pile up duplicate jobs.
    await outbox_sweep({"redis": redis})
    assert len(await redis.zrange("arq:queue", 0, -1)) == 3
