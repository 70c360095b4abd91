"""Review pages: the negative-review queue and the all-reviews browser.

Routes read the request, call one reading function, render. A bad filter
value (a stale link, a typo) is dropped rather than refused, as the other
queues do; the API refuses it instead.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aftersales.core import case_routes
from aftersales.core.api import FIRST_DAY, LAST_DAY, MAX_PAGE, number_or_none
from aftersales.core.auth import current_user
from aftersales.core.models import Store
from aftersales.core.reasons import ReasonCode
from aftersales.core.templating import render
from aftersales.reviews import browse, queue
from aftersales.reviews.classify import REVIEW_REASONS, Sentiment
from aftersales.reviews.events import RESULTS
from aftersales.reviews.models import OPEN_STATUSES, ReviewCaseStatus, ReviewResult

_choice = case_routes.choice


class _NoKind(Enum):
    """Review cases have no kind: a ``?kind=`` left on a link filters nothing."""


def reason_labels() -> dict[ReasonCode, str]:
    """The reasons a review can give, and unclassified, in the shared taxonomy's words."""
    from aftersales.core.reasons import LABELS

    return {code: LABELS[code] for code in (*REVIEW_REASONS, ReasonCode.OTHER)}


async def _filters(request: Request) -> queue.ReviewCaseFilters:
    q = request.query_params
    return queue.ReviewCaseFilters(
        **await case_routes.queue_filters(request, statuses=ReviewCaseStatus, kinds=_NoKind),
        escalated=q.get("escalated") == "1",
        new_since=await queue.yesterday_start() if q.get("since") == "yesterday" else None,
    )


async def review_queue(request: Request) -> Response:
    filters = await _filters(request)
    result = await queue.search(filters)
    return await case_routes.queue_page(
        request,
        "reviews/queue.html",
        result=result,
        filters=filters,
        statuses=list(ReviewCaseStatus),
        open_statuses=OPEN_STATUSES,
        review_reasons=reason_labels(),
        **await case_routes.assign_choices(
            current_user(request), [row.case.assignee_id for row in result.rows]
        ),
    )


def _date(value: str | None) -> date | None:
    """A day filter, or None: a bad one, or one no shop's review can have (year 1 or 9999)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def browse_filters(request: Request) -> browse.ReviewFilters:
    q = request.query_params
    rating = number_or_none(q.get("rating"), maximum=5)
    return browse.ReviewFilters(
        store_id=number_or_none(q.get("store")),
        result=_choice(ReviewResult, q.get("result")),
        rating=rating if rating else None,
        sentiment=_choice(Sentiment, q.get("sentiment")),
        reason=_choice(ReasonCode, q.get("reason")),
        since=_date(q.get("from")),
        until=_date(q.get("to")),
        product=(q.get("product") or "").strip()[: browse.MAX_SEARCH],
        text=(q.get("q") or "").strip()[: browse.MAX_SEARCH],
        zone=request.app.state.settings.zone,
    )


async def all_reviews(request: Request) -> Response:
    filters = browse_filters(request)
    page = number_or_none(request.query_params.get("page"), maximum=MAX_PAGE) or 1
    result = await browse.search(filters, page=page)
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    stores = await Store.all().order_by("id")
    return render(
        request,
        "reviews/all.html",
        {
            "result": result,
            "filters": filters,
            "params": params,
            "args": urlencode(params),
            "stores": stores,
            "store_names": {s.id: s.name for s in stores},
            "results": RESULTS,
            "sentiments": list(Sentiment),
            "review_reasons": reason_labels(),
        },
    )


routes = [
    Route("/", review_queue, name="reviews"),
    Route("/all", all_reviews),
]
