"""Douyin pushes on the desk: a signed message brings the record it names in at once.

The fake gateway over loopback HTTP serves ``order.orderDetail`` and
``afterSale.Detail`` and counts every call, so a test can tell the one record
was fetched and no sync ran. Pushes go through the desk's real hook route;
the fetch runs in an arq worker on the real Redis, started in burst mode
with only the push job (no cron: no sync can sneak in).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from arq import Retry
from arq.connections import ArqRedis
from arq.worker import Worker

from aftersales.core import jobs as core_jobs
from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, Store
from aftersales.core.modules import Registry
from aftersales.core.redis import RedisHandle
from aftersales.core.security import encrypt_credentials
from aftersales.orders import jobs
from aftersales.orders.models import Order, SyncError, SyncState
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, record_handlers, sync_stream
from aftersales.refunds import module as refunds_module
from aftersales.refunds.models import Refund, RefundStatus
from connectors.base import OrderStatus, Stream
from connectors.douyin import push_sign
from tests.fakes.douyin import AfterSale, FakeDouyinShop, Refusal, ShopOrder, douyin_app
from tests.fakes.serve import serve

REGISTRY = Registry([refunds_module])
SUCCESS = b'{"code":0,"msg":"success"}'


def real_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Desk:
    shop: FakeDouyinShop
    store: Store
    client: httpx.AsyncClient
    redis: ArqRedis
    redis_handle: RedisHandle
    settings: Settings
    sent: int = 0

    async def push(
        self, tag: str, data: dict[str, Any], *, secret: str | None = None
    ) -> httpx.Response:
        """A push as the platform sends it: a JSON array, ``data`` a JSON string, signed."""
        self.sent += 1
        body = json.dumps(
            [{"tag": tag, "msg_id": f"m{self.sent}-{tag}", "data": json.dumps(data)}],
            separators=(",", ":"),
        ).encode()
        return await self.post(body, secret=secret)

    async def post(self, body: bytes, *, secret: str | None = None) -> httpx.Response:
        sign = push_sign(self.shop.app_key, body, secret or self.shop.app_secret)
        headers = {"app-id": self.shop.app_key, "event-sign": sign}
        return await self.client.post(
            f"/hooks/douyin/{self.store.id}",
            content=body,
            headers={**headers, "content-type": "application/json"},
        )

    async def queued(self) -> int:
        return len(await self.redis.queued_jobs())

    async def run_jobs(self) -> None:
        """Run what the pushes queued, as the worker does, and nothing else."""

        async def startup(ctx: dict[str, Any]) -> None:
            ctx["settings"] = self.settings
            ctx["registry"] = REGISTRY

        worker = Worker(
            functions=[core_jobs.after_commit(jobs.sync_pushed)],
            redis_settings=self.redis_handle.settings,
            on_startup=startup,
            burst=True,
            handle_signals=False,
            keep_result=0,
        )
        await worker.main()
        await worker.close()


@contextmanager
def gateway(shop: FakeDouyinShop) -> Iterator[str]:
    with serve(douyin_app(shop)) as url:
        yield url


async def douyin_store(
    shop: FakeDouyinShop, url: str, secret_key: str, *, name: str, **extra: str
) -> Store:
    """A store on the fake shop's gateway, connected with its app and tokens."""
    return await create_store(
        name=name,
        platform="douyin",
        base_url=url,
        credentials=credentials_of(shop) | extra,
        settings={"history_days": 10},
        secret_key=secret_key,
    )


def credentials_of(shop: FakeDouyinShop) -> dict[str, str]:
    return {
        "app_key": shop.app_key,
        "app_secret": shop.app_secret,
        "access_token": shop.tokens.access_token,
        "refresh_token": shop.tokens.refresh_token,
        "webhook_secret": shop.app_secret,  # Douyin signs pushes with the app secret
    }


@pytest.fixture
async def desk(
    client: httpx.AsyncClient, clean_db: Settings, redis: ArqRedis, redis_handle: RedisHandle
) -> AsyncIterator[Desk]:
    shop = FakeDouyinShop(now=real_clock)
    shop.seed(5, start=real_clock() - timedelta(days=2), days=1)
    with gateway(shop) as url:
        store = await douyin_store(shop, url, clean_db.secret_key, name="抖店")
        yield Desk(shop, store, client, redis, redis_handle, clean_db)


