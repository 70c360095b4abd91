"""The rota pages: a supervisor adds a night shift, fills a week and copies it to the next;
an agent reads the grid but cannot change it; a bad form is a 400 that saves nothing."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx

from aftersales.core import clock
from aftersales.core.models import AuditEvent, Role
from aftersales.handover.models import RotaEntry, Shift
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user

WEEK = "2026-W49"  # Monday 2026-11-30 to Sunday 2026-12-06
MONDAY = date(2026, 11, 30)
TAG = re.compile(r"<[^>]+>")
# Two English words in a row, or a snake_case code: an English sentence left on a Chinese page.
ENGLISH = re.compile(r"(?<![\w@./:-])[A-Za-z]{2,}(?:[ \t\u00a0]+[A-Za-z]{2,})+(?![\w@/-])")
SNAKE = re.compile(r"(?<![\w@./:-])[A-Za-z]+(?:_[A-Za-z]+)+(?![\w@/-])")


def travel_to(at: datetime) -> None:
    clock.travel(at - clock.now())


def visible(html: str) -> str:
    body = html.split("<main>", 1)[-1]
    return TAG.sub(" ", body)


def cell_people(html: str, shift_id: int, day: date) -> str:
    """The text of one grid cell (up to its edit link)."""
    start = html.index(f'href="/handover/rota/cell?shift={shift_id}&amp;day={day.isoformat()}"')
    cell_start = html.rindex("<td", 0, start)
    return TAG.sub(" ", html[cell_start:start])


async def add_night_shift(client: httpx.AsyncClient) -> Shift:
    csrf = await csrf_from(client, "/handover/shifts")
    answer = await client.post(
        "/handover/shifts",
        data={
            "csrf_token": csrf,
            "name": "夜班",
            "start": "18:00",
            "end": "09:00",
            "weekday": ["1", "2", "3", "4", "5", "6", "7"],
            "time_zone": "Asia/Shanghai",
            "position": "2",
        },
    )
    assert answer.status_code == 303, answer.text[:500]
    return await Shift.get(name="夜班")


async def test_a_supervisor_plans_a_night_shift_and_copies_the_week(
    client: httpx.AsyncClient,
) -> None:
    travel_to(datetime(2026, 12, 2, 4, tzinfo=UTC))  # Wednesday noon in Shanghai
    boss = await create_user(username="boss", role=Role.SUPERVISOR, display_name="主管")
    li = await create_user(username="li", role=Role.NIGHT_AGENT, display_name="李夜")
    wang = await create_user(username="wang", role=Role.AGENT, display_name="王白")
    await sign_in(client, "boss")
    night = await add_night_shift(client)
    assert (night.start_minute, night.end_minute) == (18 * 60, 9 * 60)

    csrf = await csrf_from(client, f"/handover/rota?week={WEEK}")
    for offset in range(7):
        day = MONDAY + timedelta(days=offset)
        people = [str(li.id)] if offset % 2 == 0 else [str(li.id), str(wang.id)]
        form = await client.get(f"/handover/rota/cell?shift={night.id}&day={day.isoformat()}")
        assert form.status_code == 200 and "李夜" in form.text and "王白" in form.text
        saved = await client.post(
            "/handover/rota/cell",
            data={"csrf_token": csrf, "shift": night.id, "day": day.isoformat(), "user": people},
        )
        assert saved.status_code == 303 and saved.headers["location"].endswith(WEEK)

    grid = (await client.get(f"/handover/rota?week={WEEK}")).text
    assert "李夜" in cell_people(grid, night.id, MONDAY)
    assert "王白" not in cell_people(grid, night.id, MONDAY)
    assert "王白" in cell_people(grid, night.id, date(2026, 12, 1))
    assert await RotaEntry.filter(day__gte=MONDAY, day__lte=date(2026, 12, 6)).count() == 10

    # Copy into the next week, twice: the second run changes nothing.
    for _ in range(2):
        copied = await client.post(
            "/handover/rota/copy", data={"csrf_token": csrf, "week": "2026-W50"}
        )
        assert copied.status_code == 303
    next_week = (await client.get("/handover/rota?week=2026-W50")).text
    assert "李夜" in cell_people(next_week, night.id, date(2026, 12, 7))
    assert "王白" in cell_people(next_week, night.id, date(2026, 12, 8))
    assert "王白" not in cell_people(next_week, night.id, date(2026, 12, 9))
    assert (
        await RotaEntry.filter(day__gte=date(2026, 12, 7), day__lte=date(2026, 12, 13)).count()
        == 10
    )
    assert await AuditEvent.filter(action="rota.copied").count() == 1  # the second copy was a no-op
    assert await AuditEvent.filter(action="rota.changed", actor_id=boss.id).count() == 14

    # The week links walk to the neighbours, by ISO week.
    assert 'href="/handover/rota?week=2026-W49"' in next_week
    assert 'href="/handover/rota?week=2026-W51"' in next_week
    # A day names its week too.
    assert "2026-W50" in (await client.get("/handover/rota?week=2026-12-09")).text


async def test_an_agent_reads_the_rota_but_cannot_change_it(client: httpx.AsyncClient) -> None:
    travel_to(datetime(2026, 12, 2, 4, tzinfo=UTC))
    night = await Shift.create(name="夜班", start_minute=18 * 60, end_minute=9 * 60)
    agent = await create_user(username="agent", role=Role.AGENT, display_name="小张")
    await RotaEntry.create(shift=night, day=date(2026, 12, 2), user=agent)
    await sign_in(client, "agent")
    grid = await client.get("/handover/rota")
    assert grid.status_code == 200 and "小张" in grid.text and "夜班" in grid.text
    assert "/handover/rota/copy" not in grid.text and "/handover/rota/cell" not in grid.text
    csrf = await csrf_from(client, "/handover/rota")
    tries = [
        ("/handover/rota/copy", {"week": WEEK}),
        ("/handover/rota/cell", {"shift": night.id, "day": "2026-12-03", "user": agent.id}),
        ("/handover/shifts", {"name": "早班", "start": "08:00", "end": "16:00"}),
        (f"/handover/shifts/{night.id}/deactivate", {}),
    ]
    for path, data in tries:
        answer = await client.post(path, data={"csrf_token": csrf, **data})
        assert answer.status_code == 403, path
    assert (await client.get("/handover/shifts")).status_code == 403
    assert await RotaEntry.all().count() == 1 and await Shift.all().count() == 1
    assert (await Shift.get(id=night.id)).active
    nav = (await client.get("/")).text
    assert 'href="/handover/rota"' in nav and 'href="/handover/shifts"' not in nav


async def test_a_bad_shift_form_is_a_400_that_saves_nothing(client: httpx.AsyncClient) -> None:
    await create_user(username="boss", role=Role.SUPERVISOR)
    await sign_in(client, "boss")
    csrf = await csrf_from(client, "/handover/shifts")
    good = {"csrf_token": csrf, "name": "夜班", "start": "18:00", "end": "09:00", "weekday": "1"}
    for wrong in (
        {"end": "25:00"},
        {"start": "24:00"},
        {"time_zone": "Mars/Olympus"},
        {"time_zone": "../../etc/passwd"},
        {"weekday": "9"},
        {"name": " "},
    ):
        answer = await client.post(
            "/handover/shifts",
            data={**good, **wrong},
            headers={"Accept-Language": "zh-CN"},
        )
        assert answer.status_code == 400, wrong
        assert 'class="flash alert"' in answer.text
        assert "夜班" in answer.text or wrong == {"name": " "}  # what was typed is kept
    assert await Shift.all().count() == 0
    assert await AuditEvent.filter(action="shift.created").count() == 0


async def test_a_cell_with_an_unknown_or_huge_user_id_is_a_400_that_saves_nothing(
    client: httpx.AsyncClient,
) -> None:
    night = await Shift.create(name="夜班", start_minute=18 * 60, end_minute=9 * 60)
    boss = await create_user(username="boss", role=Role.SUPERVISOR)
    gone = await create_user(username="gone", role=Role.AGENT)
    gone.is_active = False
    await gone.save()
    await sign_in(client, "boss")
    csrf = await csrf_from(client, "/handover/rota")
    cell = {"csrf_token": csrf, "shift": str(night.id), "day": "2026-12-02"}
    for user in (str(2**63), "999999", str(gone.id), "abc"):
        answer = await client.post(
            "/handover/rota/cell", data={**cell, "user": [str(boss.id), user]}
        )
        assert answer.status_code == 400, user
        assert 'class="flash alert"' in answer.text  # the form again, with what went wrong
    for wrong in (
        {"day": "2026-13-45"},
        {"day": "9999-12-31"},
        {"shift": str(2**63)},
        {"shift": ""},
    ):
        answer = await client.post(
            "/handover/rota/cell", data={**cell, "user": str(boss.id), **wrong}
        )
        assert answer.status_code == 400, wrong
    gone_shift = await client.post("/handover/rota/cell", data={**cell, "shift": str(2**31 - 1)})
    assert gone_shift.status_code == 404
    assert await RotaEntry.all().count() == 0
    assert await RotaEntry.all().count() == 0


async def test_the_rota_pages_speak_chinese(client: httpx.AsyncClient) -> None:
    travel_to(datetime(2026, 12, 2, 4, tzinfo=UTC))
    night = await Shift.create(
        name="夜班", start_minute=18 * 60, end_minute=9 * 60, weekdays=0b11111
    )
    await create_user(username="boss", role=Role.SUPERVISOR, display_name="主管")
    agent = await create_user(username="li", role=Role.NIGHT_AGENT, display_name="李夜")
    await RotaEntry.create(shift=night, day=date(2026, 12, 2), user=agent)
    await sign_in(client, "boss")
    zh = {"Accept-Language": "zh-CN"}
    pages = [
        "/handover/rota",
        "/handover/shifts",
        f"/handover/rota/cell?shift={night.id}&day=2026-12-02",
    ]
    for path in pages:
        page = await client.get(path, headers=zh)
        assert page.status_code == 200, path
        text = visible(page.text)
        left = ENGLISH.findall(text) + SNAKE.findall(text)
        assert not left, (path, left)
    grid = visible((await client.get("/handover/rota", headers=zh)).text)
    assert "排班" in grid and "周一" in grid and "不排班" in grid  # Saturday: not running
    assert "复制上周" in grid
    bad = await client.post(
        "/handover/shifts",
        data={
            "csrf_token": await csrf_from(client, "/handover/shifts"),
            "name": "早班",
            "start": "08:00",
            "end": "25:00",
            "weekday": "1",
            "time_zone": "Asia/Shanghai",
        },
        headers=zh,
    )
    assert bad.status_code == 400
    message = visible(bad.text)
    assert "结束" in message and not ENGLISH.findall(message)


async def test_a_supervisor_edits_and_switches_off_a_shift(client: httpx.AsyncClient) -> None:
    travel_to(datetime(2026, 12, 2, 4, tzinfo=UTC))
    await create_user(username="boss", role=Role.SUPERVISOR)
    await sign_in(client, "boss")
    night = await add_night_shift(client)
    csrf = await csrf_from(client, "/handover/shifts")
    edit = {
        "csrf_token": csrf,
        "name": "夜班",
        "start": "18:00",
        "end": "24:00",
        "weekday": ["1", "2", "3", "4", "5"],
        "time_zone": "Asia/Shanghai",
        "position": "1",
        "active": ["off", "on"],  # the hidden "off", then the ticked box
    }
    wrong = await client.post(f"/handover/shifts/{night.id}", data={**edit, "end": "24:01"})
    assert wrong.status_code == 400 and 'value="24:01"' in wrong.text  # shown again as typed
    assert (await Shift.get(id=night.id)).end_minute == 9 * 60
    saved = await client.post(f"/handover/shifts/{night.id}", data=edit)
    assert saved.status_code == 303
    night = await Shift.get(id=night.id)
    assert (night.end_minute, night.weekdays, night.active) == (24 * 60, 0b0011111, True)
    grid = (await client.get(f"/handover/rota?week={WEEK}")).text
    assert "18:00–24:00" in grid and grid.count("Not running") == 2  # Saturday and Sunday
    off = await client.post(f"/handover/shifts/{night.id}", data={**edit, "active": "off"})
    assert off.status_code == 303 and not (await Shift.get(id=night.id)).active
    assert "夜班" not in visible((await client.get(f"/handover/rota?week={WEEK}")).text)
    actions = (
        await AuditEvent.filter(subject_type="shift")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["shift.created", "shift.changed", "shift.deactivated"]
