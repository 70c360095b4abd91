"""The quick-reply pages: everyone's list, adding, editing and deleting phrases.

Every write goes through ``core.phrases``, which checks the role each time
(team phrases: managers only; personal ones: their owner), so a hand-made
POST from an agent changes no team phrase.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aftersales.core import case_routes, i18n, phrases
from aftersales.core.auth import MANAGERS, current_user
from aftersales.core.i18n import gettext as _
from aftersales.core.models import PhraseCategory
from aftersales.core.templating import render

ASSUMPTIONS: dict[str, tuple[str, bool]] = {
    f"{fact}:{int(value)}": (fact, value) for fact in phrases.FACTS for value in (True, False)
}
"""What the form's "assumes" choice means: ``shipped:1`` is ``{"shipped": true}``."""


def _assumption_choices() -> list[tuple[str, str]]:
    return [
        (key, phrases.FACTS[fact][0 if value else 1]) for key, (fact, value) in ASSUMPTIONS.items()
    ]


def _assumption_of(assumes: dict[str, bool]) -> str:
    """The form choice for a stored ``assumes`` (the first fact; the form offers one)."""
    for fact, value in (assumes or {}).items():
        return f"{fact}:{int(bool(value))}"
    return ""


def _reader_language() -> str:
    return "en" if i18n.get_locale() == "en" else phrases.DEFAULT_LANGUAGE


def _input(form: dict[str, str]) -> phrases.PhraseInput:
    chosen = ASSUMPTIONS.get(form.get("assumes", ""))
    return phrases.PhraseInput(
        title=form.get("title", ""),
        body=form.get("body", ""),
        category=form.get("category", ""),
        language=form.get("language", phrases.DEFAULT_LANGUAGE),
        assumes={chosen[0]: chosen[1]} if chosen else {},
    )


async def phrases_page(request: Request) -> Response:
    user = current_user(request)
    q = request.query_params
    language = q.get("language") or _reader_language()
    language = language if language in phrases.LANGUAGES else phrases.DEFAULT_LANGUAGE
    category = q.get("category", "")
    chosen = PhraseCategory(category) if category in set(PhraseCategory) else None
    rows = await phrases.list_for(user, language=language, category=chosen)
    context: dict[str, Any] = {
        "rows": rows,
        "language": language,
        "category": chosen.value if chosen else "",
        "categories": list(PhraseCategory),
        "languages": phrases.LANGUAGES,
        "assumptions": _assumption_choices(),
        "facts": phrases.FACTS,
        "assumption_of": _assumption_of,
        "for_reading": phrases.for_reading,
        "may_edit": lambda p: phrases.may_edit(user, p),
        "is_manager": user.role in MANAGERS,
        "placeholders": phrases.placeholder_words(),
    }
    return render(request, "core/phrases.html", context)


def _back(form: dict[str, str]) -> str:
    language = form.get("language", "")
    return f"/phrases/?language={language}" if language in phrases.LANGUAGES else "/phrases/"


async def phrase_add(request: Request) -> Response:
    user = current_user(request)
    form = await case_routes.form_fields(request)
    team = form.get("team") == "on"
    return await case_routes.outcome(
        request,
        _back(form),
        lambda: phrases.create(user, _input(form), team=team),
        _("Quick reply added."),
    )


async def phrase_edit(request: Request) -> Response:
    user = current_user(request)
    form = await case_routes.form_fields(request)
    return await case_routes.outcome(
        request,
        _back(form),
        lambda: phrases.edit(user, request.path_params["phrase_id"], _input(form)),
        _("Quick reply saved."),
    )


async def phrase_delete(request: Request) -> Response:
    user = current_user(request)
    form = await case_routes.form_fields(request)
    return await case_routes.outcome(
        request,
        _back(form),
        lambda: phrases.delete(user, request.path_params["phrase_id"]),
        _("Quick reply deleted."),
    )


routes = [
    Route("/phrases/", phrases_page, name="phrases"),
    Route("/phrases/", phrase_add, methods=["POST"]),
    Route("/phrases/{phrase_id:id}", phrase_edit, methods=["POST"]),
    Route("/phrases/{phrase_id:id}/delete", phrase_delete, methods=["POST"]),
]
