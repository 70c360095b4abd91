"""Intake: after-sale records from each sync become refunds, or reconcile the ones we have.

Runs inside the sync's page transaction (``Module.record_handlers``), so a
page's refunds commit with its cursor or not at all. The platform's word on
status and money wins; a new request the store's rules allow is approved on
the spot through the same decision path an agent uses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from aftersales.core import audit, cases, clock, referrals
from aftersales.core.models import Store
from aftersales.core.reasons import classify
from aftersales.orders import service as orders_service
from aftersales.orders.models import Order, OrderItem
from aftersales.refunds import ledger, service, states
from aftersales.refunds.models import LedgerSource, Refund, RefundKind, RefundLine, RefundStatus
from connectors.base import AfterSaleKind, AfterSaleRecord


def due_at_for(
    store: Store,
    *,
    status: RefundStatus,
    kind: RefundKind,
    shipped: bool,
    requested_at: datetime,
    platform_deadline: datetime | None,
    changed_at: datetime,
) -> datetime | None:
    """The nearest timer that hurts the shop; the platform's own deadline wins."""
    if status not in (RefundStatus.REQUESTED, RefundStatus.WAITING_RETURN):
        return None
    if platform_deadline is not None:
        return platform_deadline
    if status is RefundStatus.WAITING_RETURN:
        return changed_at + timedelta(days=cases.timer(store, "return_confirm_days"))
    if kind is RefundKind.REFUND_ONLY and not shipped:
        return requested_at + timedelta(hours=cases.timer(store, "refund_unshipped_hours"))
    return requested_at + timedelta(days=cases.timer(store, "refund_shipped_days"))


KIND = {
    AfterSaleKind.REFUND_ONLY: RefundKind.REFUND_ONLY,
    AfterSaleKind.RETURN_AND_REFUND: RefundKind.RETURN_AND_REFUND,
}


async def intake(store: Store, records: list[AfterSaleRecord], conn: BaseDBAsyncClient) -> None:
    """The ``after_sales`` record handler: create or reconcile one refund per request.

    Runs inside the sync's page transaction. Exchanges belong to the returns
    module and are left to it. A new request the store's rules allow is
    approved here, in the same transaction, with its write-back queued.
    """
    rules = await service.rules_for(store.id, conn=conn)
    for record in records:
        kind = KIND.get(record.kind)
        if kind is None:
            continue
        refund = await Refund.get_or_none(
            store_id=store.id, platform_refund_id=record.platform_refund_id
        ).using_db(conn)
        order = await orders_service.order_of_record(store, record.platform_order_id, conn)
        if refund is None:
            refund = await _receive(store, record, kind, order, conn)
            if refund.status is RefundStatus.REQUESTED:
                await service.auto_approve(refund, rules, order, conn)
        else:
            await _reconcile(store, refund, record, order, conn)


async def _receive(
    store: Store,
    record: AfterSaleRecord,
    kind: RefundKind,
    order: Order | None,
    conn: BaseDBAsyncClient,
) -> Refund:
    now = clock.now()
    status = states.from_platform(None, record.status)
    shipped = bool(order and order.shipped_at)
    refund = await Refund.create(
        store_id=store.id,
        order_id=order.id if order else None,
        platform_order_id=record.platform_order_id,
        platform_refund_id=record.platform_refund_id,
        platform_item_id=record.platform_item_id,
        kind=kind,
        status=status,
        platform_status=record.platform_status,
        currency=record.currency,
        requested_amount=record.requested_amount,
        reason=classify(record.reason or record.buyer_text),
        platform_reason=record.reason or "",
        buyer_text=record.buyer_text or "",
        platform_deadline=record.platform_deadline,
        platform_updated_at=record.updated_at,
        due_at=due_at_for(
            store,
            status=status,
            kind=kind,
            shipped=shipped,
            requested_at=record.created_at,
            platform_deadline=record.platform_deadline,
            changed_at=record.updated_at,
        ),
        # A refund-only request on a parcel already with the carrier: stop the parcel.
        intercept_parcel=kind is RefundKind.REFUND_ONLY
        and shipped
        and status is RefundStatus.REQUESTED,
        requested_at=record.created_at,
        updated_at=now,
        using_db=conn,
    )
    if order is not None and record.platform_item_id:
        item = await OrderItem.get_or_none(
            order_id=order.id, platform_item_id=record.platform_item_id
        ).using_db(conn)
        await RefundLine.create(
            refund=refund,
            order_item_id=item.id if item else None,
            amount=record.requested_amount,
            using_db=conn,
        )
    if status is RefundStatus.REFUNDED:
        refund.approved_amount = record.requested_amount
        refund.refunded_at = record.updated_at
        await refund.save(using_db=conn, update_fields=["approved_amount", "refunded_at"])
        await ledger.pay_out(refund, LedgerSource.PLATFORM, conn)
    await audit.record(
        "refund.received",
        subject_type="refund",
        subject_id=refund.id,
        data={
            "platform_status": record.platform_status,
            "amount": f"{record.requested_amount:.2f}",
        },
        using_db=conn,
    )
    return refund


async def _reconcile(
    store: Store,
    refund: Refund,
    record: AfterSaleRecord,
    order: Order | None,
    conn: BaseDBAsyncClient,
) -> None:
    """A later sync of a known request: the platform's status and figures win."""
    before = refund.status
    before_due = refund.due_at
    after = states.from_platform(before, record.status)
    now = clock.now()
    if order is not None and refund.order_id is None:
        refund.order_id = order.id
    refund.platform_status = record.platform_status
    refund.platform_updated_at = record.updated_at
    refund.platform_deadline = record.platform_deadline
    if before is RefundStatus.REQUESTED:
        refund.requested_amount = record.requested_amount  # the buyer may change it
    refund.status = after
    refund.due_at = due_at_for(
        store,
        status=after,
        kind=refund.kind,
        shipped=bool(order and order.shipped_at),
        requested_at=refund.requested_at,
        platform_deadline=record.platform_deadline,
        changed_at=record.updated_at,
    )
    if after is RefundStatus.DISPUTED:
        refund.disputed = True  # stays true: the report counts refunds the platform decided
    if after is not before:
        refund.version += 1
        if after is RefundStatus.REFUNDED:
            refund.refunded_at = record.updated_at
            refund.approved_amount = refund.approved_amount or record.requested_amount
            # Agreed on the platform while we had not decided, once our deadline had
            # passed: the platform's timer ran out on us. That is a miss the owner sees.
            # Before the deadline it was someone in the platform's back office.
            refund.auto_agreed = (
                refund.decided_at is None
                and before_due is not None
                and record.updated_at >= before_due
            )
    refund.updated_at = now
    await refund.save(using_db=conn)
    if after is RefundStatus.REFUNDED and before is not RefundStatus.REFUNDED:
        await ledger.pay_out(refund, LedgerSource.PLATFORM, conn)
    if after is not before:
        await audit.record(
            "refund.platform_changed",
            subject_type="refund",
            subject_id=refund.id,
            data={
                "from": before.value,
                "to": after.value,
                "platform_status": record.platform_status,
            },
            using_db=conn,
        )
        # The platform decided (the buyer withdrew, it agreed, a dispute): a referral
        # waiting for our decision has nothing left to decide. ``cases.move()`` does
        # this for our own moves; a sync's word is saved as it comes, so here.
        await referrals.close_for(refund, actor=None, outcome=after.value, conn=conn)
