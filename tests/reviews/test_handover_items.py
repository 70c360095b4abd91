"""What the reviews module hands to the next shift: follow-ups falling due, yesterday's ratings.

The morning check "yesterday's ratings" moved here from the orders module:
it counts good, neutral and negative reviews from the review table, in each
store's own day, and links to the all-reviews browser for that day.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from aftersales.core import clock, i18n
from aftersales.core.cases import CaseRef, Severity
from aftersales.core.modules import HandoverWindow, Registry
from aftersales.reviews.models import ReviewCase, ReviewCaseStatus
from connectors.base import ReviewResult
from tests.factories import create_store
from tests.reviews.intake_helpers import record, take

pytestmark = pytest.mark.usefixtures("clean_db")

# 08:50 in Shanghai on 10 March: the morning handover is drafted for the 09:00-17:00 shift.
NOW = datetime(2026, 3, 10, 0, 50, tzinfo=UTC)
MORNING = HandoverWindow(
    start=datetime(2026, 3, 10, 1, 0, tzinfo=UTC),
    end=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
    morning_check=True,
)
EVENING = HandoverWindow(start=MORNING.end, end=MORNING.end + timedelta(hours=8))


async def reviews_around_yesterday() -> None:
    clock.travel(NOW - clock.now())
    shop = await create_store(name="fine")
    # Yesterday in Shanghai is 2026-03-08 16:00 to 2026-03-09 16:00 UTC.
    written = [
        (datetime(2026, 3, 8, 16, 30, tzinfo=UTC), {"rating": 4}),  # 00:30 local: yesterday
        (datetime(2026, 3, 9, 3, 0, tzinfo=UTC), {"rating": 5}),
        (datetime(2026, 3, 9, 5, 0, tzinfo=UTC), {"rating": 2}),
        (datetime(2026, 3, 9, 9, 0, tzinfo=UTC), {"result": ReviewResult.NEUTRAL}),
        (datetime(2026, 3, 9, 10, 0, tzinfo=UTC), {"rating": 3}),
        (datetime(2026, 3, 8, 15, 30, tzinfo=UTC), {"rating": 1}),  # the day before
        (datetime(2026, 3, 9, 16, 30, tzinfo=UTC), {"rating": 1}),  # today, 00:30
    ]
    await take(shop, [record(created_at=at, text="还行", **kw) for at, kw in written])


def by_ref(items: list) -> dict[str, object]:
    return {str(item.ref): item for item in items}


async def test_the_morning_handover_counts_yesterdays_ratings_by_grade(app) -> None:
    await reviews_around_yesterday()
    registry: Registry = app.state.registry
    items = by_ref(await registry.handover_items(MORNING))
    ratings = items["reviews:ratings:20260309"]
    assert ratings.summary == "Yesterday's ratings: 2 good, 2 neutral, 1 negative"
    assert ratings.severity is Severity.DUE_THIS_SHIFT
    assert ratings.href == "/reviews/all?from=2026-03-09&to=2026-03-09"
    assert "orders:ratings:20260309" not in items  # the orders module no longer has it
    token = i18n.set_locale("zh_CN")
    try:
        assert ratings.summary == "昨日评价：好评 2 条，中评 2 条，差评 1 条"
        assert ratings.todo and not re.search("[A-Za-z]", i18n.gettext(ratings.todo))
    finally:
        i18n._current.reset(token)
    # A later handover the same day has no morning check; the item lives for the day after.
    assert "reviews:ratings:20260309" not in by_ref(await registry.handover_items(EVENING))
    ref = CaseRef("reviews", "ratings", 20260309)
    assert (await registry.resolve_case(ref)).open
    clock.travel(timedelta(days=1))
    assert not (await registry.resolve_cases([ref]))[ref].open


async def test_only_good_ratings_are_a_watch_item_and_none_no_item(app) -> None:
    clock.travel(NOW - clock.now())
    shop = await create_store()
    registry: Registry = app.state.registry
    assert not [i for i in await registry.handover_items(MORNING) if i.module == "reviews"]
    await take(shop, [record(created_at=datetime(2026, 3, 9, 3, 0, tzinfo=UTC), rating=5)])
    (item,) = [i for i in await registry.handover_items(MORNING) if i.module == "reviews"]
    assert item.severity is Severity.WATCH and item.params == {"good": 1, "neutral": 0, "bad": 0}


async def test_a_follow_up_whose_window_closes_this_shift_is_handed_over(app) -> None:
    clock.travel(NOW - clock.now())
    shop = await create_store()
    rated = MORNING.start + timedelta(hours=3) - timedelta(days=30)  # closes at 12:00 local
    await take(shop, [record(rid="D1", created_at=rated, rating=1, nick="小红", text="太差")])
    await take(shop, [record(rid="D2", created_at=NOW, rating=1, text="不好")])  # weeks left
    registry: Registry = app.state.registry
    items = [i for i in await registry.handover_items(EVENING) if i.ref.kind == "review_case"]
    (item,) = items
    case = await ReviewCase.get(review__platform_review_id="D1")
    assert item.ref == case.ref and item.severity is Severity.OVERDUE  # before the evening
    assert item.summary == "Negative review by 小红: read it and contact the buyer"
    resolved = await registry.resolve_case(case.ref)
    assert resolved is not None and resolved.open and resolved.href == f"/reviews/cases/{case.id}"
    await ReviewCase.filter(id=case.id).update(status=ReviewCaseStatus.CLOSED)
    assert not (await registry.resolve_cases([case.ref]))[case.ref].open
