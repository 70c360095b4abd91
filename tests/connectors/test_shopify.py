"""Shopify: parsing the documented payloads and syncing a fake shop over loopback HTTP.

The fake (``tests/fakes/shopify.py``) keeps its own record of what each order
should become, so these syncs are checked against the shop's truth, not
against a second copy of the connector's mapping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.base import (
    AfterSaleKind,
    AfterSaleStatus,
    AuthFailed,
    BadPayload,
    OrderRecord,
    OrderStatus,
    Page,
    PlatformError,
    Record,
    RefundDecision,
    RefundWrite,
    RefundWriteResult,
    WriteRefused,
)
from connectors.http import Pacer
from connectors.shopify import (
    API,
    ShopifyConnector,
    ShopifyPacer,
    connect,
    order_status,
    parse_line_item,
    parse_link,
    parse_order,
    parse_refund,
    verify_webhook,
    webhook_delivery_id,
    webhook_order,
)
from tests.fakes.faults import FaultInjector
from tests.fakes.serve import serve
from tests.fakes.shopify import LOST_502, LOST_TIMEOUT, FakeShopifyShop, make_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"
START = datetime(2026, 9, 1, tzinfo=UTC)
SINCE = START - timedelta(days=1)
# Three days on, every seeded order (one a minute) has been created and updated.
AFTER_SEED = START + timedelta(days=3)
# When refunds are written: after every seeded update.
REFUND_AT = AFTER_SEED + timedelta(hours=1)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Clock:
    """The connector's ``now``, moved by hand so windows are exact."""

    at: datetime = AFTER_SEED

    def __call__(self) -> datetime:
        return self.at


@contextmanager
def running(shop: FakeShopifyShop, *, fault_rate: float = 0.0) -> Iterator[tuple[str, Any]]:
    injector = FaultInjector(make_app(shop), rate=fault_rate, timeout_seconds=1.0)
    with serve(injector) as url:
        yield url, injector


def connector(shop: FakeShopifyShop, url: str, **options: Any) -> ShopifyConnector:
    options.setdefault("now", Clock())
    return ShopifyConnector(shop="fake", token=shop.token, base_url=url, **options)


R = TypeVar("R", bound=Record)


async def drain(
    pages: AsyncIterator[Page[R]], *, stop_after: int | None = None
) -> tuple[list[R], list[str | None], list[BadPayload]]:
    """Every page's records, cursors and errors; ``stop_after`` pages plays a killed worker."""
    records: list[R] = []
    cursors: list[str | None] = []
    errors: list[BadPayload] = []
    async for page in pages:
        records.extend(page.records)
        cursors.append(page.cursor)
        errors.extend(page.errors)
        if stop_after is not None and len(cursors) >= stop_after:
            break
    return records, cursors, errors


def assert_orders_match(shop: FakeShopifyShop, records: list[OrderRecord]) -> None:
    """Each record says what the fake knows about its order, field by field."""
    for record in records:
        expected = shop.expected(int(record.platform_order_id))
        got = {
            "status": record.status.value,
            "platform_status": record.platform_status.split("/")[0],
            "total": record.total_amount,
            "paid": record.paid_amount,
            "updated_at": record.updated_at,
            "tracking": sorted(s.tracking_no for s in record.shipments),
        }
        want = {k: expected[k] for k in got}
        assert got == want, record.platform_order_id


def latest(records: list[OrderRecord]) -> dict[int, OrderRecord]:
    """Later pages win, as upserts do in the desk."""
    return {int(r.platform_order_id): r for r in records}


# -- documented payloads ---------------------------------------------------------


