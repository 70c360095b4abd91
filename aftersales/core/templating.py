"""Jinja2 pages: one environment, the user's language per request, shared macros."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from aftersales.core import clock, failures, i18n
from aftersales.core.auth import MANAGERS, csrf_token
from aftersales.core.countdown import countdown
from aftersales.core.countdown import words as countdown_words
from aftersales.core.i18n import N_
from aftersales.core.labels import LabelBook, carrier_name, platform_status
from aftersales.core.modules import NavEntry, Registry
from aftersales.core.money import format_money


def templates_dir() -> Path:
    """Top-level ``templates/`` in a checkout, ``aftersales/templates`` in a wheel."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "templates"


def tr(msgid: str, **params: object) -> str:
    """Translate a msgid held in a variable: an ``N_()`` label from Python code.

    Jinja's new-style ``_()`` marks what it returns safe and always %-formats
    it, so handed a value instead of a literal it would let markup from data
    run and crash on a ``%`` in a product title. ``_()`` therefore only ever
    takes a literal msgid, and a label passed around as a value comes through
    here instead: plain text, which autoescape escapes. Parameters are
    filled in before escaping, so they are escaped too. Never pass data
    (titles, nicks, messages) here; render it as it is.
    """
    text = str(i18n.gettext(msgid))  # plain str even if handed Markup: autoescape decides
    return text % params if params else text


def build_environment(registry: Registry) -> jinja2.Environment:
    search = [str(templates_dir())] + [str(path) for path in registry.template_dirs()]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.filters["money"] = format_money
    env.globals["tr"] = tr
    # label(kind, value): a stored word (status, event, reason) from the modules' maps.
    book = LabelBook(registry.labels())
    env.globals["label"] = book.text
    env.globals["label_or_value"] = book.text_or_value
    env.globals["stored_note"] = book.note  # a note or close reason: the desk's codes labelled
    env.globals["label_values"] = book.values  # a kind's declared values (a form's choices)
    env.globals["platform_status"] = platform_status
    # Who may open the technical details of a failure (``ui.technical``): idempotency keys,
    # payloads and exception texts are for supervisors and up, agents read the sentence.
    env.globals["managers"] = MANAGERS
    env.globals["failure"] = failures.sentence
    env.globals["platform_name"] = failures.platform_name
    env.globals["carrier"] = carrier_name
    return env


def local_time(value: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "-"
    return value.astimezone(zone).strftime(fmt)


def visible_nav(request: Request) -> list[NavEntry]:
    registry: Registry = request.app.state.registry
    return registry.nav(request.scope.get("state", {}).get("user"))


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> Response:
    env: jinja2.Environment = request.app.state.jinja
    zone = request.app.state.settings.zone
    session = request.scope.get("session")
    now = clock.now()
    values = {
        "request": request,
        "user": request.scope.get("state", {}).get("user"),
        "nav": (nav := visible_nav(request)),
        "active_nav": max(
            (e.path for e in nav if request.url.path.startswith(e.path)), key=len, default=""
        ),
        "csrf_token": csrf_token(session) if session is not None else "",
        "locale": i18n.get_locale(),
        "languages": i18n.LANGUAGE_NAMES,
        "local_time": lambda v, fmt="%Y-%m-%d %H:%M": local_time(v, zone, fmt),
        "now": now,
        # countdown(due_at): time left as ``ui.due`` shows it, from the same "now" as the page.
        "countdown": lambda due: countdown(due, now, zone),
        "countdown_words": countdown_words(),
        "now_iso": now.isoformat(),
        "flash": session.pop("flash", None) if session is not None else None,
        **(context or {}),
    }
    html = env.get_template(name).render(values)
    return HTMLResponse(html, status_code=status)


async def render_error(request: Request, status: int, message: str | None = None) -> Response:
    """The error page. ``message`` may carry data (a URL, a title): it is translated
    here when it is a msgid and rendered escaped, never given to the template's ``_()``."""
    titles = {
        400: N_("The request could not be understood"),
        401: N_("Please sign in"),
        403: N_("You may not do this"),
        404: N_("Page not found"),
        413: N_("Request too large"),
        500: N_("Something went wrong on our side"),
    }
    return render(
        request,
        "errors/error.html",
        {
            "status": status,
            "title": titles.get(status, N_("Error")),
            "message": i18n.gettext(message) if message else None,
        },
        status=status,
    )


def flash(request: Request, message: str, level: str = "info") -> None:
    """A one-time message shown on the next page (stored in the session)."""
    request.session["flash"] = {"message": message, "level": level}
