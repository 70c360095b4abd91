"""Reading review cases: the negative-review queue.

Sorted by ``due_at`` like every case queue: the nearest platform window
first (explain, or the buyer's revision), then cases with no window. Its
filters are the shared ones (status, store, reason, assignee, due) plus
"escalated" (untouched for a day) and "new since yesterday", the list the
home tile counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from aftersales.core import clock
from aftersales.core.paging import DuePage, QueueFilters, due_first, narrow
from aftersales.orders import service as orders_service
from aftersales.orders.models import Customer
from aftersales.reviews.models import OPEN_STATUSES, Review, ReviewCase, ReviewCaseStatus

PAGE_SIZE = 50


@dataclass(frozen=True)
class ReviewCaseFilters(QueueFilters):
    escalated: bool = False
    new_since: datetime | None = None  # ``?since=yesterday``: opened since yesterday began


@dataclass
class QueueRow:
    case: ReviewCase
    review: Review
    customer: Customer | None = None  # the row's tags and flags are theirs


ReviewCasePage = DuePage[QueueRow]


async def yesterday_start(now: datetime | None = None) -> datetime:
    """The start of yesterday in the desk's zone (the morning check's): "since yesterday"."""
    zone = await orders_service.desk_zone()
    today = (now or clock.now()).astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC)  # SQLite compares the stored text, which is UTC


def new_since_filter(since: datetime) -> dict[str, object]:
    """New cases opened since ``since``: the tile and the list it opens select the same."""
    return {"status": ReviewCaseStatus.NEW, "requested_at__gte": since}


async def search(filters: ReviewCaseFilters, *, per_page: int = PAGE_SIZE) -> ReviewCasePage:
    query = narrow(ReviewCase.all(), filters, open_statuses=OPEN_STATUSES)
    if filters.escalated:
        query = query.filter(escalated=True, status__in=list(OPEN_STATUSES))
    if filters.new_since is not None:
        query = query.filter(**new_since_filter(filters.new_since))
    found = await due_first(query, page=filters.page, per_page=per_page)
    return found.with_rows(await _rows(found.rows))


async def _rows(found: list[ReviewCase]) -> list[QueueRow]:
    reviews = {r.id: r for r in await Review.filter(id__in=[c.review_id for c in found])}
    orders = await orders_service.orders_with_buyers(c.order_id for c in found)
    return [
        QueueRow(
            case=case,
            review=reviews[case.review_id],
            customer=orders[case.order_id].customer if case.order_id in orders else None,
        )
        for case in found
        if case.review_id in reviews
    ]