def test_documented_2024_04_order_list_parses() -> None:
    (order,) = (parse_order(o) for o in fixture("orders-2024-04.json")["orders"])
    assert order.platform_order_id == "450789469"
    assert order.platform_status == "partially_refunded"
    # Paid and partly refunded, nothing fulfilled (its one fulfillment failed).
    assert order.status is OrderStatus.AWAITING_SHIPMENT
    assert order.shipped_at is None
    assert order.total_amount == Decimal("598.94")
    assert order.paid_amount == Decimal("598.94")
    assert order.currency == "USD"
    assert order.created_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.updated_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.buyer.platform_buyer_id == "207119551"
    assert order.buyer.name == "Bob Norman"
    assert order.buyer.phone == "+557734881234"
    assert order.buyer.address == "Chestnut Street 92, Louisville, Kentucky, 40202, United States"
    assert [(i.platform_item_id, i.sku, i.unit_price, i.amount) for i in order.items] == [
        ("466157049", "IPOD2008GREEN", Decimal("199.00"), Decimal("195.66")),
        ("518995019", "IPOD2008RED", Decimal("199.00"), Decimal("195.67")),
        ("703073504", "IPOD2008BLACK", Decimal("199.00"), Decimal("195.67")),
    ]


def test_older_documented_orders_parse() -> None:
    (listed,) = (parse_order(o) for o in fixture("orders.json")["orders"])
    assert listed.platform_order_id == "450789469"
    assert listed.status is OrderStatus.AWAITING_SHIPMENT
    assert listed.total_amount == Decimal("598.94")
    assert listed.items == []  # this older example has no line items
    single = parse_order(fixture("order.json")["order"])
    assert single.shipments == []  # its only fulfillment has status "failure": no parcel left
    assert single.platform_order_id == "450789469"
    assert single.platform_status == "authorized"
    assert single.status is OrderStatus.AWAITING_PAYMENT
    assert single.total_amount == Decimal("409.94")
    assert single.paid_amount == Decimal("0.00")
    assert single.paid_at is None
    assert single.buyer.phone == "555-625-1199"  # no order phone: the shipping address's
    assert [i.amount for i in single.items] == [Decimal("199.00")] * 3


def test_a_fields_projection_is_not_an_order_but_its_lines_parse() -> None:
    """``order-2024-04.json`` answers ``fields=id,line_items,name,total_price``: no times, no
    financial status. Inventing them would store a wrong order, so it is a BadPayload."""
    partial = fixture("order-2024-04.json")["order"]
    with pytest.raises(BadPayload) as caught:
        parse_order(partial)
    assert caught.value.record_id == "450789469"
    lines = [parse_line_item(line, "450789469") for line in partial["line_items"]]
    assert [line.amount for line in lines] == [
        Decimal("195.66"),
        Decimal("195.67"),
        Decimal("195.67"),
    ]


def test_documented_refunds_parse() -> None:
    order = fixture("orders-2024-04.json")["orders"][0]
    (embedded,) = (parse_refund(r, order_id="450789469", currency="USD") for r in order["refunds"])
    assert embedded.platform_refund_id == "509562969"
    assert embedded.platform_order_id == "450789469"
    assert embedded.kind is AfterSaleKind.REFUND_ONLY
    assert embedded.platform_status == "refunded"
    assert embedded.requested_amount == Decimal("209.00")
    assert embedded.reason == "it broke during shipping"
    assert embedded.platform_item_id is None  # two lines refunded
    older = parse_refund(fixture("refund.json")["refund"], order_id="450789469", currency="USD")
    assert older.requested_amount == Decimal("209.00")
    assert older.created_at == datetime(2016, 6, 20, 17, 35, 6, tzinfo=UTC)


