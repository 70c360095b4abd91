"""Signed webhooks through the real app: good ones land at once, forged ones change nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, Store
from aftersales.orders.models import Order, SyncError, SyncState
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, sync_stream
from aftersales.orders.webhooks import MAX_BODY_BYTES
from connectors import woocommerce
from connectors.base import OrderStatus, Stream
from tests.fakes.serve import serve
from tests.fakes.woocommerce import FakeWooShop, make_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
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


async def post_forged_to_unsigned_store(
    client: httpx.AsyncClient, settings: Settings, delivery: str
) -> tuple[Store, httpx.Response]:
    """A store saved with no webhook secret, and an order signed with the empty key."""
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
        f"/hooks/woocommerce/{store.id}", content=body, headers=woo_headers(body, delivery, forged)
    )
    return store, response


async def test_a_store_without_a_webhook_secret_refuses_everything(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, response = await post_forged_to_unsigned_store(client, settings, "d4")
    assert response.status_code == 401


async def test_a_store_without_a_webhook_secret_is_refused_before_its_verifier_is_trusted(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desk refuses unsigned stores itself; a verifier that forgets to is not enough.

    Anyone can compute an HMAC keyed with "": a connector that checked the
    signature without refusing an empty secret would take a forged order.
    """
    checked: list[str] = []

    def careless(secret: str, body: bytes, signature: str | None) -> bool:
        checked.append(secret)
        return True

    monkeypatch.setattr(woocommerce, "verify_webhook", careless)
    store, response = await post_forged_to_unsigned_store(client, settings, "d6")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "no_webhook_secret"
    assert not await Order.filter(store_id=store.id).exists()
    assert "" not in checked
    # WooCommerce's unsigned creation ping is still answered, so the hook can be saved.
    ping = await client.post(
        f"/hooks/woocommerce/{store.id}",
        content=b"webhook_id=15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ping.status_code == 200 and ping.json() == {"status": "pong"}


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


def woo_version(status: str, modified_gmt: str, **changes: object) -> bytes:
    """The fixture order as the shop sent it at one moment (its ``date_modified``)."""
    order = json.loads((FIXTURES / "woocommerce/orders--retrieve-an-order.json").read_text())
    order |= {"status": status, "date_modified_gmt": modified_gmt, "date_modified": modified_gmt}
    return json.dumps(order | changes).encode()


async def post_woo(
    client: httpx.AsyncClient, store_id: int, body: bytes, delivery: str
) -> httpx.Response:
    return await client.post(
        f"/hooks/woocommerce/{store_id}", content=body, headers=woo_headers(body, delivery)
    )


async def applied_changes(store_id: int) -> int:
    order = await Order.get(store_id=store_id)
    return await AuditEvent.filter(
        action="order.webhook_applied", subject_type="order", subject_id=str(order.id)
    ).count()


async def test_a_signed_body_resent_under_a_new_delivery_id_is_taken_once(
    client: httpx.AsyncClient, woo_store
) -> None:
    body = woo_version("processing", "2017-03-22T19:28:08")
    first = await post_woo(client, woo_store.id, body, "d-1")
    assert first.json()["status"] == "ok"
    for delivery in ("d-2", "d-3"):
        again = await post_woo(client, woo_store.id, body, delivery)
        assert again.status_code == 200
        assert again.json()["status"] == "duplicate"
    assert await applied_changes(woo_store.id) == 1


async def test_an_older_processing_after_completed_leaves_the_order_completed(
    client: httpx.AsyncClient, woo_store
) -> None:
    older = woo_version("processing", "2017-03-22T19:28:08")
    newer = woo_version(
        "completed", "2017-03-24T09:00:00", date_completed_gmt="2017-03-24T09:00:00"
    )
    assert (await post_woo(client, woo_store.id, newer, "d-new")).json()["status"] == "ok"
    # The older version arrives late (or is replayed after the replay window): never seen here.
    late = await post_woo(client, woo_store.id, older, "d-old")
    assert late.status_code == 200
    assert late.json()["status"] == "stale"
    # ... and with one more byte of whitespace, a body whose digest is new.
    again = await post_woo(client, woo_store.id, older + b" ", "d-old-2")
    assert again.json()["status"] == "stale"
    order = await Order.get(store_id=woo_store.id)
    assert (order.status, order.platform_status) == (OrderStatus.COMPLETED, "completed")
    assert await applied_changes(woo_store.id) == 1
    # The same moment sent twice is the same version: taking it again changes nothing.
    same_time = woo_version("completed", "2017-03-24T09:00:00", customer_note="x")
    assert (await post_woo(client, woo_store.id, same_time, "d-same")).json()["status"] == "ok"
    assert (await Order.get(store_id=woo_store.id)).status == OrderStatus.COMPLETED


async def test_a_sync_page_with_an_older_version_does_not_roll_the_order_back(
    client: httpx.AsyncClient, app, settings: Settings
) -> None:
    shop = FakeWooShop()
    now = datetime.now(UTC).replace(microsecond=0)
    shop.seed(1, start=now - timedelta(days=3), refund_every=0)
    shop.touch(1000, now - timedelta(hours=2), status="processing")
    with serve(make_app(shop)) as url:
        store = await create_store(
            name="Woo",
            platform="woocommerce",
            base_url=url,
            credentials={"key": shop.key, "secret": shop.secret, "webhook_secret": SECRET},
            secret_key=settings.secret_key,
        )
        # The shop completes the order; the webhook lands before the next sync.
        webhook = dict(shop.orders[1000])
        modified = (now - timedelta(minutes=5)).replace(tzinfo=None).isoformat()
        webhook |= {"status": "completed", "date_modified_gmt": modified}
        body = json.dumps(webhook).encode()
        assert (await post_woo(client, store.id, body, "d-1")).json()["status"] == "ok"

        async def sync() -> None:
            connector = connector_for(store, settings.secret_key)
            try:
                await sync_stream(store, Stream.ORDERS, connector)
            finally:
                await connector.aclose()

        await sync()  # its page still carries the order as it was two hours ago
        order = await Order.get(store_id=store.id)
        assert (order.status, order.platform_status) == (OrderStatus.COMPLETED, "completed")
        assert order.platform_updated_at == now - timedelta(minutes=5)
        # A webhook and a sync racing: whichever commits first, the newer version stays.
        newest = webhook | {"status": "on-hold", "date_modified_gmt": modified[:-2] + "59"}
        body = json.dumps(newest).encode()
        await SyncState.filter(store_id=store.id).update(cursor=None)
        await asyncio.gather(post_woo(client, store.id, body, "d-2"), sync(), sync())
        order = await Order.get(store_id=store.id)
        assert order.platform_status == "on-hold"
        # A newer version from the platform still lands through the sync.
        shop.touch(1000, now - timedelta(minutes=1), status="refunded")
        await SyncState.filter(store_id=store.id).update(cursor=None)
        await sync()
        assert (await Order.get(store_id=store.id)).platform_status == "refunded"


async def streamed(total: int, consumed: list[int], chunk: int = 64 * 1024):
    """A body of ``total`` bytes handed over chunk by chunk, counting what the app took."""
    sent = 0
    while sent < total:
        piece = b"x" * min(chunk, total - sent)
        sent += len(piece)
        consumed[0] = sent
        yield piece


async def test_an_oversize_body_is_413_without_being_read(
    client: httpx.AsyncClient, woo_store
) -> None:
    big = 50 * 1024 * 1024
    consumed = [0]
    response = await client.post(
        f"/hooks/woocommerce/{woo_store.id}",
        content=streamed(big, consumed),
        headers={"Content-Type": "application/json", "X-WC-Webhook-Signature": "bm9wZQ=="},
    )
    assert response.status_code == 413
    assert consumed[0] <= MAX_BODY_BYTES + 64 * 1024  # given up at the limit, not at 50 MB
    # A declared size over the limit is refused before a single byte is read.
    consumed = [0]
    response = await client.post(
        f"/hooks/woocommerce/{woo_store.id}",
        content=streamed(big, consumed),
        headers={"Content-Length": str(300 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert consumed[0] == 0
    # A Content-Length that lies low does not get more through.
    consumed = [0]
    response = await client.post(
        f"/hooks/woocommerce/{woo_store.id}",
        content=streamed(big, consumed),
        headers={"Content-Length": "100"},
    )
    assert response.status_code == 413
    assert consumed[0] <= MAX_BODY_BYTES + 64 * 1024
    # An unknown store is refused before its body is read at all.
    consumed = [0]
    for store_id in ("99999", "9" * 30):
        response = await client.post(
            f"/hooks/woocommerce/{store_id}", content=streamed(big, consumed)
        )
        assert response.status_code == 404
        assert consumed[0] == 0
    assert not await Order.exists()


MALFORMED = {
    "a JSON list": b"[" + woo_version("processing", "2017-03-22T19:28:08") + b"]",
    "billing not an object": woo_version("processing", "2017-03-22T19:28:08", billing="x"),
    "a line that is not an object": woo_version(
        "processing", "2017-03-22T19:28:08", line_items=["x"]
    ),
    "1e400": woo_version("processing", "2017-03-22T19:28:08", total="TOTAL").replace(
        b'"TOTAL"', b"1e400"
    ),
    # Finite, but more digits than an amount to the cent can hold (found in review).
    "1e300": woo_version("processing", "2017-03-22T19:28:08", total="TOTAL").replace(
        b'"TOTAL"', b"1e300"
    ),
    "a line price of 1e300": woo_version(
        "processing", "2017-03-22T19:28:08", line_items=[{"id": 1, "name": "a", "total": "1e300"}]
    ),
    "NaN": woo_version("processing", "2017-03-22T19:28:08", total="TOTAL").replace(
        b'"TOTAL"', b"NaN"
    ),
    "a quantity of 1e400": woo_version(
        "processing", "2017-03-22T19:28:08", line_items=[{"id": 1, "name": "a", "total": "1"}]
    ).replace(b'"total": "1"}', b'"total": "1", "quantity": 1e400}'),
    "10,000 levels deep": b'{"id": 5, "meta_data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "invalid UTF-8": woo_version("S", "2017-03-22T19:28:08").replace(
        b'"status": "S"', b'"status": "\xff\xfe"'
    ),
    "not JSON": b"{not json",
    # Readable, but not storable on PostgreSQL: refused the same way on both databases.
    "an id of 100 characters": woo_version("processing", "2017-03-22T19:28:08", id="9" * 100),
    "a quantity of 10**20": woo_version(
        "processing",
        "2017-03-22T19:28:08",
        line_items=[{"id": 1, "name": "a", "total": "1", "quantity": 10**20}],
    ),
    "a total of 1e20": woo_version("processing", "2017-03-22T19:28:08", total="1e20"),
    "a currency of four letters": woo_version("processing", "2017-03-22T19:28:08", currency="EURO"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_signed_malformed_payload_is_400_and_kept_in_sync_errors(
    client: httpx.AsyncClient, woo_store, case: str
) -> None:
    body = MALFORMED[case]
    response = await post_woo(client, woo_store.id, body, f"bad-{case}")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_payload"
    errors = await SyncError.filter(store_id=woo_store.id)
    assert len(errors) == 1 and errors[0].stream == "orders"
    assert errors[0].message.startswith("webhook order.updated:")
    assert not await Order.exists(store_id=woo_store.id)
    # Forged, the same body is a 401 and leaves no trace.
    forged = await client.post(
        f"/hooks/woocommerce/{woo_store.id}",
        content=body,
        headers=woo_headers(body, f"forged-{case}", sign(body, "guessed")),
    )
    assert forged.status_code == 401
    assert await SyncError.filter(store_id=woo_store.id).count() == 1


async def test_good_deliveries_beside_bad_ones_still_land(
    client: httpx.AsyncClient, woo_store, settings: Settings
) -> None:
    for n, body in enumerate(MALFORMED.values()):
        assert (await post_woo(client, woo_store.id, body, f"bad-{n}")).status_code == 400
        good = woo_version("processing", f"2017-03-23T10:00:{n:02d}", id=800 + n)
        assert (await post_woo(client, woo_store.id, good, f"good-{n}")).status_code == 200
    assert await SyncError.filter(store_id=woo_store.id).count() == len(MALFORMED)
    assert await Order.filter(store_id=woo_store.id).count() == len(MALFORMED)
    shop = await create_store(
        name="Shopify",
        platform="shopify",
        credentials={"shop": "s", "token": "t", "webhook_secret": SECRET},
        secret_key=settings.secret_key,
    )
    for body in (b"[]", b'{"id": 1, "line_items": [' * 5000):
        headers = {"X-Shopify-Topic": "orders/updated", "X-Shopify-Hmac-Sha256": sign(body)}
        response = await client.post(f"/hooks/shopify/{shop.id}", content=body, headers=headers)
        assert response.status_code == 400
    assert await SyncError.filter(store_id=shop.id).count() == 2


async def test_a_synced_order_that_does_not_fit_is_a_sync_error_beside_the_good_ones(
    app, settings: Settings
) -> None:
    shop = FakeWooShop()
    shop.seed(3, start=datetime.now(UTC) - timedelta(days=3), refund_every=0)
    shop.orders[1001]["line_items"][0]["quantity"] = 10**20
    shop._json.clear()
    with serve(make_app(shop)) as url:
        store = await create_store(
            name="Woo",
            platform="woocommerce",
            base_url=url,
            credentials={"key": shop.key, "secret": shop.secret},
            secret_key=settings.secret_key,
        )
        connector = connector_for(store, settings.secret_key)
        try:
            result = await sync_stream(store, Stream.ORDERS, connector)
        finally:
            await connector.aclose()
    assert result.bad_records == 1
    landed = await Order.filter(store_id=store.id).values_list("platform_order_id", flat=True)
    assert sorted(landed) == ["1000", "1002"]
    error = await SyncError.get(store_id=store.id)
    assert error.record_id == "1001" and "quantity does not fit" in error.message
