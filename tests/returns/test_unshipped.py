"""A return on an order that never shipped: the policy says so, and the desk points elsewhere."""

from __future__ import annotations

import httpx
import pytest

from aftersales.core.models import Role
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, OrderItem
from aftersales.returns import service
from aftersales.returns.models import ReturnCase
from aftersales.returns.policy import ReturnKind
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.orders.test_api import bearer
from tests.returns.test_cases import synced_shop

pytestmark = pytest.mark.usefixtures("clean_db")


async def an_unshipped_item() -> tuple[Order, OrderItem]:
    order = await Order.filter(shipped_at__isnull=True, paid_at__not_isnull=True).first()
    assert order is not None, "the demo shop has paid orders waiting to ship"
    item = await OrderItem.filter(order_id=order.id).order_by("id").first()
    assert item is not None
    return order, item


async def test_a_return_on_an_unshipped_order_is_not_inside_the_policy(
    client: httpx.AsyncClient,
) -> None:
    await synced_shop()
    headers = await bearer(Role.AGENT)
    order, item = await an_unshipped_item()
    verdict = (
        await client.get(
            f"/api/v1/returns/policy-check?order_id={order.id}&item_id={item.platform_item_id}"
            "&reason=changed_mind&kind=return",
            headers=headers,
        )
    ).json()
    assert verdict["allowed"] is False
    assert verdict["rules"][-1]["rule"] == "not_delivered"
    assert verdict["rules"][-1]["passed"] is False
    assert "refund-only" in verdict["explanation"]

    before = await ReturnCase.all().count()
    body = {
        "order_id": order.id,
        "kind": "return",
        "reason": "changed_mind",
        "lines": [{"platform_item_id": item.platform_item_id, "quantity": 1}],
    }
    refused = await client.post("/api/v1/returns", json=body, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "return_not_delivered"
    assert "refund-only" in refused.json()["error"]["message"]
    in_chinese = await client.post(
        "/api/v1/returns", json=body, headers={**headers, "Accept-Language": "zh-CN"}
    )
    assert in_chinese.status_code == 400
    assert "尚未发货" in in_chinese.json()["error"]["message"]
    assert await ReturnCase.all().count() == before


async def test_the_new_return_form_refuses_an_unshipped_order_in_the_agents_language(
    client: httpx.AsyncClient,
) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    order, item = await an_unshipped_item()
    before = await ReturnCase.all().count()
    token = await csrf_from(client, f"/returns/new?order={order.id}")
    form = {
        "csrf_token": token,
        "order": str(order.id),
        "kind": "return",
        "reason": "changed_mind",
        f"qty_{item.platform_item_id}": "1",
    }
    page = await client.post(
        "/returns/new", data=form, headers={"Accept-Language": "zh-CN"}, follow_redirects=True
    )
    assert "尚未发货" in page.text and "仅退款" in page.text
    assert await ReturnCase.all().count() == before


async def test_a_platform_request_on_an_unshipped_order_is_held_with_the_rule_in_both_languages(
    client: httpx.AsyncClient,
) -> None:
    await synced_shop()
    order, item = await an_unshipped_item()
    # A platform's request (no desk actor) is kept, so nothing the platform sent is lost.
    case = await service.open_case(
        order.id,
        kind=ReturnKind.RETURN,
        lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.CHANGED_MIND,
        actor=None,
    )
    assert case.policy_allowed is False
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    english = (await client.get(f"/returns/{case.id}", headers={"Accept-Language": "en"})).text
    assert "Outside the policy" in english
    assert "the goods have not reached the buyer" in english and "refund-only" in english
    chinese = (await client.get(f"/returns/{case.id}", headers={"Accept-Language": "zh-CN"})).text
    assert "商品还没有送到买家手中" in chinese and "仅退款" in chinese