def test_only_successful_refund_transactions_count() -> None:
    refund = fixture("refund.json")["refund"]
    ok = refund["transactions"][0]
    refund = refund | {
        "transactions": [
            ok | {"status": "failure"},
            ok,
            ok | {"kind": "suggested_refund", "amount": "999.00"},
        ]
    }
    assert parse_refund(refund, order_id="1", currency="USD").requested_amount == Decimal("209.00")


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"financial_status": "pending"}, OrderStatus.AWAITING_PAYMENT),
        ({"financial_status": "authorized"}, OrderStatus.AWAITING_PAYMENT),
        ({"financial_status": "paid"}, OrderStatus.AWAITING_SHIPMENT),
        ({"financial_status": "partially_paid"}, OrderStatus.AWAITING_SHIPMENT),
        ({"financial_status": "paid", "fulfillment_status": "partial"}, OrderStatus.SHIPPED),
        ({"financial_status": "paid", "fulfillment_status": "fulfilled"}, OrderStatus.SHIPPED),
        (
            {"financial_status": "paid", "fulfillment_status": "fulfilled", "closed_at": "x"},
            OrderStatus.COMPLETED,
        ),
        ({"financial_status": "paid", "cancelled_at": "x"}, OrderStatus.CLOSED),
        ({"financial_status": "voided"}, OrderStatus.CLOSED),
        ({"financial_status": "refunded", "fulfillment_status": "fulfilled"}, OrderStatus.CLOSED),
    ],
)
def test_status_mapping(fields: dict[str, str], status: OrderStatus) -> None:
    assert order_status(fields) is status


def test_a_malformed_order_names_itself_and_spares_its_neighbours() -> None:
    good = fixture("orders-2024-04.json")["orders"][0]
    rows = [good | {"id": 1}, good | {"id": 2, "total_price": "12,50"}, good | {"id": 3}]
    parsed, errors = [], []
    for row in rows:
        try:
            parsed.append(parse_order(row).platform_order_id)
        except BadPayload as exc:
            errors.append(exc.record_id)
    assert parsed == ["1", "3"]
    assert errors == ["2"]


def test_link_header_parses_both_relations() -> None:
    header = (
        "<https://s.myshopify.com/admin/api/2024-04/orders.json?page_info=abc&limit=3>; "
        'rel="previous", <https://s.myshopify.com/admin/api/2024-04/orders.json?page_info=def'
        '&limit=3>; rel="next"'
    )
    links = parse_link(header)
    assert links["next"].endswith("page_info=def&limit=3")
    assert links["previous"].endswith("page_info=abc&limit=3")
    assert parse_link(None) == {}


# -- webhooks --------------------------------------------------------------------


def test_webhook_signature_vector_and_tampering() -> None:
    signature = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
    assert verify_webhook("test_secret_key", b'{"foo": "bar"}', signature)
    assert not verify_webhook("test_secret_key", b'{"foo": "baz"}', signature)
    assert not verify_webhook("other_secret", b'{"foo": "bar"}', signature)
    assert not verify_webhook("test_secret_key", b'{"foo": "bar"}', "")
    assert not verify_webhook("test_secret_key", b'{"foo": "bar"}', "ümlaut")
    # No secret configured: a body signed with the empty key must still be refused.
    forged = base64.b64encode(hmac.new(b"", b"{}", hashlib.sha256).digest()).decode()
    assert not verify_webhook("", b"{}", forged)


def test_webhook_order_topics() -> None:
    body = json.dumps(fixture("orders-2024-04.json")["orders"][0]).encode()
    headers = {"x-shopify-topic": "orders/updated", "x-shopify-webhook-id": "b54557e4"}
    record = webhook_order(headers, body)
    assert record is not None and record.platform_order_id == "450789469"
    assert webhook_delivery_id(headers) == "b54557e4"
    assert webhook_order({"x-shopify-topic": "products/update"}, body) is None
    with pytest.raises(BadPayload):
        webhook_order(headers, body[:20])


# -- the pacer -------------------------------------------------------------------


async def test_pacer_drains_a_nearly_full_bucket_before_the_next_call() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = ShopifyPacer(restore_rate=2.0, clock=lambda: now[0])
    await pacer.wait(sleep)  # nothing heard yet
    pacer.observe(httpx.Response(200, headers={"X-Shopify-Shop-Api-Call-Limit": "10/40"}))
    await pacer.wait(sleep)
    assert slept == []
    pacer.observe(httpx.Response(200, headers={"X-Shopify-Shop-Api-Call-Limit": "38/40"}))
    await pacer.wait(sleep)
    assert slept == [pytest.approx(9.0)]  # (38 - 20) / 2 calls a second
    now[0] += 1.0  # a second later two calls have leaked out again
    await pacer.wait(sleep)
    assert len(slept) == 1


