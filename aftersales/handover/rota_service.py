"""Editing the rota (排班): shifts, who works which shift on which day, copy last week.

Supervisors, owners and admins edit; every signed-in role reads. Each
change is checked here (the role too, so a hand-made request from an
agent changes nothing) and written in one transaction with its audit
event. Reading and writing go by week, Monday to Sunday, in local dates:
a rota day is the local day a shift's run starts on (``rota.instance``).

Errors (all ``InvalidInput``, 400, unless said)::

    BadShiftTime       a start or end that is not HH:MM (00:00-23:59, an end may be 24:00)
    UnknownTimeZone    not a zone ``zoneinfo`` knows
    NoWeekdays         a shift that runs on no day
    BadWeek            a week that is neither 2026-W49 nor a day
    UnknownShift       a shift id in a body that names no shift
    UnknownPeople      user ids that are not active members of the team
    DayNotInWeek       a cell outside the week it was sent for
    ShiftOff           planning a switched-off shift or a day it does not run
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from aftersales.core import api, audit, clock
from aftersales.core.auth import MANAGERS
from aftersales.core.errors import Conflict, InvalidInput, Msgid, NotFound, PermissionDenied
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.handover import service as handover_service
from aftersales.handover.models import RotaEntry, Shift

MAX_NAME = 64
MAX_POSITION = 10_000
MAX_PEOPLE = 200
"""The most people one cell may hold: far past any team, yet a bounded query."""
ROTA_ROLES = handover_service.ACTORS
"""Who can be put on a shift: those who work handovers (owners read them, admins run accounts)."""
WEEKDAYS = range(1, 8)
"""Weekdays as people and the API write them: ISO numbers, Monday = 1 ... Sunday = 7."""

_HHMM = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")


class BadShiftTime(InvalidInput):
    code = "invalid_shift_time"
    msgid = N_("%(field)s must be a time from 00:00 to 23:59 (an end may be 24:00).")


class UnknownTimeZone(InvalidInput):
    code = "unknown_time_zone"
    msgid = N_("%(zone)s is not a time zone; write it like %(example)s.")


class NoWeekdays(InvalidInput):
    code = "no_weekdays"
    msgid = N_("Choose at least one day of the week the shift runs on.")


class BadWeek(InvalidInput):
    code = "invalid_week"
    msgid = N_("A week is written like 2026-W49, or as one of its days (YYYY-MM-DD).")


class UnknownShift(InvalidInput):
    code = "unknown_shift"
    msgid = N_("There is no shift %(shift)s.")


class UnknownPeople(InvalidInput):
    code = "unknown_user"
    msgid = N_("These people cannot be put on a shift (unknown or deactivated): %(ids)s.")


class DayNotInWeek(InvalidInput):
    code = "day_not_in_week"
    msgid = N_("%(day)s is not in the week %(week)s.")


class ShiftOff(InvalidInput):
    code = "shift_not_running"
    msgid = N_("%(shift)s does not run on %(day)s.")


# -- shifts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftInput:
    """A shift as a supervisor types it: times "HH:MM", ISO weekdays, a zone name."""

    name: str
    start: str
    end: str
    weekdays: Collection[int] = tuple(WEEKDAYS)
    time_zone: str = "Asia/Shanghai"
    position: int = 0
    active: bool = True


def _must_manage(actor: User) -> None:
    if actor.role not in MANAGERS:
        raise PermissionDenied(N_("Only supervisors edit the rota."))


def parse_minute(text: str, *, name: str, end: bool) -> int:
    """ "HH:MM" as minutes after midnight; "24:00" only as an end."""
    found = _HHMM.fullmatch(text.strip()) if isinstance(text, str) else None
    minute = int(found.group(1)) * 60 + int(found.group(2)) if found else -1
    if not 0 <= minute <= (24 * 60 if end else 24 * 60 - 1):
        raise BadShiftTime(field=Msgid(name), value=str(text)[:20])
    return minute


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def weekday_mask(days: Iterable[int]) -> int:
    """ISO weekdays (Monday = 1) as ``Shift.weekdays`` bits (Monday = bit 0)."""
    mask = 0
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or day not in WEEKDAYS:
            raise NoWeekdays()
        mask |= 1 << (day - 1)
    if not mask:
        raise NoWeekdays()
    return mask


def weekdays_of(shift: Shift) -> list[int]:
    """The ISO weekdays ``shift`` starts on."""
    return [day for day in WEEKDAYS if shift.weekdays & (1 << (day - 1))]


def check_zone(name: str) -> str:
    text = name.strip() if isinstance(name, str) else ""
    try:
        # A key like "../etc" or "" raises ValueError rather than not-found.
        if not text or len(text) > 64:
            raise ValueError(text)
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(zone=str(name)[:64], example="Asia/Shanghai") from None
    return text


def _fields(given: ShiftInput) -> dict[str, object]:
    name = given.name.strip() if isinstance(given.name, str) else ""
    if not name:
        raise InvalidInput(N_("A shift needs a name."), code="missing_name")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            N_("%(field)s is at most %(max)s characters; this one has %(length)s."),
            field="name",
            max=MAX_NAME,
            length=len(name),
            code="too_long",
        )
    position = given.position
    if isinstance(position, bool) or not isinstance(position, int):
        position = -1
    if not 0 <= position <= MAX_POSITION:
        raise InvalidInput(
            N_("%(name)s must be a whole number from %(min)s to %(max)s."),
            name="position",
            min=0,
            max=MAX_POSITION,
            code="invalid_parameter",
        )
    return {
        "name": name,
        "start_minute": parse_minute(given.start, name=N_("Start"), end=False),
        "end_minute": parse_minute(given.end, name=N_("End"), end=True),
        "weekdays": weekday_mask(given.weekdays),
        "time_zone": check_zone(given.time_zone),
        "position": position,
        "active": bool(given.active),
    }


def shift_data(shift: Shift) -> dict[str, object]:
    """A shift as the audit trail and the API keep it."""
    return {
        "name": shift.name,
        "start": hhmm(shift.start_minute),
        "end": hhmm(shift.end_minute),
        "weekdays": weekdays_of(shift),
        "time_zone": shift.time_zone,
        "position": shift.position,
        "active": shift.active,
    }


async def list_shifts(*, include_inactive: bool = True) -> list[Shift]:
    query = Shift.all() if include_inactive else Shift.filter(active=True)
    return list(await query.order_by("position", "start_minute", "id"))


async def get_shift(shift_id: int) -> Shift:
    shift = await Shift.get_or_none(id=shift_id) if 1 <= shift_id <= api.MAX_ID else None
    if shift is None:
        raise NotFound(N_("There is no such shift."), obj={"type": "shift", "id": shift_id})
    return shift


async def create_shift(actor: User, given: ShiftInput) -> Shift:
    _must_manage(actor)
    values = _fields(given)
    async with in_transaction() as conn:
        shift = await Shift.create(**values, using_db=conn)
        await audit.record(
            "shift.created",
            subject_type="shift",
            subject_id=shift.id,
            actor=actor,
            data=shift_data(shift),
            using_db=conn,
        )
    return shift


async def edit_shift(actor: User, shift_id: int, given: ShiftInput) -> Shift:
    """Change a shift; runs already planned keep their people (the rota names the day)."""
    _must_manage(actor)
    values = _fields(given)
    async with in_transaction() as conn:
        shift = await Shift.filter(id=shift_id).using_db(conn).select_for_update().first()
        if shift is None:
            raise NotFound(N_("There is no such shift."), obj={"type": "shift", "id": shift_id})
        before = shift_data(shift)
        for key, value in values.items():
            setattr(shift, key, value)
        after = shift_data(shift)
        if after != before:
            await shift.save(using_db=conn)
            action = (
                "shift.deactivated" if before["active"] and not shift.active else "shift.changed"
            )
            await audit.record(
                action,
                subject_type="shift",
                subject_id=shift.id,
                actor=actor,
                data={"before": before, "after": after},
                using_db=conn,
            )
    return shift


async def deactivate_shift(actor: User, shift_id: int) -> Shift:
    """Switch a shift off: it leaves the grid and "who is on"; its past rota stays."""
    _must_manage(actor)
    async with in_transaction() as conn:
        shift = await Shift.filter(id=shift_id).using_db(conn).select_for_update().first()
        if shift is None:
            raise NotFound(N_("There is no such shift."), obj={"type": "shift", "id": shift_id})
        if shift.active:
            shift.active = False
            await shift.save(using_db=conn, update_fields=["active"])
            await audit.record(
                "shift.deactivated",
                subject_type="shift",
                subject_id=shift.id,
                actor=actor,
                data=shift_data(shift),
                using_db=conn,
            )
    return shift


# -- weeks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """Monday to Sunday, local dates."""

    monday: date

    @classmethod
    def of(cls, day: date) -> Week:
        return cls(day - timedelta(days=day.weekday()))

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        """ISO week, "2026-W49"."""
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def previous(self) -> Week:
        return Week(self.monday - timedelta(days=7))

    @property
    def next(self) -> Week:
        return Week(self.monday + timedelta(days=7))


_ISO_WEEK = re.compile(r"([0-9]{4})-?W([0-9]{2})")


def parse_week(text: str | None, *, zone: ZoneInfo, now: datetime | None = None) -> Week:
    """ "2026-W49" or any day of the week ("2026-12-02"); blank is this week in ``zone``."""
    value = (text or "").strip()
    if not value:
        return Week.of((now or clock.now()).astimezone(zone).date())
    found = _ISO_WEEK.fullmatch(value.upper())
    try:
        if found:
            monday = date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
        else:
            monday = date.fromisoformat(value)
    except ValueError:
        raise BadWeek(week=value[:20]) from None
    # A week the rota can name: its days stay inside the calendar the desk accepts.
    if not api.FIRST_DAY <= monday <= api.LAST_DAY - timedelta(days=7):
        raise BadWeek(week=value[:20])
    return Week.of(monday)


# -- the rota ----------------------------------------------------------------------------------


@dataclass
class RotaGrid:
    """A week of the rota: each active shift by each day -> the people on it."""

    week: Week
    shifts: list[Shift]
    cells: dict[tuple[int, date], list[int]] = field(default_factory=dict)
    people: dict[int, User] = field(default_factory=dict)

    def runs(self, shift: Shift, day: date) -> bool:
        return bool(shift.weekdays & (1 << day.weekday()))

    def on(self, shift: Shift, day: date) -> list[User]:
        """The people on ``shift`` on ``day``, by name."""
        found = [
            self.people[uid] for uid in self.cells.get((shift.id, day), ()) if uid in self.people
        ]
        return sorted(found, key=lambda u: (u.name, u.id))

    def user_ids(self, shift: Shift, day: date) -> list[int]:
        return sorted(self.cells.get((shift.id, day), ()))


async def read_week(week: Week) -> RotaGrid:
    shifts = await list_shifts(include_inactive=False)
    entries = await RotaEntry.filter(
        shift_id__in=[s.id for s in shifts], day__gte=week.monday, day__lte=week.sunday
    ).values_list("shift_id", "day", "user_id")
    cells: dict[tuple[int, date], list[int]] = {}
    for shift_id, day, user_id in entries:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        cells.setdefault((int(shift_id), day), []).append(int(user_id))
    ids = {uid for ids in cells.values() for uid in ids}
    people = {u.id: u for u in await User.filter(id__in=list(ids))} if ids else {}
    return RotaGrid(week=week, shifts=shifts, cells=cells, people=people)


async def rota_people() -> list[User]:
    """Who can be put on a shift: active team members, by name (the form's checkboxes)."""
    users = await User.filter(is_active=True, role__in=[r.value for r in ROTA_ROLES])
    return sorted(users, key=lambda u: (u.name, u.id))


async def _check_people(user_ids: Iterable[int]) -> set[int]:
    wanted: set[int] = set()
    bad: set[str] = set()
    for uid in user_ids:
        if isinstance(uid, bool) or not isinstance(uid, int) or not 1 <= uid <= api.MAX_ID:
            bad.add(str(uid)[:20])
        else:
            wanted.add(uid)
    if len(wanted) + len(bad) > MAX_PEOPLE:
        raise InvalidInput(
            N_("A shift holds at most %(max)s people."), max=MAX_PEOPLE, code="too_many"
        )
    if wanted:
        found = set(
            await User.filter(
                id__in=list(wanted), is_active=True, role__in=[r.value for r in ROTA_ROLES]
            ).values_list("id", flat=True)
        )
        bad |= {str(uid) for uid in wanted - found}
    if bad:
        raise UnknownPeople(ids=sorted(bad))
    return wanted


@dataclass(frozen=True)
class Cell:
    shift_id: int
    day: date
    user_ids: frozenset[int]


async def _replace(
    actor: User, shift: Shift, day: date, wanted: set[int], conn: BaseDBAsyncClient
) -> bool:
    """Make the people on ``shift`` on ``day`` exactly ``wanted``; audited when it changed."""
    rows = (
        await RotaEntry.filter(shift_id=shift.id, day=day)
        .using_db(conn)
        .values_list("user_id", flat=True)
    )
    current = {int(uid) for uid in rows}  # type: ignore[call-overload]
    if current == wanted:
        return False
    gone = current - wanted
    if gone:
        await (
            RotaEntry.filter(shift_id=shift.id, day=day, user_id__in=list(gone))
            .using_db(conn)
            .delete()
        )
    for uid in sorted(wanted - current):
        await RotaEntry.create(shift_id=shift.id, day=day, user_id=uid, using_db=conn)
    await audit.record(
        "rota.changed",
        subject_type="shift",
        subject_id=shift.id,
        actor=actor,
        data={"day": day.isoformat(), "before": sorted(current), "after": sorted(wanted)},
        using_db=conn,
    )
    return True


def _check_runs(shift: Shift, day: date) -> None:
    if not shift.active or not shift.weekdays & (1 << day.weekday()):
        raise ShiftOff(shift=shift.name, day=day.isoformat())


async def _write(actor: User, cells: Sequence[tuple[Shift, date, set[int]]]) -> int:
    changed = 0
    try:
        async with in_transaction() as conn:
            for shift, day, wanted in cells:
                changed += await _replace(actor, shift, day, wanted, conn)
    except IntegrityError:
        # Another supervisor saved the same cell at the same moment.
        raise Conflict() from None
    return changed


async def set_cell(actor: User, shift_id: int, day: date, user_ids: Iterable[int]) -> int:
    """Put exactly ``user_ids`` on ``shift_id`` on local ``day``; 1 if that changed it, else 0."""
    _must_manage(actor)
    shift = await get_shift(shift_id)
    if not api.FIRST_DAY <= day <= api.LAST_DAY:
        raise BadWeek(week=day.isoformat())
    _check_runs(shift, day)
    wanted = await _check_people(user_ids)
    return await _write(actor, [(shift, day, wanted)])


async def set_week(actor: User, week: Week, cells: Sequence[Cell]) -> int:
    """Replace the cells given (and only those) of ``week``, all or none; the cells changed."""
    _must_manage(actor)
    shift_ids = {c.shift_id for c in cells}
    shifts = {s.id: s for s in await Shift.filter(id__in=list(shift_ids))} if shift_ids else {}
    plan: list[tuple[Shift, date, set[int]]] = []
    seen: set[tuple[int, date]] = set()
    for cell in cells:
        shift = shifts.get(cell.shift_id)
        if shift is None:
            raise UnknownShift(shift=cell.shift_id)
        if not week.monday <= cell.day <= week.sunday:
            raise DayNotInWeek(day=cell.day.isoformat(), week=week.label)
        if (cell.shift_id, cell.day) in seen:
            raise InvalidInput(
                N_("%(shift)s on %(day)s is given twice."),
                shift=shift.name,
                day=cell.day.isoformat(),
                code="duplicate_cell",
            )
        seen.add((cell.shift_id, cell.day))
        _check_runs(shift, cell.day)
        plan.append((shift, cell.day, await _check_people(cell.user_ids)))
    return await _write(actor, plan)


async def copy_previous_week(actor: User, week: Week) -> int:
    """Make ``week`` what the week before it was, for every active shift; the cells changed.

    Idempotent: a second run finds every cell already as wanted and changes
    nothing. People deactivated since are left out.
    """
    _must_manage(actor)
    source = await read_week(week.previous)
    active = set(
        await User.filter(is_active=True, role__in=[r.value for r in ROTA_ROLES]).values_list(
            "id", flat=True
        )
    )
    plan: list[tuple[Shift, date, set[int]]] = []
    for shift in source.shifts:
        for before, day in zip(source.week.days, week.days, strict=True):
            if source.runs(shift, day):
                plan.append((shift, day, set(source.user_ids(shift, before)) & active))
    try:
        async with in_transaction() as conn:
            changed = 0
            for shift, day, wanted in plan:
                changed += await _replace(actor, shift, day, wanted, conn)
            if changed:
                await audit.record(
                    "rota.copied",
                    subject_type="rota",
                    subject_id=week.label,
                    actor=actor,
                    data={"from": week.previous.label, "cells_changed": changed},
                    using_db=conn,
                )
    except IntegrityError:
        raise Conflict() from None
    return changed
