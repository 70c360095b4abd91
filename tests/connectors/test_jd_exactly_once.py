"""A JD cancellation refund approved on the desk is written back once, a worker killed mid-write.

The platform is the fake JOS gateway over loopback HTTP, which counts every
``replyRefund`` it executes; the desk runs on the real database and Redis, and
a real ``aftersales worker`` process is killed with SIGKILL after the platform
made the write and before its answer arrived. JOS documents no idempotency,
so the second worker must recognise the write by reading the request back.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from arq.connections import ArqRedis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, Role, Store
from aftersales.core.modules import Registry
from aftersales.core.redis import RedisHandle
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, record_handlers, sync_stream
from aftersales.refunds import module as refunds_module
from aftersales.refunds import service
from aftersales.refunds.models import LedgerEntry, Refund, RefundStatus
from connectors.base import Stream
from tests.core.test_outbox_crash import start_worker, wait_for
from tests.factories import create_user
from tests.fakes.jd import FakeJDShop
from tests.fakes.serve import serve

HANDLERS = record_handlers(Registry([refunds_module]))
REPLY = "jingdong.pop.afs.soa.refundapply.replyRefund"


@contextmanager
def jos_gateway(shop: FakeJDShop, *, slow_reply: float) -> Iterator[str]:
    """The fake gateway; a ``replyRefund`` is made at once and answered ``slow_reply`` later."""

    async def router(request: Request) -> Response:
        params = dict(request.query_params)
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        body, _ = await asyncio.to_thread(shop.answer, params)
        if params.get("method") == REPLY:
            await asyncio.sleep(slow_reply)
        return JSONResponse(body)

    with serve(Starlette(routes=[Route("/routerjson", router, methods=["POST"])])) as url:
        yield url


async def _executed(shop: FakeJDShop) -> bool:
    return bool(shop.executed)


async def test_a_worker_killed_while_jd_decides_ends_with_one_write(
    clean_db: Settings, redis_handle: RedisHandle, redis: ArqRedis, tmp_path: Path
) -> None:
    shop = FakeJDShop()
    shop.seed(400, start=datetime.now(UTC) - timedelta(days=6), days=6)
    log = tmp_path / "worker.log"
    with jos_gateway(shop, slow_reply=6.0) as url:
        store = await create_store(
            name="京东店",
            platform="jd",
            base_url=url,
            credentials={
                "app_key": shop.app_key,
                "app_secret": shop.app_secret,
                "access_token": shop.access_token,
                "refresh_token": shop.refresh_token,
            },
            settings={"history_days": 10},
            secret_key=clean_db.secret_key,
        )
        connector = connector_for(store, clean_db.secret_key)
        try:
            await sync_stream(store, Stream.ORDERS, connector)
            await sync_stream(store, Stream.AFTER_SALES, connector, handlers=HANDLERS)
        finally:
            await connector.aclose()
        await Store.filter(id=store.id).update(enabled=False)  # no cron syncs in the way
        waiting = {r.id for r in shop.refunds.values() if r.status == "0"}
        refund = (
            await Refund.filter(
                status=RefundStatus.REQUESTED, platform_refund_id__in=sorted(waiting)
            )
            .order_by("id")
            .first()
        )
        assert refund is not None, "the fake shop has requests waiting for the seller"
        decision = await service.approve(refund.id, actor=await create_user(role=Role.AGENT))
        row = decision.writeback
        assert row is not None

        first = start_worker(clean_db, redis_handle, log)
        try:
            await wait_for(lambda: _executed(shop), 40, "JD to execute the decision")
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
    assert shop.executed == [(refund.platform_refund_id, "1")], log.read_text()[-2000:]
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REFUNDED
    assert await LedgerEntry.filter(refund_id=refund.id).count() == 1
