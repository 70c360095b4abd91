"""One request, one item in "waiting for me", and a send that cannot race a decision.

A return-and-refund sent to a supervisor from its refund, before the return
case took it over, follows the work: the supervisor sees one item, the return
case that decides it, with the agent's note. And a send and an approval of
the same case cannot both go through: one of them answers 409.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from aftersales.core import cases, clock, referrals, waiting
from aftersales.core.models import AuditEvent, Referral, Role, Store
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, OrderItem
from aftersales.refunds import intake as refund_intake
from aftersales.refunds import service as refunds
from aftersales.refunds.errors import WorkedInCase
from aftersales.refunds.models import Refund
from aftersales.returns import intake as return_intake
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnStatus
from aftersales.returns.policy import ReturnKind
from connectors.base import AfterSaleKind, AfterSaleRecord, AfterSaleStatus
from tests.factories import create_store, create_user
from tests.refunds.test_caps import an_order
from tests.returns.test_cases import ADDRESS

pytestmark = pytest.mark.usefixtures("app")


def _request(order: Order, item: OrderItem) -> AfterSaleRecord:
    now = clock.now()
    return AfterSaleRecord(
        platform_refund_id="RMA-1",
        platform_order_id=order.platform_order_id,
        platform_item_id=item.platform_item_id,
        kind=AfterSaleKind.RETURN_AND_REFUND,
        status=AfterSaleStatus.REQUESTED,
        platform_status="WAIT_SELLER_AGREE",
        requested_amount=Decimal("476.00"),
        reason="质量问题",
        created_at=now - timedelta(hours=1),
        updated_at=now,
    )


async def _refund_then_case(store: Store) -> tuple[Refund, Referral, ReturnCase]:
    """The refund arrives and is sent to a supervisor; then the return case takes it over."""
    order, item = await an_order(store)
    record = _request(order, item)
    async with in_transaction() as conn:
        await refund_intake.intake(store, [record], conn)
    refund = await Refund.get(platform_refund_id="RMA-1")
    agent = await create_user(role=Role.AGENT)
    referral = await refunds.refer(refund.id, actor=agent, note="买家说两件都碎了")
    async with in_transaction() as conn:
        await return_intake.intake(store, [record], conn)
    case = await ReturnCase.get(platform_return_id="RMA-1")
    assert (await Refund.get(id=refund.id)).worked_in == str(case.ref)
    return refund, referral, case


async def test_a_refund_sent_before_its_return_case_waits_once_on_the_case() -> None:
    store = await create_store()
    boss = await create_user(role=Role.SUPERVISOR)
    refund, first, case = await _refund_then_case(store)

    listed = await referrals.waiting_for(boss)
    assert [(w.referral.module, w.referral.case_id) for w in listed] == [("returns", case.id)]
    carried = listed[0].referral
    assert carried.note == "买家说两件都碎了" and carried.from_user_id == first.from_user_id
    assert carried.amount == Decimal("476.00") and carried.created_at == first.created_at
    assert listed[0].case is not None and listed[0].case.href == f"/returns/{case.id}"
    assert [t.value for t in await waiting.dashboard_tiles(boss)] == [1]
    old = await Referral.get(id=first.id)
    assert old.open_ref is None and old.outcome == referrals.LINKED
    assert await AuditEvent.exists(
        subject_type="refund", subject_id=str(refund.id), action="referral.closed"
    )
    # The return page shows the note; the refund page no longer has a wait of its own.
    view = await service.decision_view(case, boss)
    assert view.referral is not None and view.referral.note == "买家说两件都碎了"
    assert (await refunds.decision_view(refund, boss, shipped=True)).referral is None
    # The refund alone cannot be decided (its case works it); the case can, and that ends it.
    with pytest.raises(WorkedInCase):
        await refunds.approve(refund.id, actor=boss)
    await service.approve(case.id, actor=boss, return_address=ADDRESS)
    assert await referrals.waiting_for(boss) == []
    assert (await Referral.get(id=carried.id)).closed_by_id == boss.id


async def test_a_send_on_a_case_read_before_its_approval_is_refused() -> None:
    store = await create_store()
    order, item = await an_order(store)
    agent = await create_user(role=Role.AGENT)
    boss = await create_user(role=Role.SUPERVISOR)
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 2)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    seen = await ReturnCase.get(id=case.id)  # the agent's send has read the case...
    await service.approve(case.id, actor=boss, return_address=ADDRESS)  # ...the boss approves
    with pytest.raises(cases.CaseConflict):
        async with in_transaction() as conn:
            await referrals.send(seen, actor=agent, note="late", conn=conn)
    assert not await Referral.exists(module="returns", case_id=case.id)
    assert await referrals.waiting_for(boss) == []


async def test_an_approval_on_a_case_read_before_its_send_is_refused() -> None:
    store = await create_store()
    order, item = await an_order(store)
    agent = await create_user(role=Role.AGENT)
    boss = await create_user(role=Role.SUPERVISOR)
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 2)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    seen = await ReturnCase.get(id=case.id)  # the approval has read the case...
    await service.refer(case.id, actor=agent, note="over my cap")  # ...the send lands first
    with pytest.raises(cases.CaseConflict):
        async with in_transaction() as conn:
            await service.move(
                seen, ReturnStatus.AWAITING_SHIPMENT, conn, action="approved", actor=boss
            )
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.REQUESTED
    # The page the send redirected to carries the new version: deciding from it works.
    fresh = await ReturnCase.get(id=case.id)
    assert fresh.version == seen.version + 1
    await service.approve(
        case.id, actor=boss, return_address=ADDRESS, expected_version=fresh.version
    )
    assert await referrals.waiting_for(boss) == []
