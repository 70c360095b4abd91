"""JSON API of review follow-ups: a contact, a reply, closing, and the classifier.

The steps follow returns/api.py: the body's ``version`` is the case as the
client read it (409 when it moved), and an ``Idempotency-Key`` header repeats
the first answer instead of acting twice. ``POST /reviews/classify`` reads a
text alone, as ``classify.classify_text`` does, for scripts and the bench.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core import case_api
from aftersales.core.api import api_route, choice_param, json_body, json_time
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.reviews import classify, service
from aftersales.reviews.models import (
    PEOPLE_OUTCOMES,
    ContactChannel,
    ContactResult,
    ReplyState,
    ReviewCase,
    ReviewCaseStatus,
    ReviewOutcome,
)

MAX_CLASSIFY_TEXT = 2000
"""Characters ``/reviews/classify`` reads: a long review is a few hundred; more is abuse."""

TEXT = {"type": "string"}
CASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "review_id": {"type": "integer"},
        "order_id": {"type": ["integer", "null"]},
        "status": {"type": "string", "enum": [s.value for s in ReviewCaseStatus]},
        "outcome": {"type": ["string", "null"], "enum": [o.value for o in ReviewOutcome] + [None]},
        "reply_state": {"type": "string", "enum": [r.value for r in ReplyState]},
        "version": {"type": "integer"},
    },
}
CLASSIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["negative", "sentiment", "reasons"],
    "properties": {
        "negative": {"type": "boolean"},
        "sentiment": {"type": "string", "enum": [s.value for s in classify.Sentiment]},
        "reasons": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"reason": TEXT, "confidence": {"type": "number"}},
            },
        },
    },
}


def case_json(case: ReviewCase) -> dict[str, Any]:
    """One review follow-up as the API answers it (the list API writes rows the same way)."""
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
        "first_contact_at": json_time(case.first_contact_at),
        "touched_at": json_time(case.touched_at),
        "reply_state": case.reply_state.value,
        "reply_text": case.reply_text,
        "reply_posted_at": json_time(case.reply_posted_at),
        "close_note": case.close_note,
        "closed_at": json_time(case.closed_at),
        "version": case.version,
    }


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(N_("%(name)s must be a string."), name=name, code="invalid_parameter")
    return value


def _time(body: dict[str, Any], name: str) -> datetime | None:
    raw = _text(body, name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise InvalidInput(
            N_("%(name)s must be an ISO 8601 time with its offset."),
            name=name,
            code="invalid_parameter",
        )
    return value


def _choice(kind: Any, body: dict[str, Any], name: str) -> Any:
    """A required choice: missing or unknown is the same 400, naming the choices."""
    value = _text(body, name)
    if not value:
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name=name,
            choices=", ".join(e.value for e in kind),
            code="invalid_parameter",
        )
    return choice_param(kind, value, name)


async def _answer(case: ReviewCase) -> Response:
    return JSONResponse(case_json(case))


async def _created(case: ReviewCase) -> Response:
    return JSONResponse(case_json(case), status_code=201)


async def _contact(step: case_api.CaseAction) -> ReviewCase:
    """``{"channel", "result", "note"?, "contacted_at"?, "version"?}``."""
    return await service.log_contact(
        step.case_id,
        actor=step.actor,
        channel=_choice(ContactChannel, step.body, "channel"),
        result=_choice(ContactResult, step.body, "result"),
        note=_text(step.body, "note"),
        contacted_at=_time(step.body, "contacted_at"),
        expected_version=step.version,
        idempotency_key=step.key,
    )


async def _reply(step: case_api.CaseAction) -> ReviewCase:
    """``{"text", "version"?}``: posted through the outbox, or kept ready to paste."""
    return await service.post_reply(
        step.case_id,
        actor=step.actor,
        text=_text(step.body, "text"),
        expected_version=step.version,
        idempotency_key=step.key,
    )


async def _close(step: case_api.CaseAction) -> ReviewCase:
    """``{"outcome", "note"?, "version"?}``."""
    return await service.close(
        step.case_id,
        actor=step.actor,
        outcome=_choice(ReviewOutcome, step.body, "outcome"),
        note=_text(step.body, "note"),
        expected_version=step.version,
        idempotency_key=step.key,
    )


contacts = case_api.action("case_id", _contact, _created)
reply = case_api.action("case_id", _reply, _answer)
close = case_api.action("case_id", _close, _answer)


async def classify_text(request: Request) -> Response:
    """``{"text"}`` in; the text's sentiment and reasons out (nothing is stored)."""
    body = await json_body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(
            N_("%(name)s must be a non-empty string."), name="text", code="invalid_parameter"
        )
    if len(text) > MAX_CLASSIFY_TEXT:
        raise InvalidInput(
            N_("%(name)s is at most %(max)s characters."),
            name="text",
            max=MAX_CLASSIFY_TEXT,
            code="too_long",
        )
    found = classify.classify_text(text)
    return JSONResponse(
        {
            "negative": found.negative,
            "sentiment": found.sentiment.value,
            "reasons": [
                {"reason": r.reason.value, "confidence": round(r.confidence, 4)}
                for r in found.reasons
            ],
        }
    )


def _step(name: str, endpoint: Any, summary: str, fields: dict[str, Any], **kw: Any) -> Any:
    return api_route(
        f"/review-cases/{{case_id:id}}/{name}",
        endpoint,
        methods=["POST"],
        summary=summary + "; Idempotency-Key repeats the first answer",
        response=CASE_SCHEMA,
        body={
            "type": "object",
            "properties": {**fields, "version": {"type": "integer", "minimum": 1}},
            **kw,
        },
        status=201 if name == "contacts" else 200,
    )


api_routes = [
    api_route(
        "/reviews/classify",
        classify_text,
        methods=["POST"],
        summary="Sentiment and complaint reasons of a review text (text, at most 2000 characters)",
        response=CLASSIFY_SCHEMA,
        body={
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": MAX_CLASSIFY_TEXT}
            },
        },
    ),
    _step(
        "contacts",
        contacts,
        "Log a contact with the buyer (channel, result, note, contacted_at)",
        {
            "channel": {"type": "string", "enum": [c.value for c in ContactChannel]},
            "result": {"type": "string", "enum": [r.value for r in ContactResult]},
            "note": TEXT,
            "contacted_at": {"type": "string", "format": "date-time"},
        },
        required=["channel", "result"],
    ),
    _step(
        "reply",
        reply,
        "Post the shop's explanation under the review (text), or keep it ready to paste",
        {"text": {"type": "string", "minLength": 2, "maxLength": service.REPLY_LENGTH[1]}},
        required=["text"],
    ),
    _step(
        "close",
        close,
        "Close the follow-up with its outcome (outcome, note)",
        {"outcome": {"type": "string", "enum": [o.value for o in PEOPLE_OUTCOMES]}, "note": TEXT},
        required=["outcome"],
    ),
]
