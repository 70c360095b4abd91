"""The rota on the API: a supervisor's script adds a night shift and fills a week; an agent's
token reads it but cannot write; bad input is a 400 that changes nothing; the "this shift"
due filter of a queue follows the rota."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from aftersales.core import clock, service
from aftersales.core.models import AuditEvent, Role, User
from aftersales.handover.models import RotaEntry, Shift
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from tests.factories import create_store, create_user

WEEK = "2026-W49"
MONDAY = date(2026, 11, 30)
NIGHT = {"name": "夜班", "start": "18:00", "end": "09:00", "time_zone": "Asia/Shanghai"}


def travel_to(at: datetime) -> None:
    clock.travel(at - clock.now())


async def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {await service.create_token(user, 'tests')}"}


def week_cells(shift_id: int, monday: date, people: list[list[int]]) -> list[dict[str, Any]]:
    return [
        {"shift_id": shift_id, "day": (monday + timedelta(days=i)).isoformat(), "user_ids": ids}
        for i, ids in enumerate(people)
    ]


async def test_a_supervisor_adds_a_night_shift_and_fills_a_week(
    client: httpx.AsyncClient,
) -> None:
    travel_to(datetime(2026, 12, 2, 4, tzinfo=UTC))
    boss = await create_user(username="boss", role=Role.SUPERVISOR)
    li = await create_user(username="li", role=Role.NIGHT_AGENT)
    wang = await create_user(username="wang", role=Role.AGENT)
    auth = await bearer(boss)

    made = await client.post("/api/v1/shifts", json=NIGHT, headers=auth)
    assert made.status_code == 201, made.text
    night = made.json()
    assert night["start"] == "18:00" and night["end"] == "09:00"
    assert night["weekdays"] == [1, 2, 3, 4, 5, 6, 7] and night["active"] is True
    listed = (await client.get("/api/v1/shifts", headers=auth)).json()
    assert [s["name"] for s in listed["items"]] == ["夜班"] and listed["total"] == 1

    people = [[li.id], [li.id, wang.id]] * 3 + [[wang.id]]
    put = await client.put(
        "/api/v1/rota",
        json={"week": WEEK, "cells": week_cells(night["id"], MONDAY, people)},
        headers=auth,
    )
    assert put.status_code == 200, put.text
    rota = (await client.get(f"/api/v1/rota?week={WEEK}", headers=auth)).json()
    assert rota["week"] == WEEK and rota["days"][0] == "2026-11-30"
    assert [c["user_ids"] for c in rota["cells"]] == [sorted(p) for p in people]
    # ``from=`` names the week by any of its days; no parameter is this week.
    assert (await client.get("/api/v1/rota?from=2026-12-06", headers=auth)).json() == rota
    assert (await client.get("/api/v1/rota", headers=auth)).json() == rota

    # The rota answers core's "who is on": Tuesday 20:00 in Shanghai, both of them.
    from aftersales.handover import rota as rota_hooks

    slots = await rota_hooks.shifts_at(datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert [s.user_ids for s in slots] == [tuple(sorted((li.id, wang.id)))]

    # PUT replaces only the cells given: Sunday emptied, the rest stays.
    sunday = {"shift_id": night["id"], "day": "2026-12-06", "user_ids": []}
    again = await client.put("/api/v1/rota", json={"week": WEEK, "cells": [sunday]}, headers=auth)
    assert again.status_code == 200
    assert await RotaEntry.filter(day=date(2026, 12, 6)).count() == 0
    assert await RotaEntry.filter(day=date(2026, 12, 1)).count() == 2
    assert await AuditEvent.filter(action="rota.changed").count() == 8


async def test_an_agent_reads_the_rota_but_cannot_write_it(client: httpx.AsyncClient) -> None:
    night = await Shift.create(name="夜班", start_minute=18 * 60, end_minute=9 * 60)
    agent = await create_user(username="agent", role=Role.AGENT)
    auth = await bearer(agent)
    assert (await client.get("/api/v1/shifts", headers=auth)).status_code == 200
    assert (await client.get(f"/api/v1/rota?week={WEEK}", headers=auth)).status_code == 200
    made = await client.post("/api/v1/shifts", json=NIGHT, headers=auth)
    assert made.status_code == 403 and made.json()["error"]["code"] == "forbidden"
    cells = week_cells(night.id, MONDAY, [[agent.id]])
    put = await client.put("/api/v1/rota", json={"week": WEEK, "cells": cells}, headers=auth)
    assert put.status_code == 403
    assert await Shift.all().count() == 1 and await RotaEntry.all().count() == 0


async def test_bad_input_is_a_400_and_changes_nothing(client: httpx.AsyncClient) -> None:
    night = await Shift.create(name="夜班", start_minute=18 * 60, end_minute=9 * 60)
    boss = await create_user(username="boss", role=Role.SUPERVISOR)
    gone = await create_user(username="gone", role=Role.AGENT)
    gone.is_active = False
    await gone.save()
    auth = await bearer(boss)
    for wrong, code in (
        ({"end": "25:00"}, "invalid_shift_time"),
        ({"start": "24:00"}, "invalid_shift_time"),
        ({"start": "9:00"}, "invalid_shift_time"),
        ({"time_zone": "Mars/Olympus"}, "unknown_time_zone"),
        ({"time_zone": "/etc/passwd"}, "unknown_time_zone"),
        ({"weekdays": []}, "no_weekdays"),
        ({"weekdays": [0, 8]}, "no_weekdays"),
        ({"name": ""}, "missing_name"),
        ({"position": 2**63}, "invalid_parameter"),
    ):
        answer = await client.post("/api/v1/shifts", json={**NIGHT, **wrong}, headers=auth)
        assert answer.status_code == 400, (wrong, answer.text)
        assert answer.json()["error"]["code"] == code, wrong
    assert await Shift.all().count() == 1

    good = {"shift_id": night.id, "day": "2026-12-01", "user_ids": [boss.id]}
    for cell, code in (
        ({"shift_id": 2**63}, "invalid_parameter"),
        ({"shift_id": 999_999}, "unknown_shift"),
        ({"user_ids": [boss.id, 2**63]}, "invalid_parameter"),
        ({"user_ids": [boss.id, 999_999]}, "unknown_user"),
        ({"user_ids": [gone.id]}, "unknown_user"),
        ({"day": "2026-12-08"}, "day_not_in_week"),
        ({"day": "2026-13-01"}, "invalid_parameter"),
    ):
        # A good cell first: all or none, so it is not saved either.
        body = {"week": WEEK, "cells": [good, {**good, "day": "2026-12-02", **cell}]}
        answer = await client.put("/api/v1/rota", json=body, headers=auth)
        assert answer.status_code == 400, (cell, answer.text)
        assert answer.json()["error"]["code"] == code, cell
    for week in ("2026-W60", "0001-W01", "week 49", ""):
        answer = await client.put("/api/v1/rota", json={"week": week, "cells": []}, headers=auth)
        assert answer.status_code == 400, week
        assert (
            await client.get(f"/api/v1/rota?week={week or 'x'}", headers=auth)
        ).status_code == 400
    assert await RotaEntry.all().count() == 0
    assert await AuditEvent.filter(action="rota.changed").count() == 0
    chinese = await client.post(
        "/api/v1/shifts",
        json={**NIGHT, "end": "25:00"},
        headers={**auth, "Accept-Language": "zh-CN"},
    )
    assert "结束时间" in chinese.json()["error"]["message"]


async def test_the_this_shift_filter_of_a_queue_follows_the_rota(
    client: httpx.AsyncClient,
) -> None:
    """Without a rota "this shift" ends at 18:00; a rota's early shift ends at 14:00."""
    travel_to(datetime(2026, 12, 2, 3, tzinfo=UTC))  # 11:00 in Shanghai
    store = await create_store()
    now = clock.now()
    due = {"by_14": now + timedelta(hours=2), "by_17": now + timedelta(hours=5)}
    for name, at in due.items():
        await Refund.create(
            store=store,
            platform_refund_id=name,
            platform_order_id=name,
            kind=RefundKind.REFUND_ONLY,
            status=RefundStatus.REQUESTED,
            requested_amount="10.00",
            currency="CNY",
            due_at=at,
            requested_at=now,
            updated_at=now,
        )
    agent = await create_user(username="agent", role=Role.AGENT)
    auth = await bearer(agent)

    async def this_shift() -> set[str]:
        answer = await client.get("/api/v1/refunds?due=shift", headers=auth)
        assert answer.status_code == 200, answer.text
        return {r["platform_refund_id"] for r in answer.json()["items"]}

    assert await this_shift() == {"by_14", "by_17"}  # the default day shift ends at 18:00
    await Shift.create(name="早班", start_minute=8 * 60, end_minute=14 * 60)
    assert await this_shift() == {"by_14"}  # the rota's shift ends at 14:00
