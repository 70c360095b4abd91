"""One decision, one refund on the platform: concurrent clicks and a worker killed mid-write.

The platform is the fake TOP gateway over loopback HTTP, which counts every
refund it executes; the desk runs on the real database and Redis, and in
the crash test a real ``aftersales worker`` process is killed with SIGKILL
while the platform is paying.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from arq.connections import ArqRedis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
from tests.fakes.serve import serve
from tests.fakes.taobao import FakeTaobaoShop

HANDLERS = record_handlers(Registry([refunds_module]))


@contextmanager
def top_gateway(shop: FakeTaobaoShop, *, slow_agree: float = 0.0) -> Iterator[str]:
    """The fake TOP gateway; ``slow_agree`` holds an agree's answer after it has paid."""

    async def router(request: Request) -> Response:
        params = dict(request.query_params)
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        body, _ = await asyncio.to_thread(shop.answer, params)
        if slow_agree and params.get("method") == "taobao.rp.refunds.agree":
            await asyncio.sleep(slow_agree)
        return JSONResponse(body)

    with serve(Starlette(routes=[Route("/router/rest", router, methods=["GET", "POST"])])) as url:
        yield url


async def taobao_store(shop: FakeTaobaoShop, url: str, settings: Settings) -> Store:
    """A desk store on the fake gateway with its orders and refund requests synced."""
    shop.seed(400, start=datetime.now(UTC) - timedelta(days=6), days=6, refund_rate=0.2)
    store = await create_store(
        name="淘宝店",
        platform="taobao",
        base_url=url,
        credentials={
            "app_key": shop.app_key,
            "app_secret": shop.app_secret,
            "session": shop.session,
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


async def open_requests() -> list[Refund]:
    # By id: without an order PostgreSQL may hand back another first row from run to run.
    refunds = await Refund.filter(
        status=RefundStatus.REQUESTED, order_id__not_isnull=True
    ).order_by("id")
    assert len(refunds) >= 2, "the fake shop has refund requests waiting for the seller"
    return refunds


async def test_two_agents_approving_at_once_pay_the_buyer_once(
    clean_db: Settings, client: httpx.AsyncClient
) -> None:
    shop = FakeTaobaoShop()
    with top_gateway(shop) as url:
        await taobao_store(shop, url, clean_db)
        refund = (await open_requests())[0]
        first, second = (
            await create_user(username="a1", role=Role.AGENT),
            await create_user(username="a2", role=Role.AGENT),
        )
        outcomes = await asyncio.gather(
            service.approve(refund.id, actor=first, expected_version=refund.version),
            service.approve(refund.id, actor=second, expected_version=refund.version),
            return_exceptions=True,
        )
        decided = [o for o in outcomes if isinstance(o, service.Decision)]
        refused = [o for o in outcomes if isinstance(o, service.AlreadyDecided)]
        assert (len(decided), len(refused)) == (1, 1), outcomes

        # And through the pages: two browser tabs posting the same form at once.
        other = (await open_requests())[0]
        await sign_in(client, "a1")
        token = await csrf_from(client, f"/refunds/{other.id}")
        form = {"csrf_token": token, "version": str(other.version)}
        await asyncio.gather(
            client.post(f"/refunds/{other.id}/approve", data=form),
            client.post(f"/refunds/{other.id}/approve", data=form),
        )
        rows = await OutboxMessage.all()
        assert len(rows) == 2  # one per refund, not one per click

        handlers = dict(refunds_module.outbox_handlers)
        context = OutboxContext(settings=clean_db)
        for row in rows:  # delivered, then delivered again as a lost queue would
            assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.DELIVERED
            await OutboxMessage.filter(id=row.id).update(status=OutboxStatus.PENDING)
            await outbox.deliver(row.id, handlers, context=context)
    paid = {int(r.platform_refund_id) for r in [refund, other]}
    assert sorted(shop.executed_refunds) == sorted(paid)
    for r in (refund, other):
        fresh = await Refund.get(id=r.id)
        assert fresh.status is RefundStatus.REFUNDED
        assert await LedgerEntry.filter(refund_id=r.id).count() == 1


async def test_a_worker_killed_while_the_platform_pays_ends_with_one_refund(
    clean_db: Settings,
    redis_handle: RedisHandle,
    redis: ArqRedis,
    tmp_path: Path,
) -> None:
    shop = FakeTaobaoShop()
    log = tmp_path / "worker.log"
    with top_gateway(shop, slow_agree=6.0) as url:
        store = await taobao_store(shop, url, clean_db)
        await Store.filter(id=store.id).update(enabled=False)  # no cron syncs in the way
        refund = (await open_requests())[0]
        agent = await create_user(role=Role.AGENT)
        decision = await service.approve(refund.id, actor=agent)
        row = decision.writeback
        assert row is not None

        first = start_worker(clean_db, redis_handle, log)
        try:
            await wait_for(lambda: _paid(shop), 40, "the platform to execute the refund")
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
    assert shop.executed_refunds == [int(refund.platform_refund_id)], log.read_text()[-2000:]
    fresh = await Refund.get(id=refund.id)
    assert fresh.status is RefundStatus.REFUNDED
    assert await LedgerEntry.filter(refund_id=refund.id).count() == 1


async def _paid(shop: FakeTaobaoShop) -> bool:
    return bool(shop.executed_refunds)


async def test_a_refused_write_back_keeps_its_row_and_key_and_is_retried_from_the_page(
    clean_db: Settings, client: httpx.AsyncClient
) -> None:
    shop = FakeTaobaoShop()
    with top_gateway(shop) as url:
        await taobao_store(shop, url, clean_db)
        refund = (await open_requests())[0]
        await create_user(username="a1", role=Role.AGENT)
        await sign_in(client, "a1")
        token = await csrf_from(client, f"/refunds/{refund.id}")
        await client.post(
            f"/refunds/{refund.id}/approve",
            data={"csrf_token": token, "version": str(refund.version)},
        )
        row = await OutboxMessage.get()
        key = row.idempotency_key
        handlers = dict(refunds_module.outbox_handlers)
        context = OutboxContext(settings=clean_db)
        platform_refund = shop.refunds[int(refund.platform_refund_id)]
        status_before = platform_refund.status
        platform_refund.status = "CLOSED"  # the buyer withdrew it a moment ago
        assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.FAILED
        failed = await Refund.get(id=refund.id)
        assert failed.status is RefundStatus.WRITEBACK_FAILED and failed.writeback_error
        page = await client.get(f"/refunds/{refund.id}")
        assert "Retry the write-back" in page.text
        # The agent reads why in words; the key is for supervisors (test_writeback_words.py).
        assert "Taobao refused this write" in page.text and key not in page.text

        platform_refund.status = status_before  # and asked again
        retried = await client.post(
            f"/refunds/{refund.id}/retry", data={"csrf_token": token}, follow_redirects=True
        )
        assert "same idempotency key" in retried.text
        again = await OutboxMessage.get(id=row.id)
        assert (again.status, again.idempotency_key) == (OutboxStatus.PENDING, key)
        assert await OutboxMessage.all().count() == 1  # no second row, no second key
        assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.DELIVERED
    assert shop.executed_refunds == [int(refund.platform_refund_id)]
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REFUNDED
