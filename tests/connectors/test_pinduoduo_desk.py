"""A Pinduoduo store in the desk: its form, a refusal it cannot send, one refund per decision.

The platform is the fake PDD gateway over loopback HTTP (tests/fakes/pinduoduo.py),
which counts every agree it executes; the desk runs on the real database and Redis,
and in the crash test a real ``aftersales worker`` is killed with SIGKILL while the
platform is agreeing.
"""

from __future__ import annotations

import asyncio
import html
import json
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
from starlette.responses import Response
from starlette.routing import Route

from aftersales.core import outbox
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, Role, Store
from aftersales.core.modules import OutboxContext, Registry
from aftersales.core.redis import RedisHandle
from aftersales.core.security import decrypt_credentials
from aftersales.orders.models import SyncState
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, record_handlers, sync_stream
from aftersales.refunds import module as refunds_module
from aftersales.refunds import service
from aftersales.refunds.errors import PlatformCannotRefuse
from aftersales.refunds.models import LedgerEntry, Refund, RefundStatus
from connectors.base import AuthFailed, Stream
from tests.conftest import csrf_from, sign_in
from tests.core.test_outbox_crash import start_worker, wait_for
from tests.factories import create_user
from tests.fakes.pinduoduo import FakePddShop, Refusal, _Lost, _numbers, _Queued
from tests.fakes.serve import serve

HANDLERS = record_handlers(Registry([refunds_module]))


