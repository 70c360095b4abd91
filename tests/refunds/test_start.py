"""Refunds the shop starts: shipping, price difference, compensation, within each role's cap."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from aftersales.core import i18n, outbox
from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, OutboxMessage, OutboxStatus, Role, Store
from aftersales.core.modules import OutboxContext
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order
from aftersales.refunds import module as refunds_module
from aftersales.refunds import service
from aftersales.refunds.models import (
    LedgerEntry,
    LedgerSource,
    Refund,
    RefundKind,
    RefundLine,
    RefundRules,
    RefundStatus,
)
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.orders.test_api import bearer
from tests.refunds.test_service import demo_shop

pytestmark = pytest.mark.usefixtures("clean_db")


async def a_paid_order() -> Order:
    return await Order.filter(paid_amount__gt=Decimal("100")).order_by("id").first()


async def test_an_agent_compensates_within_the_cap_and_the_platform_pays(
    settings: Settings,
) -> None:
    store = await demo_shop()
    await RefundRules.create(store=store, ad_hoc_agent_up_to=Decimal("20.00"))
    agent = await create_user(role=Role.AGENT)
    order = await a_paid_order()
    decision = await service.start_refund(
        order.id,
        kind=RefundKind.COMPENSATION,
        amount="15.00",
        reason=ReasonCode.LOGISTICS,
        actor=agent,
        note="快递延误补偿",
    )
    assert decision.refund.status is RefundStatus.APPROVED
    assert decision.refund.platform_refund_id is None  # nobody asked on the platform
    handlers = dict(refunds_module.outbox_handlers)
    context = OutboxContext(settings=settings)
    status = await outbox.deliver(decision.writeback.id, handlers, context=context)
    assert status is OutboxStatus.DELIVERED
    paid = await Refund.get(id=decision.refund.id)
    assert paid.status is RefundStatus.REFUNDED and paid.platform_refund_id is None
    entry = await LedgerEntry.get(refund_id=paid.id)
    assert (entry.amount, entry.source) == (Decimal("15.00"), LedgerSource.DESK)


async def test_over_the_cap_or_the_remainder_nothing_is_created() -> None:
    store = await demo_shop()
    await RefundRules.create(store=store, ad_hoc_agent_up_to=Decimal("20.00"))
    agent = await create_user(role=Role.AGENT)
    boss = await create_user(role=Role.SUPERVISOR)
    order = await a_paid_order()
    before = await Refund.all().count()
    with pytest.raises(service.NeedsSupervisor, match=r"above 20\.00"):
        await service.start_refund(
            order.id, kind=RefundKind.PRICE_DIFFERENCE, amount="25.00",
            reason=ReasonCode.PRICE, actor=agent, note="降价补差",
        )  # fmt: skip
    with pytest.raises(service.AmountExceedsRefundable):
        await service.start_refund(
            order.id, kind=RefundKind.COMPENSATION, amount=f"{order.paid_amount + 1:.2f}",
            reason=ReasonCode.QUALITY, actor=boss, note="整单补偿",
        )  # fmt: skip
    with pytest.raises(service.InvalidInput, match="Say what the refund is for"):
        await service.start_refund(
            order.id, kind=RefundKind.SHIPPING, amount="5", reason=ReasonCode.OTHER, actor=boss
        )
    assert await Refund.all().count() == before
    assert not await AuditEvent.filter(action="refund.started").exists()
    assert not await OutboxMessage.exists()


async def test_a_shipping_refund_is_a_shipping_line_and_taobao_stores_cannot_start_one() -> None:
    await demo_shop()
    boss = await create_user(role=Role.SUPERVISOR)
    order = await a_paid_order()
    decision = await service.start_refund(
        order.id, kind=RefundKind.SHIPPING, amount="8.00", reason=ReasonCode.LOGISTICS,
        actor=boss, note="运费险未生效，退运费",
    )  # fmt: skip
    line = await RefundLine.get(refund_id=decision.refund.id)
    assert line.is_shipping and line.amount == Decimal("8.00")
    await Store.filter(id=order.store_id).update(platform="taobao")
    with pytest.raises(service.InvalidInput, match="cannot start a refund"):
        await service.start_refund(
            order.id, kind=RefundKind.SHIPPING, amount="8.00", reason=ReasonCode.LOGISTICS,
            actor=boss, note="退运费",
        )  # fmt: skip


async def test_a_store_that_cannot_start_refunds_is_named_by_its_platform_label() -> None:
    await demo_shop()
    boss = await create_user(role=Role.SUPERVISOR)
    order = await a_paid_order()
    await Store.filter(id=order.store_id).update(platform="taobao")
    with pytest.raises(service.InvalidInput) as cannot_start:
        await service.start_refund(
            order.id, kind=RefundKind.SHIPPING, amount="8.00", reason=ReasonCode.LOGISTICS,
            actor=boss, note="退运费",
        )  # fmt: skip
    with pytest.raises(service.InvalidInput) as pays_on_request:
        await service.refund_returned_goods(
            order.id, lines=[], reason=ReasonCode.OTHER, note="", rule="", actor=boss
        )
    token = i18n.set_locale("zh_CN")
    try:
        for error in (cannot_start.value, pays_on_request.value):
            assert error.message.startswith("淘宝"), error.message
            assert "taobao" not in error.message
    finally:
        i18n._current.reset(token)
    assert cannot_start.value.english.startswith("A Taobao store")


async def test_starting_a_refund_from_the_order_page_and_the_api(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    await create_user(username="sup", role=Role.SUPERVISOR)
    await sign_in(client, "sup")
    order = await a_paid_order()
    page = await client.get(f"/orders/{order.id}")
    assert f'href="/refunds/new?order={order.id}"' in page.text
    token = await csrf_from(client, f"/refunds/new?order={order.id}")
    done = await client.post(
        "/refunds/new",
        data={"csrf_token": token, "order": str(order.id), "kind": "compensation",
              "amount": "12.50", "reason": "service", "note": "态度不好，致歉补偿"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Refund started." in done.text
    assert await Refund.filter(kind=RefundKind.COMPENSATION, requested_amount="12.50").exists()
    headers = await bearer(Role.SUPERVISOR)
    created = await client.post(
        "/api/v1/refunds",
        json={"order_id": order.id, "kind": "price_difference", "amount": "3.00",
              "reason": "price", "note": "降价补差"},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201 and created.json()["status"] == "approved"
    wrong = await client.post(
        "/api/v1/refunds", json={"order_id": order.id, "kind": "refund_only"}, headers=headers
    )
    assert wrong.status_code == 400
