"""A review on its order's timeline, and a mark on the orders list while its follow-up is open."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.core import clock
from aftersales.core.modules import Registry
from aftersales.orders.models import Customer, Order
from aftersales.reviews.models import ReviewCase, ReviewCaseStatus
from connectors.base import OrderStatus, ReviewResult
from tests.factories import create_store
from tests.reviews.intake_helpers import record, take

pytestmark = pytest.mark.usefixtures("clean_db")


async def test_the_order_shows_its_reviews_and_is_marked_while_the_follow_up_is_open(app) -> None:
    store = await create_store()
    buyer = await Customer.create(store=store, platform_buyer_id="b", nick="小李", tags=[])
    now = clock.now()
    orders = [
        await Order.create(
            store=store,
            platform_order_id=f"T{n}",
            customer=buyer,
            status=OrderStatus.COMPLETED,
            platform_status="TRADE_FINISHED",
            total_amount="10.00",
            paid_amount="10.00",
            placed_at=now - timedelta(days=9),
            platform_updated_at=now,
            synced_at=now,
        )
        for n in (1, 2)
    ]
    await take(store, [
        record(rid="R1", created_at=now - timedelta(days=1), result=ReviewResult.BAD,
               text="发错货了", order="T1"),
        record(rid="R2", created_at=now - timedelta(days=1), result=ReviewResult.GOOD,
               text="很好", order="T2"),
    ])  # fmt: skip
    registry: Registry = app.state.registry
    case = await ReviewCase.get(review__platform_review_id="R1")
    lines = [e for e in await registry.order_events(orders[0].id) if e.href == case.href]
    assert [(e.label, e.detail) for e in lines] == [("Negative review received", "发错货了")]
    good = await registry.order_events(orders[1].id)
    assert ("Review received", None) in [(e.label, e.href) for e in good]

    marks = await registry.order_badges([o.id for o in orders])
    assert [b.href for b in marks.get(orders[0].id, []) if b.label == "Negative review open"] == [
        case.href
    ]
    assert not [b for b in marks.get(orders[1].id, []) if b.label == "Negative review open"]
    await ReviewCase.filter(id=case.id).update(status=ReviewCaseStatus.CLOSED)
    marks = await registry.order_badges([orders[0].id])
    assert not [b for b in marks.get(orders[0].id, []) if b.label == "Negative review open"]
