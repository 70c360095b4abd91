"""Reading return cases: the queue and everything beside one case.

Sorted by ``due_at`` like the refund queue: the nearest platform timer first
(answer the request, confirm receipt), then cases with no timer, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import Q

from aftersales.core.models import AuditEvent, OutboxMessage, Store, User
from aftersales.core.paging import DuePage, QueueFilters, due_first, narrow
from aftersales.orders import service as orders_service
from aftersales.orders.models import Customer, Order, Shipment
from aftersales.refunds.models import Refund
from aftersales.returns import service
from aftersales.returns.models import (
    INBOUND_STATUSES,
    OPEN_STATUSES,
    ReturnAttachment,
    ReturnCase,
    ReturnLine,
    ReturnTracking,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class ReturnFilters(QueueFilters):
    awaiting_receipt: bool = False  # ``?status=awaiting_receipt``: in transit or delivered


@dataclass
class QueueRow:
    case: ReturnCase
    buyer: str
    lines: list[ReturnLine]
    customer: Customer | None = None  # the row's tags and flags are theirs


ReturnPage = DuePage[QueueRow]


async def search(filters: ReturnFilters, *, per_page: int = PAGE_SIZE) -> ReturnPage:
    query = narrow(ReturnCase.all(), filters, open_statuses=OPEN_STATUSES)
    if filters.awaiting_receipt:
        query = query.filter(status__in=[s.value for s in INBOUND_STATUSES])
    found = await due_first(query, page=filters.page, per_page=per_page)
    return found.with_rows(await _rows(found.rows))


async def _rows(cases: list[ReturnCase]) -> list[QueueRow]:
    orders = await orders_service.orders_with_buyers(c.order_id for c in cases)
    lines: dict[int, list[ReturnLine]] = {}
    for line in await ReturnLine.filter(case_id__in=[c.id for c in cases]).order_by("id"):
        lines.setdefault(line.case_id, []).append(line)  # type: ignore[attr-defined]
    return [
        QueueRow(
            case=case,
            buyer=orders[case.order_id].customer.nick if case.order_id in orders else "",
            lines=lines.get(case.id, []),
            customer=orders[case.order_id].customer if case.order_id in orders else None,
        )
        for case in cases
    ]


@dataclass
class CaseContext:
    """The case page: the case, its lines, parcels, order, money and timeline."""

    case: ReturnCase
    store: Store
    order: Order | None
    customer: Customer | None
    lines: list[ReturnLine]
    trackings: list[ReturnTracking]
    refund: Refund | None
    replacement: Shipment | None
    events: list[AuditEvent]
    actors: dict[int, User] = field(default_factory=dict)
    photos: list[ReturnAttachment] = field(default_factory=list)
    writeback: OutboxMessage | None = (
        None  # the linked refund's decision on its way to the platform
    )

    def parcel_events(self, tracking: ReturnTracking) -> list[tuple[datetime, str]]:
        """The carrier's events as times the page shows in the shop's zone."""
        return [(datetime.fromisoformat(e["at"]), e["text"]) for e in tracking.events]


async def context(case_id: int) -> CaseContext:
    case = await service.get_case(case_id)
    order = (
        await Order.get_or_none(id=case.order_id).prefetch_related("customer", "items")
        if case.order_id
        else None
    )
    events = await AuditEvent.filter(
        Q(subject_type="return_case", subject_id=str(case.id))
    ).order_by("-at", "-id")
    actor_ids = {e.actor_id for e in events if e.actor_id}  # type: ignore[attr-defined]
    for attr in ("received_by_id", "inspected_by_id", "decided_by_id", "assignee_id"):
        if getattr(case, attr):
            actor_ids.add(getattr(case, attr))
    actors = {u.id: u for u in await User.filter(id__in=list(actor_ids))} if actor_ids else {}
    return CaseContext(
        case=case,
        store=await Store.get(id=case.store_id),  # type: ignore[attr-defined]
        order=order,
        customer=order.customer if order else None,
        lines=sorted(case.lines, key=lambda line: line.id),
        trackings=sorted(case.trackings, key=lambda t: t.id, reverse=True),
        refund=(refund := await Refund.get_or_none(id=case.refund_id) if case.refund_id else None),
        replacement=await Shipment.get_or_none(id=case.replacement_id)
        if case.replacement_id
        else None,
        events=events,
        actors=actors,
        photos=await ReturnAttachment.filter(case_id=case.id).order_by("id"),
        writeback=await OutboxMessage.get_or_none(id=refund.writeback_id)
        if refund is not None and refund.writeback_id
        else None,
    )
