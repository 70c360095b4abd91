"""The rota: when shifts run in their own time zone, who is on, and what core answers.

Times are moved, not waited for: shifts are rows, instances are computed
from wall times, so a night crossing a daylight-saving change is an hour
shorter or longer, as the team lives it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aftersales.core import shifts
from aftersales.core.config import Settings
from aftersales.core.modules import Registry
from aftersales.handover import rota
from aftersales.handover.models import RotaEntry, Shift
from tests.factories import create_user

SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"
WEEKDAYS_ONLY = 0b0011111  # Monday to Friday


def _shift(
    id: int, name: str, start: str, end: str, tz: str = SHANGHAI, weekdays: int = 0b1111111
) -> Shift:
    """An unsaved shift row: the pure functions need no database."""

    def minutes(hhmm: str) -> int:
        hours, mins = hhmm.split(":")
        return int(hours) * 60 + int(mins)

    return Shift(
        id=id,
        name=name,
        start_minute=minutes(start),
        end_minute=minutes(end),
        time_zone=tz,
        weekdays=weekdays,
        active=True,
    )


THREE_SHIFTS = [
    _shift(1, "早班", "08:00", "16:00"),
    _shift(2, "晚班", "16:00", "24:00"),
    _shift(3, "夜班", "00:00", "08:00"),
]


def test_a_night_crossing_midnight_runs_from_the_evening_to_the_next_morning() -> None:
    night = rota.instance(_shift(9, "夜班", "18:00", "09:00"), date(2026, 12, 1))
    assert night.start == datetime(2026, 12, 1, 10, tzinfo=UTC)  # 18:00 in Shanghai
    assert night.end == datetime(2026, 12, 2, 1, tzinfo=UTC)  # 09:00 the next day
    assert night.key == "9:2026-12-01"


def test_a_shift_ending_at_midnight_ends_at_the_next_days_start() -> None:
    late = rota.instance(THREE_SHIFTS[1], date(2026, 12, 1))
    assert late.end == datetime(2026, 12, 1, 16, tzinfo=UTC)  # 24:00 Shanghai = 00:00 on the 2nd


def test_a_night_across_the_autumn_change_is_an_hour_longer_and_keeps_its_wall_times() -> None:
    night = _shift(4, "night", "22:00", "06:00", tz=NEW_YORK)
    autumn = rota.instance(night, date(2026, 10, 31))  # clocks go back at 02:00 on Nov 1
    assert autumn.end - autumn.start == timedelta(hours=9)
    assert autumn.end.astimezone(ZoneInfo(NEW_YORK)).hour == 6
    spring = rota.instance(night, date(2026, 3, 7))  # clocks go forward at 02:00 on Mar 8
    assert spring.end - spring.start == timedelta(hours=7)
    ordinary = rota.instance(night, date(2026, 12, 1))
    assert ordinary.end - ordinary.start == timedelta(hours=8)


def test_exactly_one_end_per_shift_run_over_a_day_across_the_change() -> None:
    night = _shift(4, "night", "22:00", "06:00", tz=NEW_YORK)
    day = _shift(5, "day", "06:00", "22:00", tz=NEW_YORK)
    since = datetime(2026, 10, 31, 12, tzinfo=UTC)
    ends = rota.ended_between([night, day], since, since + timedelta(days=2))
    assert [(r.name, r.day.isoformat()) for r in ends] == [
        ("day", "2026-10-31"),
        ("night", "2026-10-31"),
        ("day", "2026-11-01"),
        ("night", "2026-11-01"),
    ]
    # Counted in one window or in two that meet, each end is owed once.
    middle = since + timedelta(hours=23)
    split = rota.ended_between([night, day], since, middle) + rota.ended_between(
        [night, day], middle, since + timedelta(days=2)
    )
    assert [r.key for r in split] == [r.key for r in ends]


def test_weekdays_leave_out_the_weekend() -> None:
    office = _shift(6, "白班", "09:00", "18:00", weekdays=WEEKDAYS_ONLY)
    saturday = datetime(2026, 12, 5, 4, tzinfo=UTC)  # 12:00 Saturday in Shanghai
    assert rota.running_at([office], saturday) == []
    monday = rota.next_starting([office], saturday)
    assert monday is not None and monday.day == date(2026, 12, 7)


def test_who_follows_whom_in_a_three_shift_day() -> None:
    early = rota.instance(THREE_SHIFTS[0], date(2026, 12, 1))
    late = rota.successor(THREE_SHIFTS, early)
    assert late is not None and (late.name, late.start) == ("晚班", early.end)
    night = rota.successor(THREE_SHIFTS, late)
    assert night is not None and (night.name, night.day) == ("夜班", date(2026, 12, 2))
    next_early = rota.successor(THREE_SHIFTS, night)
    assert next_early is not None and next_early.key == "1:2026-12-02"


def test_at_two_in_the_morning_the_night_that_began_yesterday_is_running() -> None:
    night = _shift(9, "夜班", "18:00", "09:00")
    two_am = datetime(2026, 12, 1, 18, tzinfo=UTC)  # 02:00 on the 2nd in Shanghai
    running = rota.running_at([night], two_am)
    assert [r.key for r in running] == ["9:2026-12-01"]


async def test_core_asks_the_rota_who_is_on_and_what_comes_next(
    clean_db: Settings, settings: Settings
) -> None:
    registry = Registry.build(settings)
    day = await Shift.create(name="白班", start_minute=9 * 60, end_minute=18 * 60)
    night = await Shift.create(name="夜班", start_minute=18 * 60, end_minute=9 * 60)
    wang = await create_user(username="wang")
    li = await create_user(username="li")
    zhao = await create_user(username="zhao")
    await RotaEntry.create(shift=day, day=date(2026, 12, 1), user=wang)
    await RotaEntry.create(shift=night, day=date(2026, 12, 1), user=li)
    await RotaEntry.create(shift=night, day=date(2026, 12, 1), user=zhao)
    await RotaEntry.create(shift=night, day=date(2026, 12, 2), user=wang)  # another night

    two_am = datetime(2026, 12, 1, 18, tzinfo=UTC)  # 02:00 on the 2nd, Shanghai
    assert await registry.agents_on_shift(two_am) == sorted([li.id, zhao.id])
    [slot] = await registry.shifts_at(two_am)
    assert (slot.name, slot.end) == ("夜班", datetime(2026, 12, 2, 1, tzinfo=UTC))
    coming = await registry.next_shift(two_am)
    assert coming is not None and coming.name == "白班"
    assert coming.start == datetime(2026, 12, 2, 1, tzinfo=UTC)
    assert coming.user_ids == ()  # nobody is on that day shift yet
    assert await registry.shift_end(two_am, ZoneInfo(SHANGHAI)) == slot.end

    # At three in the afternoon the day shift is on, and its end bounds "this shift".
    afternoon = datetime(2026, 12, 1, 7, tzinfo=UTC)
    assert await registry.agents_on_shift(afternoon) == [wang.id]
    assert await registry.shift_end(afternoon, ZoneInfo(SHANGHAI)) == datetime(
        2026, 12, 1, 10, tzinfo=UTC
    )


async def test_without_a_rota_this_shift_ends_at_the_default_times(
    clean_db: Settings, settings: Settings
) -> None:
    registry = Registry.build(settings)
    afternoon = datetime(2026, 12, 1, 7, tzinfo=UTC)
    assert await registry.agents_on_shift(afternoon) == []
    assert await registry.next_shift(afternoon) is None
    assert await registry.shift_end(afternoon, ZoneInfo(SHANGHAI)) == shifts.current_shift_end(
        afternoon, ZoneInfo(SHANGHAI)
    )
    # A shift switched off is no rota either.
    await Shift.create(name="白班", start_minute=9 * 60, end_minute=18 * 60, active=False)
    assert await registry.shifts_at(afternoon) == []
