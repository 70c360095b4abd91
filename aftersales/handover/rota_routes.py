"""The rota pages: the week grid everyone reads, the cell and shift forms supervisors use.

Mounted under ``/handover/``. A refused edit (a bad time, an unknown zone)
shows its form again with the error, as a 400, and nothing is saved.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aftersales.core import case_routes
from aftersales.core.api import FIRST_DAY, LAST_DAY, number_or_none
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.i18n import gettext as _
from aftersales.core.templating import flash, render
from aftersales.handover import rota_service as service
from aftersales.handover.models import Shift

WEEKDAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
"""ISO weekday 1..7 as the grid and the shift form name it."""
ROTA = "/handover/rota"
SHIFTS = "/handover/shifts"


def _week(request: Request, value: str | None) -> service.Week:
    return service.parse_week(value, zone=request.app.state.settings.zone)


def _day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        raise service.BadWeek(week=value[:20])
    return day


def _alert(message: str) -> dict[str, Any]:
    return {"flash": {"message": message, "level": "alert"}}


async def rota_page(request: Request) -> Response:
    """The week grid: each shift by each day, the people on it; supervisors edit from it."""
    try:
        week = _week(request, request.query_params.get("week"))
    except InvalidInput as exc:
        week, error = _week(request, None), exc.message
    else:
        error = ""
    grid = await service.read_week(week)
    return render(
        request,
        "handover/rota.html",
        {
            "grid": grid,
            "week": week,
            "weekday_names": WEEKDAY_NAMES,
            "hhmm": service.hhmm,
            "may_edit": current_user(request).role in MANAGERS,
            **(_alert(error) if error else {}),
        },
        status=400 if error else 200,
    )


async def _cell_page(
    request: Request, shift: Shift, day: date, *, chosen: set[int] | None = None, error: str = ""
) -> Response:
    week = service.Week.of(day)
    grid = await service.read_week(week)
    return render(
        request,
        "handover/rota_cell.html",
        {
            "shift": shift,
            "day": day,
            "week": week,
            "weekday_name": WEEKDAY_NAMES[day.weekday()],
            "zone": request.app.state.settings.zone.key,
            "hhmm": service.hhmm,
            "people": await service.rota_people(),
            "chosen": chosen if chosen is not None else set(grid.user_ids(shift, day)),
            **(_alert(error) if error else {}),
        },
        status=400 if error else 200,
    )


def _cell_of(values: Any) -> tuple[int | None, date | None]:
    """The shift id and day a cell form names (``?shift=3&day=2026-12-02``); None if absent."""
    shift = str(values.get("shift") or "").strip()
    day = str(values.get("day") or "").strip()
    if not shift and not day:
        return None, None
    shift_id = number_or_none(shift)
    if shift_id is None or shift_id < 1:
        raise service.UnknownShift(shift=shift[:20])
    return shift_id, _day(day)


@requires(*MANAGERS)
async def cell_form(request: Request) -> Response:
    """The people on one shift on one day; opened from the grid's edit link."""
    shift_id, day = _cell_of(request.query_params)
    if shift_id is None or day is None:
        return RedirectResponse(ROTA, status_code=303)  # nothing chosen: choose on the grid
    return await _cell_page(request, await service.get_shift(shift_id), day)


def _ids(form: FormData, name: str) -> list[int]:
    """The ticked ids; one that is not a number names nobody (refused as unknown)."""
    ids = []
    for value in form.getlist(name):
        number = number_or_none(str(value))
        ids.append(number if number is not None else -1)
    return ids


@requires(*MANAGERS)
async def cell_save(request: Request) -> Response:
    form = await request.form()
    shift_id, day = _cell_of(form)
    if shift_id is None or day is None:
        raise service.UnknownShift(shift="")
    shift = await service.get_shift(shift_id)
    chosen = _ids(form, "user")
    try:
        await service.set_cell(current_user(request), shift.id, day, chosen)
    except InvalidInput as exc:
        return await _cell_page(request, shift, day, chosen=set(chosen), error=exc.message)
    flash(request, _("Rota saved."))
    return RedirectResponse(f"{ROTA}?week={service.Week.of(day).label}", status_code=303)


