"""Handover pages: the incoming list, the outgoing draft, print, what changed, diary, promises.

Every page needs a login (the middleware) and reads for everyone; acting on
a handover (read back, acknowledge, mark done, note, hand over, promise) is
for the people on shifts, which the services check (``service.may_work``)
and the promise routes check here. A refused read-back or acknowledgement
is shown on the list itself, beside its form, with the error's status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aftersales.core import clock
from aftersales.core import errors as core_errors
from aftersales.core.api import date_param, number_or_none
from aftersales.core.auth import current_user, requires
from aftersales.core.case_routes import back_to, form_fields, outcome
from aftersales.core.cases import CaseRef, is_due_soon
from aftersales.core.errors import AfterSalesError, InvalidInput, PermissionDenied
from aftersales.core.i18n import N_
from aftersales.core.i18n import gettext as _
from aftersales.core.templating import flash, render
from aftersales.handover import diary, drafting, promises, service
from aftersales.handover.models import Handover, PromiseStatus

MAX_PAGE = 10_000
DUE_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


def summary(msgid: str, params: Mapping[str, object] | None = None) -> str:
    """An item's words in the reader's language, its parameters filled in (a missing one
    keeps the English rather than failing the page). Plain text: the page escapes it."""
    return str(core_errors.render(msgid, drafting.shown_params(params)))


async def _names(ids: Iterable[int | None]) -> dict[int, str]:
    return await service.user_names(ids)


def _people(shown: service.HandoverView) -> list[int | None]:
    h = shown.handover
    ids: list[int | None] = [h.handed_over_by_id, h.acknowledged_by_id]
    for v in shown.entries:
        ids += [v.entry.assignee_id, v.entry.done_by_id, v.entry.acknowledged_by_id]
    ids += [n.author_id for n in shown.notes]
    return ids


def _module_labels(request: Request) -> dict[str, str]:
    return {m.name: m.label for m in request.app.state.registry.modules}


async def _note_cases(request: Request, shown: service.HandoverView | None) -> dict[str, Any]:
    """The cases the notes name, by ref, as links with their titles (one registry call)."""
    refs = {}
    for note in shown.notes if shown else []:
        if note.ref:
            try:
                refs[note.ref] = CaseRef.parse(note.ref)
            except InvalidInput:
                continue
    if not refs:
        return {}
    found = await request.app.state.registry.resolve_cases(list(refs.values()))
    return {text: found[ref] for text, ref in refs.items() if ref in found}


def _shared(request: Request) -> dict[str, Any]:
    return {"summary": summary, "due_soon": is_due_soon, "module_labels": _module_labels(request)}


async def _handover_page(
    request: Request,
    handover: Handover | None,
    *,
    template: str = "handover/handover.html",
    item_errors: Mapping[int, tuple[str, str]] | None = None,
    form_error: str | None = None,
    status: int = 200,
) -> Response:
    """One handover as the incoming shift reads it; with forms only while it is theirs to take."""
    user = current_user(request)
    shown = None
    may_act = False
    names: dict[int, str] = {}
    if handover is not None:
        shown = await service.view(request.app.state.registry, handover)
        current = await service.incoming()
        may_act = (
            user.role in service.ACTORS
            and current is not None
            and current.id == handover.id
            and handover.acknowledged_at is None
            and handover.handed_over_at is not None
            and handover.handed_over_by_id != user.id
        )
        names = await _names(_people(shown))
    return render(
        request,
        template,
        {
            "v": shown,
            "h": handover,
            "may_act": may_act,
            "names": names,
            "note_cases": await _note_cases(request, shown),
            "item_errors": item_errors or {},
            "form_error": form_error,
            **_shared(request),
        },
        status=status,
    )


async def incoming_page(request: Request) -> Response:
    return await _handover_page(request, await service.incoming())


async def handover_page(request: Request) -> Response:
    return await _handover_page(request, await service.get(request.path_params["handover_id"]))


async def print_page(request: Request) -> Response:
    handover = await service.get(request.path_params["handover_id"])
    return await _handover_page(request, handover, template="handover/print.html")


async def item_acknowledge(request: Request) -> Response:
    """The read-back of one urgent item; an empty or refused one is shown beside its form."""
    handover = await service.get(request.path_params["handover_id"])
    entry = await service.get_entry(handover, request.path_params["item_id"])
    text = (await form_fields(request)).get("readback", "")
    try:
        await service.acknowledge_item(handover, entry, current_user(request), text)
    except PermissionDenied:
        raise
    except AfterSalesError as exc:
        errors = {entry.id: (exc.message, text)}
        return await _handover_page(request, handover, item_errors=errors, status=exc.status)
    flash(request, _("Read back. It is yours now."))
    return RedirectResponse(f"/handover/{handover.id}#item-{entry.id}", status_code=303)


async def handover_acknowledge(request: Request) -> Response:
    handover = await service.get(request.path_params["handover_id"])
    try:
        await service.acknowledge(handover, current_user(request))
    except PermissionDenied:
        raise
    except AfterSalesError as exc:
        return await _handover_page(request, handover, form_error=exc.message, status=exc.status)
    flash(request, _("Handover acknowledged. The list is your shift's now."))
    return RedirectResponse(f"/handover/{handover.id}", status_code=303)


# -- the outgoing shift ---------------------------------------------------------------------


def _due_default(zone: ZoneInfo) -> str:
    """An hour from now, on the minute, as the promise form's starting value."""
    return (clock.now() + timedelta(hours=1)).astimezone(zone).strftime(DUE_INPUT)


