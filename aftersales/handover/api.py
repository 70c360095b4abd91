"""Handovers and promises on the JSON API: read the list, read items back, acknowledge, promise.

Everyone signed in reads a handover; the people on shifts (``service.ACTORS``)
work it: read urgent items back, acknowledge the list, add notes, make and
close promises. Words handed over (an item's summary, what to do, a case's
status) are rendered in the caller's language; times are ISO 8601 in UTC.
Bad input is a 400 before any service runs, so nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core import api, case_api, clock, i18n
from aftersales.core.api import ID_QUERY, PAGING, api_route, json_body, json_time, query
from aftersales.core.auth import current_user, requires
from aftersales.core.cases import CaseRef, ResolvedCase
from aftersales.core.errors import InvalidInput, NotFound
from aftersales.core.i18n import N_
from aftersales.core.labels import LabelBook
from aftersales.core.models import User
from aftersales.handover import drafting, events, promises, service
from aftersales.handover.models import Handover, ItemState, Promise, PromiseStatus


class NoCurrentHandover(NotFound):
    code = "no_current_handover"
    msgid = N_("No handover has reached the shift on now.")


# -- reading the request ----------------------------------------------------------------------


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(N_("%(name)s is required."), name=name, code="invalid_parameter")
        return ""
    if not isinstance(value, str):
        raise InvalidInput(N_("%(name)s must be text."), name=name, code="invalid_parameter")
    return value


def _ref(body: dict[str, Any]) -> str:
    """An optional ``module:kind:id`` case reference, checked (a 400, never a stored typo)."""
    text = _text(body, "ref").strip()
    return str(CaseRef.parse(text)) if text else ""


def _aware_time(value: Any, *, name: str) -> datetime:
    """An ISO 8601 time with its offset: a time without one means nothing to a shop abroad."""
    if value is None or value == "":
        raise InvalidInput(N_("%(name)s is required."), name=name, code="invalid_parameter")
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            N_("%(name)s must be an ISO 8601 time."), name=name, code="invalid_parameter"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInput(
            N_("%(name)s needs its offset from UTC, as in 2026-12-01T21:00:00+08:00."),
            name=name,
            code="invalid_parameter",
        )
    try:
        day = parsed.astimezone(UTC).date()
    except OverflowError:
        day = None
    if day is None or not api.FIRST_DAY <= day <= api.LAST_DAY:
        raise InvalidInput(
            N_("%(name)s must be a day between %(first)s and %(last)s."),
            name=name,
            first=api.FIRST_DAY.isoformat(),
            last=api.LAST_DAY.isoformat(),
            code="invalid_parameter",
        )
    return parsed.astimezone(UTC)


def _paging(request: Request) -> tuple[int, int]:
    """``(page, per_page)`` as every list of the API reads them."""
    return api.page_param(request.query_params.get("page")), case_api.per_page(request)


# -- writing the answer -----------------------------------------------------------------------


def _user(users: dict[int, User], user_id: int | None) -> dict[str, Any] | None:
    user = users.get(user_id) if user_id else None
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.name}


async def _users(ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i}
    return {u.id: u for u in await User.filter(id__in=wanted)} if wanted else {}


def _word(msgid: str) -> str:
    return i18n.gettext(msgid) if msgid else ""


def _status_label(book: LabelBook, live: ResolvedCase) -> str:
    """The case's status in the reader's words: its own label, else its kind's label."""
    if live.status_label:
        return i18n.gettext(live.status_label)
    return book.text_or_value(f"{live.ref.kind}_status", live.status)


def _entry_json(view: service.EntryView, users: dict[int, User], book: LabelBook) -> dict[str, Any]:
    entry, live = view.entry, view.live
    return {
        "id": entry.id,
        "ref": entry.ref,
        "module": entry.module,
        "severity": entry.severity,
        "urgent": entry.urgent,
        "summary": drafting.summary(entry),
        "todo": _word(entry.todo),
        "if_fails": _word(entry.if_fails),
        "href": entry.href or None,
        "due_at": json_time(entry.due_at),
        "assignee": _user(users, entry.assignee_id),
        "customer_id": entry.customer_id,
        "state": entry.state.value,
        "state_label": _word(events.ITEM_STATES.get(entry.state, "")),
        "first_listed_at": json_time(entry.first_listed_at),
        "acknowledged_by": _user(users, entry.acknowledged_by_id),
        "acknowledged_at": json_time(entry.acknowledged_at),
        "readback": entry.readback,
        "live": None
        if live is None
        else {
            "status": live.status,
            "status_label": _status_label(book, live),
            "open": live.open,
            "href": live.href,
        },
    }


