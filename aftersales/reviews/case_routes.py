"""The review follow-up page (``/reviews/cases/{id}``) and its forms, and the corrections export.

Each form posts the case's ``version`` and runs one service call; a refusal
(a stale page, the guard rail, a cap, a closed window) is flashed on the
page and nothing changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aftersales.core import case_routes, cases, clock, phrases
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.errors import InvalidInput, Msgid
from aftersales.core.i18n import N_
from aftersales.core.i18n import gettext as _
from aftersales.core.models import Store
from aftersales.core.reasons import ReasonCode
from aftersales.core.templating import render
from aftersales.orders.models import Customer, Order
from aftersales.reviews import service
from aftersales.reviews.classify import REVIEW_REASONS, Sentiment
from aftersales.reviews.models import (
    OPEN_STATUSES,
    PEOPLE_OUTCOMES,
    ContactAttempt,
    ContactChannel,
    ContactResult,
    Remedy,
    RemedyKind,
    Review,
    ReviewCase,
    ReviewOutcome,
)

Fields = dict[str, str]
PARAM = "case_id"
HISTORY = 5  # the buyer's other reviews shown on the page


def _enum(kind: Any, value: str | None, what: str) -> Any:
    """A form's choice as its enum; a missing or unknown one is refused in words."""
    chosen = case_routes.choice(kind, value)
    if chosen is None:
        raise InvalidInput(N_("Choose %(what)s."), what=Msgid(what))
    return chosen


def _when(value: str, zone: Any) -> datetime | None:
    """A ``datetime-local`` value in the desk's zone; empty is now."""
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone)
    except ValueError:
        raise InvalidInput(N_("The contact time is not a date and time.")) from None


async def case_page(request: Request) -> Response:
    case = await service.get_case(request.path_params[PARAM])
    reader = current_user(request)
    review = await Review.get(id=case.review_id)
    store = await Store.get(id=case.store_id)
    order = await Order.get_or_none(id=case.order_id) if case.order_id else None
    customer = await Customer.get_or_none(id=order.customer_id) if order else None
    history = await cases.history(case, also=[case.assignee_id])
    contacts = await ContactAttempt.filter(case_id=case.id).order_by("-contacted_at", "-id")
    remedies = await Remedy.filter(case_id=case.id).order_by("-offered_at", "-id")
    others: list[Review] = []
    if review.reviewer_nick:
        others = (
            await Review.filter(store_id=case.store_id, reviewer_nick=review.reviewer_nick)
            .exclude(id=review.id)
            .order_by("-created_at")
            .limit(HISTORY)
        )
    orders = await Order.filter(customer_id=customer.id).count() if customer else 0
    by_ids = {c.by_id for c in contacts} | {r.by_id for r in remedies} | {review.corrected_by_id}
    names = (await case_routes.assign_choices(reader, list(by_ids)))["assignee_names"]
    return render(
        request,
        "reviews/case.html",
        {
            "case": case,
            "review": review,
            "store": store,
            "order": order,
            "customer": customer,
            "others": others,
            "order_count": orders,
            "events": history.events,
            "actors": history.actors,
            "contacts": contacts,
            "remedies": remedies,
            "names": names,
            "windows": service.windows(case),
            "takes_replies": await service.platform_takes_replies(case),
            "reply_message": await service.reply_message(case, history.events),
            "cap": await service.cap_for(case, reader),
            "decision": await service.referral_view(case),
            "phrases": await phrases.for_case(reader, case.ref),
            "channels": list(ContactChannel),
            "results": list(ContactResult),
            "remedy_kinds": list(RemedyKind),
            "outcomes": PEOPLE_OUTCOMES,
            "sentiments": list(Sentiment),
            "review_reasons": list(REVIEW_REASONS),
            "is_open": case.status in OPEN_STATUSES,
            "local_now": clock.now().astimezone(request.app.state.settings.zone),
            "due_soon": cases.is_due_soon,
            "open_statuses": OPEN_STATUSES,
            **case_routes.buyer_contact(request, customer, store),
            **await case_routes.buyer_context(request, [customer]),
            **await case_routes.assign_choices(reader, [case.assignee_id]),
        },
    )


def _form(
    action: Callable[[int, Fields, Request], Awaitable[object]], done: str
) -> Callable[[Request], Awaitable[Response]]:
    """A case form's endpoint: one service call with the posted fields, then the page."""

    async def endpoint(request: Request) -> Response:
        case_id = request.path_params[PARAM]
        return await case_routes.step(
            request, f"/reviews/cases/{case_id}", lambda f: action(case_id, f, request), _(done)
        )

    return endpoint


