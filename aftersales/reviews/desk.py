"""What the reviews module shows beside its own pages: home tiles, handover, order page.

- Tiles: new negative reviews since yesterday (cases still new, opened since
  yesterday began in the desk's zone) and the two timer tiles; each links to
  the queue filtered exactly as its number was counted.
- Handover: open review cases falling due in the shift, and on the morning's
  handover yesterday's ratings (``reviews:ratings:<day>``): good, neutral
  and negative counted from the review table, in each store's own day.
- The order page: a line per review of the order, and a badge on the orders
  list while its follow-up is open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aftersales.core import cases, clock
from aftersales.core.auth import MANAGERS
from aftersales.core.cases import CaseRef, HandoverItem, ResolvedCase, Severity
from aftersales.core.errors import Msgid
from aftersales.core.i18n import N_
from aftersales.core.models import Store, User
from aftersales.core.modules import Badge, HandoverWindow, Tile, TimelineEvent
from aftersales.orders import service as orders_service
from aftersales.orders.shift import day_number, day_of
from aftersales.reviews import deadlines, queue
from aftersales.reviews.models import (
    OPEN_STATUSES,
    Review,
    ReviewCase,
    ReviewCaseStatus,
    ReviewResult,
)

MODULE = "reviews"
RATINGS = "ratings"  # yesterday's ratings, named by the day they were written
QUEUE = "/reviews/"
NEW_SINCE_YESTERDAY = "/reviews/?since=yesterday"
ESCALATED = "/reviews/?escalated=1"


async def dashboard_tiles(user: User) -> list[Tile]:
    """New negatives since yesterday, the follow-ups due soon and overdue; for managers,
    those escalated as untouched for a day (the queue's "untouched for a day" list)."""
    since = await queue.yesterday_start()
    new = await ReviewCase.filter(**queue.new_since_filter(since)).count()
    counts = await deadlines.counts()
    tiles = [
        Tile(
            N_("New negative reviews since yesterday"),
            new,
            NEW_SINCE_YESTERDAY,
            "warn" if new else "info",
        ),
        *cases.timer_tiles(
            counts,
            href=QUEUE,
            due_soon=N_("Review follow-ups due within 2 hours"),
            overdue=N_("Review follow-ups overdue"),
        ),
    ]
    if user.role in MANAGERS:  # the escalation lands with whoever hands out work
        untouched = await ReviewCase.filter(escalated=True, status__in=list(OPEN_STATUSES)).count()
        tiles.append(
            Tile(
                N_("Review follow-ups untouched for a day"),
                untouched,
                ESCALATED,
                "alert" if untouched else "info",
            )
        )
    return tiles


# What the next shift has to do for a case in this status before its window closes.
TODO = {
    ReviewCaseStatus.NEW: N_("read it and contact the buyer"),
    ReviewCaseStatus.TRIAGED: N_("contact the buyer"),
    ReviewCaseStatus.CONTACTING: N_("reach the buyer again"),
    ReviewCaseStatus.REMEDY_OFFERED: N_("follow up the remedy offered"),
    ReviewCaseStatus.EXPLANATION_POSTED: N_("wait for the buyer, follow up once"),
    ReviewCaseStatus.AWAITING_BUYER: N_("wait for the buyer, follow up once"),
}


@dataclass(frozen=True, slots=True)
class DueReview(cases.DueCase):
    """What a review case's handover line reads (and, from ``DueCase``, its buyer)."""

    status: ReviewCaseStatus
    buyer_nick: str


async def handover_items(window: HandoverWindow) -> list[HandoverItem]:
    """Open follow-ups whose window closes before the shift ends; the morning's ratings."""
    due = await cases.due_by(ReviewCase, window.end, OPEN_STATUSES, DueReview)
    items = [
        HandoverItem.for_case(
            case,
            window.start,
            window.end,
            N_("Negative review by %(buyer)s: %(what)s"),
            params={
                "buyer": case.buyer_nick or "-",
                "what": Msgid(TODO.get(case.status, TODO[ReviewCaseStatus.NEW])),
            },
            todo=TODO.get(case.status, ""),
            if_fails=N_(
                "If the buyer cannot be reached, post an explanation before the window closes."
            ),
        )
        for case in due
    ]
    if window.morning_check:
        item = await _ratings_item(window)
        if item is not None:
            items.append(item)
    return items


@dataclass(frozen=True)
class DayRatings:
    good: int
    neutral: int
    bad: int

    @property
    def total(self) -> int:
        return self.good + self.neutral + self.bad


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo("Asia/Shanghai")


def grade_of(result: ReviewResult | None, rating: int | None) -> ReviewResult | None:
    """Good, neutral or bad: the platform's word, else 4-5 stars good, 3 neutral, 1-2 bad."""
    if result is not None:
        return ReviewResult(result)
    if rating is None:
        return None
    return (
        ReviewResult.GOOD
        if rating >= 4
        else ReviewResult.NEUTRAL
        if rating == 3
        else (ReviewResult.BAD)
    )


async def ratings_on(day: date) -> DayRatings:
    """Reviews buyers wrote on ``day`` (each store's own local day), by grade."""
    found = {g: 0 for g in ReviewResult}
    for store_id, zone_name in await Store.all().values_list("id", "timezone"):
        zone = _zone(str(zone_name))
        # In UTC: SQLite compares the stored text, which is UTC.
        start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        rows = await Review.filter(
            store_id=store_id, created_at__gte=start, created_at__lt=start + timedelta(days=1)
        ).values_list("result", "rating")
        for result, rating in rows:
            grade = grade_of(result, rating)
            if grade is not None:
                found[grade] += 1
    return DayRatings(
        found[ReviewResult.GOOD], found[ReviewResult.NEUTRAL], found[ReviewResult.BAD]
    )


async def _ratings_item(window: HandoverWindow) -> HandoverItem | None:
    zone = await orders_service.desk_zone()
    today = window.start.astimezone(zone).date()
    yesterday = today - timedelta(days=1)
    ratings = await ratings_on(yesterday)
    if not ratings.total:
        return None
    if ratings.neutral or ratings.bad:
        severity = Severity.DUE_THIS_SHIFT
        todo = N_("Read the neutral and negative ones and contact those buyers.")
        if_fails = N_("If a buyer cannot be reached, note it on the order for the next shift.")
    else:
        severity, todo, if_fails = (
            Severity.WATCH,
            N_("Nothing to follow up: every rating was good."),
            "",
        )
    return HandoverItem(
        ref=CaseRef(MODULE, RATINGS, day_number(yesterday)),
        msgid=N_("Yesterday's ratings: %(good)s good, %(neutral)s neutral, %(bad)s negative"),
        params={"good": ratings.good, "neutral": ratings.neutral, "bad": ratings.bad},
        due_at=None,
        severity=severity,
        todo=todo,
        if_fails=if_fails,
        href=_day_href(yesterday),
    )


def _day_href(day: date) -> str:
    return f"/reviews/all?from={day.isoformat()}&to={day.isoformat()}"


def _title(case: ReviewCase) -> tuple[str, dict[str, object]]:
    return N_("Negative review by %(buyer)s"), {"buyer": case.buyer_nick or "-"}


async def resolve_case(ref: CaseRef) -> ResolvedCase | None:
    return (await resolve_cases([ref])).get(ref)


async def resolve_cases(refs: Sequence[CaseRef]) -> dict[CaseRef, ResolvedCase]:
    """Review cases by id, and the morning's ratings (open the day after they were written)."""
    found = await cases.resolve_many(ReviewCase, refs, _title, open_statuses=OPEN_STATUSES)
    ratings = [r for r in dict.fromkeys(refs) if (r.module, r.kind) == (MODULE, RATINGS)]
    if ratings:
        zone = await orders_service.desk_zone()
        today = clock.now().astimezone(zone).date()
        for ref in ratings:
            day = day_of(ref.id)
            if day is None:
                continue
            current = today.toordinal() - day.toordinal() <= 1
            found[ref] = ResolvedCase(
                ref,
                N_("Ratings of %(day)s"),
                _day_href(day),
                "open" if current else "done",
                {"day": day.isoformat()},
                status_label=N_("To read today") if current else N_("Read"),
                open=current,
            )
    return found


async def order_events(order_id: int) -> list[TimelineEvent]:
    """A line per review of the order, linked to its follow-up when it has one."""
    events = []
    reviews = await Review.filter(order_id=order_id).order_by("created_at")
    followed = {
        c.review_id: c for c in await ReviewCase.filter(review_id__in=[r.id for r in reviews])
    }
    for review in reviews:
        case = followed.get(review.id)
        label = N_("Negative review received") if review.negative else N_("Review received")
        events.append(
            TimelineEvent(review.created_at, label, review.text[:80], case.href if case else None)
        )
    return events


async def order_badges(order_ids: Sequence[int]) -> dict[int, list[Badge]]:
    """ "Negative review open" on each listed order whose review follow-up is open; one query."""
    found = await ReviewCase.filter(
        order_id__in=list(order_ids), status__in=list(OPEN_STATUSES)
    ).only("id", "order_id")
    badges: dict[int, list[Badge]] = {}
    for case in sorted(found, key=lambda c: c.id):
        if case.order_id is not None:
            badges.setdefault(case.order_id, []).append(
                Badge(N_("Negative review open"), case.href)
            )
    return badges
