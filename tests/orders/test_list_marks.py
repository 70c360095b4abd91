"""The orders list marks what a newcomer must know before acting on an order.

An order with an open refund or return carries a badge linking to that case
(asked of the refund and return modules through ``Registry.order_badges``,
once a page), and an order nobody has paid says so instead of ¥0.00.
"""

from __future__ import annotations

import re

import httpx

from aftersales.core.models import Role
from aftersales.orders.models import Order
from aftersales.refunds.models import OPEN_STATUSES as OPEN_REFUNDS
from aftersales.refunds.models import Refund
from aftersales.returns.models import ReturnCase
from connectors.base import OrderStatus
from tests.conftest import sign_in
from tests.factories import create_user
from tests.returns.test_api_flow import open_return
from tests.returns.test_cases import synced_shop


def _row(page: str, order: Order) -> str:
    """The list row of ``order``: from its link to the end of its table row."""
    start = page.index(f'<a href="/orders/{order.id}">')
    return page[start : page.index("</tr>", start)]


async def test_an_order_with_an_open_refund_or_return_links_to_it(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case, order, _item = await open_return(agent)

    page = (await client.get("/orders/", params={"q": order.platform_order_id})).text
    row = _row(page, order)
    assert f'<a class="badge warn" href="/returns/{case.id}">Return open</a>' in row

    refund = (
        await Refund.filter(status__in=OPEN_REFUNDS, worked_in__isnull=True).order_by("id").first()
    )
    assert refund is not None, "the demo shop has an open refund worked on its own"
    refunded = await Order.get(id=refund.order_id)
    page = (await client.get("/orders/", params={"q": refunded.platform_order_id})).text
    assert f'href="/refunds/{refund.id}">Refund open</a>' in _row(page, refunded)


async def test_closed_cases_and_untouched_orders_carry_no_badge(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    busy = set(await Refund.filter(status__in=OPEN_REFUNDS).values_list("order_id", flat=True))
    busy |= set(await ReturnCase.all().values_list("order_id", flat=True))
    calm = await Order.exclude(id__in=list(busy)).order_by("id").first()
    assert calm is not None
    page = (await client.get("/orders/", params={"q": calm.platform_order_id})).text
    assert 'class="badge' not in _row(page, calm)


async def test_the_page_badges_every_listed_order_with_an_open_refund(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    page = (await client.get("/orders/")).text
    listed = [int(i) for i in re.findall(r'<a href="/orders/(\d+)">', page)]
    # A refund its return case works is marked by that case (tests/returns/test_one_work_item).
    open_refunds = await Refund.filter(
        order_id__in=listed, status__in=OPEN_REFUNDS, worked_in__isnull=True
    )
    linked = {int(i) for i in re.findall(r'class="badge warn" href="/refunds/(\d+)"', page)}
    assert linked == {r.id for r in open_refunds}


async def test_an_unpaid_order_says_unpaid_not_zero(client: httpx.AsyncClient, app) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    unpaid = await Order.filter(status=OrderStatus.AWAITING_PAYMENT).first()
    assert unpaid is not None, "the demo shop has an order awaiting payment"
    page = (await client.get("/orders/", params={"q": unpaid.platform_order_id})).text
    row = _row(page, unpaid)
    assert '<span class="muted unpaid">Unpaid</span>' in row and "0.00" not in row

    paid = await Order.filter(status=OrderStatus.SHIPPED, paid_amount__gt=0).first()
    assert paid is not None
    page = (await client.get("/orders/", params={"q": paid.platform_order_id})).text
    assert "Unpaid" not in _row(page, paid) and f"{paid.paid_amount:.2f}" in _row(page, paid)

    zh = {"Accept-Language": "zh-CN"}
    page = (await client.get("/orders/", params={"q": unpaid.platform_order_id}, headers=zh)).text
    assert "未付款" in _row(page, unpaid)
