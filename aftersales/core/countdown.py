"""Time left to a case's ``due_at``, in the reader's words, computed when the page renders.

Every queue and case page shows the same countdown ("1 h 20 min left",
"3 h overdue") beside the absolute due time, graded by how close it is:
``alert`` once overdue, ``warn`` under ``cases.DUE_SOON``, ``notice`` later
today in the store's time zone, ``plain`` after that. It is rendered on the
server (the page works without JavaScript); ``data-due`` carries the ISO
time for ``desk.js`` to refresh the text between reloads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aftersales.core import shifts
from aftersales.core.cases import DUE_SOON
from aftersales.core.i18n import gettext as _

# Further out than this the date says more than a count of hours.
FAR = timedelta(hours=24)


@dataclass(frozen=True)
class Countdown:
    text: str
    level: str  # "alert" | "warn" | "notice" | "plain"
    iso: str  # the due time, for data-due
    far: bool  # the text is a date, not a count
    day_end: str = ""  # the store's next local midnight, for data-day-end ("today" colour)


def span(minutes: int) -> str:
    """A duration in whole minutes as "2 d 3 h", "1 h 20 min" or "30 min"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return (
            _("%(d)s d %(h)s h") % {"d": days, "h": hours} if hours else _("%(d)s d") % {"d": days}
        )
    if hours:
        return (
            _("%(h)s h %(m)s min") % {"h": hours, "m": mins}
            if mins
            else _("%(h)s h") % {"h": hours}
        )
    return _("%(m)s min") % {"m": mins}


def words() -> dict[str, str]:
    """The countdown's phrases in the reader's language, ``{t}``/``{d}``/``{h}``/``{m}`` as holes.

    ``desk.js`` refreshes the text every minute from these, so the browser says
    exactly what the server would, in the same language, without a catalog of its own.
    """
    return {
        "left": _("%(time)s left") % {"time": "{t}"},
        "overdue": _("%(time)s overdue") % {"time": "{t}"},
        "dh": _("%(d)s d %(h)s h") % {"d": "{d}", "h": "{h}"},
        "d": _("%(d)s d") % {"d": "{d}"},
        "hm": _("%(h)s h %(m)s min") % {"h": "{h}", "m": "{m}"},
        "h": _("%(h)s h") % {"h": "{h}"},
        "m": _("%(m)s min") % {"m": "{m}"},
    }


def countdown(due: datetime | None, now: datetime, zone: ZoneInfo) -> Countdown | None:
    """How long until ``due`` (or how long past it) as the desk says it; none without a timer."""
    if due is None:
        return None
    iso = due.isoformat()
    left = (due - now).total_seconds()
    day_end = shifts.end_of_day(now, zone)
    if left < 0:
        return Countdown(
            _("%(time)s overdue") % {"time": span(int(-left // 60))},
            "alert",
            iso,
            False,
            day_end.isoformat(),
        )
    level = "warn" if due < now + DUE_SOON else "notice" if due < day_end else "plain"
    if due - now >= FAR:
        return Countdown(
            due.astimezone(zone).strftime("%Y-%m-%d %H:%M"), level, iso, True, day_end.isoformat()
        )
    # Round up: a case with 30 seconds left still has "1 min", never "0 min left".
    text = _("%(time)s left") % {"time": span(math.ceil(left / 60))}
    return Countdown(text, level, iso, False, day_end.isoformat())
