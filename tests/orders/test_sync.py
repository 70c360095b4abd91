"""Syncing the demo shop: idempotent, resumable, and the same shop every time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis
from tortoise.transactions import in_transaction

from aftersales.core.config import Settings
from aftersales.core.errors import ConfigError
from aftersales.core.security import encrypt_credentials
from aftersales.orders import jobs
from aftersales.orders.lease import StreamLease, lock_key
from aftersales.orders.models import Customer, Order, OrderItem, Shipment, SyncState
from aftersales.orders.service import upsert_orders
from aftersales.orders.sync import sync_orders
from connectors.base import OrderRecord, Page, Stream
from connectors.demo import DemoConnector
from tests.factories import create_store

pytestmark = pytest.mark.usefixtures("clean_db")
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_the_demo_shop_is_reproducible() -> None:
    first = DemoConnector(now=NOW).all_orders()
    second = DemoConnector(now=NOW).all_orders()
    assert first == second
    assert len(first) > 200
    assert min(o.created_at for o in first) >= datetime(2026, 9, 24, tzinfo=UTC)
    assert any("保温杯" in item.title for o in first for item in o.items)
    assert DemoConnector(now=NOW, seed=1).all_orders() != first


async def test_sync_twice_lands_each_order_once() -> None:
    store = await create_store()
    connector = DemoConnector(now=NOW)
    landed = await sync_orders(store, connector)
    expected = len(connector.all_orders())
    assert landed == expected
    assert await Order.filter(store=store).count() == expected
    assert await sync_orders(store, connector) == 0
    assert await Order.filter(store=store).count() == expected
    items = sum(len(o.items) for o in connector.all_orders())
    assert await OrderItem.all().count() == items
    parcels = {s.tracking_no for o in connector.all_orders() for s in o.shipments}
    assert len(parcels) > 100
    assert set(await Shipment.all().values_list("tracking_no", flat=True)) == parcels
    assert await Shipment.all().count() == len(parcels)  # the second sync added none
    assert await Customer.filter(store=store).count() <= 40


class CrashingConnector(DemoConnector):
    """Dies after a number of pages, like a sync killed halfway."""

    def __init__(self, *, pages_before_crash: int) -> None:
        super().__init__(now=NOW, page_size=40)
        self.pages_before_crash = pages_before_crash

    async def orders(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[OrderRecord]]:
        served = 0
        async for page in super().orders(cursor, since=since):
            if served == self.pages_before_crash:
                raise ConnectionError("network gone")
            served += 1
            yield page


async def test_a_crashed_sync_resumes_where_it_stopped() -> None:
    store = await create_store()
    with pytest.raises(ConnectionError):
        await sync_orders(store, CrashingConnector(pages_before_crash=2))
    assert await Order.filter(store=store).count() == 80
    state = await SyncState.get(store=store, stream="orders")
    assert state.cursor == "80"
    resumed = await sync_orders(store, DemoConnector(now=NOW, page_size=40))
    total = len(DemoConnector(now=NOW).all_orders())
    assert resumed == total - 80
    assert await Order.filter(store=store).count() == total


async def test_an_updated_order_is_updated_not_duplicated() -> None:
    store = await create_store()
    record = DemoConnector(now=NOW).all_orders()[0]
    await sync_orders(store, _OneShot([record]))
    changed = record.model_copy(update={"platform_status": "TRADE_CLOSED", "status": "closed"})
    await sync_orders(store, _OneShot([changed], cursor_base=1))
    orders = await Order.filter(store=store)
    assert len(orders) == 1
    assert orders[0].platform_status == "TRADE_CLOSED"


class _OneShot:
    def __init__(self, records: list[OrderRecord], cursor_base: int = 0) -> None:
        self.records = records
        self.cursor_base = cursor_base

    async def orders(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[OrderRecord]]:
        yield Page(records=self.records, cursor=str(self.cursor_base + len(self.records)))


@pytest.mark.parametrize("first", ["newer", "older"])
async def test_racing_writers_never_roll_an_order_back(first: str) -> None:
    """Two transactions on one order: whichever takes the row first, the newer version stays.

    The first holds its transaction open while the second starts; a guard read
    before writing would let the second undo the first once it commits.
    """
    store = await create_store()
    base = DemoConnector(now=NOW).all_orders()[0]
    await sync_orders(store, _OneShot([base]))
    versions = {
        "older": base.model_copy(update={"platform_status": "OLDER", "updated_at": NOW}),
        "newer": base.model_copy(
            update={"platform_status": "NEWER", "updated_at": NOW + timedelta(minutes=1)}
        ),
    }
    holding, release = asyncio.Event(), asyncio.Event()

    async def write(version: str, *, hold: bool) -> None:
        if not hold:
            await holding.wait()
        async with in_transaction() as conn:
            await upsert_orders(store, [versions[version]], conn=conn)
            if hold:
                holding.set()
                await release.wait()

    second = "older" if first == "newer" else "newer"
    tasks = [
        asyncio.create_task(write(first, hold=True)),
        asyncio.create_task(write(second, hold=False)),
    ]
    await holding.wait()
    await asyncio.sleep(0.3)  # the second writer is now waiting on the row (or the database)
    release.set()
    await asyncio.gather(*tasks)
    order = await Order.get(store=store)
    assert order.platform_status == "NEWER"
    assert order.platform_updated_at == NOW + timedelta(minutes=1)


async def test_a_connector_that_cannot_be_built_leaves_the_sync_lease_free(
    redis: ArqRedis, settings: Settings
) -> None:
    """Credentials that no longer decrypt (a changed secret key) fail the job, not the next one.

    The lease was taken before the connector was built, outside the ``try``
    whose ``finally`` releases it, so every sync of that stream stayed "busy"
    for the lease's whole lifetime.
    """
    store = await create_store(platform="woocommerce")
    store.credentials_encrypted = encrypt_credentials("another-key" * 4, {"key": "ck"})
    await store.save(update_fields=["credentials_encrypted"])
    ctx = {"redis": redis, "settings": settings}
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        await jobs.sync_store_stream(ctx, store.id, Stream.ORDERS.value)
    assert await redis.get(lock_key(store.id, Stream.ORDERS.value)) is None
    assert await StreamLease(redis, store.id, Stream.ORDERS.value).acquire()
