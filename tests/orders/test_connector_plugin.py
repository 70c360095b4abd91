"""A connector installed from a dist-info entry point needs no edit anywhere else.

The test writes a tiny package and its ``*.dist-info`` (with ``entry_points.txt``)
into a temporary directory on ``sys.path``, the way pip would install one, and
the desk finds it through ``importlib.metadata``: the store form shows its own
credential fields, a store is connected with them, a sync pages its orders
(served from memory, as the demo's are) reaching back only as far as its
manifest allows, and its signed webhook is verified and applied by its own
verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import re
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from aftersales.core import clock
from aftersales.core.models import Role, Store
from aftersales.core.security import decrypt_credentials
from aftersales.orders.models import Order
from aftersales.orders.sync import capabilities_of, connector_for, sync_stream
from connectors import registry
from connectors.base import Stream
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user

PACKAGE = "acme_connector"

# The whole plugin: a manifest, a factory, an in-memory platform and a verifier.
SOURCE = '''
"""Acme Mall: a platform the desk has never heard of."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal

from connectors.base import (
    AuthFailed,
    BadSignature,
    BuyerRecord,
    Capabilities,
    ConnectorManifest,
    CredentialField,
    OrderItemRecord,
    OrderRecord,
    OrderStatus,
    Page,
    RateLimits,
    Stream,
    WebhookEvent,
)

CAPABILITIES = Capabilities(orders=True)
ORDERS = {f"A-{n}": "awaiting_shipment" for n in range(1, 6)}  # the platform's own data
SINCE = []  # what each sync asked for, so the test can see the history reach


def record(order_id, status):
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    return OrderRecord(
        platform_order_id=order_id,
        status=OrderStatus(status),
        platform_status=status.upper(),
        buyer=BuyerRecord(platform_buyer_id="b-" + order_id, nick="buyer " + order_id),
        total_amount=Decimal("10.00"),
        paid_amount=Decimal("10.00"),
        created_at=at,
        updated_at=datetime.fromisoformat(ORDER_TIMES.get(order_id, at.isoformat())),
        items=[
            OrderItemRecord(
                platform_item_id=order_id + "-1", title="Widget", quantity=1,
                unit_price=Decimal("10.00"), amount=Decimal("10.00"),
            )
        ],
    )


ORDER_TIMES = {}


class AcmeConnector:
    platform = "acme"
    capabilities = CAPABILITIES

    def __init__(self, merchant, token):
        if token != "acme-token":
            raise AuthFailed("acme refused the token")
        self.merchant = merchant

    async def orders(self, cursor, *, since):
        SINCE.append(since)
        ids = sorted(ORDERS)
        start = int(cursor or 0)
        for first in range(start, len(ids), 2):
            batch = ids[first:first + 2]
            yield Page(records=[record(i, ORDERS[i]) for i in batch], cursor=str(first + 2))

    async def after_sales(self, cursor, *, since):
        return
        yield

    async def reviews(self, cursor, *, since):
        return
        yield

    async def check(self):
        return None

    async def aclose(self):
        return None


def connect(*, base_url, credentials, **options):
    return AcmeConnector(credentials["merchant_id"], credentials["api_token"])


def verify(headers, body, secret):
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(expected, headers.get("x-acme-signature", "")):
        raise BadSignature("x-acme-signature does not match")
    return WebhookEvent(
        topic=headers.get("x-acme-event", "?"), body=body, headers=headers,
        delivery_id=headers.get("x-acme-delivery"),
    )


def webhook_record(event):
    payload = json.loads(event.body)
    ORDER_TIMES[payload["id"]] = payload["updated_at"]
    return record(payload["id"], payload["status"])