# -- syncing a fake shop over HTTP -------------------------------------------------


def seeded(count: int, **options: Any) -> tuple[FakeShopifyShop, list[int]]:
    options.setdefault("restore_rate", 1000.0)
    shop = FakeShopifyShop(**options)
    return shop, shop.seed(count, start=START)


async def test_sync_yields_exactly_the_shops_orders_and_refunds() -> None:
    shop, ids = seeded(3000)
    with running(shop) as (url, _):
        client = connector(shop, url)
        orders, cursors, errors = await drain(client.orders(None, since=SINCE))
        refunds, _, refund_errors = await drain(client.after_sales(None, since=SINCE))
        single = await client.order(str(ids[7]))
        listed = await client.refunds(str(ids[7]), currency="USD")
        await client.aclose()
    assert errors == [] and refund_errors == []
    assert sorted(int(o.platform_order_id) for o in orders) == sorted(ids)
    assert_orders_match(shop, orders)
    assert {s.value for s in OrderStatus} == {o.status.value for o in orders}
    assert sum(bool(o.shipments) for o in orders) > 500  # parcels checked above, not vacuously
    assert json.loads(cursors[-1]) == {"since": "2026-09-03T23:50:00Z"}  # until - overlap
    assert len(cursors) == 12  # 3000 orders / 250
    want_refunds = {
        (str(i), rid, amount) for i in ids for rid, amount in shop.expected(i)["refunds"].items()
    }
    assert len(want_refunds) > 100
    assert {(r.platform_order_id, r.platform_refund_id, r.requested_amount) for r in refunds} == (
        want_refunds
    )
    assert single == latest(orders)[ids[7]]
    assert {r.platform_refund_id for r in listed} == set(shop.expected(ids[7])["refunds"])
    # Later pages are the Link URL as given: page_info and limit, no filter beside them.
    pages = [parse_qs(q) for path, q in shop.queries if path.endswith("/orders.json")]
    assert pages[0]["status"] == ["any"] and pages[0]["order"] == ["updated_at asc"]
    assert all(set(p) == {"page_info", "limit"} for p in pages[1:12])


async def test_updates_during_and_after_a_sync_are_never_lost() -> None:
    shop, ids = seeded(3000)
    clock = Clock()
    until = clock.at
    with running(shop) as (url, _):
        client = connector(shop, url, now=clock)
        first: list[OrderRecord] = []
        final_cursor = None
        async for page in client.orders(None, since=SINCE):
            first.extend(page.records)
            final_cursor = page.cursor
            if len(first) == 250:
                # While we page: one order already read changes inside the window (it comes
                # round again), one not yet read changes after it (the next sync's job).
                seen_early = int(page.records[10].platform_order_id)
                shop.touch(seen_early, until - timedelta(minutes=1))
                unseen = next(i for i in reversed(ids) if i not in latest(first))
                shop.touch(unseen, until + timedelta(minutes=30))
        # After the sync: updates now, and one stamped before `until` that we could not see
        # (a slow write on Shopify's side); `overlap` is what catches that one.
        later = ids[100:3000:300]
        for order_id in later:
            shop.touch(order_id, until + timedelta(hours=1))
        late_write = ids[1234]
        shop.touch(late_write, until - timedelta(minutes=5))
        clock.at = until + timedelta(hours=2)
        second, _, errors = await drain(client.orders(final_cursor, since=SINCE))
        await client.aclose()
    assert errors == []
    assert latest(first)[seen_early].status.value == shop.expected(seen_early)["status"]
    assert unseen not in {int(r.platform_order_id) for r in first}
    assert {unseen, late_write, *later} <= set(latest(second))
    assert_orders_match(shop, second)
    # Replaying both syncs in order leaves every order exactly as the shop has it.
    merged = latest(first + second)
    assert sorted(merged) == sorted(ids)
    assert_orders_match(shop, list(merged.values()))


