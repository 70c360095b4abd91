"""A write-back that failed for good is a handover item of core until it is delivered.

The platform is the fake TOP gateway over loopback HTTP; the desk runs on
the real database and the real outbox. The item names the failure in words,
links to the case the write-back carries (found through the registry), and
leaves the handover once a retry delivered it.
"""

from __future__ import annotations

from datetime import timedelta

import httpx

from aftersales.core import clock, i18n, outbox
from aftersales.core.cases import CaseRef, Severity
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, User
from aftersales.core.modules import HandoverWindow, OutboxContext, Registry
from aftersales.refunds import module as refunds_module
from aftersales.refunds import service as refunds_service
from tests.fakes.taobao import FakeTaobaoShop
from tests.refunds.test_exactly_once import open_requests, taobao_store, top_gateway
from tests.refunds.test_writeback_words import approve_as_agent


def window() -> HandoverWindow:
    start = clock.now() + timedelta(minutes=10)
    return HandoverWindow(start=start, end=start + timedelta(hours=8))


def outbox_items(items):
    return {str(i.ref): i for i in items if i.module == "core"}


async def test_a_refused_write_back_is_handed_over_until_a_retry_delivers_it(
    clean_db: Settings, client: httpx.AsyncClient, app
) -> None:
    registry: Registry = app.state.registry
    handlers = dict(refunds_module.outbox_handlers)
    context = OutboxContext(settings=clean_db)
    shop = FakeTaobaoShop()
    with top_gateway(shop) as url:
        await taobao_store(shop, url, clean_db)
        refund = (await open_requests())[0]
        row = await approve_as_agent(client, refund)
        assert outbox_items(await registry.handover_items(window())) == {}  # on its way
        platform_refund = shop.refunds[int(refund.platform_refund_id)]
        status = platform_refund.status
        platform_refund.status = "CLOSED"  # the platform refuses the write
        assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.FAILED

        items = outbox_items(await registry.handover_items(window()))
        assert set(items) == {f"core:outbox:{row.id}"}
        item = items[f"core:outbox:{row.id}"]
        assert item.summary == (
            f"Write-back {row.id} did not reach the platform: the platform refused it"
        )
        assert item.href == f"/refunds/{refund.id}"  # the case it carries, through the registry
        assert item.severity is Severity.OVERDUE
        assert "back office" in item.todo and item.if_fails
        token = i18n.set_locale("zh_CN")
        try:
            assert item.summary == f"回传 {row.id} 未送达平台：平台拒绝了这次回传"
        finally:
            i18n._current.reset(token)

        ref = CaseRef("core", "outbox", row.id)
        live = await registry.resolve_case(ref)
        assert live is not None and live.open and live.status == "failed"
        assert live.href == f"/refunds/{refund.id}" and live.text == f"Write-back {row.id}"

        # The agent retries from the refund page once the platform takes the write again.
        platform_refund.status = status
        await refunds_service.retry_writeback(refund.id, actor=await User.get(username="agent"))
        assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.DELIVERED

    assert outbox_items(await registry.handover_items(window())) == {}
    closed = (await registry.resolve_cases([ref]))[ref]
    assert not closed.open and closed.status == "delivered"
    assert await registry.resolve_case(CaseRef("core", "outbox", row.id + 100)) is None


async def test_a_write_back_whose_case_cannot_be_found_is_handed_over_without_a_link(
    clean_db: Settings, app
) -> None:
    registry: Registry = app.state.registry
    now = clock.now()
    orphan = await OutboxMessage.create(
        kind="gone.reply",  # its module was switched off: no handler, no resolver
        payload={"reply_id": 7},
        idempotency_key="gone:7",
        next_attempt_at=now,
        created_at=now,
    )
    retrying = await OutboxMessage.create(
        kind="gone.reply",
        payload={"reply_id": 8},
        idempotency_key="gone:8",
        next_attempt_at=now + timedelta(minutes=5),
        created_at=now,
        last_error="timeout",
        error_code="timeout",
        attempts=2,
    )
    assert await outbox.deliver(orphan.id, {}) is OutboxStatus.FAILED

    items = outbox_items(await registry.handover_items(window()))
    assert set(items) == {f"core:outbox:{orphan.id}"}  # not the one still retrying
    item = items[f"core:outbox:{orphan.id}"]
    assert item.href is None
    assert item.summary == (
        f"Write-back {orphan.id} did not reach the platform: "
        "the module that sends it is switched off"
    )
    live = await registry.resolve_cases([CaseRef("core", "outbox", retrying.id)])
    assert [c.open for c in live.values()] == [True]  # still being tried: not closed
