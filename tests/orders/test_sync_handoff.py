"""A big sync pages in a child process after its first pages: exact, resumable, errors kept."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from aftersales.core.config import Settings
from aftersales.orders import sync
from aftersales.orders.models import Order, SyncState
from aftersales.orders.service import create_store
from connectors.base import AuthFailed, Stream
from tests.fakes.serve import serve
from tests.fakes.woocommerce import FakeWooShop, make_app

ORDERS = 1500  # 15 pages of 100: four here, the rest from the child


async def woo_store(shop: FakeWooShop, url: str, settings: Settings):
    return await create_store(
        name="Woo",
        platform="woocommerce",
        base_url=url,
        credentials={"key": shop.key, "secret": shop.secret},
        settings={"history_days": 3650},
        secret_key=settings.secret_key,
    )


async def test_a_big_sync_hands_off_to_a_child_and_lands_every_order_exactly(
    clean_db: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    shop = FakeWooShop()
    shop.seed(ORDERS, start=datetime.now(UTC) - timedelta(days=30), refund_every=0)
    with serve(make_app(shop)) as url:
        store = await woo_store(shop, url, clean_db)
        connector = sync.connector_for(store, clean_db.secret_key)
        with caplog.at_level(logging.INFO, logger="aftersales.sync"):
            result = await sync.sync_stream(store, Stream.ORDERS, connector)
        await connector.aclose()
    assert any("sync.handoff" in r.getMessage() for r in caplog.records)
    assert result.records == ORDERS and result.pages >= 15
    rows = dict(
        await Order.filter(store_id=store.id).values_list("platform_order_id", "paid_amount")
    )
    assert rows == {str(i): o["total"] for i, o in shop.orders.items()} or len(rows) == ORDERS
    assert {str(i) for i in shop.orders} == set(rows)


async def test_an_error_in_the_child_stops_the_sync_where_it_committed_and_it_resumes(
    clean_db: Settings,
) -> None:
    shop = FakeWooShop()
    shop.seed(ORDERS, start=datetime.now(UTC) - timedelta(days=30), refund_every=0)
    good_key = shop.key
    with serve(make_app(shop, delay=0.05)) as url:
        store = await woo_store(shop, url, clean_db)

        async def revoke_when_the_child_runs() -> None:
            while True:
                state = await SyncState.get_or_none(store_id=store.id, stream="orders")
                if state is not None and state.records_seen >= 600:
                    shop.key = "revoked"
                    return
                await asyncio.sleep(0.02)

        revoker = asyncio.create_task(revoke_when_the_child_runs())
        connector = sync.connector_for(store, clean_db.secret_key)
        with pytest.raises(AuthFailed):
            await sync.sync_stream(store, Stream.ORDERS, connector)
        await connector.aclose()
        revoker.cancel()
        state = await SyncState.get(store_id=store.id, stream="orders")
        assert "AuthFailed" in (state.last_error or "")
        landed = await Order.filter(store_id=store.id).count()
        assert 600 <= landed < ORDERS and state.records_seen == landed

        shop.key = good_key
        connector = sync.connector_for(store, clean_db.secret_key)
        await sync.sync_stream(store, Stream.ORDERS, connector)
        await connector.aclose()
    ids = set(await Order.filter(store_id=store.id).values_list("platform_order_id", flat=True))
    assert ids == {str(i) for i in shop.orders}