async def test_a_killed_sync_resumes_from_its_cursor_without_duplicates() -> None:
    shop, ids = seeded(3000)
    with running(shop) as (url, _):
        client = connector(shop, url)
        head, cursors, _ = await drain(client.orders(None, since=SINCE), stop_after=5)
        await client.aclose()  # the worker dies; only the cursor survives
        assert json.loads(cursors[-1])["next"].startswith(url)
        resumed_client = connector(shop, url)
        tail, _, _ = await drain(resumed_client.orders(cursors[-1], since=SINCE))
        await resumed_client.aclose()
    got = [int(r.platform_order_id) for r in head + tail]
    assert len(got) == len(set(got)) == len(ids)
    assert set(got) == set(ids)
    assert_orders_match(shop, head + tail)


async def test_sync_survives_faults() -> None:
    shop, ids = seeded(3000)
    with running(shop, fault_rate=0.1) as (url, injector):
        client = connector(shop, url, limit=50, backoff_base=0.01, timeout=0.5, max_attempts=8)
        orders, _, errors = await drain(client.orders(None, since=SINCE))
        retries = client.client.retries
        await client.aclose()
    assert sum(injector.injected.values()) >= 3
    assert retries >= sum(injector.injected.values())
    assert errors == []
    got = [int(r.platform_order_id) for r in orders]
    assert len(got) == len(set(got)) and set(got) == set(ids)
    assert_orders_match(shop, orders)


async def test_a_malformed_order_in_a_page_is_reported_beside_the_good_ones() -> None:
    shop, ids = seeded(300)
    broken = ids[123]
    shop.orders[broken].payload["total_price"] = "12,50"
    with running(shop) as (url, _):
        client = connector(shop, url, limit=100)
        orders, _, errors = await drain(client.orders(None, since=SINCE))
        await client.aclose()
    assert [e.record_id for e in errors] == [str(broken)]
    assert sorted(int(o.platform_order_id) for o in orders) == sorted(set(ids) - {broken})


async def test_the_pacer_keeps_429s_rare() -> None:
    """Same small bucket twice: without the pacer Shopify would say 429, with it hardly."""
    counts = {}
    for name, pacer in (("unpaced", Pacer()), ("paced", ShopifyPacer(restore_rate=40.0))):
        shop, ids = seeded(600, bucket_size=10, restore_rate=40.0, retry_after="0.05")
        with running(shop) as (url, _):
            client = connector(shop, url, limit=10, pacer=pacer)
            orders, _, _ = await drain(client.orders(None, since=SINCE))
            await client.aclose()
        assert sorted(int(o.platform_order_id) for o in orders) == sorted(ids)
        counts[name] = shop.throttled
    assert counts["unpaced"] > 5
    assert counts["paced"] <= 1


async def test_wrong_token_raises_auth_failed() -> None:
    shop, _ = seeded(10)
    with running(shop) as (url, _):
        client = ShopifyConnector(shop="fake", token="shpat_wrong", base_url=url)
        with pytest.raises(AuthFailed):
            await drain(client.orders(None, since=SINCE))
        with pytest.raises(AuthFailed):
            await client.check()
        await client.aclose()
        good = connector(shop, url)
        await good.check()
        with pytest.raises(PlatformError) as missing:
            await good.order("1")
        await good.aclose()
    assert shop.unauthorized == 2
    assert missing.value.status == 404
    assert "Not Found" in str(missing.value)