@contextmanager
def pdd_gateway(shop: FakePddShop, *, slow_agree: float = 0.0) -> Iterator[str]:
    """The fake gateway; ``slow_agree`` holds an agree's answer after it was carried out."""

    async def router(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            body = await asyncio.to_thread(shop.handle, form)
        except (Refusal, _Queued) as refusal:
            body = {"error_response": refusal.body}
        except _Lost:
            return Response(b"gateway timeout", status_code=504)
        if slow_agree and form.get("type") == "pdd.refund.agree":
            await asyncio.sleep(slow_agree)
        text = json.dumps(body, ensure_ascii=False, default=_numbers)
        return Response(text.encode(), media_type="application/json")

    with serve(Starlette(routes=[Route("/api/router", router, methods=["POST"])])) as url:
        yield url


async def pdd_store(shop: FakePddShop, url: str, settings: Settings) -> Store:
    """A desk store on the fake gateway with its orders and after-sales synced."""
    shop.seed(300, start=datetime.now(UTC) - timedelta(days=2), days=2)
    store = await create_store(
        name="拼多多店",
        platform="pinduoduo",
        base_url=url,
        credentials={
            "client_id": shop.client_id,
            "client_secret": shop.client_secret,
            "access_token": shop.access_token,
            "refresh_token": shop.refresh_token,
        },
        settings={"history_days": 3},
        secret_key=settings.secret_key,
    )
    connector = connector_for(store, settings.secret_key)
    try:
        await sync_stream(store, Stream.ORDERS, connector)
        await sync_stream(store, Stream.AFTER_SALES, connector, handlers=HANDLERS)
        # No review API: the stream is synced, empty, without an error or a call.
        calls = sum(shop.calls.values())
        reviews = await sync_stream(store, Stream.REVIEWS, connector)
        assert (reviews.records, sum(shop.calls.values())) == (0, calls)
    finally:
        await connector.aclose()
    return store


async def refund_only_request() -> Refund:
    refunds = await Refund.filter(
        status=RefundStatus.REQUESTED, order_id__not_isnull=True, platform_status="after_sales:2"
    ).order_by("id")
    assert refunds, "the fake shop has refund-only requests waiting for the merchant"
    return refunds[0]


async def test_the_store_form_shows_pinduoduos_fields_in_chinese_and_english(
    client: httpx.AsyncClient,
) -> None:
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    english = (await client.get("/orders/stores/")).text
    chinese = (await client.get("/orders/stores/", headers={"Accept-Language": "zh-CN"})).text
    assert 'data-platform="pinduoduo"' in english
    for text in ("Pinduoduo", "Client secret", "Access token", "Lets the desk renew"):
        assert text in english
    for text in ("拼多多", "应用密钥", "访问令牌", "自动换取新的"):
        assert text in chinese
    token = await csrf_from(client, "/orders/stores/")
    response = await client.post(
        "/orders/stores/",
        data={"csrf_token": token, "name": "拼", "platform": "pinduoduo", "client_id": "c"},
        headers={"Accept-Language": "zh-CN"},
        follow_redirects=True,
    )
    assert "店铺需要：应用密钥、访问令牌。" in response.text
    assert not await Store.exists(name="拼")


async def test_a_refusal_on_a_pinduoduo_store_is_a_back_office_step_not_an_outbox_item(
    clean_db: Settings, client: httpx.AsyncClient
) -> None:
    shop = FakePddShop()
    with pdd_gateway(shop) as url:
        await pdd_store(shop, url, clean_db)
        refund = await refund_only_request()
        assert refund.due_at is not None  # PDD's own expire_time
        agent = await create_user(username="a1", role=Role.AGENT)
        try:
            await service.reject(refund.id, actor=agent, reason="已发货，请拒收后退款")
        except PlatformCannotRefuse as exc:
            assert exc.code == "refund_platform_cannot_refuse"
        else:
            raise AssertionError("a refusal was queued for a platform that cannot take it")
        await sign_in(client, "a1")
        shown = await client.get(f"/refunds/{refund.id}", headers={"Accept-Language": "zh-CN"})
        assert "该平台不支持通过接口拒绝售后" in shown.text
        assert f'action="/refunds/{refund.id}/reject"' not in shown.text  # no form to fail
        assert f'action="/refunds/{refund.id}/approve"' in shown.text
        token = await csrf_from(client, f"/refunds/{refund.id}")
        page = await client.post(
            f"/refunds/{refund.id}/reject",
            data={"csrf_token": token, "version": str(refund.version), "reason": "已发货，请拒收"},
            headers={"Accept-Language": "zh-CN"},
            follow_redirects=True,
        )
        assert "请到平台后台拒绝该申请" in page.text and "拼多多" in page.text
    assert await OutboxMessage.all().count() == 0
    fresh = await Refund.get(id=refund.id)
    assert fresh.status is RefundStatus.REQUESTED  # open until the refusal syncs
    sent = [f["type"] for f in shop.received]
    assert "pdd.refund.agree" not in sent and not shop.executed


async def test_an_approval_is_delivered_once_even_when_delivered_twice(
    clean_db: Settings,
) -> None:
    shop = FakePddShop()
    with pdd_gateway(shop) as url:
        await pdd_store(shop, url, clean_db)
        refund = await refund_only_request()
        agent = await create_user(role=Role.SUPERVISOR)
        decision = await service.approve(refund.id, actor=agent)
        row = decision.writeback
        assert row is not None
        handlers = dict(refunds_module.outbox_handlers)
        context = OutboxContext(settings=clean_db)
        assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.DELIVERED
        await OutboxMessage.filter(id=row.id).update(status=OutboxStatus.PENDING)
        await outbox.deliver(row.id, handlers, context=context)
    assert shop.executed == [int(refund.platform_refund_id)]
    fresh = await Refund.get(id=refund.id)
    assert fresh.status is RefundStatus.REFUNDED
    assert await LedgerEntry.filter(refund_id=refund.id).count() == 1


async def test_a_worker_killed_while_pinduoduo_agrees_ends_with_one_refund(
    clean_db: Settings,
    redis_handle: RedisHandle,
    redis: ArqRedis,
    tmp_path: Path,
) -> None:
    shop = FakePddShop()
    log = tmp_path / "worker.log"
    with pdd_gateway(shop, slow_agree=6.0) as url:
        store = await pdd_store(shop, url, clean_db)
        await Store.filter(id=store.id).update(enabled=False)  # no cron syncs in the way
        refund = await refund_only_request()
        agent = await create_user(role=Role.SUPERVISOR)
        decision = await service.approve(refund.id, actor=agent)
        row = decision.writeback
        assert row is not None

        async def agreed() -> bool:
            return bool(shop.executed)

        first = start_worker(clean_db, redis_handle, log)
        try:
            await wait_for(agreed, 40, "the platform to execute the agree")
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
    assert shop.executed == [int(refund.platform_refund_id)], log.read_text()[-2000:]
    assert shop.calls["pdd.refund.agree"] == 1
    fresh = await Refund.get(id=refund.id)
    assert fresh.status is RefundStatus.REFUNDED
    assert await LedgerEntry.filter(refund_id=refund.id).count() == 1


async def test_an_expired_token_that_cannot_be_refreshed_is_a_clear_store_error(
    clean_db: Settings, client: httpx.AsyncClient
) -> None:
    shop = FakePddShop()
    with pdd_gateway(shop) as url:
        store = await pdd_store(shop, url, clean_db)
        shop.expire_token()
        shop.refresh_fails = True
        connector = connector_for(store, clean_db.secret_key)
        try:
            await sync_stream(store, Stream.ORDERS, connector)
        except AuthFailed:
            pass
        else:
            raise AssertionError("a sync with a dead token went through")
        finally:
            await connector.aclose()
    state = await SyncState.get(store_id=store.id, stream=Stream.ORDERS.value)
    assert state.error_code == "auth"
    assert state.last_error and "authorise the store again" in state.last_error
    assert shop.calls["pdd.pop.auth.token.refresh"] == 1
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    page = await client.get(f"/orders/stores/{store.id}")
    assert "Pinduoduo refused the store's credentials" in html.unescape(page.text)


async def test_a_refreshed_token_is_kept_so_the_next_sync_starts_from_it(
    clean_db: Settings,
) -> None:
    shop = FakePddShop()
    with pdd_gateway(shop) as url:
        store = await pdd_store(shop, url, clean_db)
        shop.expire_token()
        connector = connector_for(store, clean_db.secret_key)
        try:
            await sync_stream(store, Stream.ORDERS, connector)
        finally:
            await connector.aclose()
        fresh = await Store.get(id=store.id)
        saved = decrypt_credentials(clean_db.secret_key, fresh.credentials_encrypted)
        # The fake rotates both tokens: the refresh token the store started with is dead.
        assert (saved["access_token"], saved["refresh_token"]) == (
            shop.access_token,
            shop.refresh_token,
        )
        assert "owner_name" not in saved  # only the tokens, not the answer's other fields
        again = connector_for(fresh, clean_db.secret_key)
        try:
            await sync_stream(fresh, Stream.ORDERS, again)
        finally:
            await again.aclose()
    assert shop.refreshed == 1