manifest = ConnectorManifest(
    platform="acme",
    label="Acme Mall",
    factory=connect,
    credentials=(
        CredentialField("merchant_id", "Merchant ID", secret=False, help="On the Acme dashboard."),
        CredentialField("api_token", "API token"),
    ),
    capabilities=CAPABILITIES,
    history_days=30,
    base_url_label="",
    webhook=verify,
    webhook_events={"order.changed": Stream.ORDERS},
    webhook_record=webhook_record,
    rate_limits=RateLimits(requests_per_second=5.0),
)
'''


@pytest.fixture
def acme_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """``pip install acme-connector``, done by hand into a directory on ``sys.path``."""
    site = tmp_path / "site"
    (site / PACKAGE).mkdir(parents=True)
    (site / PACKAGE / "__init__.py").write_text(textwrap.dedent(SOURCE))
    info = site / "acme_connector-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-connector\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[aftersales.connectors]\nacme = acme_connector:manifest\n"
    )
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield importlib.import_module(PACKAGE)
    sys.modules.pop(PACKAGE, None)
    monkeypatch.undo()
    registry.forget()


def test_without_the_package_the_desk_does_not_know_the_platform() -> None:
    assert registry.find("acme") is None


async def test_an_entry_point_connector_is_connected_synced_and_its_webhook_verified(
    acme_installed: object, client: httpx.AsyncClient, app
) -> None:
    plugin = acme_installed
    secret_key = app.state.settings.secret_key
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")

    # The store form offers the platform with its own fields; the secret one is a password.
    page = (await client.get("/orders/stores/")).text
    form = page[page.index('data-platform="acme"') :]
    form = form[: form.index("</details>")]
    assert "Acme Mall" in form and "On the Acme dashboard." in form
    assert re.search(r'type="text" name="merchant_id"', form)
    assert re.search(r'type="password" name="api_token"', form)
    assert 'name="webhook_secret"' in form  # it signs webhooks, so it needs a secret
    assert 'name="base_url"' not in form  # its manifest asks for no address
    assert 'name="session"' not in form  # no other platform's fields

    token = await csrf_from(client, "/orders/stores/")
    fields = {"csrf_token": token, "name": "Acme", "platform": "acme", "merchant_id": "m-7"}
    refused = await client.post("/orders/stores/", data=fields, follow_redirects=True)
    assert "Acme Mall store needs: API token." in refused.text
    connected = await client.post(
        "/orders/stores/",
        data=fields | {"api_token": "acme-token", "webhook_secret": "whsec", "session": "x"},
        follow_redirects=True,
    )
    assert "Store connected." in connected.text and "Acme Mall" in connected.text
    store = await Store.get(name="Acme")
    assert store.platform == "acme"
    assert decrypt_credentials(secret_key, store.credentials_encrypted) == {
        "merchant_id": "m-7",
        "api_token": "acme-token",
        "webhook_secret": "whsec",
    }
    detail = (await client.get(f"/orders/stores/{store.id}")).text
    assert f"/hooks/acme/{store.id}" in detail
    assert "acme-token" not in detail and "whsec" not in detail  # never sent back
    assert capabilities_of("acme") == plugin.CAPABILITIES  # type: ignore[attr-defined]

    # A sync pages its orders, reaching back only as far as its manifest says (30 < 90 days).
    connector = connector_for(store, secret_key)
    result = await sync_stream(store, Stream.ORDERS, connector)
    assert (result.records, result.pages) == (5, 3)
    assert await Order.filter(store=store).count() == 5
    reach = clock.now() - plugin.SINCE[-1]  # type: ignore[attr-defined]
    assert timedelta(days=29) < reach < timedelta(days=31)

    # Its webhook: verified by its own verifier, mapped to orders by its own event map.
    body = json.dumps(
        {"id": "A-3", "status": "shipped", "updated_at": "2026-12-01T09:00:00+00:00"}
    ).encode()

    def headers(secret: str, event: str = "order.changed", delivery: str = "d1") -> dict:
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Acme-Signature": signature, "X-Acme-Event": event, "X-Acme-Delivery": delivery}

    url = f"/hooks/acme/{store.id}"
    forged = await client.post(url, content=body, headers=headers("guess"))
    assert forged.status_code == 401
    applied = await client.post(url, content=body, headers=headers("whsec"))
    assert applied.json() == {"status": "ok", "platform_order_id": "A-3"}
    order = await Order.get(store=store, platform_order_id="A-3")
    assert order.platform_status == "SHIPPED"
    again = await client.post(url, content=body, headers=headers("whsec"))
    assert again.json() == {"status": "duplicate"}
    other = await client.post(
        url, content=body + b" ", headers=headers("whsec", "customer.created", "d2")
    )
    assert other.status_code == 401  # signed over other bytes: still refused
    unmapped_body = body + b" "
    signature = hmac.new(b"whsec", unmapped_body, hashlib.sha256).hexdigest()
    ignored = await client.post(
        url,
        content=unmapped_body,
        headers={"X-Acme-Signature": signature, "X-Acme-Event": "customer.created"},
    )
    assert ignored.json() == {"status": "ignored"}
    # A platform that signs nothing has no hook address.
    assert (await client.post(f"/hooks/demo/{store.id}", content=body)).status_code == 404
