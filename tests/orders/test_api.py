"""The orders API: conventions of ARCHITECTURE.md (paging, money strings, Z times, roles)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from arq.connections import ArqRedis

from aftersales.core import service as core_service
from aftersales.core.models import Role
from aftersales.orders.models import Customer, Order
from aftersales.orders.sync import sync_orders
from connectors.demo import DemoConnector
from tests.factories import create_store, create_user

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


async def bearer(role: Role) -> dict[str, str]:
    user = await create_user(role=role)
    return {"Authorization": f"Bearer {await core_service.create_token(user, 'test')}"}


@pytest.fixture
async def demo(app) -> list:
    store = await create_store()
    connector = DemoConnector(now=NOW)
    await sync_orders(store, connector)
    return connector.all_orders()


async def test_orders_list_pages_and_filters(client: httpx.AsyncClient, demo) -> None:
    headers = await bearer(Role.AGENT)
    page = (await client.get("/api/v1/orders?per_page=20&page=2", headers=headers)).json()
    assert page["total"] == len(demo)
    assert page["page"] == 2 and page["per_page"] == 20 and len(page["items"]) == 20
    first = page["items"][0]
    assert isinstance(first["paid_amount"], str) and first["paid_amount"].count(".") == 1
    assert first["placed_at"].endswith("Z")
    assert isinstance(first["platform_order_id"], str)

    unpaid = (
        await client.get("/api/v1/orders?status=awaiting_payment&per_page=500", headers=headers)
    ).json()
    expected = sum(1 for o in demo if o.status == "awaiting_payment")
    assert unpaid["total"] == expected
    assert {o["status"] for o in unpaid["items"]} <= {"awaiting_payment"}

    recent = (
        await client.get(
            "/api/v1/orders", params={"placed_from": "2026-11-20T00:00:00Z"}, headers=headers
        )
    ).json()
    assert recent["total"] == sum(
        1 for o in demo if o.created_at >= datetime(2026, 11, 20, tzinfo=UTC)
    )

    bad = await client.get("/api/v1/orders?status=lost", headers=headers)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_parameter"


async def test_contact_details_follow_the_role(client: httpx.AsyncClient, demo) -> None:
    order = await Order.first().prefetch_related("customer")
    phone = order.customer.phone
    agent = (
        await client.get(f"/api/v1/orders/{order.id}", headers=await bearer(Role.AGENT))
    ).json()
    owner = (
        await client.get(f"/api/v1/orders/{order.id}", headers=await bearer(Role.OWNER))
    ).json()
    assert agent["customer"]["phone"] != phone and agent["customer"]["phone"].endswith(phone[-4:])
    assert owner["customer"]["phone"] == phone


async def test_customer_shows_every_order_of_the_buyer(client: httpx.AsyncClient, demo) -> None:
    customer = await Customer.first()
    body = (
        await client.get(f"/api/v1/customers/{customer.id}", headers=await bearer(Role.AGENT))
    ).json()
    assert len(body["orders"]) == await Order.filter(customer=customer).count()


async def test_connecting_a_store_needs_an_owner_and_hides_secrets(
    client: httpx.AsyncClient, app, redis: ArqRedis
) -> None:
    payload = {
        "name": "Woo",
        "platform": "woocommerce",
        "base_url": "https://shop.example",
        "credentials": {"key": "ck", "secret": "cs-very-secret"},
    }
    refused = await client.post("/api/v1/stores", json=payload, headers=await bearer(Role.AGENT))
    assert refused.status_code == 403
    created = await client.post("/api/v1/stores", json=payload, headers=await bearer(Role.OWNER))
    assert created.status_code == 201
    assert "cs-very-secret" not in created.text
    store_id = created.json()["id"]
    missing = await client.post(
        "/api/v1/stores",
        json={"name": "x", "platform": "shopify"},
        headers=await bearer(Role.ADMIN),
    )
    assert missing.status_code == 400

    supervisor = await bearer(Role.SUPERVISOR)
    queued = await client.post(f"/api/v1/stores/{store_id}/sync", headers=supervisor)
    assert queued.status_code == 202
    assert queued.json()["queued"] == ["orders", "after_sales", "reviews"]
    again = await client.post(f"/api/v1/stores/{store_id}/sync", headers=supervisor)
    assert again.json()["queued"] == []  # already queued: not twice
    jobs = [j.decode() for j in await redis.zrange("arq:queue", 0, -1)]
    assert sum(j.startswith(f"sync:{store_id}:") for j in jobs) == 3