def _shift_json(name: str, day: Any) -> dict[str, Any]:
    return {"name": name, "day": day.isoformat() if day else None}


def _handover_head(
    handover: Handover, users: dict[int, User], counts: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": handover.id,
        "from": _shift_json(handover.from_name, handover.from_day),
        "to": _shift_json(handover.to_name, handover.to_day),
        "time_zone": handover.time_zone,
        "window": {
            "start": json_time(handover.window_start),
            "end": json_time(handover.window_end),
        },
        "morning_check": handover.morning_check,
        "drafted_at": json_time(handover.drafted_at),
        "handed_over_by": _user(users, handover.handed_over_by_id),
        "handed_over_at": json_time(handover.handed_over_at),
        "acknowledged_by": _user(users, handover.acknowledged_by_id),
        "acknowledged_at": json_time(handover.acknowledged_at),
        "counts": counts,
    }


async def _handover_json(view: service.HandoverView, book: LabelBook) -> dict[str, Any]:
    handover = view.handover
    users = await _users(
        [
            handover.handed_over_by_id,
            handover.acknowledged_by_id,
            *(v.entry.assignee_id for v in view.entries),
            *(v.entry.acknowledged_by_id for v in view.entries),
            *(n.author_id for n in view.notes),
        ]
    )
    counts = {"total": view.total, "urgent": view.urgent, "urgent_open": view.urgent_open}
    return _handover_head(handover, users, counts) | {
        "items": [_entry_json(v, users, book) for v in view.entries],
        "notes": [_note_json(n, users) for n in view.notes],
    }


def _note_json(note: Any, users: dict[int, User]) -> dict[str, Any]:
    return {
        "id": note.id,
        "text": note.text,
        "ref": note.ref or None,
        "author": _user(users, note.author_id),
        "created_at": json_time(note.created_at),
    }


def _promise_json(promise: Promise, users: dict[int, User]) -> dict[str, Any]:
    return {
        "id": promise.id,
        "ref": promise.ref or None,
        "customer_id": promise.customer_id,
        "text": promise.text,
        "due_at": json_time(promise.due_at),
        "status": promise.status.value,
        "status_label": _word(events.PROMISE_STATUSES[promise.status]),
        "made_by": _user(users, promise.made_by_id),
        "made_at": json_time(promise.made_at),
        "closed_by": _user(users, promise.closed_by_id),
        "closed_at": json_time(promise.closed_at),
        "note": promise.note,
    }


async def _one_promise(promise: Promise, *, status: int = 200) -> Response:
    users = await _users([promise.made_by_id, promise.closed_by_id])
    return JSONResponse(_promise_json(promise, users), status_code=status)


async def _answer(request: Request, handover: Handover) -> Response:
    registry = request.app.state.registry
    view = await service.view(registry, handover)
    return JSONResponse(await _handover_json(view, LabelBook(registry.labels())))


# -- endpoints --------------------------------------------------------------------------------


async def current_handover(request: Request) -> Response:
    """The handover the shift on now received (404 ``no_current_handover`` when none has)."""
    handover = await service.incoming(clock.now())
    if handover is None:
        raise NoCurrentHandover()
    return await _answer(request, handover)


async def get_handover(request: Request) -> Response:
    return await _answer(request, await service.get(request.path_params["handover_id"]))


async def list_handovers(request: Request) -> Response:
    """The shift diary, newest first: each handover's head and counts, without its items."""
    page, size = _paging(request)
    history = await service.history(limit=size, offset=(page - 1) * size)
    users = await _users(
        i for h in history.handovers for i in (h.handed_over_by_id, h.acknowledged_by_id)
    )
    items = [_handover_head(h, users, history.counts[h.id]) for h in history.handovers]
    return case_api.page_json(items, total=history.total, page=page, size=size)


@requires(*service.ACTORS)
async def acknowledge_handover(request: Request) -> Response:
    """Take the list over; 409 ``urgent_not_acknowledged`` while urgent items are not read back."""
    await json_body(request)  # a broken body is a 400 even where nothing is read from it
    handover = await service.get(request.path_params["handover_id"])
    return await _answer(request, await service.acknowledge(handover, current_user(request)))


