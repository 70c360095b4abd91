"""The demo shop's reviews: a few hundred, through the normal intake, the same on a reload."""

from __future__ import annotations

from aftersales import demo
from aftersales.core.config import Settings
from aftersales.reviews.models import OPEN_STATUSES, Review, ReviewCase, ReviewOutcome


async def _counts() -> tuple[int, int, int, int]:
    return (
        await Review.all().count(),
        await ReviewCase.all().count(),
        await ReviewCase.filter(status__in=list(OPEN_STATUSES)).count(),
        await ReviewCase.filter(outcome=ReviewOutcome.REVISED).count(),
    )


async def test_the_demo_has_hundreds_of_reviews_some_open_cases_and_revisions(
    clean_db: Settings,
) -> None:
    message = await demo.load("demo", "demo-desk-2026", clean_db)
    reviews, cases, open_, revised = await _counts()
    assert reviews >= 300 and f"{reviews} reviews" in message
    assert 3 <= open_ < cases  # a handful waiting; the old ones closed as their windows passed
    assert revised >= 1
    texts = set(await Review.all().values_list("text", flat=True))
    assert len(texts) >= 40 and all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)
    assert await Review.filter(append_text__not_isnull=True).exists()  # 追评 too

    await demo.load("demo", "demo-desk-2026", clean_db)  # loading again changes nothing
    assert await _counts() == (reviews, cases, open_, revised)
