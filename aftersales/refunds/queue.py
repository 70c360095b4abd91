"""Reading refunds: the queue agents work from and everything beside one refund.

The queue sorts by ``due_at`` because that is the order in which platform
timers will cost the shop money; refunds with no timer come after, oldest
first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from aftersales.core.cases import ResolvedCase
from aftersales.core.models import AuditEvent, OutboxMessage, OutboxStatus, Store, User
from aftersales.core.paging import DuePage, QueueFilters, due_first, narrow
from aftersales.orders import service as orders_service
from aftersales.orders.models import Customer, Order
from aftersales.refunds import ledger, links, service
from aftersales.refunds.models import (
    AD_HOC_KINDS,
    OPEN_STATUSES,
    LedgerEntry,
    Refund,
    RefundEvidence,
    RefundStatus,
)
from aftersales.refunds.rules import Assessment, approval_limit, assess, read_rule

PAGE_SIZE = 50


@dataclass(frozen=True)
class RefundFilters(QueueFilters):
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    intercept: bool = False
    writeback_failed: bool = False  # the platform refused our write-back for good
    # Refunds another case works (a return-and-refund's return case): "work" leaves
    # them out (the queue's default: they are not work here), "only" lists just
    # them, "any" both (the API's default, and the failed write-backs tile).
    linked: str = "any"


LINKED_CHOICES = ("work", "only", "any")


@dataclass
class QueueRow:
    refund: Refund
    order: Order | None
    buyer: str
    verdict: Assessment | None
    worked_in: ResolvedCase | None = None  # the case that works it, when not this queue
    bulk: bool = False  # the reader may tick it for the bulk approval

    @property
    def rule(self) -> Assessment | None:
        """The rule a decided refund went by, read back so the page can translate it."""
        return read_rule(self.refund.rule)

    @property
    def customer(self) -> Customer | None:
        """The buyer, loaded with the order: the row's tags and flags are theirs."""
        return self.order.customer if self.order else None


@dataclass
class RefundPage(DuePage[QueueRow]):
    linked: int = 0  # refunds the filters match that other cases work, left out


async def search(
    filters: RefundFilters, *, per_page: int = PAGE_SIZE, reader: User | None = None
) -> RefundPage:
    """One page of the queue; ``reader`` is who reads it (whose cap ticks the rows)."""
    query = _query(filters)
    if filters.linked == "work":
        query, left_out = query.filter(links.worked_here()), query.filter(links.linked())
    elif filters.linked == "only":
        query, left_out = query.filter(links.linked()), None
    else:
        left_out = None
    found = await due_first(query, page=filters.page, per_page=per_page)
    return RefundPage(
        await _rows(found.rows, reader),
        found.total,
        found.page,
        found.pages,
        linked=await left_out.count() if left_out is not None else 0,
    )


def _query(filters: RefundFilters) -> QuerySet[Refund]:
    query = narrow(Refund.all(), filters, open_statuses=OPEN_STATUSES)
    if filters.min_amount is not None:
        query = query.filter(requested_amount__gte=filters.min_amount)
    if filters.max_amount is not None:
        query = query.filter(requested_amount__lte=filters.max_amount)
    if filters.intercept:
        query = query.filter(intercept_parcel=True)
    if filters.writeback_failed:
        query = query.filter(writeback__status=OutboxStatus.FAILED)
    return query


async def _rows(refunds: list[Refund], reader: User | None) -> list[QueueRow]:
    orders = await orders_service.orders_with_buyers(r.order_id for r in refunds)
    rules = {sid: await service.rules_for(sid) for sid in {r.store_id for r in refunds}}
    worked_in = await links.working_cases(refunds)  # one query a page, not one a row
    rows = []
    for refund in refunds:
        order = orders.get(refund.order_id) if refund.order_id else None
        verdict = None
        if refund.status is RefundStatus.REQUESTED:
            verdict = assess(
                rules[refund.store_id],
                kind=refund.kind,
                amount=refund.requested_amount,
                reason=refund.reason,
                shipped=bool(order and order.shipped_at),
            )
        limit = (
            approval_limit(rules[refund.store_id], reader.role, ad_hoc=refund.kind in AD_HOC_KINDS)
            if reader is not None
            else None
        )
        rows.append(
            QueueRow(
                refund=refund,
                order=order,
                buyer=order.customer.nick if order else "",
                verdict=verdict,
                worked_in=worked_in.get(refund.id),
                bulk=reader is not None
                and service.bulk_refusal(
                    refund, verdict.verdict if verdict else None, reader, limit
                )
                is None,
            )
        )
    return rows


@dataclass
class BuyerHistory:
    orders: int
    refunds: int
    refunded: Decimal


@dataclass
class RefundContext:
    """The refund page: the case, its order and buyer, the money, and what happened."""

    refund: Refund
    store: Store
    order: Order | None
    customer: Customer | None
    history: BuyerHistory | None
    refundable: ledger.Refundable | None
    verdict: Assessment | None
    ledger: list[LedgerEntry]
    writeback: OutboxMessage | None
    events: list[AuditEvent]
    evidence: list[RefundEvidence] = field(default_factory=list)
    actors: dict[int, User] = field(default_factory=dict)
    worked_in: ResolvedCase | None = None  # the case that decides it (its return case)

    @property
    def rule(self) -> Assessment | None:
        """The rule stored on the refund, read back so the page can translate it."""
        return read_rule(self.refund.rule)


async def context(refund_id: int) -> RefundContext:
    refund = await service.get_refund(refund_id)
    store = await Store.get(id=refund.store_id)
    order = (
        await Order.get_or_none(id=refund.order_id).prefetch_related(
            "customer", "items", "shipments"
        )
        if refund.order_id
        else None
    )
    customer = order.customer if order else None
    history = None
    if customer is not None:
        order_ids = await Order.filter(customer_id=customer.id).values_list("id", flat=True)
        history = BuyerHistory(
            orders=len(order_ids),
            refunds=await Refund.filter(order_id__in=list(order_ids)).count(),
            refunded=sum(
                (e.amount for e in await LedgerEntry.filter(order_id__in=list(order_ids))),
                Decimal(0),
            ),
        )
    verdict = None
    if refund.status is RefundStatus.REQUESTED:
        verdict = assess(
            await service.rules_for(refund.store_id),
            kind=refund.kind,
            amount=refund.requested_amount,
            reason=refund.reason,
            shipped=bool(order and order.shipped_at),
        )
    events = await AuditEvent.filter(Q(subject_type="refund", subject_id=str(refund.id))).order_by(
        "-at", "-id"
    )
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = {u.id: u for u in await User.filter(id__in=list(actor_ids))} if actor_ids else {}
    return RefundContext(
        refund=refund,
        store=store,
        order=order,
        customer=customer,
        history=history,
        refundable=await ledger.refundable(refund),
        verdict=verdict,
        ledger=await LedgerEntry.filter(refund_id=refund.id).order_by("at"),
        writeback=await OutboxMessage.get_or_none(id=refund.writeback_id)
        if refund.writeback_id
        else None,
        events=events,
        evidence=await RefundEvidence.filter(refund_id=refund.id).order_by("added_at", "id"),
        actors=actors,
        worked_in=await links.working_case(refund),
    )
