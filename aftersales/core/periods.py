"""Report periods: the days an owner picked, as a UTC interval every report reads.

Refunds, returns and every later report take the same ``from``/``to`` days in
the shop's time zone, so the same two dates mean the same rows everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aftersales.core.api import date_param
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(N_("The report's end must come after its start."))
        if self.end - self.start > timedelta(days=732):
            raise InvalidInput(N_("A report covers at most two years."))

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)


def period_from_days(
    first: str | None, last: str | None, *, zone: ZoneInfo, now: datetime
) -> Period:
    """Days typed in the shop's time zone (both inclusive) as a UTC period.

    Missing days mean the last 30 days up to today, which is what an owner
    opening the report on a Monday morning expects.
    """
    # 0001-01-01 or 9999-12-31 would overflow once moved into UTC: bounded days only.
    last_day = date_param(last, name="to") or now.astimezone(zone).date()
    first_day = date_param(first, name="from") or last_day - timedelta(days=DEFAULT_DAYS - 1)
    start = datetime.combine(first_day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return Period(start, end)