async def test_the_fake_is_as_strict_as_shopify() -> None:
    """The connector's manners are only proven if the fake refuses what Shopify refuses."""
    shop, _ = seeded(120)
    headers = {"X-Shopify-Access-Token": shop.token}
    with running(shop) as (url, _):
        async with httpx.AsyncClient(base_url=url, headers=headers) as http:
            bad_token = await http.get(
                f"{API}/orders.json", headers={"X-Shopify-Access-Token": "nope"}
            )
            open_only = await http.get(f"{API}/orders.json")
            first = await http.get(f"{API}/orders.json", params={"status": "any", "limit": 100})
            next_url = parse_link(first.headers.get("link"))["next"]
            with_filter = await http.get(next_url + "&status=any")
            tampered = await http.get(f"{API}/orders.json", params={"page_info": "garbage!"})
            too_many = await http.get(f"{API}/orders.json", params={"limit": 251})
            last = await http.get(next_url)
    assert bad_token.status_code == 401
    assert bad_token.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    assert len(open_only.json()["orders"]) == 50  # default limit, open orders only
    assert all(o["closed_at"] is None for o in open_only.json()["orders"])
    assert first.headers["X-Shopify-Shop-Api-Call-Limit"].endswith("/40")
    assert with_filter.status_code == 400
    assert tampered.status_code == 400
    assert too_many.status_code == 400
    assert len(last.json()["orders"]) == 20
    assert 'rel="previous"' in last.headers["link"] and 'rel="next"' not in last.headers["link"]


