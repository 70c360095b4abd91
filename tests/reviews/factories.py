"""Review rows and follow-up cases made directly, so case tests need no intake.

``create_review_case`` writes a review and its case the way intake would
(through ``cases.open_case``, so the timeline starts with "opened"); the
windows default to a week ahead.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from aftersales.core import cases, clock
from aftersales.core.models import Store
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Customer, Order
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import Review, ReviewCase, ReviewCaseStatus, ReviewResult
from tests.factories import create_store

_serial = itertools.count(1)
LATER = object()


async def create_review(
    *,
    store: Store,
    order: Order | None = None,
    text: str = "质量太差了，洗一次就起球",
    rating: int | None = 1,
    result: ReviewResult | None = None,
    platform_review_id: str | None = None,
    reviewer_nick: str = "小王同学",
    **fields: Any,
) -> Review:
    now = clock.now()
    return await Review.create(
        store_id=store.id,
        order_id=order.id if order else None,
        platform_order_id=order.platform_order_id if order else f"T{next(_serial)}",
        platform_review_id=platform_review_id or f"R{next(_serial)}",
        product_title=fields.pop("product_title", "纯棉短袖T恤"),
        reviewer_nick=reviewer_nick,
        rating=rating,
        result=result,
        text=text,
        created_at=fields.pop("created_at", now - timedelta(days=1)),
        platform_updated_at=now,
        synced_at=now,
        negative=True,
        sentiment=fields.pop("sentiment", Sentiment.NEGATIVE),
        confidence=fields.pop("confidence", 0.9),
        reasons=fields.pop("reasons", [{"reason": "quality", "confidence": 0.8}]),
        model_version="rules-0",
        **fields,
    )


async def create_review_case(
    *,
    store: Store | None = None,
    order: Order | None = None,
    review: Review | None = None,
    status: ReviewCaseStatus = ReviewCaseStatus.NEW,
    explain_by: datetime | object | None = LATER,
    revise_by: datetime | object | None = LATER,
    **review_fields: Any,
) -> ReviewCase:
    """A negative review and its open follow-up (``status``), windows a week ahead."""
    store = store or await create_store()
    review = review or await create_review(store=store, order=order, **review_fields)
    week = clock.now() + timedelta(days=7)
    explain = week if explain_by is LATER else explain_by
    revise = week if revise_by is LATER else revise_by
    due = min((d for d in (explain, revise) if isinstance(d, datetime)), default=None)
    customer = await Customer.get_or_none(id=order.customer_id) if order else None
    async with in_transaction() as conn:
        return await cases.open_case(
            ReviewCase,
            conn=conn,
            actor=None,
            event="review_case.opened",
            store_id=store.id,
            order_id=review.order_id,
            platform_order_id=review.platform_order_id,
            reason=ReasonCode.QUALITY,
            buyer_text=review.text,
            review_id=review.id,
            status=status,
            buyer_nick=customer.nick if customer else review.reviewer_nick,
            explain_by=explain,
            revise_by=revise,
            due_at=due,
        )
