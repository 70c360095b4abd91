"""Intake: return-and-refund and exchange requests from each sync become return cases.

Runs inside the sync's page transaction after the refunds module's own
intake, so a return-and-refund request's refund already exists and the case
links to it: the refund carries the money, the case the goods. The
platform's word on status wins, as it does for refunds: agreed, refused or
withdrawn on the platform moves the case here too, and a return tracking
number the buyer typed on the platform is followed like one typed here.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from aftersales.core import audit, cases, clock, failures
from aftersales.core.errors import AfterSalesError, InvalidInput
from aftersales.core.models import Store
from aftersales.core.reasons import classify
from aftersales.orders import service as orders_service
from aftersales.orders.models import Order, OrderItem, SyncError
from aftersales.refunds.models import Refund
from aftersales.returns import service
from aftersales.returns.models import (
    OPEN_STATUSES,
    ReturnCase,
    ReturnLine,
    ReturnStatus,
    ReturnTracking,
    TrackingSource,
)
from aftersales.returns.policy import ReturnKind
from connectors.base import AfterSaleKind, AfterSaleRecord, AfterSaleStatus

log = logging.getLogger("aftersales.returns")

KIND = {
    AfterSaleKind.RETURN_AND_REFUND: ReturnKind.RETURN,
    AfterSaleKind.EXCHANGE: ReturnKind.EXCHANGE,
}
BEFORE_RECEIPT = frozenset(
    {
        ReturnStatus.REQUESTED,
        ReturnStatus.APPROVED,
        ReturnStatus.AWAITING_SHIPMENT,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.DELIVERED,
    }
)


async def intake(store: Store, records: list[AfterSaleRecord], conn: BaseDBAsyncClient) -> None:
    """The ``after_sales`` record handler: create or reconcile one case per request.

    Each request runs in its own savepoint: one the desk cannot take (say, more
    units than are left after the cases agents opened) is kept as a sync error
    for the store page, and the page's other requests, refunds included, still land.
    """
    for record in records:
        kind = KIND.get(record.kind)
        if kind is None:
            continue
        try:
            async with in_transaction() as savepoint:
                await _take(store, record, kind, savepoint)
        except AfterSalesError as exc:
            log.warning(
                "returns.intake_refused store=%s request=%s: %s",
                store.id, record.platform_refund_id, exc.message,
            )  # fmt: skip
            await SyncError.create(
                store_id=store.id,
                stream="after_sales",
                record_id=record.platform_refund_id,
                message=f"return case: {exc.english}",
                error_code=(failure := failures.of_exception(exc)).code,
                error_params=failure.params,
                created_at=clock.now(),
                using_db=conn,
            )


async def _take(
    store: Store, record: AfterSaleRecord, kind: ReturnKind, conn: BaseDBAsyncClient
) -> None:
    case = await ReturnCase.get_or_none(
        store_id=store.id, platform_return_id=record.platform_refund_id
    ).using_db(conn)
    order = await orders_service.order_of_record(store, record.platform_order_id, conn)
    refund = await Refund.get_or_none(
        store_id=store.id, platform_refund_id=record.platform_refund_id
    ).using_db(conn)
    if case is None:
        if record.status in (AfterSaleStatus.CANCELLED, AfterSaleStatus.REFUNDED):
            return  # over before we saw it: the refunds module keeps the money's story
        case = await _desk_case_for(store, record, order, conn)
    if case is None:
        case = await _receive(store, record, kind, order, refund, conn)
    elif case.platform_return_id is None:
        await (
            ReturnCase.filter(id=case.id)
            .using_db(conn)
            .update(
                platform_return_id=record.platform_refund_id,
                refund_id=refund.id if refund else None,
            )
        )
        await service.link_refund(await ReturnCase.get(id=case.id).using_db(conn), conn)
    await _reconcile(case, record, order, conn)


async def _desk_case_for(
    store: Store, record: AfterSaleRecord, order: Order | None, conn: BaseDBAsyncClient
) -> ReturnCase | None:
    """An open case an agent opened for this item before the buyer asked on the platform:
    the platform's request is the same return, so it joins that case."""
    if order is None or not record.platform_item_id:
        return None
    candidates = await ReturnCase.filter(
        store_id=store.id,
        order_id=order.id,
        platform_return_id__isnull=True,
        status__in=list(OPEN_STATUSES),
    ).using_db(conn)
    for case in candidates:
        if (
            await ReturnLine.filter(case_id=case.id, platform_item_id=record.platform_item_id)
            .using_db(conn)
            .exists()
        ):
            return case
    return None


