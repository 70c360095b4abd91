"""Douyin on the desk: requests synced in, a decision written back once, even through a crash.

The fake gateway over loopback HTTP counts every ``afterSale.operate`` it
executes; the desk runs on the real database and Redis, and in the crash test
a real ``aftersales worker`` is SIGKILLed while the platform is executing.
(Here rather than in tests/refunds: no file outside the connectors' tests may
name a platform.)
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from arq.connections import ArqRedis

from aftersales.core import outbox
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, Role, Store
from aftersales.core.modules import OutboxContext, Registry
from aftersales.core.redis import RedisHandle
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, record_handlers, sync_stream
from aftersales.refunds import module as refunds_module
from aftersales.refunds import service
from aftersales.refunds.models import LedgerEntry, Refund, RefundStatus
from connectors.base import Stream
from tests.conftest import csrf_from, sign_in
from tests.core.test_outbox_crash import start_worker, wait_for
from tests.factories import create_user
from tests.fakes.douyin import FakeDouyinShop, douyin_app
from tests.fakes.serve import serve

HANDLERS = record_handlers(Registry([refunds_module]))


def real_clock() -> datetime:
    return datetime.now(UTC)


@contextmanager
def gateway(shop: FakeDouyinShop, *, slow_operate: float = 0.0) -> Iterator[str]:
    with serve(douyin_app(shop, slow={"afterSale.operate": slow_operate})) as url:
        yield url


async def douyin_store(shop: FakeDouyinShop, url: str, settings: Settings) -> Store:
    """A desk store on the fake gateway with its orders and after-sale requests synced."""
    now = real_clock()
    shop.seed(200, start=now - timedelta(days=6), days=6)
    orders = sorted(shop.orders.values(), key=lambda o: o.order_id)
    for order in orders[:3]:
        shop.add_aftersale(order, "2")  # 未发货仅退款, waiting for the seller
    store = await create_store(
        name="抖店",
        platform="douyin",
        base_url=url,
        credentials={
            "app_key": shop.app_key,
            "app_secret": shop.app_secret,
            "access_token": shop.tokens.access_token,
            "refresh_token": shop.tokens.refresh_token,
        },
        settings={"history_days": 10},
        secret_key=settings.secret_key,
    )
    connector = connector_for(store, settings.secret_key)
    try:
        await sync_stream(store, Stream.ORDERS, connector)
        await sync_stream(store, Stream.AFTER_SALES, connector, handlers=HANDLERS)
    finally:
        await connector.aclose()
    return store


async def test_a_synced_request_carries_the_platform_deadline_and_is_approved_with_401(
    clean_db: Settings,
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    with gateway(shop) as url:
        await douyin_store(shop, url, clean_db)
        refunds = await Refund.filter(status=RefundStatus.REQUESTED).order_by("id")
        assert len(refunds) == 3
        sale = shop.aftersales[refunds[0].platform_refund_id]
        assert refunds[0].due_at == sale.deadline
        assert refunds[0].requested_amount * 100 == sale.refund_amount
        agent = await create_user(role=Role.AGENT)
        decision = await service.approve(refunds[0].id, actor=agent)
        assert decision.writeback is not None
        handlers = dict(refunds_module.outbox_handlers)
        context = OutboxContext(settings=clean_db)
        row = decision.writeback
        assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.DELIVERED
        await OutboxMessage.filter(id=row.id).update(status=OutboxStatus.PENDING)
        await outbox.deliver(row.id, handlers, context=context)  # delivered twice, as lost
    assert shop.operations == [(sale.aftersale_id, 401)]
    fresh = await Refund.get(id=refunds[0].id)
    assert fresh.status is RefundStatus.REFUNDED
    assert await LedgerEntry.filter(refund_id=fresh.id).count() == 1


async def test_a_worker_killed_while_the_platform_executes_ends_with_one_operate(
    clean_db: Settings,
    redis_handle: RedisHandle,
    redis: ArqRedis,
    tmp_path: Path,
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    log = tmp_path / "worker.log"
    with gateway(shop, slow_operate=6.0) as url:
        store = await douyin_store(shop, url, clean_db)
        await Store.filter(id=store.id).update(enabled=False)  # no cron syncs in the way
        refund = (await Refund.filter(status=RefundStatus.REQUESTED).order_by("id"))[0]
        agent = await create_user(role=Role.AGENT)
        decision = await service.approve(refund.id, actor=agent)
        row = decision.writeback
        assert row is not None

        async def executed() -> bool:
            return bool(shop.operations)

        first = start_worker(clean_db, redis_handle, log)
        try:
            await wait_for(executed, 40, "the platform to execute afterSale.operate")
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # the answer is still on its way
            first.wait()
        stuck = await OutboxMessage.get(id=row.id)
        assert stuck.status is OutboxStatus.SENDING, log.read_text()[-2000:]

        second = start_worker(clean_db, redis_handle, log)
        try:

            async def delivered() -> bool:
                message = await OutboxMessage.get(id=row.id)
                return message.status is OutboxStatus.DELIVERED

            await wait_for(delivered, 60, "the second worker to finish the write-back")
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)
    message = await OutboxMessage.get(id=row.id)
    assert message.attempts >= 2 and message.result["already_done"] is True
    assert shop.operations == [(refund.platform_refund_id, 401)], log.read_text()[-2000:]
    fresh = await Refund.get(id=refund.id)
    assert fresh.status is RefundStatus.REFUNDED
    assert await LedgerEntry.filter(refund_id=refund.id).count() == 1


async def test_an_owner_connects_a_store_from_the_form_in_either_language(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    shop.seed(20, start=real_clock() - timedelta(days=2), days=2)
    unshipped = shop.add_aftersale(sorted(shop.orders.values(), key=lambda o: o.order_id)[0], "2")
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")

    page = (await client.get("/orders/stores/")).text
    form = page[page.index('data-platform="douyin"') :]
    form = form[: form.index("</details>")]
    assert "Douyin Shop" in form and "For a self-use app" in form
    assert re.search(r'type="text" name="shop_id"', form)
    assert re.search(r'type="password" name="app_secret"', form)
    assert re.search(r'type="password" name="access_token"', form)
    chinese = (await client.get("/orders/stores/", headers={"Accept-Language": "zh-CN"})).text
    form = chinese[chinese.index('data-platform="douyin"') :]
    form = form[: form.index("</details>")]
    assert "抖店" in form and "自用型应用" in form and "拒绝原因编码" in form

    with gateway(shop) as url:
        token = await csrf_from(client, "/orders/stores/")
        connected = await client.post(
            "/orders/stores/",
            data={
                "csrf_token": token,
                "name": "抖店旗舰店",
                "platform": "douyin",
                "base_url": url,
                "app_key": shop.app_key,
                "app_secret": shop.app_secret,
                "shop_id": shop.shop_id,
            },
            follow_redirects=True,
        )
        assert "Store connected." in connected.text
        store = await Store.get(name="抖店旗舰店")
        connector = connector_for(store, clean_db.secret_key)
        try:
            await sync_stream(store, Stream.ORDERS, connector)
            await sync_stream(store, Stream.AFTER_SALES, connector, handlers=HANDLERS)
        finally:
            await connector.aclose()
        refund = await Refund.get(platform_refund_id=unshipped.aftersale_id)
        agent = await create_user(username="agent", role=Role.AGENT)
        decision = await service.approve(refund.id, actor=agent)
        assert decision.writeback is not None
        handlers = dict(refunds_module.outbox_handlers)
        context = OutboxContext(settings=clean_db)
        delivered = await outbox.deliver(decision.writeback.id, handlers, context=context)
        assert delivered is OutboxStatus.DELIVERED
    assert shop.calls["token.create"] >= 1  # a self-use app: the desk made its own token
    assert shop.operations == [(unshipped.aftersale_id, 401)]