def first_order(shop: FakeDouyinShop) -> ShopOrder:
    return shop.orders[sorted(shop.orders)[0]]


def aftersale_push(sale: AfterSale) -> dict[str, Any]:
    """Tag 200's payload (PLATFORMS-CN.md A8): ids as numbers, times in seconds."""
    return {
        "aftersale_id": int(sale.aftersale_id),
        "aftersale_status": int(sale.status),
        "aftersale_type": int(sale.list_type),
        "p_id": int(sale.shop_order_id),
        "s_id": int(sale.sku_order_id),
        "shop_id": 4463798,
        "refund_amount": sale.refund_amount,
        "update_time": int(sale.update_time.timestamp()),
    }


def syncs_run(shop: FakeDouyinShop) -> int:
    return shop.calls["order.searchList"] + shop.calls["afterSale.List"]


async def test_an_after_sale_push_brings_the_request_onto_the_desk_without_a_sync(
    desk: Desk,
) -> None:
    sale = desk.shop.add_aftersale(first_order(desk.shop), "1")  # 已发货仅退款, waiting
    response = await desk.push("200", aftersale_push(sale))
    assert response.status_code == 200
    assert response.content == SUCCESS
    assert response.headers["content-type"].startswith("application/json")
    assert await desk.queued() == 1  # answered before the platform was asked anything
    assert desk.shop.calls["afterSale.Detail"] == 0

    await desk.run_jobs()
    refund = await Refund.get(store_id=desk.store.id, platform_refund_id=sale.aftersale_id)
    assert refund.status is RefundStatus.REQUESTED
    assert refund.requested_amount * 100 == sale.refund_amount
    assert refund.due_at == sale.deadline
    assert desk.shop.calls["afterSale.Detail"] == 1 and syncs_run(desk.shop) == 0
    # No sync has read its order yet: the push read it too, so the request names it now.
    order = await Order.get(store_id=desk.store.id, platform_order_id=sale.shop_order_id)
    assert refund.order_id == order.id and desk.shop.calls["order.orderDetail"] == 1
    assert await SyncState.filter(store_id=desk.store.id).count() == 0  # no cursor moved

    # The buyer withdraws on the platform: 售后关闭 (207) closes the case on the desk.
    sale.status, sale.update_time = "28", sale.update_time + timedelta(minutes=5)
    assert (await desk.push("207", aftersale_push(sale))).content == SUCCESS
    await desk.run_jobs()
    refund = await Refund.get(id=refund.id)
    assert refund.status is RefundStatus.CANCELLED and syncs_run(desk.shop) == 0
    assert desk.shop.calls["order.orderDetail"] == 1  # the order is known now: not read again


async def test_an_order_push_updates_that_order(desk: Desk) -> None:
    order = first_order(desk.shop)
    desk.shop.touch(order.order_id, order.update_time, status=2)  # 备货中
    connector = connector_for(desk.store, desk.settings.secret_key)
    try:
        await sync_stream(desk.store, Stream.ORDERS, connector)
    finally:
        await connector.aclose()
    searches = desk.shop.calls["order.searchList"]
    later = real_clock().replace(microsecond=0)
    desk.shop.touch(order.order_id, later, status=3)  # the seller shipped it: 102 卖家发货
    order.ship_time, order.tracking_no, order.carrier = later, "YT0000000001", "中通快递"

    response = await desk.push("102", {"p_id": int(order.order_id), "shop_id": 4463798})
    assert response.content == SUCCESS
    await desk.run_jobs()
    saved = await Order.get(store_id=desk.store.id, platform_order_id=order.order_id)
    assert saved.status is OrderStatus.SHIPPED and saved.platform_updated_at == later
    assert desk.shop.calls["order.orderDetail"] == 1
    assert desk.shop.calls["order.searchList"] == searches
    history = await AuditEvent.filter(action="order.webhook_applied", subject_id=str(saved.id))
    assert [entry.data["platform_status"] for entry in history] == ["3"]


