"""Refunds through the service: intake from sync, decisions, guard rails, write-back, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from aftersales.core import aftercommit, clock, outbox
from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, OutboxMessage, OutboxStatus, Role, Store
from aftersales.core.modules import OutboxContext, Registry
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order
from aftersales.orders.sync import record_handlers, sync_stream
from aftersales.refunds import intake, service, states
from aftersales.refunds import module as refunds_module
from aftersales.refunds.errors import OrderNotSynced
from aftersales.refunds.models import (
    LedgerEntry,
    LedgerSource,
    Refund,
    RefundKind,
    RefundRules,
    RefundStatus,
)
from connectors.base import AfterSaleStatus, Stream
from connectors.demo import DemoConnector
from tests.factories import create_store, create_user

pytestmark = pytest.mark.usefixtures("clean_db")
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
HANDLERS = record_handlers(Registry([refunds_module]))


async def demo_shop(*, rules: dict | None = None) -> Store:
    """The demo shop with its orders and refund requests synced, the clock at its 'now'."""
    clock.travel(NOW - clock.now())
    store = await create_store()
    if rules:
        await RefundRules.create(store=store, **rules)
    connector = DemoConnector(now=NOW)
    await sync_stream(store, Stream.ORDERS, connector)
    await sync_stream(store, Stream.AFTER_SALES, connector, handlers=HANDLERS)
    return store


async def open_request() -> Refund:
    """A refund-only request: a return-and-refund waits for its goods (tests/returns)."""
    return (
        await Refund.filter(status=RefundStatus.REQUESTED, kind=RefundKind.REFUND_ONLY)
        .order_by("id")
        .first()
    )


async def test_sync_turns_requests_into_refunds_with_platform_money_in_the_ledger() -> None:
    await demo_shop()
    records = {r.platform_refund_id: r for r in DemoConnector(now=NOW).all_refunds()}
    refunds = await Refund.all()
    assert {r.platform_refund_id for r in refunds} == {
        k for k, r in records.items() if r.kind.value != "exchange"
    }
    for refund in refunds:
        record = records[refund.platform_refund_id]
        assert refund.status is states.from_platform(None, record.status)
        assert refund.requested_amount == record.requested_amount
        assert refund.order_id is not None
    paid = [r for r in refunds if r.status is RefundStatus.REFUNDED]
    ledger = await LedgerEntry.all()
    assert len(paid) > 5 and {e.refund_id for e in ledger} == {r.id for r in paid}
    assert all(e.source is LedgerSource.PLATFORM for e in ledger)
    open_ones = [r for r in refunds if r.status is RefundStatus.REQUESTED]
    assert open_ones and all(r.due_at == r.platform_deadline for r in open_ones)
    # Reasons land in the shared taxonomy; "拍错了/多拍了" is a change of mind.
    assert ReasonCode.CHANGED_MIND in {r.reason for r in refunds}


async def test_a_second_sync_changes_nothing() -> None:
    store = await demo_shop()
    before = sorted(await Refund.all().values_list("id", "status", "version"))
    entries = await LedgerEntry.all().count()
    await sync_stream(store, Stream.AFTER_SALES, DemoConnector(now=NOW), handlers=HANDLERS)
    await Store.get(id=store.id)
    from aftersales.orders.models import SyncState

    await SyncState.filter(store_id=store.id, stream="after_sales").update(cursor=None)
    await sync_stream(store, Stream.AFTER_SALES, DemoConnector(now=NOW), handlers=HANDLERS)
    assert sorted(await Refund.all().values_list("id", "status", "version")) == before
    assert await LedgerEntry.all().count() == entries


async def test_approval_queues_one_writeback_and_audits_it() -> None:
    await demo_shop()
    agent = await create_user(role=Role.AGENT)
    refund = await open_request()
    decision = await service.approve(refund.id, actor=agent, expected_version=refund.version)
    assert decision.refund.status is RefundStatus.APPROVED
    assert decision.refund.approved_amount == refund.requested_amount
    message = await OutboxMessage.get(id=decision.refund.writeback_id)
    assert message.idempotency_key == f"refund:{refund.id}:approve:v{refund.version}"
    event = await AuditEvent.get(action="refund.approved", subject_id=str(refund.id))
    assert event.actor_id == agent.id and event.data["outbox_key"] == message.idempotency_key


async def test_a_second_decision_is_refused_and_changes_nothing() -> None:
    await demo_shop()
    agent = await create_user(role=Role.AGENT)
    refund = await open_request()
    await service.approve(refund.id, actor=agent, expected_version=refund.version)
    with pytest.raises(service.AlreadyDecided):
        await service.approve(refund.id, actor=agent, expected_version=refund.version)
    with pytest.raises(service.AlreadyDecided):
        await service.reject(refund.id, actor=agent, reason="不符合退款条件")
    assert await OutboxMessage.all().count() == 1
    assert await AuditEvent.filter(action__in=["refund.approved", "refund.rejected"]).count() == 1


async def test_a_repeated_idempotency_key_returns_the_first_decision() -> None:
    await demo_shop()
    agent = await create_user(role=Role.AGENT)
    refund = await open_request()
    first = await service.approve(refund.id, actor=agent, idempotency_key="k-1")
    with aftercommit.unit() as repeat:
        again = await service.approve(refund.id, actor=agent, idempotency_key="k-1")
    due = repeat.committed  # what the repeat would have a worker deliver
    assert again.repeated and again.refund.id == first.refund.id and due == []
    with pytest.raises(service.AlreadyDecided):
        await service.approve(refund.id, actor=agent, idempotency_key="k-2")


async def test_more_than_the_refundable_remainder_is_refused_and_changes_nothing() -> None:
    await demo_shop()
    agent = await create_user(role=Role.SUPERVISOR)
    refund = await open_request()
    order = await Order.get(id=refund.order_id)
    # Pretend the platform already paid most of the order back.
    await LedgerEntry.create(
        refund=refund,
        store_id=refund.store_id,
        order=order,
        amount=order.paid_amount - Decimal("1.00"),
        currency="CNY",
        source=LedgerSource.PLATFORM,
        at=clock.now(),
    )
    with pytest.raises(service.AmountExceedsRefundable, match=r"Only 1\.00"):
        await service.approve(refund.id, actor=agent, amount="2.00")
    fresh = await Refund.get(id=refund.id)
    assert (fresh.status, fresh.version, fresh.writeback_id) == (
        RefundStatus.REQUESTED,
        refund.version,
        None,
    )
    assert not await OutboxMessage.exists()
    assert not await AuditEvent.filter(action="refund.approved").exists()
    ok = await service.approve(refund.id, actor=agent, amount="1.00")
    assert ok.refund.approved_amount == Decimal("1.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [("0", "positive"), ("-5", "positive"), ("1.234", "two decimals"), ("abc", "number")],
)
async def test_bad_amounts_say_why(amount: str, message: str) -> None:
    await demo_shop()
    refund = await open_request()
    with pytest.raises(service.InvalidInput, match=message):
        await service.approve(refund.id, actor=await create_user(), amount=amount)


async def test_role_limits_send_big_refunds_to_a_supervisor() -> None:
    await demo_shop(rules={"supervisor_above": Decimal("50.00"), "night_agent_up_to": "20.00"})
    refund = await Refund.filter(
        status=RefundStatus.REQUESTED, requested_amount__gt=Decimal("50.00")
    ).first()
    assert refund is not None
    night = await create_user(role=Role.NIGHT_AGENT)
    agent = await create_user(role=Role.AGENT)
    with pytest.raises(service.NeedsSupervisor, match=r"above 20\.00"):
        await service.approve(refund.id, actor=night, amount="30.00")
    with pytest.raises(service.NeedsSupervisor, match=r"above 50\.00"):
        await service.approve(refund.id, actor=agent)
    await service.approve(refund.id, actor=agent, amount="50.00")  # within the agent's limit


async def test_rules_auto_approve_small_unshipped_refund_only_requests() -> None:
    await demo_shop(rules={"auto_approve_unshipped_up_to": Decimal("500.00")})
    auto = await Refund.filter(decided_by_id=None, status=RefundStatus.APPROVED)
    assert auto, "the demo shop has small refund-only requests on unshipped orders"
    for refund in auto:
        order = await Order.get(id=refund.order_id)
        assert order.shipped_at is None and refund.requested_amount <= Decimal("500.00")
        assert refund.rule == "refund only, not shipped, amount up to 500.00: auto-approved"
        assert refund.writeback_id is not None
    waiting = await Refund.filter(status=RefundStatus.REQUESTED)
    assert waiting and all(r.rule == "an agent decides" for r in waiting)


async def test_writeback_pays_once_and_books_the_money(settings: Settings) -> None:
    await demo_shop()
    agent = await create_user()
    refund = await open_request()
    decision = await service.approve(refund.id, actor=agent)
    handlers = {service.WRITEBACK_KIND: refunds_module.outbox_handlers[service.WRITEBACK_KIND]}
    context = OutboxContext(settings=settings)
    status = await outbox.deliver(decision.writeback.id, handlers, context=context)
    assert status is OutboxStatus.DELIVERED
    paid = await Refund.get(id=refund.id)
    assert (paid.status, paid.platform_status) == (RefundStatus.REFUNDED, "SUCCESS")
    entries = await LedgerEntry.filter(refund_id=refund.id)
    assert [(e.amount, e.source) for e in entries] == [(paid.approved_amount, LedgerSource.DESK)]
    # The platform now reports the request as paid: the next sync keeps one ledger row.
    store = await Store.get(id=refund.store_id)
    from aftersales.orders.models import SyncState

    await SyncState.filter(store_id=store.id, stream="after_sales").update(cursor=None)
    await sync_stream(store, Stream.AFTER_SALES, DemoConnector(now=NOW), handlers=HANDLERS)
    assert await LedgerEntry.filter(refund_id=refund.id).count() == 1
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REFUNDED


async def test_overdue_requests_escalate_and_platform_timeouts_count_as_misses() -> None:
    store = await demo_shop()
    refund = await open_request()
    assert refund.due_at is not None
    assert await service.sweep_deadlines() == 0
    clock.travel(refund.due_at - clock.now() + timedelta(minutes=1))
    assert await service.sweep_deadlines() >= 1
    escalated = await Refund.get(id=refund.id)
    assert escalated.escalated
    assert await AuditEvent.filter(action="refund.escalated", subject_id=str(refund.id)).exists()
    assert await service.sweep_deadlines() == 0  # once
    counts = await service.counts()
    assert counts.overdue >= 1
    # The platform agreed on its own after the deadline: a miss on the report.
    record = next(
        r
        for r in DemoConnector(now=NOW).all_refunds()
        if r.platform_refund_id == refund.platform_refund_id
    )
    paid = record.model_copy(
        update={
            "status": AfterSaleStatus.REFUNDED,
            "platform_status": "SUCCESS",
            "updated_at": refund.due_at + timedelta(seconds=1),
        }
    )
    async with in_transaction() as conn:
        await intake.intake(store, [paid], conn)
    missed = await Refund.get(id=refund.id)
    assert missed.status is RefundStatus.REFUNDED and missed.auto_agreed


@pytest.mark.parametrize("current", list(RefundStatus))
@pytest.mark.parametrize("new", list(RefundStatus))
def test_only_listed_transitions_are_legal(current: RefundStatus, new: RefundStatus) -> None:
    if new in states.TRANSITIONS[current]:
        states.check(current, new)
    else:
        with pytest.raises(states.IllegalTransition):
            states.check(current, new)


def test_a_sync_does_not_undo_a_decision_still_being_written_back() -> None:
    assert (
        states.from_platform(RefundStatus.APPROVED, AfterSaleStatus.REQUESTED)
        is RefundStatus.APPROVED
    )
    assert (
        states.from_platform(RefundStatus.REFUNDED, AfterSaleStatus.CANCELLED)
        is RefundStatus.REFUNDED
    )
    assert (
        states.from_platform(RefundStatus.REQUESTED, AfterSaleStatus.REFUNDED)
        is RefundStatus.REFUNDED
    )
    assert (
        states.from_platform(RefundStatus.REQUESTED, AfterSaleStatus.UNKNOWN)
        is RefundStatus.REQUESTED
    )


async def test_the_handover_gets_due_refunds_and_parcels_to_stop() -> None:
    from aftersales.core.modules import HandoverWindow

    await demo_shop()
    start = clock.now()
    window = HandoverWindow(start=start, end=start + timedelta(hours=12))
    items = await refunds_module.handover_items(window)
    intercepts = await Refund.filter(intercept_parcel=True, status=RefundStatus.REQUESTED)
    due = await Refund.filter(
        status=RefundStatus.REQUESTED, due_at__lt=window.end, intercept_parcel=False
    )
    assert intercepts, "the demo shop has refund-only requests on shipped orders"
    assert {i.href for i in items} == {f"/refunds/{r.id}" for r in [*intercepts, *due]}
    assert all("intercept the parcel" in i.summary for i in items if i.href in {
        f"/refunds/{r.id}" for r in intercepts
    })  # fmt: skip
    buyers = dict(await Order.all().values_list("id", "customer_id"))
    by_href = {f"/refunds/{r.id}": buyers[r.order_id] for r in [*intercepts, *due]}
    assert {i.href: i.customer_id for i in items} == by_href  # the buyer of each, for its flags
    order = await Order.get(id=intercepts[0].order_id)
    events = await refunds_module.order_events(order.id)
    assert "Refund requested" in {e.label for e in events}


async def test_a_request_synced_before_its_order_is_linked_when_approved_once_the_order_is_in() -> (
    None
):
    # Orders and after-sales sync side by side: a request can land before its order.
    await demo_shop()
    agent = await create_user(role=Role.AGENT)
    refund = await open_request()
    order_id = refund.order_id
    assert order_id is not None
    await Refund.filter(id=refund.id).update(order_id=None)
    await service.approve(refund.id, actor=agent, expected_version=refund.version)
    assert (await Refund.get(id=refund.id)).order_id == order_id
    # An order that truly has not synced still stops the approval.
    other = await Refund.filter(status=RefundStatus.REQUESTED).exclude(id=refund.id).first()
    assert other is not None
    await Refund.filter(id=other.id).update(order_id=None, platform_order_id="NOT-SYNCED")
    with pytest.raises(OrderNotSynced):
        await service.approve(other.id, actor=agent, expected_version=other.version)
