"""The handover pages as the shifts use them: read it first, read back, acknowledge, look back.

A day shift (09:00-18:00) hands over to a night shift (18:00-09:00) in
Shanghai on 2026-12-01. The handover is drafted and frozen by the real job
(``drafting.draft_due``) with the clock moved to the shift end; the list
holds a refund for order 4100 due at 20:00 and a promise to call a buyer
back at 21:00 (a promise is always urgent).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette

from aftersales.core import clock
from aftersales.core.models import Role, User
from aftersales.handover import drafting, promises
from aftersales.handover.models import Handover, HandoverEntry, HandoverNote, RotaEntry, Shift
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_store, create_user

pytestmark = pytest.mark.usefixtures("clean_db")

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def at(when: datetime) -> None:
    clock.reset()
    clock.travel(when - clock.now())


@dataclass
class Desk:
    day_agent: User
    night_agent: User
    handover: Handover
    promise_item: HandoverEntry
    refund_item: HandoverEntry


async def draft(app: Starlette) -> list[Handover]:
    return await drafting.draft_due(app.state.registry)


async def handed_over_desk(app: Starlette) -> Desk:
    """The day shift's list, frozen at 18:00 by the job; the clock is left at 18:05."""
    day = await Shift.create(name="白班", start_minute=9 * 60, end_minute=18 * 60)
    night = await Shift.create(name="夜班", start_minute=18 * 60, end_minute=9 * 60)
    day_agent = await create_user(username="xiaowang", role=Role.AGENT)
    night_agent = await create_user(username="xiaoli", role=Role.NIGHT_AGENT)
    await RotaEntry.create(shift=day, day=local(9).date(), user=day_agent)
    await RotaEntry.create(shift=night, day=local(9).date(), user=night_agent)
    store = await create_store()
    at(local(17, 30))
    await Refund.create(
        store=store,
        platform_order_id="4100",
        platform_refund_id="R4100",
        platform_status="WAIT_SELLER_AGREE",
        kind=RefundKind.REFUND_ONLY,
        status=RefundStatus.REQUESTED,
        requested_amount=Decimal("20.00"),
        requested_at=clock.now(),
        updated_at=clock.now(),
        due_at=local(20),
    )
    await promises.make(day_agent, "21:00 给买家回电话", local(21))
    at(local(17, 50))
    # The job catches up on the morning's change too; the day shift's is the one due now.
    drafted = [h for h in await draft(app) if h.from_name == "白班"]
    assert len(drafted) == 1
    at(local(18))
    await draft(app)  # the shift end: the job freezes the list
    at(local(18, 5))
    handover = await Handover.get(id=drafted[0].id)
    assert handover.handed_over_at is not None
    entries = {e.module: e for e in await HandoverEntry.filter(handover_id=handover.id)}
    return Desk(day_agent, night_agent, handover, entries["handover"], entries["refunds"])


async def post(client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None):
    token = await csrf_from(client, "/handover/")
    return await client.post(path, data={"csrf_token": token, **(data or {})})


