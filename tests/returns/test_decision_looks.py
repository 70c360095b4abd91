"""Saying no looks unlike saying yes, and the buyer-facing reason has room.

A newcomer pressed "Refuse" for "Approve" when both were the same orange
button: the refusing buttons (refuse a refund or a return, cancel a case)
carry ``danger``, the approving ones do not, and the reasons are wide boxes.
"""

from __future__ import annotations

import re

import httpx

from aftersales.core.models import Role
from aftersales.refunds.models import Refund, RefundStatus
from tests.conftest import sign_in
from tests.factories import create_store, create_user
from tests.returns.test_api_flow import open_return
from tests.returns.test_cases import synced_shop


def _buttons(page: str) -> dict[str, str]:
    """Button caption -> its class attribute ('' when it has none)."""
    found = re.findall(r'<button type="submit"(?: class="([^"]*)")?>([^<]+)</button>', page)
    return {caption.strip(): cls for cls, caption in found}


async def test_refusing_a_refund_is_a_danger_button_and_approving_is_not(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    # A refund worked here: one its return case works offers no decision of its own.
    refund = (
        await Refund.filter(status=RefundStatus.REQUESTED, worked_in__isnull=True)
        .order_by("id")
        .first()
    )
    assert refund is not None
    page = (await client.get(f"/refunds/{refund.id}")).text
    buttons = _buttons(page)
    assert buttons["Refuse"] == "danger" and "danger" not in buttons["Approve"]
    assert '<textarea name="reason" class="reason" rows="4"' in page
    assert "button.danger" in (await client.get("/static/desk.css")).text


async def test_refusing_or_cancelling_a_return_is_a_danger_button(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case, _order, _item = await open_return(agent)
    page = (await client.get(f"/returns/{case.id}")).text
    buttons = _buttons(page)
    assert buttons["Refuse"] == "danger" and "danger" not in buttons["Approve the return"]
    assert buttons["Cancel the case"] == "danger"
    assert '<textarea name="reason" class="reason"' in page
    assert '<textarea name="note" class="reason" rows="3">' in page  # the closing note


async def test_the_store_page_links_to_its_refund_rules_and_return_policy(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    page = (await client.get(f"/orders/stores/{store.id}")).text
    assert f'href="/refunds/rules/{store.id}">Refund rules</a>' in page
    assert f'href="/returns/policy/{store.id}">Return policy</a>' in page
    zh = await client.get(f"/orders/stores/{store.id}", headers={"Accept-Language": "zh-CN"})
    assert "退款规则" in zh.text and "退换货政策" in zh.text


async def test_the_open_filter_reads_unfinished_in_chinese(client: httpx.AsyncClient, app) -> None:
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    for path in ("/refunds/", "/returns/"):
        page = (await client.get(path, headers={"Accept-Language": "zh-CN"})).text
        assert '<option value="open">未完结</option>' in page, path
