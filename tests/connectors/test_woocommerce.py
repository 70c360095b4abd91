"""WooCommerce: parsing the documented payloads and syncing a fake shop over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import (
    AfterSaleStatus,
    AuthFailed,
    BadPayload,
    OrderRecord,
    OrderStatus,
    PlatformError,
    RefundDecision,
    RefundWrite,
    RefundWriteResult,
    WriteRefused,
)
from connectors.woocommerce import (
    WooCommerceConnector,
    oauth1_signature,
    parse_order,
    parse_refund,
    parse_review,
)
from tests.fakes.faults import FaultInjector
from tests.fakes.serve import serve
from tests.fakes.woocommerce import LOST_502, LOST_TIMEOUT, FakeWooShop, make_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "woocommerce"
START = datetime(2026, 9, 1, tzinfo=UTC)
# When refunds are written: well after every seeded order was last modified.
REFUND_AT = START + timedelta(days=40)


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


# -- refund write-back -------------------------------------------------------------


def _refund_shop() -> tuple[FakeWooShop, int]:
    """A small shop whose clock stands at ``REFUND_AT``, and a paid order without refunds."""
    shop = FakeWooShop(clock=lambda: REFUND_AT)
    shop.seed(12, start=START, refund_every=0)
    order_id = next(i for i, o in shop.orders.items() if o["date_paid_gmt"])
    return shop, order_id


def _woo(shop: FakeWooShop, url: str, **options: Any) -> WooCommerceConnector:
    options.setdefault("now", lambda: REFUND_AT + timedelta(hours=1))
    options.setdefault("backoff_base", 0.01)
    return WooCommerceConnector(base_url=url, key=shop.key, secret=shop.secret, **options)


def _approve(order_id: int, amount: str, **fields: Any) -> RefundWrite:
    return RefundWrite(
        decision=RefundDecision.APPROVE,
        platform_order_id=str(order_id),
        amount=Decimal(amount),
        reason="arrived broken",
        **fields,
    )


async def test_an_approved_refund_is_made_once_and_a_repeat_is_already_done() -> None:
    shop, order_id = _refund_shop()
    status_before = shop.orders[order_id]["status"]
    write = _approve(order_id, "5.00")
    with serve(make_app(shop)) as url:
        connector = _woo(shop, url)
        first = await connector.decide_refund(write, idempotency_key="rf-once")
        again = await connector.decide_refund(write, idempotency_key="rf-once")
        # A write naming the refund is about that refund, whatever its key.
        named = write.model_copy(update={"platform_refund_id": first.platform_refund_id})
        confirmed = await connector.decide_refund(named, idempotency_key="rf-other")
        with pytest.raises(WriteRefused):
            await connector.decide_refund(
                write.model_copy(update={"platform_refund_id": "4242"}), idempotency_key="rf-ghost"
            )
        order = await connector.order(str(order_id))
        synced = [
            r
            async for page in connector.after_sales(None, since=REFUND_AT - timedelta(hours=1))
            for r in page.records
        ]
        await connector.aclose()
    (made,) = shop.executed_refunds
    assert connector.capabilities.decide_refund is True
    assert first == RefundWriteResult(
        status=AfterSaleStatus.REFUNDED,
        platform_refund_id=str(made["id"]),
        platform_status="refunded",
    )
    assert again == RefundWriteResult(
        status=AfterSaleStatus.REFUNDED,
        platform_refund_id=str(made["id"]),
        platform_status="refunded",
        already_done=True,
    )
    assert confirmed == again
    assert len(shop.refund_posts) == 1
    # The refund modified its order, so the next sync's window holds it.
    assert order.updated_at == REFUND_AT
    assert order.platform_status == status_before  # partly refunded: WooCommerce keeps the status
    assert [(r.platform_refund_id, r.requested_amount, r.reason) for r in synced] == [
        (str(made["id"]), Decimal("5.00"), "arrived broken")
    ]


async def test_the_create_carries_the_documented_fields_and_lands_on_its_lines() -> None:
    shop, order_id = _refund_shop()
    line_id = shop.orders[order_id]["line_items"][0]["id"]
    (shipping_line,) = shop.orders[order_id]["shipping_lines"]
    write = _approve(
        order_id,
        "17.00",  # 5.00 on the line, 10.00 shipping, 2.00 on the order as a whole
        item_amounts={str(line_id): Decimal("5.00")},
        shipping_amount=Decimal("10.00"),
    )
    with serve(make_app(shop)) as url:
        connector = _woo(shop, url, refunded_by=7)
        result = await connector.decide_refund(write, idempotency_key="rf-lines")
        synced = [
            r
            async for page in connector.after_sales(None, since=REFUND_AT - timedelta(hours=1))
            for r in page.records
        ]
        await connector.aclose()
    assert shop.refund_posts == [
        {
            "amount": "17.00",
            "reason": "arrived broken",
            "api_refund": True,
            "api_restock": False,
            "line_items": [
                {"id": line_id, "refund_total": "5.00"},
                {"id": shipping_line["id"], "refund_total": "10.00"},
            ],
            "meta_data": [{"key": "_aftersales_idempotency_key", "value": "rf-lines"}],
            "refunded_by": 7,
        }
    ]
    (stored,) = shop.refunds[order_id]
    assert result.platform_refund_id == str(stored["id"])
    assert stored["amount"] == "17.00"
    assert stored["refunded_payment"] is True

    def landed(lines: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(line["meta_data"][0]["value"], line["total"]) for line in lines]

    assert landed(stored["line_items"]) == [(str(line_id), "-5.00")]
    assert landed(stored["shipping_lines"]) == [(str(shipping_line["id"]), "-10.00")]
    # Read back, the refund names the order's line, not its own copy of it.
    assert [(r.platform_item_id, r.requested_amount) for r in synced] == [
        (str(line_id), Decimal("17.00"))
    ]


@pytest.mark.parametrize("mode", [LOST_502, LOST_TIMEOUT])
async def test_a_lost_answer_then_a_retry_refunds_once(mode: str) -> None:
    shop, order_id = _refund_shop()
    shop.lose_answers(mode)
    shop.lost_answer_delay = 1.0
    write = _approve(order_id, "5.00")
    with serve(make_app(shop)) as url:
        connector = _woo(shop, url, timeout=0.3)
        with pytest.raises(PlatformError) as lost:
            await connector.decide_refund(write, idempotency_key="rf-lost")
        assert len(shop.executed_refunds) == 1  # made, though we never heard so
        retry = await connector.decide_refund(write, idempotency_key="rf-lost")
        await connector.aclose()
    assert not isinstance(lost.value, WriteRefused)  # worth retrying
    assert retry == RefundWriteResult(
        status=AfterSaleStatus.REFUNDED,
        platform_refund_id=str(shop.executed_refunds[0]["id"]),
        platform_status="refunded",
        already_done=True,
    )
    assert len(shop.executed_refunds) == 1
    assert len(shop.refund_posts) == 1  # the create was never resent blind


@pytest.mark.parametrize("refusal_status", [500, 400])
async def test_more_than_the_remainder_is_refused_and_refunds_nothing(refusal_status: int) -> None:
    shop, order_id = _refund_shop()
    shop.refusal_status = refusal_status
    total = Decimal(shop.orders[order_id]["total"])
    with serve(make_app(shop)) as url:
        connector = _woo(shop, url)
        await connector.decide_refund(_approve(order_id, "5.00"), idempotency_key="rf-part")
        with pytest.raises(WriteRefused) as refused:
            await connector.decide_refund(
                _approve(order_id, str(total - Decimal("4.99"))), idempotency_key="rf-over"
            )
        with pytest.raises(WriteRefused) as unknown_line:
            await connector.decide_refund(
                _approve(order_id, "1.00", item_amounts={"999": Decimal("1.00")}),
                idempotency_key="rf-unknown",
            )
        posts_before_rest = len(shop.refund_posts)
        rest = await connector.decide_refund(
            _approve(order_id, str(total - Decimal("5.00"))), idempotency_key="rf-rest"
        )
        order = await connector.order(str(order_id))
        await connector.aclose()
    assert refused.value.code == "woocommerce_rest_cannot_create_order_refund"
    assert refused.value.status == refusal_status
    assert "Invalid refund amount." in str(refused.value)
    assert unknown_line.value.code == "invalid_refund"
    # The refused create was sent once, even as a 500, and the unknown line never left.
    assert posts_before_rest == 2
    assert [r["id"] for r in shop.executed_refunds][1:] == [int(rest.platform_refund_id or 0)]
    assert len(shop.executed_refunds) == 2
    assert order.platform_status == "refunded"  # nothing left: WooCommerce marks it so
    assert order.status is OrderStatus.CLOSED


async def test_a_rejection_makes_no_call() -> None:
    """WooCommerce has no buyer request to decline: REJECT stays with the desk."""
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    connector = WooCommerceConnector(
        base_url="https://shop.test", key="ck", secret="cs", transport=httpx.MockTransport(refuse)
    )
    result = await connector.decide_refund(
        RefundWrite(
            decision=RefundDecision.REJECT, platform_order_id="727", amount=Decimal("5.00")
        ),
        idempotency_key="rj-1",
    )
    await connector.aclose()
    assert result == RefundWriteResult(
        status=AfterSaleStatus.REJECTED, platform_status="rejected_locally"
    )
    assert calls == []
