"""Time left to a case's deadline: the words, the colour, and the due filters of both queues."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from aftersales.core import cases, clock, i18n, shifts
from aftersales.core.countdown import countdown
from aftersales.core.models import Role
from aftersales.refunds.models import OPEN_STATUSES as REFUND_OPEN
from aftersales.refunds.models import Refund
from aftersales.returns.models import OPEN_STATUSES as RETURN_OPEN
from aftersales.returns.models import ReturnCase
from tests.conftest import sign_in
from tests.factories import create_user
from tests.orders.test_api import bearer
from tests.refunds.test_service import demo_shop
from tests.returns.test_cases import synced_shop

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 15:00 in Shanghai: the day shift, which ends at 18:00; the local day ends at 16:00 UTC.
AFTERNOON = datetime(2026, 11, 23, 7, tzinfo=UTC)


def words(due: datetime, locale: str) -> tuple[str, str]:
    token = i18n.set_locale(locale)
    try:
        c = countdown(due, AFTERNOON, SHANGHAI)
    finally:
        i18n._current.reset(token)
    assert c is not None
    return c.text, c.level


@pytest.mark.parametrize(
    ("due", "en", "zh", "level"),
    [
        (AFTERNOON - timedelta(hours=3), "3 h overdue", "已超时 3 小时", "alert"),
        (AFTERNOON - timedelta(minutes=5), "5 min overdue", "已超时 5 分", "alert"),
        (AFTERNOON + timedelta(minutes=30), "30 min left", "剩 30 分", "warn"),
        (AFTERNOON + timedelta(hours=1, minutes=20), "1 h 20 min left", "剩 1 小时 20 分", "warn"),
        (AFTERNOON + timedelta(hours=5), "5 h left", "剩 5 小时", "notice"),  # 20:00 local: today
        (AFTERNOON + timedelta(hours=8), "8 h left", "剩 8 小时", "notice"),  # 23:00 local
        (AFTERNOON + timedelta(hours=19), "19 h left", "剩 19 小时", "plain"),  # tomorrow 10:00
    ],
)
def test_the_countdown_in_both_languages(due: datetime, en: str, zh: str, level: str) -> None:
    assert words(due, "en") == (en, level)
    assert words(due, "zh_CN") == (zh, level)


def test_today_is_the_stores_day_and_far_deadlines_are_a_date() -> None:
    assert words(AFTERNOON + timedelta(hours=5), "en")[1] == "notice"  # 20:00 Shanghai
    assert words(AFTERNOON + timedelta(hours=9, minutes=30), "en")[1] == "plain"  # 00:30 tomorrow
    far = countdown(AFTERNOON + timedelta(days=2), AFTERNOON, SHANGHAI)
    assert far is not None and far.far and far.text == "2026-11-25 15:00" and far.level == "plain"
    assert countdown(None, AFTERNOON, SHANGHAI) is None
    overdue_long = words(AFTERNOON - timedelta(days=2, hours=3), "zh_CN")
    assert overdue_long == ("已超时 2 天 3 小时", "alert")


def test_the_default_shifts_end_at_six_and_at_nine() -> None:
    assert shifts.current_shift_end(AFTERNOON, SHANGHAI) == datetime(2026, 11, 23, 10, tzinfo=UTC)
    evening = datetime(2026, 11, 23, 12, tzinfo=UTC)  # 20:00 local: the night shift
    assert shifts.current_shift_end(evening, SHANGHAI) == datetime(2026, 11, 24, 1, tzinfo=UTC)
    early = datetime(2026, 11, 23, 0, tzinfo=UTC)  # 08:00 local: still the night shift
    assert shifts.current_shift_end(early, SHANGHAI) == datetime(2026, 11, 23, 1, tzinfo=UTC)


def test_today_ends_at_the_stores_midnight() -> None:
    assert cases.due_filter("today", AFTERNOON, SHANGHAI) == {
        "due_at__gte": AFTERNOON,
        "due_at__lt": datetime(2026, 11, 23, 16, tzinfo=UTC),
    }
    assert cases.due_filter("nonsense", AFTERNOON, SHANGHAI) == {}


# The deadlines the queue tests set, from the clock's "now" (20:00 Shanghai, the night
# shift, which ends at 09:00): overdue, soon, later today, later this shift, after it.
OFFSETS = [
    timedelta(hours=-1),
    timedelta(minutes=30),
    timedelta(hours=3),
    timedelta(hours=10),
    timedelta(hours=20),
]
EXPECTED = {"overdue": 1, "soon": 1, "today": 2, "shift": 3, "": 5}


async def timed(model: type, open_statuses: object) -> list[int]:
    """Five open cases with the deadlines of ``OFFSETS``; every other row loses its timer."""
    rows = await model.filter(status__in=list(open_statuses)).order_by("id")  # type: ignore[attr-defined]
    assert len(rows) >= len(OFFSETS)
    await model.all().update(due_at=None)  # type: ignore[attr-defined]
    now = clock.now()
    ids = []
    for row, offset in zip(rows, OFFSETS, strict=False):
        row.due_at = now + offset
        await row.save(update_fields=["due_at"])
        ids.append(row.id)
    return ids


def listed(page: str, prefix: str, ids: list[int]) -> set[int]:
    return {int(i) for i in re.findall(rf'href="/{prefix}/(\d+)"', page)} & set(ids)


@pytest.mark.parametrize(("module", "path"), [("refunds", "/refunds/"), ("returns", "/returns/")])
async def test_the_due_filters_of_both_queues(
    client: httpx.AsyncClient, app, module: str, path: str
) -> None:
    await (demo_shop() if module == "refunds" else synced_shop())
    clock.travel(datetime(2026, 11, 23, 12, tzinfo=UTC) - clock.now())
    ids = await timed(
        Refund if module == "refunds" else ReturnCase,
        REFUND_OPEN if module == "refunds" else RETURN_OPEN,
    )
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    for due, count in EXPECTED.items():
        page = (await client.get(f"{path}?due={due}")).text
        shown = listed(page, module, ids)
        assert len(shown) == count, (due, shown)
        if due:  # the count above the list is the rows it lists (no other row has a timer)
            noun = "refund" if module == "refunds" else "case"
            assert re.search(rf"\b{count} {noun}s?\b", page), (due, count)
        if due:
            assert re.search(rf'<option value="{due}" selected>', page)
    english = (await client.get(f"{path}?due=shift")).text
    assert "Due this shift" in english and "Due today" in english
    assert "30 min left" in english and 'class="countdown warn"' in english
    chinese = (await client.get(f"{path}?due=", headers={"Accept-Language": "zh-CN"})).text
    assert "已超时 1 小时" in chinese and "剩 3 小时" in chinese
    assert "本班次内到期" in chinese and "今天到期" in chinese
    # The case page shows the countdown beside the due time too.
    case = await client.get(f"/{module}/{ids[1]}")
    assert "30 min left" in case.text


@pytest.mark.parametrize("module", ["refunds", "returns"])
async def test_the_api_takes_today_and_shift(client: httpx.AsyncClient, app, module: str) -> None:
    await (demo_shop() if module == "refunds" else synced_shop())
    clock.travel(datetime(2026, 11, 23, 12, tzinfo=UTC) - clock.now())
    ids = await timed(
        Refund if module == "refunds" else ReturnCase,
        REFUND_OPEN if module == "refunds" else RETURN_OPEN,
    )
    headers = await bearer(Role.AGENT)
    for due in ("overdue", "soon", "today", "shift"):
        body = (await client.get(f"/api/v1/{module}?due={due}", headers=headers)).json()
        assert len({i["id"] for i in body["items"]} & set(ids)) == EXPECTED[due], due
    wrong = await client.get(f"/api/v1/{module}?due=week", headers=headers)
    assert wrong.status_code == 400
