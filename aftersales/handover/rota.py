"""Shift instances: when each shift of the rota actually runs, in its own time zone.

A ``Shift`` row is a pattern (night, 18:00-09:00, Monday to Friday, in
Asia/Shanghai); a ``ShiftInstance`` is one run of it (the night starting
on 2026-12-01, 10:00-01:00 UTC). Everything that asks "who is on now",
"when does this shift end" or "which shift ends next" works on instances,
computed here from wall times so a shift keeps its local hours across a
daylight-saving change (a night crossing the change is an hour shorter or
longer, as the team lives it).

The handover at the end of an instance goes to the next instance to start
at or after that end (the incoming shift). Shops with overlapping shifts
hand over to whichever starts next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aftersales.core.shifts import ShiftSlot
from aftersales.handover.models import RotaEntry, Shift

MINUTES_PER_DAY = 24 * 60
LOOKAHEAD_DAYS = 8
"""How far ahead "the next shift" is looked for: a weekly rota always has one by then."""


@dataclass(frozen=True)
class ShiftInstance:
    """One run of a shift: from ``start`` to ``end`` (aware, UTC), named by its local start day."""

    shift_id: int
    name: str
    day: date
    start: datetime
    end: datetime
    time_zone: str

    @property
    def key(self) -> str:
        """The stable name of this run, ``<shift id>:<day>``: a handover's idempotency key."""
        return f"{self.shift_id}:{self.day.isoformat()}"

    def slot(self, user_ids: Iterable[int] = ()) -> ShiftSlot:
        return ShiftSlot(
            name=self.name,
            start=self.start,
            end=self.end,
            key=self.key,
            time_zone=self.time_zone,
            user_ids=tuple(sorted(set(user_ids))),
        )


def _wall(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """``day`` at ``minute`` after local midnight (1440 is the next midnight), in UTC."""
    day += timedelta(days=minute // MINUTES_PER_DAY)
    minute %= MINUTES_PER_DAY
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return local.astimezone(UTC)


def runs_on(shift: Shift, day: date) -> bool:
    """Whether ``shift`` has an instance starting on local date ``day`` (its weekdays)."""
    return bool(shift.weekdays & (1 << day.weekday()))


def instance(shift: Shift, day: date) -> ShiftInstance:
    """The run of ``shift`` starting on local ``day``, whether or not its weekdays allow it."""
    tz = ZoneInfo(shift.time_zone)
    end_minute = shift.end_minute
    if end_minute <= shift.start_minute:
        end_minute += MINUTES_PER_DAY  # crosses midnight: ends the next day
    return ShiftInstance(
        shift_id=shift.id,
        name=shift.name,
        day=day,
        start=_wall(day, shift.start_minute, tz),
        end=_wall(day, end_minute, tz),
        time_zone=shift.time_zone,
    )


def instances(shifts: Sequence[Shift], since: datetime, until: datetime) -> list[ShiftInstance]:
    """Every run of the active ``shifts`` overlapping ``[since, until)``, by start.

    Local days are enumerated in each shift's own zone, one day either side,
    so a run that started yesterday and is still going is found.
    """
    found: list[ShiftInstance] = []
    for shift in shifts:
        if not shift.active:
            continue
        tz = ZoneInfo(shift.time_zone)
        first = since.astimezone(tz).date() - timedelta(days=1)
        last = until.astimezone(tz).date() + timedelta(days=1)
        day = first
        while day <= last:
            if runs_on(shift, day):
                run = instance(shift, day)
                if run.start < until and run.end > since:
                    found.append(run)
            day += timedelta(days=1)
    return sorted(found, key=lambda r: (r.start, r.end, r.shift_id))


def running_at(shifts: Sequence[Shift], at: datetime) -> list[ShiftInstance]:
    """The runs going on at ``at`` (start included, end excluded)."""
    return [r for r in instances(shifts, at, at + timedelta(microseconds=1)) if r.start <= at]


def next_starting(shifts: Sequence[Shift], at: datetime) -> ShiftInstance | None:
    """The first run starting at or after ``at``, within a week and a day."""
    ahead = instances(shifts, at, at + timedelta(days=LOOKAHEAD_DAYS))
    return next((r for r in ahead if r.start >= at), None)


def ended_between(shifts: Sequence[Shift], since: datetime, until: datetime) -> list[ShiftInstance]:
    """The runs whose end falls in ``(since, until]``: the shift ends a drafting job owes."""
    runs = instances(shifts, since - timedelta(days=2), until)
    return [r for r in runs if since < r.end <= until]


def successor(shifts: Sequence[Shift], run: ShiftInstance) -> ShiftInstance | None:
    """The run a handover at the end of ``run`` goes to: the next one to start from its end."""
    ahead = instances(shifts, run.end, run.end + timedelta(days=LOOKAHEAD_DAYS))
    return next((r for r in ahead if r.start >= run.end and r.key != run.key), None)


# -- the database side ------------------------------------------------------------------------


async def active_shifts() -> list[Shift]:
    return await Shift.filter(active=True)


async def people_on(runs: Sequence[ShiftInstance]) -> dict[str, list[int]]:
    """Who the rota puts on each run, ``{run.key: [user id, ...]}``, in one query."""
    if not runs:
        return {}
    entries = await RotaEntry.filter(
        shift_id__in={r.shift_id for r in runs},
        day__in={r.day for r in runs},
        user__is_active=True,  # a deactivated agent still on the rota is not on shift
    ).values_list("shift_id", "day", "user_id")
    on: dict[str, list[int]] = {r.key: [] for r in runs}
    for shift_id, day, user_id in entries:
        key = f"{shift_id}:{day.isoformat() if isinstance(day, date) else day}"
        if key in on:
            on[key].append(int(user_id))
    return on


async def shifts_at(at: datetime) -> list[ShiftSlot]:
    """The registry's ``shifts_at`` hook: the runs going on at ``at`` and who works them."""
    runs = running_at(await active_shifts(), at)
    on = await people_on(runs)
    return [r.slot(on.get(r.key, ())) for r in runs]


async def next_shift(at: datetime) -> ShiftSlot | None:
    """The registry's ``next_shift`` hook: the next run to start after ``at``, with its people."""
    run = next_starting(await active_shifts(), at + timedelta(microseconds=1))
    if run is None:
        return None
    on = await people_on([run])
    return run.slot(on.get(run.key, ()))
