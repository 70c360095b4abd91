"""The negative-review queue and the all-reviews browser, as an agent reads them.

Each filter keeps what it names and the count line says how many; in
Chinese neither page shows an English word run nor a stored code; what
buyers wrote is shown escaped.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx

from aftersales.core import clock
from aftersales.core.models import Role, Store
from aftersales.core.reasons import ReasonCode
from aftersales.reviews import events
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import Review, ReviewCase, ReviewCaseStatus
from connectors.base import ReviewResult
from tests.conftest import sign_in
from tests.factories import HOSTILE, MARKUP, create_store, create_user
from tests.reviews.intake_helpers import record, take

COUNT = re.compile(r'<p class="muted">\s*(\d+) (?:cases?|reviews?)\b')
ZH_COUNT = re.compile(r'<p class="muted">\s*(\d+) (?:个工单|条评价)')
ROW = re.compile(r'<a href="/reviews/cases/(\d+)">')
TWO_WORDS = re.compile(r"(?<![\w@./:-])[A-Za-z]{2,}(?:[ \t\u00a0]+[A-Za-z]{2,})+(?![\w@/-])")
SNAKE = re.compile(r"(?<![\w@./:-])[A-Za-z]+(?:_[A-Za-z]+)+(?![\w@/-])")
WORD = re.compile(r"(?<![\w@./:-])[a-z]{2,}(?![\w@/-])")
CODES = {
    str(v)
    for kind in (ReviewCaseStatus, ReviewResult, Sentiment, ReasonCode)
    for v in (m.value for m in kind)
} | set(events.EVENTS)


def text_of(page: str) -> str:
    """What a reader sees: tags and scripts gone (option and button texts kept)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def english_in(page: str, allowed: tuple[str, ...] = ()) -> list[str]:
    text = text_of(page)
    for word in allowed:
        text = text.replace(word, " ")
    found = TWO_WORDS.findall(text) + SNAKE.findall(text)
    found += [w for w in WORD.findall(text) if w in CODES]
    return sorted(set(found))


def count(page: str) -> int:
    found = COUNT.search(page) or ZH_COUNT.search(page)
    assert found, "no count line"
    return int(found.group(1))


async def a_desk() -> dict[str, Store]:
    """Two stores, negatives of several reasons and ages, good reviews, one closed case."""
    clock.travel(timedelta(seconds=30 - clock.now().second))
    east, west = await create_store(name="东店"), await create_store(name="西店")
    now = clock.now()
    await take(east, [
        record(rid="E1", created_at=now - timedelta(days=29, hours=23), rating=1,
               text="物流太慢了", nick="东一"),  # due within the hour
        record(rid="E2", created_at=now - timedelta(days=3), rating=2, text="质量一般"),
        record(rid="E3", created_at=now - timedelta(days=1), rating=5, text="很好，回购"),
    ])  # fmt: skip
    await take(west, [
        record(rid="W1", created_at=now - timedelta(days=10), result=ReviewResult.BAD,
               text=f"客服不理人 {HOSTILE}", nick="西一"),
        record(rid="W2", created_at=now - timedelta(days=2), result=ReviewResult.NEUTRAL,
               text="一般般"),
        record(rid="W3", created_at=now - timedelta(days=5), result=ReviewResult.GOOD,
               text="不错"),
    ])  # fmt: skip
    await ReviewCase.filter(review__platform_review_id="E2").update(reason=ReasonCode.QUALITY)
    await ReviewCase.filter(review__platform_review_id="W2").update(status=ReviewCaseStatus.CLOSED)
    return {"east": east, "west": west}


async def ids_on(client: httpx.AsyncClient, path: str) -> tuple[list[int], int]:
    page = await client.get(path)
    assert page.status_code == 200, path
    return [int(i) for i in ROW.findall(page.text)], count(page.text)