async def test_the_fake_throttles_with_retry_after() -> None:
    shop, _ = seeded(5, bucket_size=2, restore_rate=0.5)
    headers = {"X-Shopify-Access-Token": shop.token}
    with running(shop) as (url, _):
        async with httpx.AsyncClient(base_url=url, headers=headers) as http:
            answers = [await http.get(f"{API}/orders.json") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "2.0"
    assert answers[1].headers["X-Shopify-Shop-Api-Call-Limit"] == "2/2"


async def test_no_reviews_and_the_factory() -> None:
    client = connect(base_url=None, credentials={"shop": "acme", "token": "t"})
    assert client.capabilities.reviews is False
    assert client.capabilities.after_sales is True
    assert str(client.client.http.base_url) == "https://acme.myshopify.com"
    assert client.client.http.headers["X-Shopify-Access-Token"] == "t"
    reviews: list[Any] = [page async for page in client.reviews(None, since=SINCE)]
    assert reviews == []
    await client.aclose()
    with pytest.raises(ValueError):
        ShopifyConnector(shop="acme", token="t", limit=251)


# -- refund write-back -------------------------------------------------------------


def refundable_order(
    shop: FakeShopifyShop, *, lines: int = 1, units: int = 1, shipping: bool = False
) -> tuple[int, dict[str, Any]]:
    """A paid order without refunds (and with what the test needs), as the shop holds it."""
    for order_id, order in shop.orders.items():
        payload = json.loads(order.body())
        if payload["financial_status"] != "paid" or payload["refunds"]:
            continue
        if len(payload["line_items"]) < lines:
            continue
        if not any(
            line["quantity"] >= units and not line["discount_allocations"]
            for line in payload["line_items"]
        ):
            continue
        if shipping and Decimal(payload["shipping_lines"][0]["price"]) == 0:
            continue
        return order_id, payload
    raise AssertionError("the seeded shop has no such order")


def approve(order_id: int, amount: Decimal | str, **fields: Any) -> RefundWrite:
    fields.setdefault("currency", "USD")
    return RefundWrite(
        decision=RefundDecision.APPROVE,
        platform_order_id=str(order_id),
        amount=Decimal(amount),
        reason="arrived broken",
        **fields,
    )


async def test_an_approved_refund_is_made_once_and_a_repeat_is_already_done() -> None:
    shop, _ = seeded(60, now=lambda: REFUND_AT)
    order_id, _ = refundable_order(shop)
    write = approve(order_id, "5.00")
    with running(shop) as (url, _):
        client = connector(shop, url)
        first = await client.decide_refund(write, idempotency_key="rf-once")
        again = await client.decide_refund(write, idempotency_key="rf-once")
        # A write naming the refund is about that refund, whatever its key.
        named = write.model_copy(update={"platform_refund_id": first.platform_refund_id})
        confirmed = await client.decide_refund(named, idempotency_key="rf-other")
        with pytest.raises(WriteRefused):
            await client.decide_refund(
                write.model_copy(update={"platform_refund_id": "4242"}), idempotency_key="rf-ghost"
            )
        order = await client.order(str(order_id))
        listed = await client.refunds(str(order_id), currency="USD")
        await client.aclose()
    (made,) = shop.executed_refunds
    assert client.capabilities.decide_refund is True
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
    assert shop.requests["refunds_calculate"] == 1
    assert shop.requests["refunds_create"] == 1
    # The order moved as Shopify moves it, and the connector reads it so.
    assert order.updated_at == REFUND_AT
    assert order.platform_status.split("/")[0] == "partially_refunded"
    assert_orders_match(shop, [order])
    # Our mark is for the look before a write, not for the desk to show as the reason.
    assert [(r.platform_refund_id, r.requested_amount, r.reason) for r in listed] == [
        (str(made["id"]), Decimal("5.00"), "arrived broken")
    ]


async def test_the_refund_carries_the_documented_fields_and_lands_on_its_lines() -> None:
    shop, _ = seeded(300, now=lambda: REFUND_AT)
    order_id, payload = refundable_order(shop, lines=2, units=2, shipping=True)
    whole = next(
        line
        for line in payload["line_items"]
        if line["quantity"] >= 2 and not line["discount_allocations"]
    )
    other = next(line for line in payload["line_items"] if line["id"] != whole["id"])
    shipping = Decimal(payload["shipping_lines"][0]["price"])
    two_units = Decimal(whole["price"]) * 2
    amount = two_units + Decimal("1.00") + shipping + Decimal("0.50")
    write = approve(
        order_id,
        amount,
        # Two whole units of one line; 1.00 on another is no whole unit: order-level money.
        item_amounts={str(whole["id"]): two_units, str(other["id"]): Decimal("1.00")},
        shipping_amount=shipping,
    )
    with running(shop) as (url, _):
        client = connector(shop, url)
        result = await client.decide_refund(write, idempotency_key="rf-lines")
        await client.aclose()
    lines = [{"line_item_id": whole["id"], "quantity": 2, "restock_type": "no_restock"}]
    assert shop.refund_posts == [
        (
            "calculate",
            {
                "refund": {
                    "currency": "USD",
                    "refund_line_items": lines,
                    "shipping": {"amount": str(shipping)},
                }
            },
        ),
        (
            "create",
            {
                "refund": {
                    "currency": "USD",
                    "refund_line_items": lines,
                    "shipping": {"amount": str(shipping)},
                    "notify": False,
                    "note": "arrived broken [aftersales:rf-lines]",
                    "transactions": [
                        {
                            "parent_id": shop.orders[order_id].sale_id,
                            "amount": str(amount),
                            "kind": "refund",
                            "gateway": "bogus",
                        }
                    ],
                }
            },
        ),
    ]
    (made,) = shop.executed_refunds
    assert result.platform_refund_id == str(made["id"])
    assert [(r["line_item_id"], r["quantity"]) for r in made["refund_line_items"]] == [
        (whole["id"], 2)
    ]
    assert [(a["kind"], a["amount"]) for a in made["order_adjustments"]] == [
        ("shipping_refund", str(-shipping))
    ]
    assert [t["amount"] for t in made["transactions"]] == [str(amount)]
    after = json.loads(shop.orders[order_id].body())
    quantities = {line["id"]: line["current_quantity"] for line in after["line_items"]}
    assert quantities[whole["id"]] == whole["quantity"] - 2
    assert quantities[other["id"]] == other["quantity"]
    assert shop.expected(order_id)["refunds"] == {str(made["id"]): amount}


@pytest.mark.parametrize("mode", [LOST_502, LOST_TIMEOUT])
async def test_a_lost_answer_then_a_retry_refunds_once(mode: str) -> None:
    shop, _ = seeded(60, now=lambda: REFUND_AT)
    order_id, _ = refundable_order(shop)
    shop.lose_answers(mode)
    shop.lost_answer_delay = 1.0
    write = approve(order_id, "5.00")
    with running(shop) as (url, _):
        client = connector(shop, url, timeout=0.3, backoff_base=0.01)
        with pytest.raises(PlatformError) as lost:
            await client.decide_refund(write, idempotency_key="rf-lost")
        assert len(shop.executed_refunds) == 1  # made, though we never heard so
        retry = await client.decide_refund(write, idempotency_key="rf-lost")
        await client.aclose()
    assert not isinstance(lost.value, WriteRefused)  # worth retrying
    assert retry == RefundWriteResult(
        status=AfterSaleStatus.REFUNDED,
        platform_refund_id=str(shop.executed_refunds[0]["id"]),
        platform_status="refunded",
        already_done=True,
    )
    assert len(shop.executed_refunds) == 1
    assert shop.requests["refunds_create"] == 1  # the create was never resent blind


async def test_more_than_is_refundable_is_refused_and_refunds_nothing() -> None:
    shop, _ = seeded(60, now=lambda: REFUND_AT)
    order_id, payload = refundable_order(shop)
    paid = Decimal(payload["total_price"])
    with running(shop) as (url, _):
        client = connector(shop, url)
        with pytest.raises(WriteRefused) as over:
            await client.decide_refund(
                approve(order_id, paid + Decimal("0.01")), idempotency_key="rf-over"
            )
        with pytest.raises(WriteRefused) as unknown_line:
            await client.decide_refund(
                approve(order_id, "1.00", item_amounts={"42": Decimal("1.00")}),
                idempotency_key="rf-line",
            )
        with pytest.raises(WriteRefused) as currency:
            await client.decide_refund(
                approve(order_id, "1.00", currency="CNY"), idempotency_key="rf-cny"
            )
        assert shop.executed_refunds == []
        creates_refused = shop.requests["refunds_create"]
        rest = await client.decide_refund(approve(order_id, paid), idempotency_key="rf-all")
        order = await client.order(str(order_id))
        await client.aclose()
    assert over.value.status == 422
    assert "maximum refundable" in str(over.value)
    assert unknown_line.value.code == "invalid_refund"
    assert currency.value.status == 422  # calculate refused it; no create was sent
    assert creates_refused == 1  # only the over-amount create reached Shopify, once
    assert [str(r["id"]) for r in shop.executed_refunds] == [rest.platform_refund_id]
    assert order.platform_status.split("/")[0] == "refunded"
    assert order.status is OrderStatus.CLOSED
    assert_orders_match(shop, [order])


async def test_a_rejection_makes_no_call() -> None:
    """Shopify REST has no buyer request to decline: REJECT stays with the desk."""
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    client = ShopifyConnector(shop="acme", token="t", transport=httpx.MockTransport(refuse))
    result = await client.decide_refund(
        RefundWrite(
            decision=RefundDecision.REJECT, platform_order_id="450789469", amount=Decimal("5")
        ),
        idempotency_key="rj-1",
    )
    await client.aclose()
    assert result == RefundWriteResult(
        status=AfterSaleStatus.REJECTED, platform_status="rejected_locally"
    )
    assert calls == []


def test_our_mark_is_left_out_of_the_reason() -> None:
    refund = fixture("refund.json")["refund"] | {"note": "wrong size [aftersales:k-1]"}
    assert parse_refund(refund, order_id="1", currency="USD").reason == "wrong size"
    bare = refund | {"note": "[aftersales:k-1]"}
    assert parse_refund(bare, order_id="1", currency="USD").reason is None
