"""Refund requests, approval rules, platform write-back, the refund ledger and reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tortoise.expressions import Q

from aftersales.core import cases
from aftersales.core.auth import EVERYONE, MANAGERS
from aftersales.core.cases import CaseRef, ResolvedCase, Severity
from aftersales.core.i18n import N_
from aftersales.core.models import AuditEvent, User
from aftersales.core.modules import (
    Badge,
    HandoverItem,
    HandoverWindow,
    Module,
    NavEntry,
    OrderLink,
    ReportLink,
    StoreLink,
    Tile,
    TimelineEvent,
)
from aftersales.refunds import api, buyers, events, intake, jobs, links, replies, service, writeback
from aftersales.refunds.models import OPEN_STATUSES, Refund, RefundKind, RefundStatus
from aftersales.refunds.routes import routes

REPORT_READERS = MANAGERS  # supervisors produce reports, owners read them


async def dashboard_tiles(user: User) -> list[Tile]:
    """The refund timers: due in two hours, late, or not reaching the platform."""
    counts = await service.counts()
    tiles = cases.timer_tiles(
        counts,
        href="/refunds/",
        due_soon=N_("Refunds due within 2 hours"),
        overdue=N_("Refunds overdue"),
    )
    if counts.writeback_failed:
        tiles.append(
            Tile(
                N_("Refund write-backs failing"),
                counts.writeback_failed,
                "/refunds/?writeback=failed&status=any&linked=any",
                "alert",
            )
        )
    if counts.intercepts:
        tiles.append(
            Tile(N_("Parcels to intercept"), counts.intercepts, "/refunds/?intercept=1", "warn")
        )
    return tiles


# What the order timeline calls a refund the shop started itself (no buyer request).
SHOP_STARTED_LABELS = {
    RefundKind.COMPENSATION: N_("Compensation started by the shop"),
    RefundKind.SHIPPING: N_("Shipping refund started by the shop"),
    RefundKind.PRICE_DIFFERENCE: N_("Price difference refund started by the shop"),
    RefundKind.RETURN_AND_REFUND: N_("Refund for returned goods started by the shop"),
}


async def order_events(order_id: int) -> list[TimelineEvent]:
    """Each refund of the order on the order's timeline: asked (or started), decided, paid.

    A refund the shop started (compensation, shipping, a price difference, the
    money for an inspected return) is the shop's own act: shown as a buyer's
    request it would tell the next agent the buyer complained when they did not.
    The desk writes ``refund.started`` only for those, so that event decides.
    """
    refunds = await Refund.filter(order_id=order_id)
    started = set(
        await AuditEvent.filter(
            action="refund.started",
            subject_type="refund",
            subject_id__in=[str(r.id) for r in refunds],
        ).values_list("subject_id", flat=True)
    )
    events = []
    for refund in refunds:
        href = refund.href
        amount = f"{refund.requested_amount:.2f} {refund.currency}"
        by_shop = str(refund.id) in started
        if by_shop:
            label = SHOP_STARTED_LABELS.get(refund.kind, N_("Refund started by the shop"))
            detail = f"{amount} · {refund.platform_reason}" if refund.platform_reason else amount
            events.append(TimelineEvent(refund.requested_at, label, detail, href))
        else:
            events.append(TimelineEvent(refund.requested_at, N_("Refund requested"), amount, href))
        if refund.decided_at and refund.status is RefundStatus.REJECTED:
            events.append(TimelineEvent(refund.decided_at, N_("Refund refused"), "", href))
        elif refund.decided_at and not by_shop:  # the shop's own start is its approval
            events.append(TimelineEvent(refund.decided_at, N_("Refund approved"), "", href))
        if refund.refunded_at:
            paid = f"{(refund.approved_amount or refund.requested_amount):.2f} {refund.currency}"
            events.append(TimelineEvent(refund.refunded_at, N_("Money refunded"), paid, href))
    return events


async def order_badges(order_ids: Sequence[int]) -> dict[int, list[Badge]]:
    """The orders-list mark "refund open" on each listed order with an open refund.

    One query for the page's orders, so a newcomer sees at a glance which
    order already has a refund being worked (and opens it) before starting another.
    A refund its return case works is that case's badge ("return open"), not a
    second one: the order has one thing open, not two.
    """
    refunds = (
        await Refund.filter(order_id__in=order_ids, status__in=OPEN_STATUSES)
        .filter(links.worked_here())
        .only("id", "order_id")
    )
    badges: dict[int, list[Badge]] = {}
    for refund in sorted(refunds, key=lambda r: r.id):
        badges.setdefault(refund.order_id, []).append(Badge(N_("Refund open"), refund.href))
    return badges


async def handover_items(window: HandoverWindow) -> list[HandoverItem]:
    """Open refunds the next shift must answer, and parcels still to stop.

    Selected in SQL: what falls due before the shift ends, and every request
    whose parcel is still to be stopped (that cannot wait for its deadline).
    A refund its return case works is handed over as that case, not twice.
    """
    stop = Q(intercept_parcel=True, status=RefundStatus.REQUESTED)
    due = await cases.due_by(
        Refund, window.end, OPEN_STATUSES, DueRefund, also=stop, only=links.worked_here()
    )
    return [_handover_item(refund, window) for refund in due]


@dataclass(frozen=True, slots=True)
class DueRefund(cases.DueCase):
    """What a refund's handover line reads (and, from ``DueCase``, its buyer)."""

    status: RefundStatus
    intercept_parcel: bool
    platform_order_id: str
    requested_amount: Decimal
    currency: str


