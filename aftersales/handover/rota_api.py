"""The rota on the JSON API: ``GET/POST /api/v1/shifts``, ``GET/PUT /api/v1/rota``.

Times are local wall times ``"HH:MM"`` in the shift's own ``time_zone``
(an end at or before the start ends the next day, ``"24:00"`` is
midnight); weekdays are ISO numbers (Monday = 1). A rota week is
``YYYY-Www`` (or any of its days with ``from=``) and its days are the local
days a shift's runs start on. ``PUT /api/v1/rota`` replaces the cells it
is given, all or none; the other cells of the week stay.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core import api, case_api
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.handover import rota_service as service
from aftersales.handover.models import Shift

HHMM = {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$"}
HHMM_END = {"type": "string", "pattern": r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"}
WEEK = {"type": "string", "pattern": r"^[0-9]{4}-W[0-9]{2}$", "description": "ISO week, 2026-W49"}
WEEKDAY_LIST = {
    "type": "array",
    "items": {"type": "integer", "minimum": 1, "maximum": 7},
    "minItems": 1,
    "maxItems": 7,
    "description": "ISO weekdays the shift starts on, Monday = 1",
}
SHIFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "start": HHMM,
        "end": HHMM_END,
        "weekdays": WEEKDAY_LIST,
        "time_zone": {"type": "string"},
        "position": {"type": "integer"},
        "active": {"type": "boolean"},
    },
}
SHIFT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name", "start", "end"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": service.MAX_NAME},
        "start": HHMM,
        "end": HHMM_END,
        "weekdays": WEEKDAY_LIST,
        "time_zone": {"type": "string", "description": "an IANA zone, Asia/Shanghai (default)"},
        "position": {"type": "integer", "minimum": 0, "maximum": service.MAX_POSITION},
    },
}
CELL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["shift_id", "day", "user_ids"],
    "properties": {
        "shift_id": {"type": "integer", "minimum": 1},
        "day": api.DAY,
        "user_ids": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "maxItems": service.MAX_PEOPLE,
        },
    },
}
ROTA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "week": WEEK,
        "days": {"type": "array", "items": api.DAY},
        "shifts": {"type": "array", "items": SHIFT_SCHEMA},
        "cells": {"type": "array", "items": CELL_SCHEMA},
    },
}
ROTA_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["week", "cells"],
    "properties": {
        "week": WEEK,
        "cells": {"type": "array", "items": CELL_SCHEMA, "maxItems": 500},
    },
}


def shift_json(shift: Shift) -> dict[str, Any]:
    return {"id": shift.id, **service.shift_data(shift)}


def rota_json(grid: service.RotaGrid) -> dict[str, Any]:
    return {
        "week": grid.week.label,
        "days": [day.isoformat() for day in grid.week.days],
        "shifts": [shift_json(s) for s in grid.shifts],
        "cells": [
            {"shift_id": s.id, "day": day.isoformat(), "user_ids": grid.user_ids(s, day)}
            for s in grid.shifts
            for day in grid.week.days
            if grid.runs(s, day)
        ],
    }


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise InvalidInput(N_("%(name)s must be text."), name=name, code="invalid_parameter")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(N_("%(name)s must be a list."), name=name, code="invalid_parameter")
    return value


def _shift_input(body: dict[str, Any]) -> service.ShiftInput:
    position = body.get("position", 0)
    return service.ShiftInput(
        name=_text(body, "name", ""),
        start=_text(body, "start", ""),
        end=_text(body, "end", ""),
        weekdays=_list(body.get("weekdays", list(service.WEEKDAYS)), "weekdays"),
        time_zone=_text(body, "time_zone", "Asia/Shanghai"),
        position=api.body_int(position, name="position", minimum=0, maximum=service.MAX_POSITION),
    )


async def list_shifts(request: Request) -> Response:
    page, size = api.page_param(request.query_params.get("page")), case_api.per_page(request)
    shifts = await service.list_shifts()
    chunk = shifts[(page - 1) * size : page * size]
    return case_api.page_json(
        [shift_json(s) for s in chunk], total=len(shifts), page=page, size=size
    )


@requires(*MANAGERS)
async def create_shift(request: Request) -> Response:
    body = await api.json_body(request)
    shift = await service.create_shift(current_user(request), _shift_input(body))
    return JSONResponse(shift_json(shift), status_code=201)


def _week(request: Request, value: str | None) -> service.Week:
    return service.parse_week(value, zone=request.app.state.settings.zone)


async def get_rota(request: Request) -> Response:
    q = request.query_params
    week = _week(request, q.get("week") or q.get("from"))
    return JSONResponse(rota_json(await service.read_week(week)))


def _cell(value: Any, index: int) -> service.Cell:
    name = f"cells[{index}]"
    if not isinstance(value, dict):
        raise InvalidInput(N_("%(name)s must be an object."), name=name, code="invalid_parameter")
    day = api.date_param(_text(value, "day", ""), name=f"{name}.day")
    if day is None:
        raise InvalidInput(N_("Dates are written YYYY-MM-DD."), name=name, code="invalid_parameter")
    people = _list(value.get("user_ids"), f"{name}.user_ids")
    if len(people) > service.MAX_PEOPLE:
        raise InvalidInput(
            N_("A shift holds at most %(max)s people."), max=service.MAX_PEOPLE, code="too_many"
        )
    return service.Cell(
        shift_id=api.body_int(value.get("shift_id"), name=f"{name}.shift_id"),
        day=day,
        user_ids=frozenset(api.body_int(uid, name=f"{name}.user_ids") for uid in people),
    )


@requires(*MANAGERS)
async def put_rota(request: Request) -> Response:
    body = await api.json_body(request)
    if not body.get("week"):
        raise service.BadWeek(week="")
    week = _week(request, _text(body, "week"))
    cells = _list(body.get("cells"), "cells")
    if len(cells) > 500:
        raise InvalidInput(
            N_("%(name)s holds at most %(max)s items."), name="cells", max=500, code="too_many"
        )
    parsed = [_cell(cell, i) for i, cell in enumerate(cells)]
    await service.set_week(current_user(request), week, parsed)
    return JSONResponse(rota_json(await service.read_week(week)))


api_routes = [
    api.api_route(
        "/shifts",
        list_shifts,
        summary="The shifts of the rota, active and switched off, in rota order",
        response={
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": SHIFT_SCHEMA},
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
            },
        },
        params=api.PAGING,
    ),
    api.api_route(
        "/shifts",
        create_shift,
        methods=("POST",),
        summary="Add a shift (supervisors, owners, admins)",
        roles=MANAGERS,
        response=SHIFT_SCHEMA,
        body=SHIFT_BODY,
        status=201,
    ),
    api.api_route(
        "/rota",
        get_rota,
        summary="One week of the rota, Monday to Sunday: who works each shift on each day",
        response=ROTA_SCHEMA,
        params=(
            api.query("week", WEEK, "ISO week; default this week"),
            api.query("from", api.DAY, "any day of the week, instead of week"),
        ),
    ),
    api.api_route(
        "/rota",
        put_rota,
        methods=("PUT",),
        summary="Replace the given cells of one week of the rota, all or none (supervisors)",
        roles=MANAGERS,
        response=ROTA_SCHEMA,
        body=ROTA_BODY,
    ),
]
