"""The demo's database plus one negative review and its follow-up, for the review-case browser test.

Intake (turning synced reviews into cases) is another part of the module;
this writes the case directly, as tests/reviews/factories.py does, on a demo
order, so the browser test needs nothing but the case page.

Run as ``python -m tests.e2e.seed_reviews OUT.json`` with the desk's environment.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path

from aftersales import demo
from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from aftersales.core import db
from aftersales.core.config import Settings
from aftersales.core.models import Store
from aftersales.orders.models import Order
from tests.reviews.factories import create_review_case


async def seed(settings: Settings) -> dict[str, int]:
    await demo.load(DEMO_USER, DEMO_PASSWORD, settings)
    order = await Order.filter(paid_amount__gt=Decimal("50")).order_by("id").first()
    assert order is not None, "the demo has paid orders"
    store = await Store.get(id=order.store_id)
    case = await create_review_case(
        store=store,
        order=order,
        text="衣服洗了一次就起球，质量太差了，客服回复也很慢。",
        rating=1,
    )
    return {"review_case": case.id}


async def main() -> dict[str, int]:
    settings = Settings.from_env()
    await db.migrate(settings)
    await db.close_db()
    await db.init_db(settings)
    try:
        return await seed(settings)
    finally:
        await db.close_db()


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(asyncio.run(main())))