def _handover_item(refund: DueRefund, window: HandoverWindow) -> HandoverItem:
    params = {
        "amount": f"{refund.requested_amount:.2f} {refund.currency}",
        "order": refund.platform_order_id,
    }
    if refund.intercept_parcel and refund.status is RefundStatus.REQUESTED:
        return HandoverItem.for_case(
            refund,
            window.start,
            window.end,
            N_("Refund of %(amount)s for order %(order)s · intercept the parcel"),
            params=params,
            severity=Severity.DUE_THIS_SHIFT,
            todo=N_("Ask the carrier to stop the parcel, then answer the request."),
            if_fails=N_(
                "If the parcel cannot be stopped, ask the buyer to refuse it or send it back."
            ),
        )
    return HandoverItem.for_case(
        refund,
        window.start,
        window.end,
        N_("Refund of %(amount)s for order %(order)s"),
        params=params,
        todo=N_("Answer the request before the platform agrees by itself."),
        if_fails=N_("If you cannot decide in time, hand it to a supervisor."),
    )


def _title(refund: Refund) -> tuple[str, dict[str, object]]:
    return N_("Refund %(number)s"), {"number": refund.platform_refund_id or refund.id}


async def resolve_case(ref: CaseRef) -> ResolvedCase | None:
    return await cases.resolve(Refund, ref, _title, open_statuses=OPEN_STATUSES)


async def resolve_cases(refs: Sequence[CaseRef]) -> dict[CaseRef, ResolvedCase]:
    return await cases.resolve_many(Refund, refs, _title, open_statuses=OPEN_STATUSES)


module = Module(
    name="refunds",
    label=N_("Refunds"),
    models="aftersales.refunds.models",
    migrations="aftersales.refunds.migrations",
    functions=jobs.functions,
    cron_jobs=jobs.cron_jobs,
    outbox_handlers={service.WRITEBACK_KIND: writeback.deliver},
    record_handlers={"after_sales": intake.intake},
    dashboard_tiles=dashboard_tiles,
    routes=routes,
    api_routes=api.api_routes,
    nav=[NavEntry(N_("Refunds"), "/refunds/", EVERYONE)],
    reports=[ReportLink(N_("Refund report"), "/refunds/report", REPORT_READERS)],
    emits=["refund_settled"],
    order_events=order_events,
    order_badges=order_badges,
    buyer_flags=buyers.buyer_flags,
    buyer_flag_keys=frozenset({buyers.FLAG_KEY}),
    store_links=[StoreLink(N_("Refund rules"), "/refunds/rules/{store_id}", MANAGERS)],
    order_links=[OrderLink(N_("Start a refund"), "/refunds/new?order={order_id}")],
    handover_items=handover_items,
    resolve_case=resolve_case,
    resolve_cases=resolve_cases,
    labels=events.LABELS,
    phrase_context=replies.phrase_context,
    phrases=replies.PHRASES,
)
