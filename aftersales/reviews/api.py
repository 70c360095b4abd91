"""Review JSON API: the synced reviews and the follow-up cases, read-only here.

``GET /api/v1/reviews`` pages by a keyset cursor (``limit``, ``cursor`` = the
``next_cursor`` of the previous page), newest synced first, since a shop's
reviews grow without end; ``GET /api/v1/review-cases`` pages like every case
queue (``page``, ``per_page``), sorted by due time. A bad parameter (a huge
id, an unknown status) is a 400 naming it, never a 500.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core import case_api
from aftersales.core.api import (
    DAY,
    ID_QUERY,
    MAX_ID,
    PAGING,
    api_route,
    choice_param,
    date_param,
    id_param,
    int_param,
    json_time,
    query,
)
from aftersales.core.reasons import ReasonCode
from aftersales.reviews import browse, queue
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import Review, ReviewCase, ReviewCaseStatus, ReviewResult
from aftersales.reviews.routes import _NoKind

MAX_LIMIT = 500
TEXT = {"type": "string", "maxLength": browse.MAX_SEARCH}


def review_json(review: Review) -> dict[str, Any]:
    """A review as the API shows it: the buyer's nick, nothing else personal."""
    return {
        "id": review.id,
        "store_id": review.store_id,
        "platform_review_id": review.platform_review_id,
        "order_id": review.order_id,
        "platform_order_id": review.platform_order_id,
        "platform_item_id": review.platform_item_id,
        "product_title": review.product_title,
        "reviewer_nick": review.reviewer_nick,
        "rating": review.rating,
        "result": review.result.value if review.result else None,
        "text": review.text,
        "append_text": review.append_text,
        "appended_at": json_time(review.appended_at),
        "seller_reply": review.seller_reply,
        "created_at": json_time(review.created_at),
        "negative": review.negative,
        "sentiment": review.sentiment.value,
        "confidence": review.confidence,
        "reasons": review.reasons,
        "model_version": review.model_version,
        "corrected": review.corrected_by_id is not None,
    }


def review_case_json(case: ReviewCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "review_id": case.review_id,
        "store_id": case.store_id,
        "order_id": case.order_id,
        "platform_order_id": case.platform_order_id,
        "status": case.status.value,
        "outcome": case.outcome.value if case.outcome else None,
        "reason": case.reason.value,
        "buyer_nick": case.buyer_nick,
        "assignee_id": case.assignee_id,
        "due_at": json_time(case.due_at),
        "explain_by": json_time(case.explain_by),
        "revise_by": json_time(case.revise_by),
        "escalated": case.escalated,
        "touched_at": json_time(case.touched_at),
        "reply_state": case.reply_state.value,
        "opened_at": json_time(case.requested_at),
        "closed_at": json_time(case.closed_at),
        "version": case.version,
    }


async def list_reviews(request: Request) -> Response:
    q = request.query_params
    limit = int_param(q.get("limit"), 50, name="limit", minimum=1, maximum=MAX_LIMIT)
    cursor = id_param(q.get("cursor"), name="cursor")
    rating = q.get("rating")
    filters = browse.ReviewFilters(
        store_id=id_param(q.get("store_id"), name="store_id"),
        result=choice_param(ReviewResult, q.get("result"), "result"),
        rating=int_param(rating, 0, name="rating", minimum=1, maximum=5) if rating else None,
        sentiment=choice_param(Sentiment, q.get("sentiment"), "sentiment"),
        reason=choice_param(ReasonCode, q.get("reason"), "reason"),
        since=date_param(q.get("from"), name="from"),
        until=date_param(q.get("to"), name="to"),
        product=(q.get("product") or "").strip()[: browse.MAX_SEARCH],
        text=(q.get("q") or "").strip()[: browse.MAX_SEARCH],
        negative_only=q.get("negative") == "true",
        zone=request.app.state.settings.zone,
    )
    rows, next_cursor = await browse.after(filters, cursor=cursor, limit=limit)
    return JSONResponse(
        {"items": [review_json(r) for r in rows], "next_cursor": next_cursor, "limit": limit}
    )


async def list_review_cases(request: Request) -> Response:
    size = case_api.per_page(request)
    q = request.query_params
    filters = queue.ReviewCaseFilters(
        **await case_api.queue_filters(request, statuses=ReviewCaseStatus, kinds=_NoKind),
        escalated=q.get("escalated") == "true",
    )
    result = await queue.search(filters, per_page=size)
    return case_api.page_json(
        [review_case_json(row.case) for row in result.rows],
        total=result.total,
        page=result.page,
        size=size,
    )


api_routes = [
    api_route(
        "/reviews",
        list_reviews,
        summary="Synced reviews, newest first; limit and cursor (next_cursor) page them",
        params=(
            query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
            query("cursor", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
            query("store_id", ID_QUERY),
            query("result", {"type": "string", "enum": [r.value for r in ReviewResult]}),
            query("rating", {"type": "integer", "minimum": 1, "maximum": 5}),
            query("sentiment", {"type": "string", "enum": [s.value for s in Sentiment]}),
            query("reason", {"type": "string", "enum": [r.value for r in ReasonCode]}),
            query("from", DAY),
            query("to", DAY),
            query("product", TEXT),
            query("q", TEXT),
            query("negative", {"type": "string", "enum": ["true", "false"]}),
        ),
    ),
    api_route(
        "/review-cases",
        list_review_cases,
        summary="Negative-review follow-up cases by due time, filtered and paged",
        params=(
            *PAGING,
            query("store_id", ID_QUERY),
            query(
                "status",
                {"type": "string", "enum": ["open", *(s.value for s in ReviewCaseStatus)]},
            ),
            query("reason", {"type": "string", "enum": [r.value for r in ReasonCode]}),
            query("due", {"type": "string", "enum": ["soon", "overdue", "today", "shift"]}),
            query("assignee", {"type": "string"}),
            query("escalated", {"type": "string", "enum": ["true", "false"]}),
        ),
    ),
]