async def _receive(
    store: Store,
    record: AfterSaleRecord,
    kind: ReturnKind,
    order: Order | None,
    refund: Refund | None,
    conn: BaseDBAsyncClient,
) -> ReturnCase:
    reason = classify(record.reason or record.buyer_text)
    item = None
    if order is not None and record.platform_item_id:
        item = await OrderItem.get_or_none(
            order_id=order.id, platform_item_id=record.platform_item_id
        ).using_db(conn)
    if order is not None and item is not None:
        quantity = _quantity(item, record.requested_amount, kind)
        return await service.open_case(
            order.id,
            kind=kind,
            lines=[service.LineRequest(item.platform_item_id, quantity)],
            reason=reason,
            buyer_text=record.buyer_text or record.reason or "",
            actor=None,
            platform_return_id=record.platform_refund_id,
            refund_id=refund.id if refund else None,
            requested_at=record.created_at,
            platform_deadline=record.platform_deadline,
            conn=conn,
        )
    # The order has not synced yet: keep the request with what the platform said.
    case = await cases.open_case(
        ReturnCase,
        conn=conn,
        actor=None,
        event="return.requested",
        data={"kind": kind.value, "platform_status": record.platform_status},
        opened_at=record.created_at,
        store_id=store.id,
        order_id=order.id if order else None,
        platform_order_id=record.platform_order_id,
        platform_return_id=record.platform_refund_id,
        kind=kind,
        status=ReturnStatus.REQUESTED,
        reason=reason,
        buyer_text=(record.buyer_text or record.reason or "")[:2000],
        policy_explanation="order not synced yet: no verdict",
        currency=record.currency,
        refund_id=refund.id if refund else None,
        platform_deadline=record.platform_deadline,
        due_at=record.platform_deadline or record.created_at,
    )
    await ReturnLine.create(
        case=case,
        platform_item_id=record.platform_item_id or "",
        quantity=1,
        unit_price=record.requested_amount,
        using_db=conn,
    )
    await service.link_refund(case, conn)
    return case


def _quantity(item: OrderItem, amount: Decimal, kind: ReturnKind) -> int:
    """How many units a request covers: its amount over the unit price, at least one."""
    if kind is ReturnKind.EXCHANGE or item.unit_price <= 0:
        return 1
    units = int((amount / item.unit_price).to_integral_value())
    return max(1, min(item.quantity, units))


async def _reconcile(
    case: ReturnCase, record: AfterSaleRecord, order: Order | None, conn: BaseDBAsyncClient
) -> None:
    """The platform's status and tracking number, applied where they move the case."""
    if order is not None and case.order_id is None:
        await ReturnCase.filter(id=case.id).using_db(conn).update(order_id=order.id)
    if case.platform_status != record.platform_status:
        await (
            ReturnCase.filter(id=case.id)
            .using_db(conn)
            .update(platform_status=record.platform_status)
        )
    case = await ReturnCase.get(id=case.id).using_db(conn)
    moved = await _follow_platform(case, record, conn)
    if moved is not None:
        case = moved
    if record.return_tracking_no and record.return_carrier and case.status in BEFORE_RECEIPT:
        if case.status is ReturnStatus.REQUESTED:
            return
        known = "".join(record.return_tracking_no.split()).upper()
        if await ReturnTracking.filter(case_id=case.id, tracking_no=known).using_db(conn).exists():
            return  # seen before: a number the desk corrected stays corrected
        try:
            await service.add_tracking(
                case.id,
                carrier=record.return_carrier,
                tracking_no=record.return_tracking_no,
                actor=None,
                source=TrackingSource.PLATFORM,
                shipped_at=record.updated_at,
                conn=conn,
            )
        except InvalidInput as exc:
            await audit.record(
                "return.tracking_refused",
                subject_type="return_case",
                subject_id=case.id,
                data={"tracking_no": record.return_tracking_no, "error": exc.message},
                using_db=conn,
            )


async def _follow_platform(
    case: ReturnCase, record: AfterSaleRecord, conn: BaseDBAsyncClient
) -> ReturnCase | None:
    status = record.status
    target: ReturnStatus | None = None
    if status is AfterSaleStatus.REJECTED and case.status is ReturnStatus.REQUESTED:
        target = ReturnStatus.REJECTED
    elif status is AfterSaleStatus.CANCELLED and case.status in BEFORE_RECEIPT:
        target = ReturnStatus.CANCELLED
    elif status is AfterSaleStatus.WAITING_RETURN and case.status in (
        ReturnStatus.REQUESTED,
        ReturnStatus.APPROVED,
    ):
        target = ReturnStatus.AWAITING_SHIPMENT
    elif status is AfterSaleStatus.REFUNDED and case.status in (
        *BEFORE_RECEIPT,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
        ReturnStatus.REFUND_TRIGGERED,
    ):
        target = ReturnStatus.CLOSED
    if target is None:
        return None
    changes: dict[str, Any] = (
        {"due_at": None} if target is not ReturnStatus.AWAITING_SHIPMENT else {}
    )
    if target is ReturnStatus.AWAITING_SHIPMENT and case.buyer_ship_by is None:
        store = await Store.get(id=case.store_id).using_db(conn)
        changes["buyer_ship_by"] = record.updated_at + timedelta(
            days=cases.timer(store, "return_ship_days")
        )
        changes["due_at"] = None
    if target in (ReturnStatus.CLOSED, ReturnStatus.CANCELLED):
        changes["closed_at"] = clock.now()
        changes["close_reason"] = (
            "refunded_on_platform"  # codes: returns.events.NOTES
            if target is ReturnStatus.CLOSED
            else "withdrawn_on_platform"
        )
    return await service.move(
        case,
        target,
        conn,
        action="platform_changed",
        actor=None,
        data={"platform_status": record.platform_status},
        platform=True,
        **changes,
    )
