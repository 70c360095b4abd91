"""The review follow-up page: what an agent reads on it, and what its forms do."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from aftersales.core.config import Settings
from aftersales.core.models import Role
from aftersales.orders.models import Customer, Order
from aftersales.orders.service import create_store as create_platform_store
from aftersales.refunds.models import Refund, RefundRules
from aftersales.reviews.models import (
    ContactAttempt,
    ReplyState,
    Review,
    ReviewCase,
    ReviewCaseStatus,
    ReviewOutcome,
)
from tests.conftest import CSRF_RE, sign_in
from tests.factories import MARKUP, create_store, create_user
from tests.refunds.test_service import demo_shop
from tests.reviews.factories import create_review_case

pytestmark = pytest.mark.usefixtures("clean_db")


async def signed_in(client: httpx.AsyncClient, role: Role = Role.AGENT) -> None:
    client.headers["Accept-Language"] = "zh-CN"  # the agents' language
    user = await create_user(role=role)
    assert (await sign_in(client, user.username)).status_code == 303


async def page_of(client: httpx.AsyncClient, case: ReviewCase) -> str:
    response = await client.get(f"/reviews/cases/{case.id}")
    assert response.status_code == 200
    return response.text


def token_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match
    return match.group(1)


async def post(
    client: httpx.AsyncClient, case: ReviewCase, step: str, **form: str
) -> httpx.Response:
    html = await page_of(client, case)
    fresh = await ReviewCase.get(id=case.id)
    data = {"csrf_token": token_of(html), "version": str(fresh.version), **form}
    return await client.post(f"/reviews/cases/{case.id}/{step}", data=data)


async def a_case_on_an_order(**kw: object) -> ReviewCase:
    store = await demo_shop()
    order = await Order.filter(paid_amount__gt=Decimal("100")).order_by("id").first()
    assert order is not None
    return await create_review_case(store=store, order=order, **kw)  # type: ignore[arg-type]


async def test_the_page_shows_the_review_the_buyer_masked_and_the_windows(
    client: httpx.AsyncClient,
) -> None:
    case = await a_case_on_an_order(text="洗一次就起球", append_text="追评：客服也不回")
    customer = await Customer.get(id=(await Order.get(id=case.order_id)).customer_id)
    await signed_in(client)
    html = await page_of(client, case)
    assert "洗一次就起球" in html and "追评：客服也不回" in html
    assert "★☆☆☆☆" in html  # one star of five
    assert "商家可解释至" in html and "买家可修改评价至" in html
    assert "质量问题" in html  # the detected reason, in words
    assert customer.phone and customer.phone not in html  # an agent sees it masked
    assert customer.phone[-4:] in html
    assert "该平台不支持通过接口回复评价" in html  # the demo platform: ready to paste


async def test_a_supervisor_sees_the_buyers_phone(client: httpx.AsyncClient) -> None:
    case = await a_case_on_an_order()
    customer = await Customer.get(id=(await Order.get(id=case.order_id)).customer_id)
    await signed_in(client, Role.SUPERVISOR)
    assert customer.phone and customer.phone in await page_of(client, case)


async def test_the_reviews_text_is_escaped(client: httpx.AsyncClient) -> None:
    case = await create_review_case(text=f"差评 {MARKUP}")
    await signed_in(client)
    html = await page_of(client, case)
    assert MARKUP not in html and "&lt;img src=x" in html


async def test_an_agent_logs_a_contact_keeps_a_reply_to_paste_marks_it_and_closes(
    client: httpx.AsyncClient,
) -> None:
    case = await create_review_case()
    await signed_in(client)
    done = await post(client, case, "contacts", channel="phone", result="reached", note="已道歉")
    assert done.status_code == 303
    assert await ContactAttempt.filter(case_id=case.id).count() == 1
    html = await page_of(client, case)
    assert "联系记录已保存" in html and "已道歉" in html
    reply = "亲，非常抱歉给您带来不好的体验，我们已反馈品控。"
    await post(client, case, "reply", reply=reply)
    html = await page_of(client, case)
    assert "请复制到平台后台粘贴" in html and reply in html
    await post(client, case, "pasted")
    fresh = await ReviewCase.get(id=case.id)
    assert (fresh.reply_state, fresh.status) == (
        ReplyState.PASTED,
        ReviewCaseStatus.EXPLANATION_POSTED,
    )
    await post(client, case, "close", outcome="positive_follow_up", note="买家追评表示满意")
    fresh = await ReviewCase.get(id=case.id)
    assert (fresh.status, fresh.outcome) == (
        ReviewCaseStatus.CLOSED,
        ReviewOutcome.POSITIVE_FOLLOW_UP,
    )
    html = await page_of(client, case)
    assert f'action="/reviews/cases/{case.id}/contacts"' not in html  # closed: no forms


async def test_a_tied_offer_is_flashed_in_chinese_and_nothing_recorded(
    client: httpx.AsyncClient,
) -> None:
    case = await create_review_case()
    await signed_in(client)
    await post(client, case, "remedy", kind="coupon", offer="好评返现5元", why="挽回")
    html = await page_of(client, case)
    assert "绝不能要求买家修改或删除评价" in html
    assert "尚未提供补救" in html


async def test_a_stale_form_is_refused_with_a_flash(client: httpx.AsyncClient) -> None:
    case = await create_review_case()
    await signed_in(client)
    html = await page_of(client, case)
    form = {"csrf_token": token_of(html), "version": str(case.version), "channel": "chat"}
    await client.post(f"/reviews/cases/{case.id}/triage", data=form)
    await client.post(
        f"/reviews/cases/{case.id}/contacts", data={**form, "result": "reached"}
    )  # the version of the page before the triage
    assert await ContactAttempt.filter(case_id=case.id).count() == 0
    assert "刷新" in await page_of(client, case)


async def test_every_form_needs_its_csrf_token(client: httpx.AsyncClient) -> None:
    case = await create_review_case()
    await signed_in(client)
    html = await page_of(client, case)
    actions = set(re.findall(r'<form method="post" action="([^"]+)"', html))
    assert len(actions) >= 6
    forms = re.findall(r'<form method="post"[^>]*>(.*?)</form>', html, re.S)
    assert all('name="csrf_token"' in f for f in forms)
    refused = await client.post(
        f"/reviews/cases/{case.id}/contacts", data={"channel": "chat", "result": "reached"}
    )
    assert refused.status_code == 403
    assert await ContactAttempt.filter(case_id=case.id).count() == 0


async def test_past_the_window_the_page_offers_no_reply(client: httpx.AsyncClient) -> None:
    case = await create_review_case(explain_by=datetime.now(UTC) - timedelta(hours=1))
    await signed_in(client)
    html = await page_of(client, case)
    assert "该评价的解释期已结束" in html and 'id="reply-form"' not in html


async def test_a_correction_from_the_page_and_the_managers_export(
    client: httpx.AsyncClient,
) -> None:
    case = await create_review_case(text="快递太慢")
    await signed_in(client)
    await post(client, case, "correct", sentiment="neutral", reason="logistics")
    review = await Review.get(id=case.review_id)
    assert review.corrected_at is not None and review.sentiment.value == "neutral"
    assert (await client.get("/reviews/corrections.jsonl")).status_code == 403
    await client.post("/logout", data={"csrf_token": token_of(await page_of(client, case))})
    await signed_in(client, Role.SUPERVISOR)
    export = await client.get("/reviews/corrections.jsonl")
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert lines == [{"text": "快递太慢", "sentiment": "neutral", "reasons": ["logistics"]}]


async def test_another_stores_page_is_a_404_for_an_unknown_case(client: httpx.AsyncClient) -> None:
    await create_store()
    await signed_in(client)
    assert (await client.get("/reviews/cases/999999")).status_code == 404


async def test_a_queued_reply_shows_where_its_write_back_stands(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    store = await create_platform_store(
        name="淘宝店",
        platform="taobao",
        base_url="http://127.0.0.1:9",
        credentials={"app_key": "12345678", "app_secret": "s" * 32, "session": "6100e"},
        secret_key=settings.secret_key,
    )
    case = await create_review_case(store=store)
    await signed_in(client)
    html = await page_of(client, case)
    assert "该平台不支持通过接口回复评价" not in html and "发布评价解释" in html
    await post(client, case, "reply", reply="亲，非常抱歉，我们已经改进包装。")
    html = await page_of(client, case)
    assert "等待发送到" in html and 'id="reply-form"' not in html


async def test_over_the_cap_the_page_says_so_and_the_agent_sends_it_to_a_supervisor(
    client: httpx.AsyncClient,
) -> None:
    case = await a_case_on_an_order()
    await RefundRules.create(store_id=case.store_id, ad_hoc_agent_up_to=Decimal("20.00"))
    await signed_in(client)
    html = await page_of(client, case)
    assert "您在本店最多可补偿" in html and "20.00" in html
    await post(
        client, case, "remedy", kind="compensation", amount="80", offer="为您补偿80元", why="质量"
    )
    html = await page_of(client, case)
    assert "超过 20.00 的退款需主管审批" in html and "尚未提供补救" in html
    assert await Refund.filter(review_case_id=case.id).count() == 0
    await post(client, case, "refer", note="建议补偿80元")
    html = await page_of(client, case)
    assert "交给了主管" in html and "建议补偿80元" in html and 'id="refer"' not in html