@requires(*service.ACTORS)
async def acknowledge_item(request: Request) -> Response:
    """``{"readback": "..."}``: read one item back (required for urgent ones)."""
    body = await json_body(request)
    readback = _text(body, "readback")
    handover = await service.get(request.path_params["handover_id"])
    entry = await service.get_entry(handover, request.path_params["item_id"])
    await service.acknowledge_item(handover, entry, current_user(request), readback)
    return await _answer(request, handover)


@requires(*service.ACTORS)
async def add_note(request: Request) -> Response:
    """``{"text": "...", "ref": "refunds:refund:12"?}``: what only the outgoing shift knows."""
    body = await json_body(request)
    text = _text(body, "text", required=True)
    ref = _ref(body)
    handover = await service.get(request.path_params["handover_id"])
    note = await service.add_note(handover, current_user(request), text, ref=ref)
    users = await _users([note.author_id])
    return JSONResponse(_note_json(note, users), status_code=201)


async def list_promises(request: Request) -> Response:
    q = request.query_params
    status = api.choice_param(PromiseStatus, q.get("status"), "status")
    ref = q.get("ref", "").strip()
    if ref:
        ref = str(CaseRef.parse(ref))
    page, size = _paging(request)
    rows = await promises.listing(status=status, ref=ref, limit=size, offset=(page - 1) * size)
    total = await promises.count(status=status, ref=ref)
    users = await _users(i for p in rows for i in (p.made_by_id, p.closed_by_id))
    return case_api.page_json(
        [_promise_json(p, users) for p in rows], total=total, page=page, size=size
    )


@requires(*service.ACTORS)
async def make_promise(request: Request) -> Response:
    """``{"text", "due_at" (ISO 8601 with offset), "ref"?, "customer_id"?}``."""
    body = await json_body(request)
    text = _text(body, "text", required=True)
    due_at = _aware_time(body.get("due_at"), name="due_at")
    ref = _ref(body)
    raw = body.get("customer_id")
    customer_id = None if raw is None else api.body_int(raw, name="customer_id")
    promise = await promises.make(
        current_user(request),
        text,
        due_at,
        ref=ref,
        customer_id=customer_id,
        registry=request.app.state.registry,
    )
    return await _one_promise(promise, status=201)


@requires(*service.ACTORS)
async def close_promise(request: Request) -> Response:
    """``{"kept": true|false, "note"?}``; 409 ``promise_closed`` when already closed."""
    body = await json_body(request)
    kept = body.get("kept")
    if not isinstance(kept, bool):
        raise InvalidInput(
            N_("%(name)s must be true or false."), name="kept", code="invalid_parameter"
        )
    note = _text(body, "note")
    promise = await promises.get(request.path_params["promise_id"])
    closed = await promises.close(promise, current_user(request), kept=kept, note=note)
    return await _one_promise(closed)


# -- what openapi.json says -------------------------------------------------------------------

NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
USER_REF = {
    "type": ["object", "null"],
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "display_name": {"type": "string"},
    },
}
SHIFT_REF = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "day": {"type": ["string", "null"]}},
}
COUNTS = {
    "type": "object",
    "properties": {
        "total": {"type": "integer"},
        "urgent": {"type": "integer"},
        "urgent_open": {"type": "integer", "description": "urgent items not yet read back"},
    },
}
ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "ref": {"type": "string", "description": "module:kind:id"},
        "module": {"type": "string"},
        "severity": {"type": "string"},
        "urgent": {"type": "boolean"},
        "summary": {"type": "string", "description": "in the caller's language"},
        "todo": {"type": "string"},
        "if_fails": {"type": "string"},
        "href": {"type": ["string", "null"]},
        "due_at": NULLABLE_TIME,
        "assignee": USER_REF,
        "customer_id": {"type": ["integer", "null"]},
        "state": {"type": "string", "enum": [s.value for s in ItemState]},
        "state_label": {"type": "string"},
        "first_listed_at": NULLABLE_TIME,
        "acknowledged_by": USER_REF,
        "acknowledged_at": NULLABLE_TIME,
        "readback": {"type": "string"},
        "live": {
            "type": ["object", "null"],
            "description": "the case as it stands now; null when no module knows it",
            "properties": {
                "status": {"type": "string"},
                "status_label": {"type": "string"},
                "open": {"type": "boolean"},
                "href": {"type": "string"},
            },
        },
    },
}
NOTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "text": {"type": "string"},
        "ref": {"type": ["string", "null"]},
        "author": USER_REF,
        "created_at": NULLABLE_TIME,
    },
}
HEAD_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "from": SHIFT_REF,
    "to": SHIFT_REF,
    "time_zone": {"type": "string"},
    "window": {
        "type": "object",
        "properties": {"start": NULLABLE_TIME, "end": NULLABLE_TIME},
    },
    "morning_check": {"type": "boolean"},
    "drafted_at": NULLABLE_TIME,
    "handed_over_by": USER_REF,
    "handed_over_at": NULLABLE_TIME,
    "acknowledged_by": USER_REF,
    "acknowledged_at": NULLABLE_TIME,
    "counts": COUNTS,
}
HANDOVER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **HEAD_PROPERTIES,
        "items": {"type": "array", "items": ITEM_SCHEMA},
        "notes": {"type": "array", "items": NOTE_SCHEMA},
    },
}
PROMISE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "ref": {"type": ["string", "null"]},
        "customer_id": {"type": ["integer", "null"]},
        "text": {"type": "string"},
        "due_at": NULLABLE_TIME,
        "status": {"type": "string", "enum": [s.value for s in PromiseStatus]},
        "status_label": {"type": "string"},
        "made_by": USER_REF,
        "made_at": NULLABLE_TIME,
        "closed_by": USER_REF,
        "closed_at": NULLABLE_TIME,
        "note": {"type": "string"},
    },
}


