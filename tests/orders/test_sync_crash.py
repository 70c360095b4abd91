"""Kill -9 a real worker in the middle of a sync, start another: the orders end exact.

A real ``aftersales worker`` process, real Redis and database, and a fake
WooCommerce over loopback HTTP slowed down enough to be killed mid-way.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from arq.connections import ArqRedis

from aftersales.core.config import Settings
from aftersales.core.redis import RedisHandle
from aftersales.orders.models import Order, SyncState
from aftersales.orders.service import create_store
from tests.core.test_outbox_crash import start_worker
from tests.fakes.serve import serve
from tests.fakes.woocommerce import FakeWooShop, make_app

ORDERS = 2000


async def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_sync_killed_halfway_resumes_and_ends_exact(
    clean_db: Settings, redis_handle: RedisHandle, redis: ArqRedis, tmp_path: Path
) -> None:
    shop = FakeWooShop()
    shop.seed(ORDERS, start=datetime.now(UTC) - timedelta(days=35), refund_every=0)
    log = tmp_path / "worker.log"
    with serve(make_app(shop, delay=0.15)) as url:
        store = await create_store(
            name="Woo",
            platform="woocommerce",
            base_url=url,
            credentials={"key": shop.key, "secret": shop.secret},
            secret_key=clean_db.secret_key,
        )

        async def orders_seen(at_least: int) -> bool:
            state = await SyncState.get_or_none(store_id=store.id, stream="orders")
            return state is not None and state.records_seen >= at_least

        env = {"AFTERSALES_SYNC_LEASE_SECONDS": "2"}
        first = start_worker(clean_db, redis_handle, log, extra_env=env)
        try:
            await wait_for(lambda: orders_seen(300), 60, "the first worker to commit pages")
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        assert await Order.filter(store_id=store.id).count() < ORDERS
        await asyncio.sleep(2.5)  # the dead worker's lease runs out

        second = start_worker(clean_db, redis_handle, log, extra_env=env)
        try:

            async def finished() -> bool:
                state = await SyncState.get_or_none(store_id=store.id, stream="orders")
                return state is not None and state.completed_at is not None

            await wait_for(finished, 90, "the resumed sync to finish")
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)

    rows = await Order.filter(store_id=store.id).values_list(
        "platform_order_id", "total_amount", "platform_status"
    )
    assert len(rows) == ORDERS, log.read_text()[-2000:]
    assert {r[0]: (Decimal(r[1]), r[2]) for r in rows} == {
        str(i): (Decimal(o["total"]), o["status"]) for i, o in shop.orders.items()
    }