def text_of(page: str) -> str:
    """What a reader sees: tags and scripts gone, entities decoded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


TWO_ENGLISH_WORDS = re.compile(
    r"(?<![\w@./:-])[A-Za-z]{2,}(?:[ \t\u00a0]+[A-Za-z]{2,})+(?![\w@/-])"
)


async def test_the_night_agent_sees_the_handover_first_on_the_home_page(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await sign_in(client, "xiaoli")
    home = await client.get("/")
    notice = "Handover from 白班: 2 items, 1 urgent"
    assert notice in home.text
    # Above everything else on the page: the greeting and every tile.
    assert home.text.index(notice) < home.text.index("<h1>")
    assert f'href="/handover/{desk.handover.id}"' in home.text
    notices = await app.state.registry.home_notices(desk.night_agent)
    assert [n.href for n in notices] == [f"/handover/{desk.handover.id}"]
    # Once acknowledged, the notice is gone.
    await post(
        client,
        f"/handover/{desk.handover.id}/items/{desk.promise_item.id}/acknowledge",
        {"readback": "我 21:00 回电话"},
    )
    await post(client, f"/handover/{desk.handover.id}/acknowledge")
    assert notice not in (await client.get("/")).text
    owner = await create_user(role=Role.OWNER)
    assert await app.state.registry.home_notices(owner) == []


async def test_the_incoming_list_reads_urgent_first_with_the_case_beside_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await sign_in(client, "xiaoli")
    page = await client.get("/handover/")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Handover from 白班: 2 items, 1 urgent" in text
    assert text.index("21:00 给买家回电话") < text.index("Refund of 20.00 CNY for order 4100")
    assert 'href="/refunds/' in page.text  # the live case, linked
    assert re.search(r"Refund R4100\s+Requested", text)  # ... with its state now, in words
    assert re.search(r"Promises to buyers\s+\(1\)", text)  # grouped by module
    assert re.search(r"Refunds\s+\(1\)", text)
    assert f'action="/handover/{desk.handover.id}/items/{desk.promise_item.id}/acknowledge"' in (
        page.text
    )
    # Only the urgent item asks for a read-back.
    assert f"/items/{desk.refund_item.id}/acknowledge" not in page.text
    assert f'href="/handover/{desk.handover.id}/print"' in page.text
    assert f'href="/handover/{desk.handover.id}/changes"' in page.text


async def test_an_empty_read_back_is_refused_and_a_line_is_taken(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await sign_in(client, "xiaoli")
    path = f"/handover/{desk.handover.id}/items/{desk.promise_item.id}/acknowledge"
    empty = await post(client, path, {"readback": "   "})
    assert empty.status_code == 400
    assert "Say in your own words what you will do about this item." in empty.text
    item = await HandoverEntry.get(id=desk.promise_item.id)
    assert item.acknowledged_at is None
    taken = await post(client, path, {"readback": "我 21:00 回电话"})
    assert taken.status_code == 303
    item = await HandoverEntry.get(id=desk.promise_item.id)
    assert item.acknowledged_by_id == desk.night_agent.id
    assert item.readback == "我 21:00 回电话"
    page = await client.get(taken.headers["location"])
    assert "我 21:00 回电话" in page.text
    assert path not in page.text  # read back: no form any more


async def test_the_list_is_not_acknowledged_before_its_urgent_items_are_read_back(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await sign_in(client, "xiaoli")
    refused = await post(client, f"/handover/{desk.handover.id}/acknowledge")
    assert refused.status_code == 409
    assert "Acknowledge each urgent item first: 1 left." in refused.text
    assert (await Handover.get(id=desk.handover.id)).acknowledged_at is None
    # The same page in Chinese says it in Chinese.
    await User.filter(id=desk.night_agent.id).update(locale="zh_CN")
    again = await post(client, f"/handover/{desk.handover.id}/acknowledge")
    assert again.status_code == 409
    assert "Acknowledge each urgent item first" not in again.text
    assert "1" in text_of(again.text) and "紧急" in text_of(again.text)
    await post(
        client,
        f"/handover/{desk.handover.id}/items/{desk.promise_item.id}/acknowledge",
        {"readback": "我 21:00 回电话"},
    )
    done = await post(client, f"/handover/{desk.handover.id}/acknowledge")
    assert done.status_code == 303
    assert (await Handover.get(id=desk.handover.id)).acknowledged_by_id == desk.night_agent.id


async def test_an_owner_reads_the_handover_but_may_not_acknowledge_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await create_user(username="laoban", role=Role.OWNER)
    await sign_in(client, "laoban")
    page = await client.get(f"/handover/{desk.handover.id}")
    assert page.status_code == 200
    assert "/acknowledge" not in page.text  # no forms for who may not use them
    refused = await post(client, f"/handover/{desk.handover.id}/acknowledge")
    assert refused.status_code == 403
    read_back = await post(
        client,
        f"/handover/{desk.handover.id}/items/{desk.promise_item.id}/acknowledge",
        {"readback": "好"},
    )
    assert read_back.status_code == 403
    assert (await HandoverEntry.get(id=desk.promise_item.id)).acknowledged_at is None
    assert (await Handover.get(id=desk.handover.id)).acknowledged_at is None


async def test_the_print_view_lists_every_item_without_forms(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await sign_in(client, "xiaoli")
    printed = await client.get(f"/handover/{desk.handover.id}/print")
    assert printed.status_code == 200
    assert "Refund of 20.00 CNY for order 4100" in printed.text
    assert "21:00 给买家回电话" in printed.text
    assert "/acknowledge" not in printed.text and "<textarea" not in printed.text


async def test_the_diary_finds_a_handover_by_order_number_and_by_day(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await sign_in(client, "xiaoli")
    link = f'href="/handover/{desk.handover.id}"'
    assert link in (await client.get("/handover/diary")).text
    assert link in (await client.get("/handover/diary", params={"q": "4100"})).text
    assert link not in (await client.get("/handover/diary", params={"q": "9999"})).text
    # The shift change was 18:00 on 1 December in Shanghai (10:00 UTC).
    assert link in (await client.get("/handover/diary", params={"day": "2026-12-01"})).text
    assert link not in (await client.get("/handover/diary", params={"day": "2026-12-02"})).text
    bad = await client.get("/handover/diary", params={"day": "1.12."})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    # By agent: the night agent who acknowledged it, and words of a note.
    await HandoverNote.create(
        handover_id=desk.handover.id, author_id=desk.day_agent.id, text="买家很着急",
        created_at=clock.now(),
    )  # fmt: skip
    assert link in (await client.get("/handover/diary", params={"q": "着急"})).text
    by_agent = await client.get("/handover/diary", params={"agent": str(desk.day_agent.id)})
    assert link in by_agent.text
    other = await create_user(role=Role.AGENT)
    assert link not in (await client.get("/handover/diary", params={"agent": str(other.id)})).text


async def test_the_outgoing_shift_prepares_and_hands_over_its_draft(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    # The night shift's own draft is written 15 minutes before it ends at 09:00.
    await sign_in(client, "xiaoli")
    waiting = await client.get("/handover/prepare")
    assert "2026-12-02 08:45" in waiting.text
    at(local(8, 50, day=2))
    drafted = await draft(app)
    assert len(drafted) == 1
    night = drafted[0]
    page = await client.get("/handover/prepare")
    assert f'action="/handover/{night.id}/hand-over"' in page.text
    # A note about the refund, and a promise.
    noted = await post(
        client,
        f"/handover/{night.id}/notes",
        {"text": "买家说下午再来", "ref": desk.refund_item.ref},
    )
    assert noted.status_code == 303
    promised = await post(
        client,
        "/handover/promises",
        {"text": "10:30 前退款", "due": "2026-12-02T10:30", "ref": "", "next": "/handover/prepare"},
    )
    assert promised.status_code == 303 and promised.headers["location"] == "/handover/prepare"
    made = await promises.listing(ref="")
    assert [p.due_at for p in made if p.text == "10:30 前退款"] == [local(10, 30, day=2)]
    bad_time = await post(client, "/handover/promises", {"text": "稍后", "due": "tomorrow"})
    assert bad_time.status_code == 303
    assert (
        "Give the date and time the promise is due."
        in (await client.get("/handover/promises")).text
    )
    handed = await post(client, f"/handover/{night.id}/hand-over")
    assert handed.status_code == 303
    assert (await Handover.get(id=night.id)).handed_over_by_id == desk.night_agent.id
    shown = await client.get(handed.headers["location"])
    assert "买家说下午再来" in shown.text


async def test_promises_due_now_come_first_and_are_marked_kept(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await handed_over_desk(app)
    at(local(21, 5))
    await sign_in(client, "xiaoli")
    home = await client.get("/")
    assert "Promises to buyers due now: 1" in home.text
    page = await client.get("/handover/promises")
    text = text_of(page.text)
    assert text.index("Due now") < text.index("21:00 给买家回电话") < text.index("Coming up")
    (promise,) = await promises.due()
    kept = await post(client, f"/handover/promises/{promise.id}/kept")
    assert kept.status_code == 303
    assert (await promises.get(promise.id)).status == "kept"
    assert await promises.due() == []


async def test_forms_without_the_csrf_token_are_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await sign_in(client, "xiaoli")
    path = f"/handover/{desk.handover.id}/items/{desk.promise_item.id}/acknowledge"
    refused = await client.post(path, data={"readback": "好"})
    assert refused.status_code == 403
    assert (await HandoverEntry.get(id=desk.promise_item.id)).acknowledged_at is None
    assert (await client.post(f"/handover/{desk.handover.id}/acknowledge")).status_code == 403


async def test_a_huge_or_unknown_id_is_a_404_not_a_crash(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await sign_in(client, "xiaoli")
    for path in ("/handover/99999999999999999999", "/handover/2147483647/print", "/handover/0"):
        assert (await client.get(path)).status_code == 404, path
    answer = await post(client, f"/handover/{desk.handover.id}/items/99999999999999/acknowledge")
    assert answer.status_code == 404
    answer = await post(client, f"/handover/{desk.handover.id}/items/2147483647/acknowledge")
    assert answer.status_code == 404
    answer = await post(client, "/handover/promises/2147483647/kept")
    assert answer.status_code == 404


async def test_every_handover_page_speaks_chinese(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    desk = await handed_over_desk(app)
    await User.filter(id=desk.night_agent.id).update(locale="zh_CN")
    await sign_in(client, "xiaoli")
    hid = desk.handover.id
    expected = {
        "/": "白班交班：共 2 项，1 项紧急",
        "/handover/": "确认接班",
        f"/handover/{hid}": "请复述：你将做什么，何时完成？",
        f"/handover/{hid}/print": "打印于",
        f"/handover/{hid}/changes": "交班以来的变化",
        "/handover/prepare": "准备交班",
        "/handover/diary": "交班日志",
        "/handover/promises": "对买家的承诺",
    }
    for path, chinese in expected.items():
        page = await client.get(path)
        assert page.status_code == 200, path
        text = text_of(page.text)
        assert chinese in text, path
        english = TWO_ENGLISH_WORDS.findall(text)
        assert english == [], f"{path}: {english}"