async def test_a_replayed_push_changes_nothing(desk: Desk) -> None:
    sale = desk.shop.add_aftersale(first_order(desk.shop), "1")
    body = json.dumps(
        [{"tag": "200", "msg_id": "m-once", "data": json.dumps(aftersale_push(sale))}]
    ).encode()
    assert (await desk.post(body)).content == SUCCESS
    await desk.run_jobs()
    refund = await Refund.get(platform_refund_id=sale.aftersale_id)
    sale.status, sale.update_time = "28", sale.update_time + timedelta(minutes=5)

    replay = await desk.post(body)
    assert replay.status_code == 200 and replay.content == SUCCESS  # the platform stops retrying
    assert await desk.queued() == 0
    await desk.run_jobs()
    assert desk.shop.calls["afterSale.Detail"] == 1
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED
    # The same message under a new envelope (its msg_id again, the body re-encoded).
    again = json.dumps(
        [{"tag": "200", "msg_id": "m-once", "data": json.dumps(aftersale_push(sale))}],
        separators=(",", ":"),
    ).encode()
    assert (await desk.post(again)).content == SUCCESS and await desk.queued() == 0


async def test_a_forged_push_is_refused_and_changes_nothing(desk: Desk) -> None:
    sale = desk.shop.add_aftersale(first_order(desk.shop), "1")
    forged = await desk.push("200", aftersale_push(sale), secret="a-guess")
    assert forged.status_code == 401 and forged.content != SUCCESS
    assert forged.json()["error"]["code"] == "bad_signature"
    await desk.run_jobs()
    assert await desk.queued() == 0 and sum(desk.shop.calls.values()) == 0
    assert await Refund.all().count() == 0
    # Refused, not taken: the genuine message is still taken afterwards.
    assert (await desk.push("200", aftersale_push(sale))).content == SUCCESS
    await desk.run_jobs()
    assert await Refund.filter(platform_refund_id=sale.aftersale_id).count() == 1


async def test_a_stale_read_from_the_platform_never_rolls_a_request_back(desk: Desk) -> None:
    sale = desk.shop.add_aftersale(first_order(desk.shop), "0", status="7")  # waiting return
    await desk.push("202", aftersale_push(sale))
    await desk.run_jobs()
    refund = await Refund.get(platform_refund_id=sale.aftersale_id)
    assert refund.status is RefundStatus.WAITING_RETURN
    # A lagging replica answers the request as it was an hour earlier, before agreement.
    sale.status, sale.update_time = "6", sale.update_time - timedelta(hours=1)
    await desk.push("208", aftersale_push(sale))
    await desk.run_jobs()
    assert desk.shop.calls["afterSale.Detail"] == 2
    fresh = await Refund.get(id=refund.id)
    assert fresh.status is RefundStatus.WAITING_RETURN
    assert fresh.platform_updated_at == refund.platform_updated_at


async def test_a_push_whose_fetch_fails_is_retried_and_the_sync_still_covers_it(
    desk: Desk,
) -> None:
    sale = desk.shop.add_aftersale(first_order(desk.shop), "1")
    for _ in range(2):
        desk.shop.queue_error(
            "afterSale.Detail", Refusal(50002, "业务处理失败", "isv.business-failed:1", "忙")
        )
    ctx = {"redis": desk.redis, "settings": desk.settings, "registry": REGISTRY}
    args = (desk.store.id, Stream.AFTER_SALES.value, sale.aftersale_id)
    with pytest.raises(Retry):
        await jobs.sync_pushed({**ctx, "job_try": 1}, *args)
    outcome = await jobs.sync_pushed({**ctx, "job_try": jobs.PUSH_TRIES}, *args)
    assert outcome.startswith("gave up")
    assert await Refund.all().count() == 0 and await SyncError.all().count() == 0
    assert not await desk.redis.get(f"aftersales:sync-lock:{desk.store.id}:after_sales")

    connector = connector_for(desk.store, desk.settings.secret_key)
    try:
        await sync_stream(
            desk.store, Stream.AFTER_SALES, connector, handlers=record_handlers(REGISTRY)
        )
    finally:
        await connector.aclose()
    assert await Refund.filter(platform_refund_id=sale.aftersale_id).count() == 1


