"""Reviews, cases and compensations as rows, for the rating report's tests.

The report reads what intake, the queue and the case page write; these make
those rows directly, so its figures can be checked against a shop whose
every review the test knows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

from aftersales.core.models import Store
from aftersales.refunds.models import LedgerEntry, LedgerSource, Refund, RefundKind, RefundStatus
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import (
    Remedy,
    RemedyKind,
    Review,
    ReviewCase,
    ReviewCaseStatus,
    ReviewOutcome,
    ReviewResult,
)

_ids = count(1)


async def review(
    store: Store,
    at: datetime,
    *,
    result: str | None = None,
    rating: int | None = None,
    item: str = "item-1",
    title: str = "纯棉T恤",
    negative: bool | None = None,
    reasons: list[Any] | None = None,
) -> Review:
    """A review rated at ``at``; negative unless good (or 4-5 stars), as the desk would say."""
    n = next(_ids)
    if negative is None:
        negative = not (result == "good" or (result is None and (rating or 0) >= 4))
    return await Review.create(
        store=store,
        platform_review_id=f"rv-{n}",
        platform_order_id=f"order-{n}",
        platform_item_id=item,
        product_title=title,
        reviewer_nick=f"buyer{n}",
        rating=rating,
        result=ReviewResult(result) if result else None,
        text="",
        created_at=at,
        platform_updated_at=at,
        synced_at=at,
        negative=negative,
        sentiment=Sentiment.NEGATIVE if negative else Sentiment.POSITIVE,
        reasons=[{"reason": r, "confidence": 0.9} if isinstance(r, str) else r
                 for r in (reasons or [])],
    )  # fmt: skip


async def case(
    item: Review,
    *,
    opened: datetime | None = None,
    contacted_after: timedelta | None = None,
    closed: datetime | None = None,
    outcome: ReviewOutcome | None = None,
) -> ReviewCase:
    opened = opened or item.created_at
    return await ReviewCase.create(
        store_id=item.store_id,
        review=item,
        platform_order_id=item.platform_order_id,
        status=ReviewCaseStatus.CLOSED if closed else ReviewCaseStatus.CONTACTING,
        outcome=outcome,
        first_contact_at=opened + contacted_after if contacted_after is not None else None,
        closed_at=closed,
        requested_at=opened,
        updated_at=closed or opened,
    )


async def compensation(
    on: ReviewCase, amount: str, *, paid: bool = True, paid_amount: str | None = None
) -> Remedy:
    """A compensation remedy and its refund; ``paid`` puts the money in the ledger."""
    at = on.requested_at + timedelta(hours=1)
    refund = await Refund.create(
        store_id=on.store_id,
        platform_order_id=on.platform_order_id,
        kind=RefundKind.COMPENSATION,
        status=RefundStatus.REFUNDED if paid else RefundStatus.APPROVED,
        requested_amount=Decimal(amount),
        approved_amount=Decimal(amount),
        requested_at=at,
        updated_at=at,
        refunded_at=at if paid else None,
        review_case_id=on.id,
    )
    if paid:
        await LedgerEntry.create(
            refund=refund,
            store_id=on.store_id,
            amount=Decimal(paid_amount or amount),
            currency="CNY",
            source=LedgerSource.DESK,
            at=at,
        )
    return await Remedy.create(
        case=on,
        kind=RemedyKind.COMPENSATION,
        amount=Decimal(amount),
        offer=f"补偿 {amount} 元, 与评价无关",
        refund=refund,
        offered_at=at,
    )
