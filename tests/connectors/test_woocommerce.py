"""WooCommerce: parsing the documented payloads and syncing a fake shop over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.base import AuthFailed, BadPayload, OrderRecord, OrderStatus
from connectors.woocommerce import (
    WooCommerceConnector,
    oauth1_signature,
    parse_order,
    parse_refund,
    parse_review,
)
from tests.fakes.faults import FaultInjector
from tests.fakes.serve import serve
from tests.fakes.woocommerce import FakeWooShop, make_app

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "woocommerce"
START = datetime(2026, 9, 1, tzinfo=UTC)


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def test_documented_orders_parse() -> None:
    first, second = (parse_order(o) for o in fixture("orders--list-all-orders.json"))
    assert first.platform_order_id == "727"
    assert first.status is OrderStatus.AWAITING_SHIPMENT
    assert first.platform_status == "processing"
    assert first.total_amount == Decimal("29.35")
    assert first.currency == "USD"
    assert first.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert [i.title for i in first.items] == [
        "Woo Single #1",
        "Ship Your Idea – Color: Black, Size: M Test",
    ]
    assert first.items[0].unit_price == Decimal("3.00")
    assert second.status is OrderStatus.COMPLETED
    single = parse_order(fixture("orders--retrieve-an-order.json"))
    assert single.buyer.phone == "(555) 555-5555"


def test_shipment_tracking_meta_becomes_parcels() -> None:
    payload = fixture("orders--retrieve-an-order.json")
    assert parse_order(payload).shipments == []  # plain WooCommerce has no tracking
    payload["meta_data"] = [
        {"id": 1, "key": "_other", "value": "x"},
        {
            "id": 2,
            "key": "_wc_shipment_tracking_items",
            "value": [
                {
                    "tracking_provider": "usps",
                    "tracking_number": "9400111",
                    "date_shipped": "1700000000",
                },
                {
                    "tracking_provider": "",
                    "custom_tracking_provider": "SF Express",
                    "tracking_number": "SF1",
                },
                {"tracking_provider": "ups", "tracking_number": ""},
            ],
        },
    ]
    parcels = parse_order(payload).shipments
    assert [(p.carrier, p.tracking_no, p.shipped_at) for p in parcels] == [
        ("usps", "9400111", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("SF Express", "SF1", None),
    ]


def test_documented_refunds_and_reviews_parse() -> None:
    refund = parse_refund("723", "USD", fixture("order-refunds--retrieve-a-refund.json"))
    assert refund.requested_amount > 0
    assert refund.platform_order_id == "723"
    reviews = [parse_review(r) for r in fixture("product-reviews--list-all-product-reviews.json")]
    assert reviews[0].rating == 5
    assert reviews[0].text == "Nice album!"


def test_a_malformed_order_names_itself() -> None:
    broken = fixture("orders--retrieve-an-order.json") | {"id": 4242, "total": "twelve"}
    with pytest.raises(BadPayload) as caught:
        parse_order(broken)
    assert caught.value.record_id == "4242"


def test_oauth_signature_matches_an_independent_computation() -> None:
    import base64
    import hashlib
    import hmac

    params = {
        "per_page": "100",
        "oauth_consumer_key": "ck",
        "oauth_nonce": "n",
        "oauth_timestamp": "1",
    }
    base = (
        "GET&http%3A%2F%2Fshop.test%2Fwp-json%2Fwc%2Fv3%2Forders&"
        "oauth_consumer_key%3Dck%26oauth_nonce%3Dn%26oauth_timestamp%3D1%26per_page%3D100"
    )
    expected = base64.b64encode(hmac.new(b"cs&", base.encode(), hashlib.sha256).digest()).decode()
    assert (
        oauth1_signature("GET", "http://shop.test/wp-json/wc/v3/orders", params, "cs") == expected
    )


async def _sync_all(connector: WooCommerceConnector, cursor: str | None = None):
    records: dict[str, OrderRecord] = {}
    pages = 0
    async for page in connector.orders(cursor, since=START - timedelta(days=1)):
        assert not page.errors
        for record in page.records:
            records[record.platform_order_id] = record
        cursor = page.cursor
        pages += 1
    return records, cursor, pages


def _expected(shop: FakeWooShop) -> dict[str, tuple[Decimal, str]]:
    return {str(i): (Decimal(o["total"]), o["status"]) for i, o in shop.orders.items()}


def _got(records: dict[str, OrderRecord]) -> dict[str, tuple[Decimal, str]]:
    return {k: (r.total_amount, r.platform_status) for k, r in records.items()}


async def test_a_fake_shop_syncs_exactly_then_picks_up_changes() -> None:
    shop = FakeWooShop()
    shop.seed(3000, start=START)
    now = START + timedelta(days=40)
    with serve(make_app(shop)) as url:
        connector = WooCommerceConnector(
            base_url=url, key=shop.key, secret=shop.secret, now=lambda: now
        )
        records, cursor, pages = await _sync_all(connector)
        assert pages == 30
        assert _got(records) == _expected(shop)

        for order_id in (1000, 1500, 3999):
            shop.touch(order_id, now + timedelta(minutes=3), status="refunded")
        later = now + timedelta(hours=1)
        connector.now = lambda: later
        changed, _, _ = await _sync_all(connector, cursor)
        await connector.aclose()
    assert {"1000", "1500", "3999"} <= set(changed)
    assert len(changed) < 50  # only the overlap window, not the whole shop again
    assert changed["1500"].status is OrderStatus.CLOSED


async def test_an_interrupted_sync_resumes_from_its_cursor_without_gaps() -> None:
    shop = FakeWooShop()
    shop.seed(1000, start=START)
    now = START + timedelta(days=40)
    with serve(make_app(shop)) as url:
        connector = WooCommerceConnector(
            base_url=url, key=shop.key, secret=shop.secret, now=lambda: now
        )
        seen: list[str] = []
        cursor = None
        async for page in connector.orders(None, since=START):
            seen += [r.platform_order_id for r in page.records]
            cursor = page.cursor
            if len(seen) >= 300:
                break  # the worker died here
        rest, _, _ = await _sync_all(connector, cursor)
        await connector.aclose()
    assert len(seen) == 300
    assert not set(seen) & set(rest)
    assert set(seen) | set(rest) == {str(i) for i in shop.orders}


async def test_sync_is_exact_through_ten_percent_faults() -> None:
    shop = FakeWooShop()
    shop.seed(1500, start=START)
    now = START + timedelta(days=40)
    faulty = FaultInjector(make_app(shop), rate=0.1, timeout_seconds=1.0)
    with serve(faulty) as url:
        connector = WooCommerceConnector(
            base_url=url,
            key=shop.key,
            secret=shop.secret,
            now=lambda: now,
            backoff_base=0.01,
            timeout=0.5,
            max_attempts=10,
        )
        records, _, _ = await _sync_all(connector)
        await connector.aclose()
    assert sum(faulty.injected.values()) > 0
    assert _got(records) == _expected(shop)


async def test_refunds_come_with_their_orders() -> None:
    shop = FakeWooShop()
    shop.seed(200, start=START, refund_every=20)
    now = START + timedelta(days=40)
    with serve(make_app(shop)) as url:
        connector = WooCommerceConnector(
            base_url=url, key=shop.key, secret=shop.secret, now=lambda: now
        )
        refunds = [
            r async for page in connector.after_sales(None, since=START) for r in page.records
        ]
        await connector.aclose()
    assert sorted(r.platform_order_id for r in refunds) == sorted(str(i) for i in shop.refunds)
    assert all(r.requested_amount == Decimal("5.00") for r in refunds)


@pytest.mark.parametrize("scheme_secret", ["wrong-secret"])
async def test_a_wrong_secret_is_an_auth_failure(scheme_secret: str) -> None:
    shop = FakeWooShop()
    shop.seed(5, start=START)
    with serve(make_app(shop)) as url:
        connector = WooCommerceConnector(base_url=url, key=shop.key, secret=scheme_secret)
        with pytest.raises(AuthFailed):
            async for _ in connector.orders(None, since=START):
                pass
        await connector.aclose()