def _page_of(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    }


REF_FIELD = {"type": "string", "description": "a case, module:kind:id"}

api_routes = [
    api_route(
        "/handovers/current",
        current_handover,
        summary="The handover the shift on now received, in reading order (404 when none)",
        response=HANDOVER_SCHEMA,
    ),
    api_route(
        "/handovers",
        list_handovers,
        summary="The shift diary: handovers newest first, with their counts",
        response=_page_of({"type": "object", "properties": HEAD_PROPERTIES}),
        params=PAGING,
    ),
    api_route(
        "/handovers/{handover_id:id}",
        get_handover,
        summary="One handover with its items, each beside its case now, and its notes",
        response=HANDOVER_SCHEMA,
    ),
    api_route(
        "/handovers/{handover_id:id}/acknowledge",
        acknowledge_handover,
        methods=["POST"],
        summary="Acknowledge the whole list; 409 urgent_not_acknowledged while urgent items "
        "are not read back",
        roles=service.ACTORS,
        response=HANDOVER_SCHEMA,
    ),
    api_route(
        "/handovers/{handover_id:id}/items/{item_id:id}/acknowledge",
        acknowledge_item,
        methods=["POST"],
        summary="Read one item back (readback: required for urgent items)",
        roles=service.ACTORS,
        response=HANDOVER_SCHEMA,
        body={
            "type": "object",
            "properties": {"readback": {"type": "string", "maxLength": service.MAX_READBACK}},
        },
    ),
    api_route(
        "/handovers/{handover_id:id}/notes",
        add_note,
        methods=["POST"],
        summary="Add a note to a handover (text, ref)",
        roles=service.ACTORS,
        response=NOTE_SCHEMA,
        status=201,
        body={
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1}, "ref": REF_FIELD},
        },
    ),
    api_route(
        "/promises",
        list_promises,
        summary="Promises to buyers by due time: status open|kept|broken, ref a case",
        response=_page_of(PROMISE_SCHEMA),
        params=(
            *PAGING,
            query("status", {"type": "string", "enum": [s.value for s in PromiseStatus]}),
            query("ref", REF_FIELD),
        ),
    ),
    api_route(
        "/promises",
        make_promise,
        methods=["POST"],
        summary="Record a promise to a buyer (text, due_at with its offset, ref, customer_id)",
        roles=service.ACTORS,
        response=PROMISE_SCHEMA,
        status=201,
        body={
            "type": "object",
            "required": ["text", "due_at"],
            "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": promises.MAX_PROMISE_TEXT},
                "due_at": {"type": "string", "format": "date-time"},
                "ref": REF_FIELD,
                "customer_id": ID_QUERY,
            },
        },
    ),
    api_route(
        "/promises/{promise_id:id}/close",
        close_promise,
        methods=["POST"],
        summary="Mark a promise kept or broken (kept, note); 409 promise_closed when closed",
        roles=service.ACTORS,
        response=PROMISE_SCHEMA,
        body={
            "type": "object",
            "required": ["kept"],
            "properties": {"kept": {"type": "boolean"}, "note": {"type": "string"}},
        },
    ),
]