@requires(*MANAGERS)
async def copy_week(request: Request) -> Response:
    form = await case_routes.form_fields(request)
    try:
        week = _week(request, form.get("week"))
    except InvalidInput as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse(ROTA, status_code=303)
    changed = await service.copy_previous_week(current_user(request), week)
    if changed:
        flash(request, _("Last week copied: %(count)s cells changed.") % {"count": changed})
    else:
        flash(request, _("This week already matches last week; nothing changed."))
    return RedirectResponse(f"{ROTA}?week={week.label}", status_code=303)


def _shift_input(form: FormData) -> service.ShiftInput:
    days = [number_or_none(str(v)) for v in form.getlist("weekday")]
    position = number_or_none(str(form.get("position") or "0"))
    return service.ShiftInput(
        name=str(form.get("name") or ""),
        start=str(form.get("start") or ""),
        end=str(form.get("end") or ""),
        weekdays=[d if d is not None else 0 for d in days],
        time_zone=str(form.get("time_zone") or ""),
        position=position if position is not None else -1,
        active=form.get("active", "on") == "on",
    )


async def _shifts_page(
    request: Request, *, form: dict[str, Any] | None = None, error: str = ""
) -> Response:
    return render(
        request,
        "handover/shifts.html",
        {
            "shifts": await service.list_shifts(),
            "weekday_names": WEEKDAY_NAMES,
            "weekdays_of": service.weekdays_of,
            "hhmm": service.hhmm,
            "zone": request.app.state.settings.zone.key,
            "form": form or {},
            **(_alert(error) if error else {}),
        },
        status=400 if error else 200,
    )


@requires(*MANAGERS)
async def shifts_page(request: Request) -> Response:
    return await _shifts_page(request)


def _typed(form: FormData, shift_id: int | None) -> dict[str, Any]:
    """What was typed, to show the form again after an error."""
    return {
        "id": shift_id,
        "name": str(form.get("name") or ""),
        "start": str(form.get("start") or ""),
        "end": str(form.get("end") or ""),
        "time_zone": str(form.get("time_zone") or ""),
        "position": str(form.get("position") or ""),
        "weekdays": {number_or_none(str(v)) for v in form.getlist("weekday")},
    }


@requires(*MANAGERS)
async def shift_add(request: Request) -> Response:
    form = await request.form()
    try:
        await service.create_shift(current_user(request), _shift_input(form))
    except InvalidInput as exc:
        return await _shifts_page(request, form=_typed(form, None), error=exc.message)
    flash(request, _("Shift added."))
    return RedirectResponse(SHIFTS, status_code=303)


@requires(*MANAGERS)
async def shift_edit(request: Request) -> Response:
    shift_id = request.path_params["shift_id"]
    await service.get_shift(shift_id)  # 404 before reading the form
    form = await request.form()
    try:
        await service.edit_shift(current_user(request), shift_id, _shift_input(form))
    except InvalidInput as exc:
        return await _shifts_page(request, form=_typed(form, shift_id), error=exc.message)
    flash(request, _("Shift saved."))
    return RedirectResponse(SHIFTS, status_code=303)


@requires(*MANAGERS)
async def shift_deactivate(request: Request) -> Response:
    await service.deactivate_shift(current_user(request), request.path_params["shift_id"])
    flash(request, _("Shift switched off: it is no longer planned or on the rota."))
    return RedirectResponse(SHIFTS, status_code=303)


routes = [
    Route("/rota", rota_page, name="rota"),
    Route("/rota/copy", copy_week, methods=["POST"]),
    Route("/rota/cell", cell_form),
    Route("/rota/cell", cell_save, methods=["POST"]),
    Route("/shifts", shifts_page),
    Route("/shifts", shift_add, methods=["POST"]),
    Route("/shifts/{shift_id:id}", shift_edit, methods=["POST"]),
    Route("/shifts/{shift_id:id}/deactivate", shift_deactivate, methods=["POST"]),
]
