"""The order timeline tells the shop's own refunds from the buyer's requests."""

from __future__ import annotations

import re

import httpx
import pytest

from aftersales.core.models import Role
from aftersales.refunds.models import Refund, RefundKind
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.refunds.test_service import demo_shop
from tests.refunds.test_start import a_paid_order

pytestmark = pytest.mark.usefixtures("clean_db")


def timeline(page: str) -> list[str]:
    section = page[page.index('<ol class="timeline">') :]
    return re.findall(r"<strong>([^<]+)</strong>", section[: section.index("</ol>")])


async def test_a_compensation_the_shop_started_is_the_shops_refund_not_a_buyer_request(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    order = await a_paid_order()
    assert not await Refund.filter(order_id=order.id).exists()
    await create_user(username="sup", role=Role.SUPERVISOR)
    await sign_in(client, "sup")
    token = await csrf_from(client, f"/refunds/new?order={order.id}")
    await client.post(
        "/refunds/new",
        data={"csrf_token": token, "order": str(order.id), "kind": "compensation",
              "amount": "12.50", "reason": "service", "note": "态度不好，致歉补偿"},
    )  # fmt: skip
    assert await Refund.filter(order_id=order.id, kind=RefundKind.COMPENSATION).exists()
    english = timeline((await client.get(f"/orders/{order.id}")).text)
    assert "Compensation started by the shop" in english
    assert "Refund requested" not in english
    chinese = timeline(
        (await client.get(f"/orders/{order.id}", headers={"Accept-Language": "zh-CN"})).text
    )
    assert "店铺发起补偿" in chinese and "买家申请退款" not in chinese


async def test_a_buyers_request_still_shows_as_the_buyers(client: httpx.AsyncClient, app) -> None:
    await demo_shop()
    requested = await Refund.filter(platform_refund_id__not_isnull=True).first()
    assert requested is not None
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    events = timeline((await client.get(f"/orders/{requested.order_id}")).text)
    assert "Refund requested" in events
    assert not any("started by the shop" in e for e in events)