async def test_a_pushed_request_whose_order_cannot_be_read_lands_alone_and_a_sync_links_it(
    desk: Desk,
) -> None:
    sale = desk.shop.add_aftersale(first_order(desk.shop), "1")
    desk.shop.queue_error(
        "order.orderDetail", Refusal(50002, "业务处理失败", "isv.business-failed:1", "忙")
    )
    assert (await desk.push("200", aftersale_push(sale))).content == SUCCESS
    await desk.run_jobs()
    refund = await Refund.get(store_id=desk.store.id, platform_refund_id=sale.aftersale_id)
    assert refund.order_id is None and await Order.all().count() == 0
    assert await SyncError.all().count() == 0  # the platform was busy: nothing it sent is bad

    connector = connector_for(desk.store, desk.settings.secret_key)
    try:
        for stream in (Stream.ORDERS, Stream.AFTER_SALES):
            await sync_stream(desk.store, stream, connector, handlers=record_handlers(REGISTRY))
    finally:
        await connector.aclose()
    order = await Order.get(store_id=desk.store.id, platform_order_id=sale.shop_order_id)
    assert (await Refund.get(id=refund.id)).order_id == order.id


async def test_a_push_about_another_shop_of_the_app_goes_to_that_shops_store(
    desk: Desk,
) -> None:
    """A tool app has one callback for all its shops: a push reaching store A's hook about
    shop B lands in store B (same app), one about a shop not on the desk nowhere."""
    desk.store.credentials_encrypted = encrypt_credentials(
        desk.settings.secret_key, credentials_of(desk.shop) | {"shop_id": desk.shop.shop_id}
    )
    await desk.store.save(update_fields=["credentials_encrypted"])
    other = FakeDouyinShop(now=real_clock, shop_id="5550001")
    other.seed(2, start=real_clock() - timedelta(days=2), days=1)
    with gateway(other) as url:
        store_b = await douyin_store(  # the same app as store A
            other, url, desk.settings.secret_key, name="抖店二号", shop_id=other.shop_id
        )
        sale = other.add_aftersale(first_order(other), "1")
        assert (
            await desk.push("200", aftersale_push(sale) | {"shop_id": 5550001})
        ).status_code == 200
        stranger = aftersale_push(sale) | {"shop_id": 9990009, "aftersale_id": 1}
        assert (await desk.push("200", stranger)).content == SUCCESS  # taken, so not retried
        assert await desk.queued() == 1
        await desk.run_jobs()
    refund = await Refund.get(platform_refund_id=sale.aftersale_id)
    assert refund.store_id == store_b.id
    assert await Refund.filter(store_id=desk.store.id).count() == 0
    assert desk.shop.calls["afterSale.Detail"] == 0 and other.calls["afterSale.Detail"] == 1


async def test_messages_about_a_request_whose_read_is_still_queued_read_it_once(
    desk: Desk,
) -> None:
    sale = desk.shop.add_aftersale(first_order(desk.shop), "1")
    assert (await desk.push("200", aftersale_push(sale))).content == SUCCESS
    sale.update_time += timedelta(seconds=3)  # 买家修改 moments later, before the desk read it
    assert (await desk.push("208", aftersale_push(sale))).content == SUCCESS
    assert await desk.queued() == 1
    await desk.run_jobs()
    assert desk.shop.calls["afterSale.Detail"] == 1
    refund = await Refund.get(platform_refund_id=sale.aftersale_id)
    assert refund.platform_updated_at == sale.update_time  # the one read saw the newest copy

    # Once that read has run, the next message reads again.
    sale.status, sale.update_time = "28", sale.update_time + timedelta(minutes=5)
    assert (await desk.push("207", aftersale_push(sale))).content == SUCCESS
    await desk.run_jobs()
    assert desk.shop.calls["afterSale.Detail"] == 2
    assert (await Refund.get(id=refund.id)).status is RefundStatus.CANCELLED


async def test_a_push_naming_no_record_is_kept_as_a_sync_error(desk: Desk) -> None:
    response = await desk.push("206", {"shop_id": 4463798})
    assert response.status_code == 400
    assert await desk.queued() == 0
    (error,) = await SyncError.filter(store_id=desk.store.id)
    assert "names no aftersale_id" in error.message