async def prepare_page(request: Request) -> Response:
    """The draft the shift on now hands over, or when it will be drafted."""
    draft = await service.outgoing()
    shown = await service.view(request.app.state.registry, draft) if draft else None
    return render(
        request,
        "handover/prepare.html",
        {
            "v": shown,
            "h": draft,
            "handed": None if draft else await service.handed_over_early(),
            "next_draft": None if draft else await drafting.next_draft_at(),
            "draft_ahead": int(drafting.DRAFT_AHEAD.total_seconds() // 60),
            "names": await _names(_people(shown)) if shown else {},
            "note_cases": await _note_cases(request, shown),
            **_shared(request),
            "may_act": current_user(request).role in service.ACTORS,
            "due_default": _due_default(request.app.state.settings.zone),
        },
    )


async def item_done(request: Request) -> Response:
    handover = await service.get(request.path_params["handover_id"])
    entry = await service.get_entry(handover, request.path_params["item_id"])
    return await outcome(
        request,
        "/handover/prepare",
        lambda: service.mark_done(handover, entry, current_user(request)),
        _("Marked done. It stays on the list as done."),
    )


async def note_add(request: Request) -> Response:
    handover = await service.get(request.path_params["handover_id"])
    fields = await form_fields(request)
    return await outcome(
        request,
        "/handover/prepare#notes",
        lambda: service.add_note(
            handover, current_user(request), fields.get("text", ""), ref=fields.get("ref", "")
        ),
        _("Note added to the handover."),
    )


async def hand_over(request: Request) -> Response:
    handover = await service.get(request.path_params["handover_id"])
    try:
        await service.hand_over(request.app.state.registry, handover, current_user(request))
    except PermissionDenied:
        raise
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse("/handover/prepare", status_code=303)
    flash(request, _("Handed over. The next shift reads this list."))
    return RedirectResponse(f"/handover/{handover.id}", status_code=303)


async def changes_page(request: Request) -> Response:
    handover = await service.get(request.path_params["handover_id"])
    changes = await service.changes_since(request.app.state.registry, handover)
    return render(
        request,
        "handover/changes.html",
        {"h": handover, "changes": changes, **_shared(request)},
    )


# -- the diary ------------------------------------------------------------------------------


async def diary_page(request: Request) -> Response:
    q = request.query_params
    error = None
    try:
        day = date_param(q.get("day"), name="day")
    except InvalidInput as exc:
        day, error = None, exc.message
    filters = diary.DiaryFilters(
        day=day,
        agent_id=number_or_none(q.get("agent")),
        text=q.get("q", "").strip()[: diary.MAX_QUERY],
        late=q.get("late") == "1",
        page=number_or_none(q.get("page"), maximum=MAX_PAGE) or 1,
    )
    result = await diary.search(filters)
    params = {k: v for k, v in q.items() if k in ("day", "agent", "q", "late") and v}
    return render(
        request,
        "handover/diary.html",
        {
            "result": result,
            "filters": filters,
            "params": params,
            "args": urlencode(params),
            "agents": await diary.agents(),
            "form_error": error,
        },
        status=400 if error else 200,
    )


# -- promises -------------------------------------------------------------------------------


def _due_at(value: str, zone: ZoneInfo) -> datetime:
    """The promise form's date and time, typed in the desk's time zone."""
    try:
        local = datetime.strptime(value.strip(), DUE_INPUT)
    except ValueError:
        raise InvalidInput(N_("Give the date and time the promise is due.")) from None
    if not 2000 <= local.year <= 2999:
        raise InvalidInput(N_("Give the date and time the promise is due."))
    return local.replace(tzinfo=zone)


async def promises_page(request: Request) -> Response:
    """Open promises: those due now first (oldest first), then the ones still ahead."""
    now = clock.now()
    open_ = await promises.listing(status=PromiseStatus.OPEN, limit=200)
    return render(
        request,
        "handover/promises.html",
        {
            "due": [p for p in open_ if p.due_at <= now],
            "upcoming": [p for p in open_ if p.due_at > now],
            "names": await _names(p.made_by_id for p in open_),
            "may_act": current_user(request).role in service.ACTORS,
            "due_default": _due_default(request.app.state.settings.zone),
            **_shared(request),
        },
    )


@requires(*service.ACTORS)
async def promise_make(request: Request) -> Response:
    fields = await form_fields(request)
    to = back_to(fields.get("next"), "/handover/promises")
    zone = request.app.state.settings.zone

    async def make() -> Any:
        due_at = _due_at(fields.get("due", ""), zone)
        return await promises.make(
            current_user(request),
            fields.get("text", ""),
            due_at,
            ref=fields.get("ref", ""),
            registry=request.app.state.registry,
        )

    return await outcome(request, to, make, _("Promise written down. It is on the handover."))


async def _close(request: Request, *, kept: bool) -> Response:
    promise = await promises.get(request.path_params["promise_id"])
    fields = await form_fields(request)
    return await outcome(
        request,
        "/handover/promises",
        lambda: promises.close(
            promise, current_user(request), kept=kept, note=fields.get("note", "")
        ),
        _("Promise marked kept.") if kept else _("Promise marked not kept."),
    )


@requires(*service.ACTORS)
async def promise_kept(request: Request) -> Response:
    return await _close(request, kept=True)


@requires(*service.ACTORS)
async def promise_not_kept(request: Request) -> Response:
    return await _close(request, kept=False)


routes = [
    Route("/", incoming_page, name="handover"),
    Route("/prepare", prepare_page),
    Route("/diary", diary_page),
    Route("/promises", promises_page),
    Route("/promises", promise_make, methods=["POST"]),
    Route("/promises/{promise_id:id}/kept", promise_kept, methods=["POST"]),
    Route("/promises/{promise_id:id}/not-kept", promise_not_kept, methods=["POST"]),
    Route("/{handover_id:id}", handover_page),
    Route("/{handover_id:id}/print", print_page),
    Route("/{handover_id:id}/changes", changes_page),
    Route("/{handover_id:id}/acknowledge", handover_acknowledge, methods=["POST"]),
    Route("/{handover_id:id}/hand-over", hand_over, methods=["POST"]),
    Route("/{handover_id:id}/notes", note_add, methods=["POST"]),
    Route("/{handover_id:id}/items/{item_id:id}/acknowledge", item_acknowledge, methods=["POST"]),
    Route("/{handover_id:id}/items/{item_id:id}/done", item_done, methods=["POST"]),
]