async def test_the_queue_lists_open_cases_by_due_time_and_each_filter_narrows_it(
    client: httpx.AsyncClient, app
) -> None:
    stores = await a_desk()
    agent = await create_user(username="agent", role=Role.AGENT)
    await ReviewCase.filter(review__platform_review_id="W1").update(assignee_id=agent.id)
    await sign_in(client, "agent")
    case = {
        r: (await ReviewCase.get(review__platform_review_id=r)).id for r in ("E1", "E2", "W1", "W2")
    }

    rows, total = await ids_on(client, "/reviews/")
    assert rows == [case["E1"], case["W1"], case["E2"]] and total == 3  # nearest window first
    assert (await ids_on(client, f"/reviews/?store={stores['west'].id}"))[0] == [case["W1"]]
    assert (await ids_on(client, "/reviews/?reason=quality"))[0] == [case["E2"]]
    assert (await ids_on(client, "/reviews/?assignee=me"))[0] == [case["W1"]]
    assert (await ids_on(client, "/reviews/?assignee=none"))[1] == 2
    assert (await ids_on(client, "/reviews/?due=soon"))[0] == [case["E1"]]
    assert (await ids_on(client, "/reviews/?status=closed"))[0] == [case["W2"]]
    assert (await ids_on(client, "/reviews/?since=yesterday"))[1] == 3  # all opened today
    await ReviewCase.filter(id=case["E2"]).update(escalated=True)
    assert (await ids_on(client, "/reviews/?escalated=1"))[0] == [case["E2"]]
    # A stale link's values are no filter (an unknown status: every case, as other queues).
    assert (await ids_on(client, "/reviews/?status=nonsense&kind=x&store=999999999999"))[1] == 4

    page = (await client.get("/reviews/")).text
    assert MARKUP not in page and html.escape(MARKUP, quote=False) in page


async def test_the_browser_lists_every_review_with_its_filters_and_pages(
    client: httpx.AsyncClient, app
) -> None:
    stores = await a_desk()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")

    async def total(query: str) -> int:
        page = await client.get(f"/reviews/all{query}")
        assert page.status_code == 200, query
        return count(page.text)

    assert await total("") == 6
    assert await total(f"?store={stores['east'].id}") == 3
    assert await total("?result=bad") == 1 and await total("?rating=5") == 1
    # What the classifier concluded, set here: these filters read the stored words.
    await Review.all().update(reasons=[], sentiment=Sentiment.NEGATIVE)
    await Review.filter(platform_review_id__in=["E3", "W3"]).update(sentiment=Sentiment.POSITIVE)
    await Review.filter(platform_review_id="E2").update(
        reasons=[{"reason": "quality", "confidence": 0.9}]
    )
    assert await total("?sentiment=positive") == 2
    assert await total("?reason=quality") == 1 and await total("?reason=other") == 5
    today = clock.now().astimezone(app.state.settings.zone).date()
    since = (today - timedelta(days=3)).isoformat()
    assert await total(f"?from={since}&to={today.isoformat()}") == 3
    assert await total("?q=客服") == 1 and await total("?product=nothing-like-it") == 0
    assert await total("?rating=99&from=not-a-day&sentiment=x") == 6  # bad filters: none

    west = stores["west"]
    now = clock.now()
    await take(west, [record(created_at=now - timedelta(hours=n), rating=5) for n in range(60)])
    first = (await client.get("/reviews/all")).text
    second = (await client.get("/reviews/all?page=2")).text
    assert count(first) == 66 and first.count("<tr>") - 1 == 50
    assert second.count("<tr>") - 1 == 16


async def test_pages_and_tiles_in_chinese_show_no_english_and_no_codes(
    client: httpx.AsyncClient, app
) -> None:
    await a_desk()
    await Review.filter(platform_review_id="W1").update(text="客服不理人")  # no test markup
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    zh = {"Accept-Language": "zh-CN"}
    for path in ("/reviews/", "/reviews/all", "/reviews/?status=closed", "/"):
        page = (await client.get(path, headers=zh)).text
        assert english_in(page, allowed=("CSV", "XLSX", "API", "ID", "SKU")) == [], path
    home = (await client.get("/", headers=zh)).text
    assert "昨日以来新的中差评" in home and "2 小时内到期的评价跟进" in home
    queue = (await client.get("/reviews/", headers=zh)).text
    assert "中差评" in queue and "东一" in queue and "1 星（满分 5 星）" in queue


async def test_an_agent_takes_a_case_from_the_queue_and_is_back_on_the_same_list(
    client: httpx.AsyncClient, app
) -> None:
    await a_desk()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case = await ReviewCase.get(review__platform_review_id="E1")
    page = (await client.get("/reviews/?due=soon")).text
    form = re.search(rf'<form id="assign-{case.id}" method="post" action="([^"]+)"', page)
    assert form and html.unescape(form.group(1)) == f"/reviews/cases/{case.id}/assign"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = await client.post(
        form.group(1),
        data={"csrf_token": token, "version": str(case.version), "next": "/reviews/?due=soon"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/reviews/?due=soon"
    assert (await ReviewCase.get(id=case.id)).assignee_id == agent.id
    assert (await ids_on(client, "/reviews/?assignee=me"))[0] == [case.id]
