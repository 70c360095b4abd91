"""Shift windows: who is on shift, when the current shift ends, which shift is next.

The rota lives in the handover module; everyone else asks core, through
the registry's ``shifts_at`` / ``agents_on_shift`` / ``next_shift`` /
``shift_end`` (``core/modules.py``), which answer with ``ShiftSlot``. A
desk without a rota (the handover module switched off, or no shift
defined yet) falls back to two shifts a day in the store's local time:
day 09:00-18:00 and night 18:00-09:00 (``current_shift_end``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ShiftSlot:
    """One run of a shift as the rota has it: its times (aware) and who works it."""

    name: str
    start: datetime
    end: datetime
    key: str = ""  # stable per run ("<shift id>:<local start day>")
    time_zone: str = "Asia/Shanghai"
    user_ids: tuple[int, ...] = ()


ShiftsAt = Callable[[datetime], Awaitable[list[ShiftSlot]]]
"""``shifts_at(at)`` on a module's manifest: the runs going on at ``at``."""

NextShift = Callable[[datetime], Awaitable[ShiftSlot | None]]
"""``next_shift(at)`` on a module's manifest: the first run starting after ``at``."""


@dataclass(frozen=True)
class DefaultShift:
    """A shift of the desk without a rota: a name and its start (store-local wall time).

    Not the rota's ``handover.models.Shift`` row: these two are what
    ``current_shift_end`` falls back to.
    """

    name: str
    start: time


# Each shift runs until the next one starts; the last wraps past midnight.
DEFAULT_SHIFTS: tuple[DefaultShift, ...] = (
    DefaultShift("day", time(9)),
    DefaultShift("night", time(18)),
)

ShiftEnd = Callable[[datetime, ZoneInfo], datetime]


def current_shift_end(
    now: datetime, tz: ZoneInfo, shifts: tuple[DefaultShift, ...] = DEFAULT_SHIFTS
) -> datetime:
    """The aware moment the shift running at ``now`` ends: the next shift start after ``now``."""
    local = now.astimezone(tz)
    starts = sorted(s.start for s in shifts)
    for day in (local.date(), local.date() + timedelta(days=1)):
        for start in starts:
            candidate = datetime.combine(day, start, tzinfo=tz)
            if candidate > local:
                return candidate.astimezone(now.tzinfo)
    raise ValueError("no shifts defined")  # pragma: no cover - DEFAULT_SHIFTS is never empty


def end_of_day(now: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight after ``now``: where "today" stops in the store's time zone."""
    local = now.astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz).astimezone(
        now.tzinfo
    )
