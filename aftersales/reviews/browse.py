"""The all-reviews browser: every synced review, good ones included, newest first.

Filters: store, result or star rating, sentiment, reason, the day range the
buyer rated in (shop days), product (item id or title), and a text search
over the review and its 追评. Paged by page number on the page and by a
keyset cursor (the last id seen) in the API, so a deep page of a large
shop costs no big OFFSET there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from aftersales.core.reasons import ReasonCode
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import Review, ReviewResult

PAGE_SIZE = 50
MAX_SEARCH = 100  # characters of a text search; longer is cut


@dataclass(frozen=True)
class ReviewFilters:
    store_id: int | None = None
    result: ReviewResult | None = None
    rating: int | None = None  # stars, 1..5
    sentiment: Sentiment | None = None
    reason: ReasonCode | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    product: str = ""
    text: str = ""
    negative_only: bool = False
    zone: ZoneInfo = field(default=ZoneInfo("Asia/Shanghai"), compare=False)


@dataclass
class ReviewPage:
    rows: list[Review]
    total: int
    page: int
    pages: int


def _day(day: date, zone: ZoneInfo) -> datetime:
    # In UTC: SQLite compares the stored text, which is UTC.
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def narrow(filters: ReviewFilters) -> QuerySet[Review]:
    query = Review.all()
    if filters.store_id:
        query = query.filter(store_id=filters.store_id)
    if filters.result is not None:
        query = query.filter(result=filters.result)
    if filters.rating is not None:
        query = query.filter(rating=filters.rating)
    if filters.sentiment is not None:
        query = query.filter(sentiment=filters.sentiment)
    if filters.negative_only:
        query = query.filter(negative=True)
    if filters.since is not None:
        query = query.filter(created_at__gte=_day(filters.since, filters.zone))
    if filters.until is not None:
        query = query.filter(created_at__lt=_day(filters.until + timedelta(days=1), filters.zone))
    if filters.product:
        query = query.filter(
            Q(platform_item_id=filters.product) | Q(product_title__icontains=filters.product)
        )
    if filters.text:
        query = query.filter(
            Q(text__icontains=filters.text) | Q(append_text__icontains=filters.text)
        )
    return query


async def _matching(query: QuerySet[Review], reason: ReasonCode, *order: str) -> list[int]:
    """The ids of ``query`` giving ``reason``, in ``order``: reasons are a JSON list.

    JSON containment differs between SQLite and PostgreSQL, and a list of
    every matching id would not fit in one ``IN``; so (id, reasons) pairs are
    read in order and checked here, and only a page's ids are loaded.
    """
    pairs = await query.order_by(*order).values_list("id", "reasons")
    if reason is ReasonCode.OTHER:
        return [i for i, reasons in pairs if not reasons]
    wanted = reason.value
    return [i for i, reasons in pairs if any(r.get("reason") == wanted for r in reasons or [])]


async def _rows(ids: list[int]) -> list[Review]:
    found = {r.id: r for r in await Review.filter(id__in=ids)}
    return [found[i] for i in ids if i in found]


NEWEST_RATED = ("-created_at", "-id")


async def search(filters: ReviewFilters, *, page: int = 1, per_page: int = PAGE_SIZE) -> ReviewPage:
    """One page of the browser, the newest rating first."""
    query = narrow(filters)
    matching = None
    if filters.reason is not None:
        matching = await _matching(query, filters.reason, *NEWEST_RATED)
    total = len(matching) if matching is not None else await query.count()
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    if matching is not None:
        return ReviewPage(await _rows(matching[start : start + per_page]), total, page, pages)
    rows = await query.order_by(*NEWEST_RATED).offset(start).limit(per_page)
    return ReviewPage(list(rows), total, page, pages)


async def after(
    filters: ReviewFilters, *, cursor: int | None, limit: int
) -> tuple[list[Review], int | None]:
    """One API page newest-synced first (by id), after ``cursor``; and the next cursor."""
    query = narrow(filters)
    if cursor is not None:
        query = query.filter(id__lt=cursor)
    if filters.reason is not None:
        ids = (await _matching(query, filters.reason, "-id"))[: limit + 1]
        rows = await _rows(ids)
    else:
        rows = list(await query.order_by("-id").limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
