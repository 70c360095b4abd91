"""Shift windows: when the current shift ends, for the "this shift" due filter.

The handover module's rota does not exist yet, so the desk assumes two
shifts a day in the store's local time: day 09:00-18:00 and night
18:00-09:00. ``current_shift_end`` is the one place that knows this; the
rota (issue 14) replaces it with its own function of the same shape
(``ShiftEnd``), and the queue filters keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Shift:
    """A named stretch of the day that starts at ``start`` (store-local wall time)."""

    name: str
    start: time


# Each shift runs until the next one starts; the last wraps past midnight.
DEFAULT_SHIFTS: tuple[Shift, ...] = (Shift("day", time(9)), Shift("night", time(18)))

ShiftEnd = Callable[[datetime, ZoneInfo], datetime]


def current_shift_end(
    now: datetime, tz: ZoneInfo, shifts: tuple[Shift, ...] = DEFAULT_SHIFTS
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
