"""Order pages: search, detail, and buyer contact masked by role."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.orders.models import Order
from aftersales.orders.sync import sync_orders
from connectors.demo import DemoConnector
from tests.conftest import sign_in
from tests.factories import create_store, create_user

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture
async def demo_orders(app) -> list:
    store = await create_store()
    connector = DemoConnector(now=NOW)
    await sync_orders(store, connector)
    return connector.all_orders()


async def test_orders_list_pages_on_the_server(client: httpx.AsyncClient, demo_orders) -> None:
    await create_user(username="a1")
    await sign_in(client, "a1")
    page = await client.get("/orders/")
    assert page.status_code == 200
    assert f"{len(demo_orders)} orders" in page.text
    assert len(re.findall(r'<a href="/orders/\d+">', page.text)) == 50
    last = await client.get("/orders/?page=999")
    assert "Previous" in last.text


async def test_search_by_order_number_nick_phone_tail_and_product(
    client: httpx.AsyncClient, demo_orders
) -> None:
    await create_user(username="a2")
    await sign_in(client, "a2")
    target = demo_orders[17]
    for text in (
        target.platform_order_id,
        target.buyer.nick,
        target.buyer.phone[-4:],
        target.items[0].title,
    ):
        page = await client.get("/orders/", params={"q": text})
        assert target.platform_order_id in page.text, text
    nothing = await client.get("/orders/", params={"q": "没有这种商品"})
    assert "No orders match." in nothing.text


async def test_agents_see_masked_contact_and_owners_see_it_whole(
    client: httpx.AsyncClient, demo_orders
) -> None:
    order = await Order.first().prefetch_related("customer")
    phone = order.customer.phone
    await create_user(username="agent", role=Role.AGENT)
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "agent")
    page = await client.get(f"/orders/{order.id}")
    assert phone not in page.text
    assert phone[-4:] in page.text
    assert order.customer.address not in page.text
    client.cookies.clear()
    await sign_in(client, "owner")
    page = await client.get(f"/orders/{order.id}")
    assert phone in page.text
    assert order.customer.address in page.text


async def test_home_tiles_count_the_morning_checks(client: httpx.AsyncClient, demo_orders) -> None:
    clock.travel(NOW - clock.now())
    unpaid = [
        o
        for o in demo_orders
        if o.status == "awaiting_payment" and o.created_at < NOW - timedelta(days=1)
    ]
    late = [
        o
        for o in demo_orders
        if o.status == "awaiting_shipment" and o.paid_at < NOW - timedelta(hours=48)
    ]
    await create_user(username="a3")
    await sign_in(client, "a3")
    home = await client.get("/")
    assert (
        f'href="/orders/?check=unpaid_over_a_day">\n  <span class="value">{len(unpaid)}</span>'
        in home.text
    )
    assert (
        f'href="/orders/?check=late_shipment">\n  <span class="value">{len(late)}</span>'
        in home.text
    )


async def test_missing_order_is_a_404_page(client: httpx.AsyncClient) -> None:
    await create_user(username="a4")
    await sign_in(client, "a4")
    assert (await client.get("/orders/999999")).status_code == 404


async def test_orders_filter_by_store_day_and_sort(client: httpx.AsyncClient, demo_orders) -> None:
    other = await create_store(name="另一家")
    await create_user(username="a5")
    await sign_in(client, "a5")
    none = await client.get("/orders/", params={"store": other.id})
    assert "0 orders" in none.text
    # Days are the shop's (Asia/Shanghai): 2026-11-20 is 16:00 UTC on the 19th to the 20th.
    day_start = datetime(2026, 11, 19, 16, tzinfo=UTC)
    expected = [o for o in demo_orders if day_start <= o.created_at < day_start + timedelta(days=1)]
    page = await client.get("/orders/", params={"from": "2026-11-20", "to": "2026-11-20"})
    assert f"{len(expected)} orders" in page.text
    high = await client.get("/orders/", params={"sort": "paid_high"})
    top = max(demo_orders, key=lambda o: o.paid_amount)
    first_row = high.text.split("<tbody>")[1].split("</tr>")[0]
    assert f"{top.paid_amount:,.2f}" in first_row


async def test_a_failing_store_sync_shows_on_the_home_page(
    client: httpx.AsyncClient, demo_orders
) -> None:
    from aftersales.orders.models import SyncState

    await SyncState.all().update(last_error="AuthFailed: the platform refused the credentials")
    await create_user(username="a6")
    await sign_in(client, "a6")
    home = await client.get("/")
    assert "Store syncs failing" in home.text


async def test_order_detail_shows_parcels_and_a_timeline(
    client: httpx.AsyncClient, demo_orders
) -> None:
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    record = next(o for o in demo_orders if o.shipments)
    parcel = record.shipments[0]
    order = await Order.get(platform_order_id=record.platform_order_id)
    page = (await client.get(f"/orders/{order.id}")).text
    # The carrier in the reader's words: 圆通速递 reads "YTO Express" on an English page.
    english = {"中通快递": "ZTO Express", "圆通速递": "YTO Express", "顺丰速运": "SF Express"}
    english["韵达快递"] = "Yunda Express"
    assert parcel.tracking_no in page and english.get(parcel.carrier, parcel.carrier) in page
    timeline = page[page.index('class="timeline"') :]
    # Newest first: the parcel left after the payment, which came after the order.
    assert timeline.index("Parcel sent") < timeline.index("Paid") < timeline.index("Order placed")
    unshipped = next(o for o in demo_orders if not o.shipments)
    order = await Order.get(platform_order_id=unshipped.platform_order_id)
    assert "No tracking number yet." in (await client.get(f"/orders/{order.id}")).text
