"""Return and exchange cases (RMA): policy windows, return shipping, inspection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aftersales.core import cases
from aftersales.core.auth import EVERYONE, MANAGERS
from aftersales.core.cases import CaseRef, ResolvedCase
from aftersales.core.errors import Msgid
from aftersales.core.i18n import N_
from aftersales.core.models import User
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
from aftersales.core.setting_fields import SettingField
from aftersales.returns import (
    api,
    deadlines,
    events,
    intake,
    jobs,
    parcels,
    replies,
    service,
    settlement,
)
from aftersales.returns.models import OPEN_STATUSES, RUNNING_STATUSES, ReturnCase, ReturnStatus
from aftersales.returns.policy import ReturnKind
from aftersales.returns.routes import routes


async def dashboard_tiles(user: User) -> list[Tile]:
    """Parcels on their way, parcels waiting for inspection, and the timers.

    Each link opens the queue with the filter its number counted: awaiting
    receipt is in transit or delivered (the carrier says so, the warehouse has
    not scanned it yet), the delivered ones alone open the receiving page's list,
    the timers count open cases like the queue does.
    """
    counts = await deadlines.counts()
    delivered = await parcels.delivered_count()
    return [
        Tile(
            N_("Returns awaiting receipt"),
            counts.awaiting_receipt,
            "/returns/?status=awaiting_receipt",
        ),
        Tile(
            N_("Parcels delivered, not yet scanned"),
            delivered,
            "/returns/receiving#delivered",
            "warn" if delivered else "info",
        ),
        Tile(
            N_("Returns to inspect"),
            counts.inspection_backlog,
            "/returns/?status=received",
            "warn" if counts.inspection_backlog else "info",
        ),
        *cases.timer_tiles(
            counts,
            href="/returns/",
            due_soon=N_("Return deadlines within 2 hours"),
            overdue=N_("Return deadlines missed"),
        ),
    ]


# What the next shift has to do for a case in this status before its timer runs out.
DEADLINE_LABELS = {
    ReturnStatus.REQUESTED: N_("answer the request"),
    ReturnStatus.RECEIVED: N_("inspect before the confirm-receipt deadline"),
    ReturnStatus.IN_TRANSIT: N_("confirm receipt"),
    ReturnStatus.DELIVERED: N_("confirm receipt"),
    ReturnStatus.INSPECTED: N_("ship the replacement"),
}


@dataclass(frozen=True, slots=True)
class DueReturn(cases.DueCase):
    """What a return case's handover line reads (and, from ``DueCase``, its buyer)."""

    status: ReturnStatus
    kind: ReturnKind
    platform_order_id: str


async def handover_items(window: HandoverWindow) -> list[HandoverItem]:
    """Open cases whose timer falls before the next shift ends, or already passed."""
    due = await cases.due_by(ReturnCase, window.end, OPEN_STATUSES, DueReturn)
    return [
        HandoverItem.for_case(
            case,
            window.start,
            window.end,
            N_("Exchange for order %(order)s: %(what)s")
            if case.kind.value == "exchange"
            else N_("Return for order %(order)s: %(what)s"),
            params={
                "order": case.platform_order_id,
                "what": Msgid(DEADLINE_LABELS.get(case.status, case.status.value)),
            },
            todo=DEADLINE_LABELS.get(case.status, ""),
            if_fails=N_("If it cannot be done in time, tell a supervisor before the deadline."),
        )
        for case in due
    ]


def _title(case: ReturnCase) -> tuple[str, dict[str, object]]:
    if case.kind.value == "exchange":
        return N_("Exchange for order %(number)s"), {"number": case.platform_order_id}
    return N_("Return for order %(number)s"), {"number": case.platform_order_id}


async def resolve_case(ref: CaseRef) -> ResolvedCase | None:
    return await cases.resolve(ReturnCase, ref, _title, open_statuses=OPEN_STATUSES)


async def resolve_cases(refs: Sequence[CaseRef]) -> dict[CaseRef, ResolvedCase]:
    return await cases.resolve_many(ReturnCase, refs, _title, open_statuses=OPEN_STATUSES)


async def order_events(order_id: int) -> list[TimelineEvent]:
    events = []
    for case in await ReturnCase.filter(order_id=order_id):
        href = case.href
        label = (
            N_("Exchange requested") if case.kind.value == "exchange" else N_("Return requested")
        )
        events.append(TimelineEvent(case.requested_at, label, case.status.value, href))
        if case.received_at:
            events.append(TimelineEvent(case.received_at, N_("Return received"), "", href))
    return events


async def order_badges(order_ids: Sequence[int]) -> dict[int, list[Badge]]:
    """The orders-list mark "return open" on each listed order with an open return or exchange.

    One query for the page's orders (see ``Registry.order_badges``). A case
    still waiting for its money is open too: its refund is worked here and shows
    no badge of its own (``Refund.worked_in``), so this is the order's one mark.
    """
    found = await ReturnCase.filter(order_id__in=order_ids, status__in=RUNNING_STATUSES).only(
        "id", "order_id", "kind"
    )
    badges: dict[int, list[Badge]] = {}
    for case in sorted(found, key=lambda c: c.id):
        label = N_("Exchange open") if case.kind.value == "exchange" else N_("Return open")
        badges.setdefault(case.order_id, []).append(Badge(label, case.href))
    return badges


module = Module(
    name="returns",
    label=N_("Returns"),
    models="aftersales.returns.models",
    migrations="aftersales.returns.migrations",
    functions=jobs.functions,
    cron_jobs=jobs.cron_jobs,
    record_handlers={"after_sales": intake.intake},
    # Returns intake links a case to the refund refunds intake wrote for the same request.
    after=("refunds",),
    subscribers={"refund_settled": settlement.on_refund_settled},
    store_settings=service.STORE_SETTINGS,
    # The policy itself has its own page (store_links); the address fits a plain box.
    store_setting_fields=[
        SettingField(
            "return_address",
            N_("Return address"),
            N_(
                "Recipient, phone and full address buyers send returns to; "
                "filled in when a return is approved."
            ),
            kind="textarea",
            max_length=500,
        )
    ],
    dashboard_tiles=dashboard_tiles,
    routes=routes,
    api_routes=api.api_routes,
    nav=[
        NavEntry(N_("Returns"), "/returns/", EVERYONE),
        NavEntry(N_("Receiving"), "/returns/receiving", EVERYONE),
    ],
    reports=[ReportLink(N_("Returns report"), "/returns/report", MANAGERS)],
    order_events=order_events,
    order_badges=order_badges,
    store_links=[StoreLink(N_("Return policy"), "/returns/policy/{store_id}", MANAGERS)],
    order_links=[OrderLink(N_("Open a return"), "/returns/new?order={order_id}")],
    handover_items=handover_items,
    resolve_case=resolve_case,
    resolve_cases=resolve_cases,
    labels=events.LABELS,
    phrase_context=replies.phrase_context,
    phrases=replies.PHRASES,
)
