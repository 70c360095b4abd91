"""Signed webhooks through the real app: good ones land at once, forged ones change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest

from aftersales.core.config import Settings
from aftersales.orders.models import Order
from aftersales.orders.service import create_store

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
SECRET = "whsec-test-123"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def woo_order(status: str = "processing") -> bytes:
    order = json.loads((FIXTURES / "woocommerce/orders--retrieve-an-order.json").read_text())
    return json.dumps(order | {"status": status}).encode()


def woo_headers(body: bytes, delivery: str, signature: str | None = None) -> dict[str, str]:
    return {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": signature or sign(body),
        "Content-Type": "application/json",
    }


@pytest.fixture
async def woo_store(app, settings: Settings):
    return await create_store(
        name="Woo",
        platform="woocommerce",
        base_url="https://shop.example",
        credentials={"key": "ck", "secret": "cs", "webhook_secret": SECRET},
        secret_key=settings.secret_key,
    )


async def test_a_signed_woocommerce_webhook_upserts_the_order(
    client: httpx.AsyncClient, woo_store
) -> None:
    body = woo_order()
    response = await client.post(
        f"/hooks/woocommerce/{woo_store.id}", content=body, headers=woo_headers(body, "d1")
    )
    assert response.status_code == 200, response.text
    order = await Order.get(store_id=woo_store.id)
    assert order.platform_order_id == "727"
    assert order.platform_status == "processing"


async def test_a_forged_webhook_gets_401_and_changes_nothing(
    client: httpx.AsyncClient, woo_store
) -> None:
    body = woo_order()
    for signature in (sign(body, "guessed-secret"), "", sign(body + b" ")):
        response = await client.post(
            f"/hooks/woocommerce/{woo_store.id}",
            content=body,
            headers=woo_headers(body, "d2", signature or "bm9wZQ=="),
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_signature"
    assert not await Order.exists(store_id=woo_store.id)


async def test_a_replayed_delivery_changes_nothing(client: httpx.AsyncClient, woo_store) -> None:
    first = woo_order("processing")
    await client.post(
        f"/hooks/woocommerce/{woo_store.id}", content=first, headers=woo_headers(first, "d3")
    )
    replay = woo_order("cancelled")
    response = await client.post(
        f"/hooks/woocommerce/{woo_store.id}", content=replay, headers=woo_headers(replay, "d3")
    )
    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"
    assert (await Order.get(store_id=woo_store.id)).platform_status == "processing"


async def test_the_woocommerce_creation_ping_is_answered(
    client: httpx.AsyncClient, woo_store
) -> None:
    response = await client.post(
        f"/hooks/woocommerce/{woo_store.id}",
        content=b"webhook_id=15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200


async def test_a_store_without_a_webhook_secret_refuses_everything(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    store = await create_store(
        name="NoSecret",
        platform="woocommerce",
        base_url="https://shop.example",
        credentials={"key": "ck", "secret": "cs"},
        secret_key=settings.secret_key,
    )
    body = woo_order()
    forged = base64.b64encode(hmac.new(b"", body, hashlib.sha256).digest()).decode()
    response = await client.post(
        f"/hooks/woocommerce/{store.id}", content=body, headers=woo_headers(body, "d4", forged)
    )
    assert response.status_code == 401


async def test_a_signed_shopify_webhook_upserts_the_order(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    store = await create_store(
        name="Shopify",
        platform="shopify",
        credentials={"shop": "s", "token": "t", "webhook_secret": SECRET},
        secret_key=settings.secret_key,
    )
    order = json.loads((FIXTURES / "shopify/orders-2024-04.json").read_text())["orders"][0]
    body = json.dumps(order).encode()
    headers = {
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Hmac-Sha256": sign(body),
        "X-Shopify-Webhook-Id": "w1",
        "X-Shopify-Shop-Domain": "s.myshopify.com",
    }
    response = await client.post(f"/hooks/shopify/{store.id}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert (await Order.get(store_id=store.id)).platform_order_id == "450789469"
    headers["X-Shopify-Hmac-Sha256"] = sign(body, "wrong")
    headers["X-Shopify-Webhook-Id"] = "w2"
    response = await client.post(f"/hooks/shopify/{store.id}", content=body, headers=headers)
    assert response.status_code == 401


async def test_a_webhook_for_an_unknown_store_is_404(client: httpx.AsyncClient) -> None:
    body = woo_order()
    response = await client.post(
        "/hooks/woocommerce/99999", content=body, headers=woo_headers(body, "d5")
    )
    assert response.status_code == 404
