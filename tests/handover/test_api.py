"""The handover API: the night agent reads the list, reads urgent items back, acknowledges.

Everything goes through the real services on the real database: shifts and
a rota are rows, the list is drafted by ``drafting.draft_due`` with the
clock moved to 17:50 and past 18:00 in Asia/Shanghai, and promises are made
through the API itself, so a promise made at 17:50 for 21:00 is on the night
shift's list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette

from aftersales.core import clock
from aftersales.core import service as core_service
from aftersales.core.models import AuditEvent, Role, User
from aftersales.handover import drafting
from aftersales.handover.models import (
    Handover,
    HandoverEntry,
    HandoverNote,
    Promise,
    PromiseStatus,
    RotaEntry,
    Shift,
)
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from tests.factories import create_store, create_user

DAY = date(2026, 12, 1)
TEN_TO_SIX = datetime(2026, 12, 1, 9, 50, tzinfo=UTC)  # 17:50 in Shanghai
SHIFT_CHANGE = datetime(2026, 12, 1, 10, tzinfo=UTC)  # 18:00
NINE_PM = "2026-12-01T21:00:00+08:00"
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


@dataclass
class Desk:
    app: Starlette
    client: httpx.AsyncClient
    day: dict[str, str]  # the day agent's bearer header
    night: dict[str, str]  # the night agent's
    owner: dict[str, str]  # reads, does not work shifts
    night_user: User
    refund: Refund


async def _bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {await core_service.create_token(user, 'test')}"}


def _at(moment: datetime) -> None:
    clock.travel(moment - clock.now())


async def _desk(app: Starlette, client: httpx.AsyncClient) -> Desk:
    """A day and a night shift in Shanghai, one agent on each, a refund due at 23:00."""
    _at(TEN_TO_SIX)
    day_shift = await Shift.create(name="白班", start_minute=9 * 60, end_minute=18 * 60)
    night_shift = await Shift.create(name="夜班", start_minute=18 * 60, end_minute=9 * 60)
    wang = await create_user(username="wang", role=Role.AGENT)
    li = await create_user(username="li", role=Role.NIGHT_AGENT)
    boss = await create_user(username="boss", role=Role.OWNER)
    await RotaEntry.create(shift=day_shift, day=DAY, user=wang)
    await RotaEntry.create(shift=night_shift, day=DAY, user=li)
    store = await create_store()
    refund = await Refund.create(
        store_id=store.id,
        platform_order_id="4100",
        platform_refund_id="R4100",
        kind=RefundKind.REFUND_ONLY,
        status=RefundStatus.REQUESTED,
        requested_amount=Decimal("59.00"),
        currency="CNY",
        requested_at=TEN_TO_SIX - timedelta(hours=3),
        updated_at=TEN_TO_SIX,
        due_at=SHIFT_CHANGE + timedelta(hours=5),  # 23:00, inside the night shift
    )
    return Desk(
        app, client, await _bearer(wang), await _bearer(li), await _bearer(boss), li, refund
    )


async def _promise(desk: Desk, text: str, due_at: str = NINE_PM, **extra: Any) -> dict[str, Any]:
    answer = await desk.client.post(
        "/api/v1/promises", json={"text": text, "due_at": due_at, **extra}, headers=desk.day
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _night_list(desk: Desk) -> dict[str, Any]:
    """Drafted at 17:50, frozen at the shift change: the night's list as the night reads it.

    At 17:50 the job also catches up on the morning's change (09:00), which
    a desk installed today had missed: that list is the day shift's.
    """
    drafted = await drafting.draft_due(desk.app.state.registry, clock.now())
    assert SHIFT_CHANGE in {h.window_start for h in drafted}
    _at(SHIFT_CHANGE + timedelta(minutes=1))
    await drafting.draft_due(desk.app.state.registry, clock.now())
    answer = await desk.client.get("/api/v1/handovers/current", headers={**desk.night, **EN})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _urgent(handover: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in handover["items"] if i["urgent"]]


async def test_a_promise_made_at_ten_to_six_is_on_the_night_list_and_read_back_in_full(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await _desk(app, client)
    call = await _promise(
        desk, "Call the buyer of order 4100 back", ref=f"refunds:refund:{desk.refund.id}"
    )
    await _promise(desk, "Send the photos of the parcel", customer_id=77)
    # Before any list is drafted there is none to read: a clear 404.
    early = await client.get("/api/v1/handovers/current", headers={**desk.day, **EN})
    assert early.status_code == 404
    assert early.json()["error"]["code"] == "no_current_handover"
    assert early.json()["error"]["message"] == "No handover has reached the shift on now."

    handover = await _night_list(desk)
    assert (handover["from"], handover["to"]) == (
        {"name": "白班", "day": "2026-12-01"},
        {"name": "夜班", "day": "2026-12-01"},
    )
    assert handover["window"] == {"start": "2026-12-01T10:00:00Z", "end": "2026-12-02T01:00:00Z"}
    assert handover["handed_over_at"] == "2026-12-01T10:00:00Z"
    assert handover["acknowledged_at"] is None and handover["acknowledged_by"] is None
    assert handover["counts"] == {"total": 3, "urgent": 2, "urgent_open": 2}
    # Urgent first: the two promises, then the refund due at 23:00.
    by_ref = {i["ref"]: i for i in handover["items"]}
    promise_item = by_ref[f"handover:promise:{call['id']}"]
    assert promise_item["urgent"] and promise_item["summary"] == (
        "Promise to a buyer: Call the buyer of order 4100 back"
    )
    assert promise_item["due_at"] == "2026-12-01T13:00:00Z"
    assert promise_item["todo"] == "Do what was promised at the time given, then mark it kept."
    assert promise_item["live"] == {
        "status": "open",
        "status_label": "To keep",
        "open": True,
        "href": "/handover/promises",
    }
    assert [i["urgent"] for i in handover["items"]] == [True, True, False]
    refund_item = handover["items"][2]
    assert refund_item["ref"] == f"refunds:refund:{desk.refund.id}" and refund_item["live"]["open"]
    assert refund_item["state"] == "open" and refund_item["readback"] == ""
    assert refund_item["live"]["status"] == "requested"
    assert refund_item["live"]["status_label"] == "Requested"

    # The same list in Chinese, for a zh-CN client.
    zh = (
        await client.get(f"/api/v1/handovers/{handover['id']}", headers={**desk.night, **ZH})
    ).json()
    zh_item = next(i for i in zh["items"] if i["id"] == promise_item["id"])
    assert zh_item["summary"].endswith("Call the buyer of order 4100 back")
    assert "Promise to a buyer" not in zh_item["summary"]
    assert zh_item["live"]["status_label"] not in ("open", "To keep")
    zh_refund = next(i for i in zh["items"] if i["id"] == refund_item["id"])
    assert zh_refund["live"]["status_label"] not in ("requested", "Requested")
    assert zh_refund["todo"] and zh_refund["todo"] != refund_item["todo"]

    base = f"/api/v1/handovers/{handover['id']}"
    # The whole list cannot be acknowledged while urgent items are not read back.
    refused = await client.post(f"{base}/acknowledge", headers={**desk.night, **EN})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "urgent_not_acknowledged"
    assert error["message"] == "Acknowledge each urgent item first: 2 left."
    # An urgent item needs its read-back line; a blank one changes nothing.
    first, second = _urgent(handover)
    blank = await client.post(
        f"{base}/items/{first['id']}/acknowledge", json={"readback": "  "}, headers=desk.night
    )
    assert blank.status_code == 400 and blank.json()["error"]["code"] == "readback_missing"
    readback = "I will call the buyer of order 4100 back at 21:00"
    done = await client.post(
        f"{base}/items/{first['id']}/acknowledge", json={"readback": readback}, headers=desk.night
    )
    assert done.status_code == 200
    assert done.json()["counts"]["urgent_open"] == 1
    read = next(i for i in done.json()["items"] if i["id"] == first["id"])
    assert read["readback"] == readback and read["acknowledged_by"]["username"] == "li"
    assert read["acknowledged_at"] == "2026-12-01T10:01:00Z"
    again = await client.post(
        f"{base}/items/{first['id']}/acknowledge", json={"readback": "again"}, headers=desk.night
    )
    assert again.status_code == 409
    still = await client.post(f"{base}/acknowledge", headers={**desk.night, **EN})
    assert still.json()["error"]["message"] == "Acknowledge each urgent item first: 1 left."
    await client.post(
        f"{base}/items/{second['id']}/acknowledge",
        json={"readback": "Photos go out before 21:00"},
        headers=desk.night,
    )

    taken = await client.post(f"{base}/acknowledge", headers=desk.night)
    assert taken.status_code == 200
    body = taken.json()
    assert body["acknowledged_by"]["id"] == desk.night_user.id
    assert body["acknowledged_at"] == "2026-12-01T10:01:00Z"
    assert body["counts"] == {"total": 3, "urgent": 2, "urgent_open": 0}
    twice = await client.post(f"{base}/acknowledge", headers=desk.night)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_acknowledged"
    assert await AuditEvent.filter(action="handover_acknowledged").count() == 1


async def test_everyone_reads_but_only_the_people_on_shifts_work_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await _desk(app, client)
    await _promise(desk, "Call back")
    handover = await _night_list(desk)
    base = f"/api/v1/handovers/{handover['id']}"
    item = handover["items"][0]["id"]

    assert (await client.get(base, headers=desk.owner)).status_code == 200
    assert (await client.get("/api/v1/handovers/current", headers=desk.owner)).status_code == 200
    assert (await client.get("/api/v1/promises", headers=desk.owner)).status_code == 200
    for path, body in (
        (f"{base}/acknowledge", {}),
        (f"{base}/items/{item}/acknowledge", {"readback": "I will"}),
        (f"{base}/notes", {"text": "owner was here"}),
        ("/api/v1/promises", {"text": "x", "due_at": NINE_PM}),
        (f"/api/v1/promises/{(await Promise.first()).id}/close", {"kept": True}),
    ):
        answer = await client.post(path, json=body, headers=desk.owner)
        assert answer.status_code == 403, path
        assert answer.json()["error"]["code"] == "forbidden"
    assert (await client.get(base)).status_code == 401
    entry = await HandoverEntry.get(id=item)
    assert entry.acknowledged_at is None
    assert await HandoverNote.all().count() == 0 and await Promise.all().count() == 1
    assert (await Promise.first()).status is PromiseStatus.OPEN


async def test_unknown_and_impossible_ids_are_404_and_change_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await _desk(app, client)
    await _promise(desk, "Call back")
    handover = await _night_list(desk)
    base = f"/api/v1/handovers/{handover['id']}"
    item = handover["items"][0]["id"]
    missing = handover["id"] + 1000
    for path in (f"/api/v1/handovers/{missing}", f"/api/v1/handovers/{2**31}",
                 f"/api/v1/handovers/{2**63}", "/api/v1/handovers/0"):  # fmt: skip
        answer = await client.get(path, headers=desk.night)
        assert answer.status_code == 404, path
        assert "error" in answer.json()
    for path in (
        f"/api/v1/handovers/{missing}/acknowledge",
        f"{base}/items/{item + 1000}/acknowledge",
        f"{base}/items/{2**40}/acknowledge",
        f"/api/v1/handovers/{missing}/notes",
        f"/api/v1/promises/{2**31}/close",
        "/api/v1/promises/999999/close",
    ):
        answer = await client.post(
            path, json={"readback": "ok", "text": "note", "kept": True}, headers=desk.night
        )
        assert answer.status_code == 404, path
    # An item of another handover is not this one's.
    other = await Handover.create(
        key="other", window_start=SHIFT_CHANGE, window_end=SHIFT_CHANGE, drafted_at=SHIFT_CHANGE
    )
    crossed = await client.post(
        f"/api/v1/handovers/{other.id}/items/{item}/acknowledge",
        json={"readback": "ok"},
        headers=desk.night,
    )
    assert crossed.status_code == 404
    assert await HandoverEntry.filter(acknowledged_at__isnull=False).count() == 0
    assert await HandoverNote.all().count() == 0


async def test_notes_on_a_handover_name_their_case_and_bad_ones_are_400(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await _desk(app, client)
    await drafting.draft_due(app.state.registry, clock.now())
    handover = await Handover.get(window_start=SHIFT_CHANGE)  # the day shift's draft
    url = f"/api/v1/handovers/{handover.id}/notes"
    ref = f"refunds:refund:{desk.refund.id}"
    added = await client.post(
        url, json={"text": "The buyer of 4100 calls back at 21:00", "ref": ref}, headers=desk.day
    )
    assert added.status_code == 201, added.text
    assert added.json()["ref"] == ref and added.json()["author"]["username"] == "wang"
    for body, code in (
        ({}, "invalid_parameter"),
        ({"text": 12}, "invalid_parameter"),
        ({"text": "   "}, "invalid_input"),
        ({"text": "x", "ref": "refund 12"}, "invalid_input"),
        ({"text": "x", "ref": f"refunds:refund:{2**63}"}, "invalid_input"),
        ({"text": "x", "ref": ["refunds:refund:1"]}, "invalid_parameter"),
        ({"text": "x" * 10_001}, "too_long"),
    ):
        answer = await client.post(url, json=body, headers={**desk.day, **EN})
        assert answer.status_code == 400, body
        assert answer.json()["error"]["code"] == code, answer.text
    broken = await client.post(url, content=b"{not json", headers=desk.day)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    listed = (await client.get(f"/api/v1/handovers/{handover.id}", headers=desk.night)).json()
    assert [n["text"] for n in listed["notes"]] == ["The buyer of 4100 calls back at 21:00"]


async def test_promises_list_by_status_and_case_and_close_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await _desk(app, client)
    ref = f"refunds:refund:{desk.refund.id}"
    call = await _promise(desk, "Call back at nine", ref=ref)
    later = await _promise(desk, "Send the invoice", due_at="2026-12-02T10:00:00+08:00")
    assert call["due_at"] == "2026-12-01T13:00:00Z" and call["status"] == "open"
    assert call["made_by"]["username"] == "wang" and call["ref"] == ref

    listed = (await client.get("/api/v1/promises?status=open", headers=desk.night)).json()
    assert [p["id"] for p in listed["items"]] == [call["id"], later["id"]]
    assert listed["total"] == 2
    on_case = (await client.get(f"/api/v1/promises?ref={ref}", headers=desk.night)).json()
    assert [p["id"] for p in on_case["items"]] == [call["id"]]
    paged = (await client.get("/api/v1/promises?per_page=1&page=2", headers=desk.night)).json()
    assert [p["id"] for p in paged["items"]] == [later["id"]] and paged["total"] == 2
    for query in ("status=lost", "ref=nothing", "per_page=0", f"page={2**63}"):
        assert (
            await client.get(f"/api/v1/promises?{query}", headers=desk.night)
        ).status_code == 400

    url = f"/api/v1/promises/{call['id']}/close"
    for body in ({}, {"kept": "yes"}, {"kept": 1}, {"kept": True, "note": 5}):
        answer = await client.post(url, json=body, headers=desk.night)
        assert answer.status_code == 400, body
    kept = await client.post(
        url, json={"kept": True, "note": "Called, all fine"}, headers=desk.night
    )
    assert kept.status_code == 200
    assert kept.json()["status"] == "kept" and kept.json()["closed_by"]["username"] == "li"
    assert kept.json()["note"] == "Called, all fine"
    again = await client.post(url, json={"kept": False}, headers=desk.night)
    assert again.status_code == 409 and again.json()["error"]["code"] == "promise_closed"
    assert (await Promise.get(id=call["id"])).status is PromiseStatus.KEPT
    kept_list = (await client.get("/api/v1/promises?status=kept", headers=desk.night)).json()
    assert [p["id"] for p in kept_list["items"]] == [call["id"]]


async def test_a_bad_promise_is_400_with_the_catalogs_words_and_none_is_made(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await _desk(app, client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"due_at": NINE_PM}, "text is required."),
        ({"text": 5, "due_at": NINE_PM}, "text must be text."),
        ({"text": "Call back"}, "due_at is required."),
        ({"text": "Call back", "due_at": 2100}, "due_at must be an ISO 8601 time."),
        (
            {"text": "Call back", "due_at": "2026-12-01T21:00:00"},
            "due_at needs its offset from UTC, as in 2026-12-01T21:00:00+08:00.",
        ),
        ({"text": "Call back", "due_at": "tonight"}, "due_at must be an ISO 8601 time."),
        (
            {"text": "Call back", "due_at": "9999-12-31T23:59:59-12:00"},
            "due_at must be a day between 1970-01-01 and 2999-12-31.",
        ),
        (
            {"text": "Call back", "due_at": "2026-11-30T21:00:00+08:00"},
            "A promise cannot be due in the past.",
        ),
        ({"text": "  ", "due_at": NINE_PM}, "Say what was promised."),
        (
            {"text": "Call back", "due_at": NINE_PM, "ref": "order 4100"},
            "order 4100 is not a case reference.",
        ),
        (
            {"text": "Call back", "due_at": NINE_PM, "ref": f"refunds:refund:{desk.refund.id + 1}"},
            f"No case refunds:refund:{desk.refund.id + 1} on the desk.",
        ),
        (
            {"text": "Call back", "due_at": NINE_PM, "customer_id": 2**40},
            "customer_id must be a whole number from 1 to 2147483647.",
        ),
        (
            {"text": "Call back", "due_at": NINE_PM, "customer_id": "77"},
            "customer_id must be a whole number from 1 to 2147483647.",
        ),
    ]
    for body, message in cases:
        answer = await client.post("/api/v1/promises", json=body, headers={**desk.day, **EN})
        assert answer.status_code == 400, body
        assert answer.json()["error"]["message"] == message, answer.text
    zh = await client.post("/api/v1/promises", json={"due_at": NINE_PM}, headers={**desk.day, **ZH})
    assert zh.status_code == 400 and "text is required" not in zh.json()["error"]["message"]
    assert await Promise.all().count() == 0


async def test_a_promise_not_kept_is_broken_on_the_morning_list_and_the_diary_is_newest_first(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await _desk(app, client)
    promise = await _promise(desk, "Call the buyer back")
    night = await _night_list(desk)
    # Nobody keeps it; the night ends at 09:00 and the morning list says so.
    _at(datetime(2026, 12, 2, 0, 50, tzinfo=UTC))  # 08:50
    await drafting.draft_due(app.state.registry, clock.now())
    _at(datetime(2026, 12, 2, 1, 1, tzinfo=UTC))  # 09:01
    await drafting.draft_due(app.state.registry, clock.now())
    morning = (await client.get("/api/v1/handovers/current", headers={**desk.day, **EN})).json()
    assert morning["id"] != night["id"]
    assert (morning["from"]["name"], morning["to"]["name"]) == ("夜班", "白班")
    broken = next(i for i in morning["items"] if i["ref"] == f"handover:promise:{promise['id']}")
    assert broken["summary"] == "Promise not kept: Call the buyer back"
    assert broken["severity"] == "overdue" and broken["urgent"]
    assert broken["live"]["status"] == "broken" and not broken["live"]["open"]
    listed = (await client.get("/api/v1/promises?status=broken", headers=desk.day)).json()
    assert [p["id"] for p in listed["items"]] == [promise["id"]]

    diary = (await client.get("/api/v1/handovers", headers=desk.owner)).json()
    newest = [h.id for h in await Handover.all().order_by("-window_start")]
    assert [h["id"] for h in diary["items"]] == newest
    assert newest[:2] == [morning["id"], night["id"]]
    assert diary["total"] == len(newest) and "items" not in diary["items"][0]
    assert diary["items"][1]["counts"] == night["counts"]
    page_two = (await client.get("/api/v1/handovers?per_page=1&page=2", headers=desk.owner)).json()
    assert [h["id"] for h in page_two["items"]] == [night["id"]]
    bad = await client.get("/api/v1/handovers?per_page=100000", headers=desk.owner)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"