_version = case_routes.form_version


async def _triage(case_id: int, f: Fields, request: Request) -> object:
    return await service.triage(
        case_id, actor=current_user(request), note=f.get("note", ""), expected_version=_version(f)
    )


async def _contact(case_id: int, f: Fields, request: Request) -> object:
    return await service.log_contact(
        case_id,
        actor=current_user(request),
        channel=_enum(ContactChannel, f.get("channel"), N_("how you contacted the buyer")),
        result=_enum(ContactResult, f.get("result"), N_("what came of it")),
        note=f.get("note", ""),
        contacted_at=_when(f.get("contacted_at", ""), request.app.state.settings.zone),
        expected_version=_version(f),
    )


async def _reply(case_id: int, f: Fields, request: Request) -> object:
    user = current_user(request)
    return await phrases.with_use(
        user,
        f.get("phrase_id"),
        service.post_reply(
            case_id, actor=user, text=f.get("reply", ""), expected_version=_version(f)
        ),
    )


async def _pasted(case_id: int, f: Fields, request: Request) -> object:
    return await service.mark_pasted(
        case_id, actor=current_user(request), expected_version=_version(f)
    )


async def _remedy(case_id: int, f: Fields, request: Request) -> object:
    user = current_user(request)
    return await phrases.with_use(
        user,
        f.get("phrase_id"),
        service.offer_remedy(
            case_id,
            actor=user,
            kind=_enum(RemedyKind, f.get("kind"), N_("the remedy")),
            offer=f.get("offer", ""),
            why=f.get("why", ""),
            amount=f.get("amount") or None,
            expected_version=_version(f),
        ),
    )


async def _close(case_id: int, f: Fields, request: Request) -> object:
    return await service.close(
        case_id,
        actor=current_user(request),
        outcome=_enum(ReviewOutcome, f.get("outcome"), N_("the outcome")),
        note=f.get("note", ""),
        expected_version=_version(f),
    )


async def _correct(case_id: int, f: Fields, request: Request) -> object:
    form = await request.form()
    chosen = [str(v) for v in form.getlist("reason")]
    reasons = [ReasonCode(v) for v in chosen if v in {r.value for r in REVIEW_REASONS}]
    return await service.correct(
        case_id,
        actor=current_user(request),
        sentiment=_enum(Sentiment, f.get("sentiment"), N_("the sentiment")),
        reasons=reasons,
        expected_version=_version(f),
    )


@requires(*MANAGERS)
async def corrections(request: Request) -> Response:
    """Agents' corrections as labelled data (JSON lines), for retraining the classifier."""
    body = await service.corrections_jsonl()
    return Response(
        body,
        media_type="application/x-ndjson; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="review-corrections.jsonl"'},
    )


assign = case_routes.assign(
    ReviewCase.case_type, service.assign, param=PARAM, taken=N_("The follow-up is yours now.")
)
refer = case_routes.refer(ReviewCase.case_type, service.refer, param=PARAM)

routes = [
    Route("/corrections.jsonl", corrections),
    Route("/cases/{case_id:id}", case_page),
    Route("/cases/{case_id:id}/triage", _form(_triage, N_("Triaged.")), methods=["POST"]),
    Route(
        "/cases/{case_id:id}/contacts",
        _form(_contact, N_("Contact logged.")),
        methods=["POST"],
    ),
    Route(
        "/cases/{case_id:id}/reply",
        _form(_reply, N_("Reply saved. Its state is shown under the reply.")),
        methods=["POST"],
    ),
    Route(
        "/cases/{case_id:id}/pasted",
        _form(_pasted, N_("Marked as pasted: the explanation is posted.")),
        methods=["POST"],
    ),
    Route(
        "/cases/{case_id:id}/remedy",
        _form(_remedy, N_("Remedy recorded on the case.")),
        methods=["POST"],
    ),
    Route("/cases/{case_id:id}/close", _form(_close, N_("Follow-up closed.")), methods=["POST"]),
    Route(
        "/cases/{case_id:id}/correct",
        _form(_correct, N_("Correction saved; it will teach the classifier.")),
        methods=["POST"],
    ),
    Route("/cases/{case_id:id}/assign", assign, methods=["POST"]),
    Route("/cases/{case_id:id}/refer", refer, methods=["POST"]),
]
