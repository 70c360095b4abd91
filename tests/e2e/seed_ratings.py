"""The demo shop plus a month of reviews and follow-ups, for the owner's rating report in a browser.

This loads the demo as ``aftersales demo`` does and adds, in a store of its
own (``SEEDED_STORE``, switched off so nothing syncs into it, and the demo's
own reviews, which ``aftersales demo`` loads again, stay out of its figures),
relative to today (Asia/Shanghai): 40 good, 4 neutral and 6 bad reviews
over the last ten days (reasons among quality, logistics, size), 9 good and
1 bad in the month before, follow-ups closed as revised, positive follow-up
and unchanged with a paid compensation, and one day of shop scores. Run as
``python -m tests.e2e.seed_ratings`` with the desk's environment.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from aftersales import demo
from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from aftersales.core import clock, db
from aftersales.core.config import Settings
from aftersales.core.models import Store
from aftersales.reviews.models import ReviewOutcome, ShopScore
from tests.reviews import report_factories as make

SEEDED_STORE = "评价报表示范店"
REASONS = (["quality"], ["logistics"], ["size_fit", "quality"])


async def seed(settings: Settings) -> None:
    await demo.load(DEMO_USER, DEMO_PASSWORD, settings)
    store = await Store.create(name=SEEDED_STORE, platform="demo", enabled=False)
    now = clock.now()
    for n in range(40):
        await make.review(
            store,
            now - timedelta(hours=5 + n * 5),
            result="good",
            item=f"demo-{n % 3}",
            title=("纯棉T恤", "牛仔裤", "运动鞋")[n % 3],
        )
    bad = []
    for n in range(10):
        result = "neutral" if n < 4 else "bad"
        bad.append(
            await make.review(
                store,
                now - timedelta(hours=7 + n * 19),
                result=result,
                item=f"demo-{n % 3}",
                title=("纯棉T恤", "牛仔裤", "运动鞋")[n % 3],
                reasons=REASONS[n % 3],
            )
        )
    for n in range(10):
        await make.review(
            store,
            now - timedelta(days=31 + n),
            result="good" if n else "bad",
            reasons=[] if n else ["quality"],
        )
    outcomes = (ReviewOutcome.REVISED, ReviewOutcome.POSITIVE_FOLLOW_UP, ReviewOutcome.UNCHANGED)
    for n, review in enumerate(bad[:6]):
        case = await make.case(
            review,
            contacted_after=timedelta(hours=1 + n),
            closed=review.created_at + timedelta(hours=6, minutes=30),
            outcome=outcomes[n % 3],
        )
        if n % 3 == 0:
            await make.compensation(case, "10.00")
    await ShopScore.create(
        store=store,
        day=(now - timedelta(days=1)).date(),
        description=Decimal("4.82"),
        service=Decimal("4.86"),
        logistics=Decimal("4.79"),
        captured_at=now,
    )


async def main() -> None:
    settings = Settings.from_env()
    await db.migrate(settings)
    await db.close_db()
    await db.init_db(settings)
    try:
        await seed(settings)
    finally:
        await db.close_db()


if __name__ == "__main__":
    asyncio.run(main())
