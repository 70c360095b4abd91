"""The quick replies on the JSON API: list, add, and fill one in from a case.

``POST /api/v1/phrases/{id}/render`` takes ``{"case": "refunds:refund:12"}``
(a ``CaseRef``) and answers the text as the picker would insert it, with
the placeholders the case had no value for and the warnings where the
phrase contradicts the case. The same role rules as the pages apply.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core import api, case_api, phrases
from aftersales.core.auth import current_user
from aftersales.core.cases import CaseRef
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.models import Phrase, PhraseCategory

PHRASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "body": {"type": "string", "description": "placeholders as codes: {order_no}"},
        "category": {"type": "string", "enum": [c.value for c in PhraseCategory]},
        "language": {"type": "string", "enum": list(phrases.LANGUAGES)},
        "team": {"type": "boolean"},
        "assumes": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "usage_count": {"type": "integer"},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
    },
}
PHRASE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["title", "body", "category"],
    "properties": {
        "title": {"type": "string", "maxLength": phrases.MAX_TITLE},
        "body": {"type": "string", "maxLength": phrases.MAX_BODY},
        "category": {"type": "string", "enum": [c.value for c in PhraseCategory]},
        "language": {"type": "string", "enum": list(phrases.LANGUAGES)},
        "team": {"type": "boolean", "description": "a team phrase (supervisors, owners, admins)"},
        "assumes": {
            "type": "object",
            "properties": {fact: {"type": "boolean"} for fact in phrases.FACTS},
            "additionalProperties": False,
        },
    },
}
RENDER_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["case"],
    "properties": {"case": {"type": "string", "description": "module:kind:id"}},
}
RENDERED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "phrase_id": {"type": "integer"},
        "case": {"type": "string"},
        "text": {"type": "string"},
        "missing": {"type": "array", "items": {"type": "string"}},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}


def phrase_json(phrase: Phrase) -> dict[str, Any]:
    return {
        "id": phrase.id,
        "title": phrase.title,
        "body": phrase.body,
        "category": phrase.category.value,
        "language": phrase.language,
        "team": phrase.owner_id is None,
        "assumes": dict(phrase.assumes or {}),
        "usage_count": phrase.usage_count,
        "created_at": api.json_time(phrase.created_at),
        "updated_at": api.json_time(phrase.updated_at),
    }


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise InvalidInput(N_("%(name)s must be text."), name=name, code="invalid_parameter")
    return value


def case_ref(value: Any) -> CaseRef:
    """A ``module:kind:id`` reference whose id can name a row (else a 400, never a 500)."""
    if not isinstance(value, str):
        raise InvalidInput(N_("%(name)s must be text."), name="case", code="invalid_parameter")
    ref = CaseRef.parse(value.strip())
    if not 1 <= ref.id <= api.MAX_ID:
        raise InvalidInput(N_("%(ref)s is not a case reference."), ref=value, code="bad_case_ref")
    return ref


async def list_phrases(request: Request) -> Response:
    q = request.query_params
    user = current_user(request)
    language = q.get("language") or None
    if language is not None and language not in phrases.LANGUAGES:
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name="language",
            choices=", ".join(phrases.LANGUAGES),
            code="invalid_parameter",
        )
    category = api.choice_param(PhraseCategory, q.get("category"), "category")
    page, size = api.page_param(q.get("page")), case_api.per_page(request)
    rows = await phrases.list_for(user, language=language, category=category)
    chunk = rows[(page - 1) * size : page * size]
    return case_api.page_json(
        [phrase_json(p) for p in chunk], total=len(rows), page=page, size=size
    )


async def create_phrase(request: Request) -> Response:
    body = await api.json_body(request)
    team = body.get("team", False)
    assumes = body.get("assumes", {})
    if not isinstance(team, bool):
        raise InvalidInput(
            N_("%(name)s must be true or false."), name="team", code="invalid_parameter"
        )
    if not isinstance(assumes, dict):
        assumes = {"": assumes}  # refused by the service's check, with its message
    given = phrases.PhraseInput(
        title=_text(body, "title", ""),
        body=_text(body, "body", ""),
        category=_text(body, "category", ""),
        language=_text(body, "language", phrases.DEFAULT_LANGUAGE),
        assumes=assumes,
    )
    phrase = await phrases.create(current_user(request), given, team=team)
    return JSONResponse(phrase_json(phrase), status_code=201)


async def render_phrase(request: Request) -> Response:
    body = await api.json_body(request)
    ref = case_ref(body.get("case"))
    rendered = await phrases.render_for_case(
        current_user(request), request.path_params["phrase_id"], ref
    )
    return JSONResponse(
        {
            "phrase_id": rendered.phrase.id,
            "case": str(ref),
            "text": rendered.text,
            "missing": list(rendered.missing),
            "warnings": list(rendered.warnings),
        }
    )


api_routes = [
    api.api_route(
        "/phrases",
        list_phrases,
        summary="Quick replies: the team's and your own, most used first",
        response={
            "type": "object",
            "properties": {"items": {"type": "array", "items": PHRASE_SCHEMA}},
        },
        params=(
            api.query("language", {"type": "string", "enum": list(phrases.LANGUAGES)}),
            api.query("category", {"type": "string", "enum": [c.value for c in PhraseCategory]}),
            *api.PAGING,
        ),
    ),
    api.api_route(
        "/phrases",
        create_phrase,
        methods=("POST",),
        summary="Add a quick reply (team phrases: supervisors, owners, admins)",
        response=PHRASE_SCHEMA,
        body=PHRASE_BODY,
        status=201,
    ),
    api.api_route(
        "/phrases/{phrase_id:id}/render",
        render_phrase,
        methods=("POST",),
        summary="A quick reply filled in from a case, with what is missing and contradicts it",
        response=RENDERED_SCHEMA,
        body=RENDER_BODY,
    ),
]
