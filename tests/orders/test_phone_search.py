"""Searching a buyer's whole phone number finds their orders, whatever format it is stored in."""

from __future__ import annotations

import re

import httpx

from aftersales.core.models import Role
from aftersales.orders.models import Customer, Order
from tests.conftest import sign_in
from tests.factories import create_user
from tests.orders.test_routes import demo_orders  # noqa: F401  (fixture)


def listed(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'<a href="/orders/(\d+)">', page)}


async def test_a_full_phone_number_finds_the_buyers_orders_in_any_format(
    client: httpx.AsyncClient,
    demo_orders,  # noqa: F811
) -> None:
    plain, spaced, masked = await Customer.all().order_by("id").limit(3)
    plain.phone = "13812345678"
    spaced.phone = "+86 139-8765-4321"
    masked.phone = "137****2468"  # as Taobao hands it out
    for customer in (plain, spaced, masked):
        await customer.save(update_fields=["phone"])
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    typed = {
        plain.id: ["13812345678", "138 1234 5678", "+86 138-1234-5678", "0086 13812345678",
                   "１３８１２３４５６７８"],
        spaced.id: ["13987654321", "139-8765-4321", "+8613987654321"],
        masked.id: ["13700002468", "137 9999 2468"],
    }  # fmt: skip
    for customer_id, numbers in typed.items():
        orders = set(await Order.filter(customer_id=customer_id).values_list("id", flat=True))
        assert orders
        for number in numbers:
            page = (await client.get("/orders/", params={"q": number})).text
            assert listed(page) == orders, number
    # Another number, or a part of one, finds nobody: a masked number cannot be probed
    # digit by digit, and the list never prints a phone to a role that sees it masked.
    for number in ("13812345679", "1381234", "13612342468", "138123456780"):
        page = (await client.get("/orders/", params={"q": number})).text
        assert not listed(page) & set(await Order.filter(customer_id=plain.id).values_list(
            "id", flat=True)), number  # fmt: skip
    page = (await client.get("/orders/", params={"q": "+86 139-8765-4321"})).text
    assert "13987654321" not in page and "8765" not in page.replace("139-8765-4321", "")
