"""A fake Shopify Admin REST API over an in-memory shop, strict where Shopify is strict.

What it holds to, because a connector that passes here must pass there:

- ``X-Shopify-Access-Token`` is checked first; a wrong one gets 401 with
  Shopify's own error body.
- A leaky bucket per shop (``bucket_size`` calls, ``restore_rate`` a second)
  answers every call with ``X-Shopify-Shop-Api-Call-Limit: used/max`` and a
  full bucket with 429 and ``Retry-After``. Both are configurable so tests
  and benchmarks can run fast.
- ``orders.json`` defaults to ``status=open`` and ``limit=50`` and refuses a
  limit above 250. Pages are keyset cursors: ``page_info`` is opaque
  (base64 of the query and the last key) and re-runs the query, so an order
  updated while a client pages moves, as it does on Shopify. A request with
  ``page_info`` may carry only ``limit`` and ``fields``; anything else is a
  400. ``Link`` is written in Shopify's format and left out when one page
  holds everything.
- Refunds: ``POST orders/{id}/refunds/calculate.json`` suggests a refund
  (``suggested_refund`` against the order's sale transaction, with
  ``maximum_refundable``); ``POST orders/{id}/refunds.json`` makes one. Both
  check the currency, the lines (known, quantity within what is left) and
  shipping (within what is left of it); the create refuses transactions that
  are not ``kind: refund`` against the sale, or add up to more than the paid
  total less the refunds so far, with 422 ``{"errors": {field: [text]}}``. A
  refund lands on the order as Shopify shows it (``refunds[]``, shipping as a
  ``shipping_refund`` order adjustment, ``current_quantity`` down, financial
  status ``partially_refunded``/``refunded``, ``updated_at`` moved). Every
  executed refund is counted in ``executed_refunds``; ``lose_answers`` makes
  the next creates execute and then answer 502 or too late for the client.

The shop is seeded deterministically with orders shaped like the 2024-04
docs examples; each order remembers the status our connector must map it
to (``expected``), so a sync can be checked against the fake's own truth
rather than against a second copy of the mapping.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted "
    "service."
)
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
PAGE_PARAMS = {"page_info", "limit", "fields"}
SORTABLE = {"id", "created_at", "updated_at", "processed_at"}
CENT = Decimal("0.01")
TAX_RATE = Decimal("0.06")
RESTOCK_TYPES = {"no_restock", "cancel", "return", "legacy_restock"}
# Sale transactions are not kept; each order's has an id made from the order's.
SALE_ID_BASE = 7_000_000_000_000_000
LOST_502 = "502"  # executed, then a proxy answers 502 Bad Gateway
LOST_TIMEOUT = "timeout"  # executed, then the answer comes after the client gave up
EASTERN = timezone(timedelta(hours=-5))

# Our vocabulary, as plain strings: the fake does not import the connector it tests.
AWAITING_PAYMENT = "awaiting_payment"
AWAITING_SHIPMENT = "awaiting_shipment"
SHIPPED = "shipped"
COMPLETED = "completed"
CLOSED = "closed"
STATUS_WEIGHTS = {
    AWAITING_PAYMENT: 10,
    AWAITING_SHIPMENT: 25,
    SHIPPED: 25,
    COMPLETED: 30,
    CLOSED: 10,
}
PAID = {"paid", "partially_paid", "partially_refunded", "refunded"}

PRODUCTS = [
    ("IPod Nano - 8gb", "green", "IPOD2008GREEN"),
    ("IPod Nano - 8gb", "red", "IPOD2008RED"),
    ("IPod Nano - 8gb", "black", "IPOD2008BLACK"),
    ("IPod Touch 8GB", "Black", "IPOD2009BLACK"),
    ("Linen Shirt", "M / Sand", "LINEN-M-SAND"),
    ("Linen Shirt", "L / Navy", "LINEN-L-NAVY"),
    ("Ceramic Mug", None, "MUG-WHITE"),
    ("Running Socks 3-pack", "42-45", "SOCK-3P-4245"),
]
PEOPLE = [
    ("Bob", "Norman", "Chestnut Street 92", "Louisville", "Kentucky", "KY", "40202"),
    ("Ana", "Ruiz", "Elm Avenue 7", "Austin", "Texas", "TX", "73301"),
    ("Li", "Wei", "Harbour Road 18", "Seattle", "Washington", "WA", "98101"),
    ("Marie", "Dubois", "Rue Saint-Paul 3", "Montreal", "Quebec", "QC", "H2Y 1H2"),
    ("Kofi", "Mensah", "Oak Lane 240", "Denver", "Colorado", "CO", "80202"),
]


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _set(amount: str, currency: str) -> dict[str, Any]:
    money = {"amount": amount, "currency_code": currency}
    return {"shop_money": money, "presentment_money": dict(money)}


def _whole_seconds(value: datetime) -> datetime:
    assert value.tzinfo is not None, "the fake shop keeps aware times"
    return value.astimezone(UTC).replace(microsecond=0)


class FakeOrder:
    """One order as Shopify would send it, plus what the connector should make of it.

    At rest the order is kept as its JSON (a third of the memory of the dicts,
    and a page is rendered by joining bytes), with the few fields the listing
    filters and sorts on beside it. ``payload`` thaws it for a change;
    ``freeze`` writes it back.
    """

    def __init__(
        self, payload: dict[str, Any], *, created: datetime, status: str = "", paid: Decimal
    ) -> None:
        self.id = int(payload["id"])
        self.created = created
        self.updated = created
        self.status = status
        self.paid = paid
        self.refunds: dict[str, Decimal] = {}
        self._payload: dict[str, Any] | None = payload
        self._body: bytes | None = None
        self._index(payload)

    @property
    def payload(self) -> dict[str, Any]:
        if self._payload is None:
            assert self._body is not None
            self._payload = json.loads(self._body)
        self._body = None  # the caller may change it
        return self._payload

    def body(self) -> bytes:
        if self._body is None:
            self._body = json.dumps(self._payload, separators=(",", ":")).encode()
        return self._body

    def freeze(self) -> None:
        """Index what the listing reads, keep the JSON, drop the dicts."""
        self._index(self.payload)
        self.body()
        self._payload = None

    @property
    def sale_id(self) -> int:
        """The id of the transaction that paid for the order: what refunds are parented to."""
        return SALE_ID_BASE + self.id

    def _index(self, payload: dict[str, Any]) -> None:
        self.financial_status: str = payload["financial_status"]
        self.fulfillment_status: str | None = payload["fulfillment_status"]
        self.closed = bool(payload["closed_at"])
        self.cancelled = bool(payload["cancelled_at"])
        self.total = Decimal(payload["total_price"])
        processed = payload.get("processed_at")
        self.processed = datetime.fromisoformat(processed) if processed else None


class FakeShopifyShop:
    """The shop's state: orders, the rate-limit bucket, and what was asked of it."""

    def __init__(
        self,
        *,
        token: str = "shpat_fake_token",
        bucket_size: int = 40,
        restore_rate: float = 2.0,
        retry_after: str = "2.0",
        zone: timezone = EASTERN,
        currency: str = "USD",
        seed: int = 1,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``clock`` drives the bucket; ``now`` stamps refunds made over HTTP."""
        self.token = token
        self.bucket_size = bucket_size
        self.restore_rate = restore_rate
        self.retry_after = retry_after
        self.zone = zone
        self.currency = currency
        self.rng = random.Random(seed)
        self.clock = clock
        self.now = now
        self.orders: dict[int, FakeOrder] = {}
        # Every refund the shop really made over HTTP, once each (what a test counts).
        self.executed_refunds: list[dict[str, Any]] = []
        # ("calculate" | "create", body) for every refund POST received, as sent.
        self.refund_posts: list[tuple[str, dict[str, Any]]] = []
        self.lost: list[str] = []  # see lose_answers
        self.lost_answer_delay = 1.0
        self.lock = threading.RLock()
        self.level = 0.0
        self.leaked_at = clock()
        self.requests: Counter[str] = Counter()
        self.throttled = 0
        self.unauthorized = 0
        self.bad_requests = 0
        self.queries: list[tuple[str, str]] = []
        self.version = 0
        self._cache: dict[tuple[tuple[str, str], ...], Any] = {}
        self._cache_version = 0
        self._next_order = 5_100_000_000_001
        self._next_id = 900_000_000_001

    # -- seeding and changing -------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += self.rng.randint(1, 97)
        return self._next_id

    def _time(self, value: datetime) -> str:
        return value.astimezone(self.zone).isoformat(timespec="seconds")

    def seed(
        self, count: int, *, start: datetime, spacing: timedelta = timedelta(minutes=1)
    ) -> list[int]:
        """Add ``count`` orders created ``spacing`` apart from ``start``; returns their ids."""
        statuses = list(STATUS_WEIGHTS)
        weights = list(STATUS_WEIGHTS.values())
        customers = [
            (self._new_id(), self.rng.choice(PEOPLE), f"+1555{self.rng.randint(1000000, 9999999)}")
            for _ in range(max(1, count // 3))
        ]
        ids: list[int] = []
        with self.lock:
            for index in range(count):
                created = _whole_seconds(start + spacing * index)
                status = self.rng.choices(statuses, weights)[0]
                customer = self.rng.choice(customers) if self.rng.random() < 0.9 else None
                order = self._build(created, customer)
                self._make(order, status, created + timedelta(seconds=self.rng.randint(0, 3600)))
                order.freeze()
                self.orders[order.id] = order
                ids.append(order.id)
            self.version += 1
        return ids

    def _build(
        self, created: datetime, customer: tuple[int, tuple[str, ...], str] | None
    ) -> FakeOrder:
        order_id = self._next_order
        self._next_order += self.rng.randint(1, 4_000)
        number = len(self.orders) + 1
        currency = self.currency
        if customer is None:
            person = self.rng.choice(PEOPLE)
            phone = None
        else:
            person = customer[1]
            phone = customer[2]
        first, last, street, city, province, province_code, zip_code = person
        email = f"{first.lower()}.{last.lower()}.{number}@mail.example.com"
        address = {
            "first_name": first,
            "address1": street,
            "phone": phone,
            "city": city,
            "zip": zip_code,
            "province": province,
            "country": "United States" if province_code != "QC" else "Canada",
            "last_name": last,
            "address2": "",
            "company": None,
            "latitude": None,
            "longitude": None,
            "name": f"{first} {last}",
            "country_code": "US" if province_code != "QC" else "CA",
            "province_code": province_code,
        }
        lines = []
        gross = Decimal("0.00")
        discounts = Decimal("0.00")
        for _ in range(self.rng.randint(1, 3)):
            title, variant, sku = self.rng.choice(PRODUCTS)
            price = Decimal(self.rng.randint(500, 25_000)) / 100
            quantity = self.rng.randint(1, 3)
            discount = (price * quantity * Decimal("0.10")).quantize(CENT)
            discount = discount if self.rng.random() < 0.3 else Decimal("0.00")
            gross += price * quantity
            discounts += discount
            line_id = self._new_id()
            lines.append(
                {
                    "id": line_id,
                    "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                    "current_quantity": quantity,
                    "fulfillable_quantity": quantity,
                    "fulfillment_service": "manual",
                    "fulfillment_status": None,
                    "gift_card": False,
                    "grams": 200,
                    "name": f"{title} - {variant}" if variant else title,
                    "price": _money(price),
                    "price_set": _set(_money(price), currency),
                    "product_exists": True,
                    "product_id": 632910392,
                    "properties": [],
                    "quantity": quantity,
                    "requires_shipping": True,
                    "sku": sku,
                    "taxable": True,
                    "title": title,
                    "total_discount": "0.00",
                    "total_discount_set": _set("0.00", currency),
                    "variant_id": 39072856,
                    "variant_inventory_management": "shopify",
                    "variant_title": variant,
                    "vendor": None,
                    "tax_lines": [],
                    "duties": [],
                    "discount_allocations": (
                        [
                            {
                                "amount": _money(discount),
                                "amount_set": _set(_money(discount), currency),
                                "discount_application_index": 0,
                            }
                        ]
                        if discount
                        else []
                    ),
                }
            )
        subtotal = gross - discounts
        tax = (subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
        shipping = self.rng.choice([Decimal("0.00"), Decimal("5.00"), Decimal("9.90")])
        total = subtotal + tax + shipping
        payload: dict[str, Any] = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "app_id": None,
            "browser_ip": "0.0.0.0",
            "buyer_accepts_marketing": False,
            "cancel_reason": None,
            "cancelled_at": None,
            "cart_token": f"{order_id:x}",
            "closed_at": None,
            "confirmation_number": f"C{order_id % 100_000_000:08d}",
            "confirmed": True,
            "contact_email": email,
            "created_at": self._time(created),
            "currency": currency,
            "current_subtotal_price": _money(subtotal),
            "current_total_discounts": _money(discounts),
            "current_total_price": _money(total),
            "current_total_tax": _money(tax),
            "customer_locale": "en",
            "discount_codes": (
                [{"code": "TENOFF", "amount": _money(discounts), "type": "fixed_amount"}]
                if discounts
                else []
            ),
            "email": email,
            "estimated_taxes": False,
            "financial_status": "pending",
            "fulfillment_status": None,
            "landing_site": "/",
            "name": f"#{1000 + number}",
            "note": None,
            "note_attributes": [],
            "number": number,
            "order_number": 1000 + number,
            "payment_gateway_names": ["bogus"],
            "phone": phone,
            "presentment_currency": currency,
            "processed_at": self._time(created),
            "source_name": "web",
            "subtotal_price": _money(subtotal),
            "subtotal_price_set": _set(_money(subtotal), currency),
            "tags": "",
            "tax_lines": [{"price": _money(tax), "rate": float(TAX_RATE), "title": "State Tax"}],
            "taxes_included": False,
            "test": False,
            "token": f"{order_id:032x}",
            "total_discounts": _money(discounts),
            "total_discounts_set": _set(_money(discounts), currency),
            "total_line_items_price": _money(gross),
            "total_line_items_price_set": _set(_money(gross), currency),
            "total_outstanding": _money(total),
            "total_price": _money(total),
            "total_price_set": _set(_money(total), currency),
            "total_shipping_price_set": _set(_money(shipping), currency),
            "total_tax": _money(tax),
            "total_tax_set": _set(_money(tax), currency),
            "total_weight": 200 * len(lines),
            "updated_at": self._time(created),
            "user_id": None,
            "billing_address": dict(address),
            "customer": None,
            "fulfillments": [],
            "line_items": lines,
            "refunds": [],
            "shipping_address": address,
            "shipping_lines": [
                {
                    "id": self._new_id(),
                    "code": "Standard",
                    "price": _money(shipping),
                    "price_set": _set(_money(shipping), currency),
                    "title": "Standard",
                    "source": "shopify",
                }
            ],
        }
        if customer is not None:
            payload["customer"] = {
                "id": customer[0],
                "email": email,
                "created_at": self._time(created),
                "updated_at": self._time(created),
                "first_name": first,
                "last_name": last,
                "state": "disabled",
                "note": None,
                "verified_email": True,
                "tax_exempt": False,
                "phone": phone,
                "tags": "",
                "currency": currency,
                "admin_graphql_api_id": f"gid://shopify/Customer/{customer[0]}",
            }
        return FakeOrder(payload, created=created, paid=Decimal("0.00"))

    def _total(self, order: FakeOrder) -> Decimal:
        return Decimal(order.payload["total_price"])

    def _pay(self, order: FakeOrder, *, partially: bool = False) -> None:
        total = self._total(order)
        outstanding = (total * Decimal("0.3")).quantize(CENT) if partially else Decimal("0.00")
        order.payload["financial_status"] = "partially_paid" if partially else "paid"
        order.payload["total_outstanding"] = _money(outstanding)
        order.paid = total - outstanding

    def _fulfil(self, order: FakeOrder, at: datetime, *, partial: bool = False) -> None:
        lines = order.payload["line_items"]
        shipped = lines[:1] if partial and len(lines) > 1 else lines
        for line in shipped:
            line["fulfillment_status"] = "fulfilled"
            line["fulfillable_quantity"] = 0
        fulfillment_id = self._new_id()
        order.payload["fulfillments"].append(
            {
                "id": fulfillment_id,
                "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
                "created_at": self._time(at),
                "location_id": 655441491,
                "name": f"{order.payload['name']}.{len(order.payload['fulfillments']) + 1}",
                "order_id": order.id,
                "service": "manual",
                "shipment_status": None,
                "status": "success",
                "tracking_company": "USPS",
                "tracking_number": f"9400{fulfillment_id}",
                "tracking_numbers": [f"9400{fulfillment_id}"],
                "updated_at": self._time(at),
                "line_items": [dict(line) for line in shipped],
            }
        )
        order.payload["fulfillment_status"] = (
            "partial" if len(shipped) < len(lines) else "fulfilled"
        )

    def _refund(
        self,
        order: FakeOrder,
        amount: Decimal,
        at: datetime,
        *,
        note: str | None,
        line: dict[str, Any] | None = None,
        failed_first: bool = False,
    ) -> str:
        """A refund with a successful refund transaction (and maybe a failed try before it)."""
        refund_id = self._new_id()
        transactions = []
        if failed_first:
            transactions.append(self._transaction(order, amount, at, "failure"))
        transactions.append(self._transaction(order, amount, at, "success"))
        self._book_refund(
            order,
            {
                "id": refund_id,
                "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
                "created_at": self._time(at),
                "note": note,
                "order_id": order.id,
                "processed_at": self._time(at),
                "restock": line is not None,
                "user_id": 548380009,
                "order_adjustments": [],
                "transactions": transactions,
                "refund_line_items": (
                    [
                        {
                            "id": self._new_id(),
                            "line_item_id": line["id"],
                            "location_id": 487838322,
                            "quantity": 1,
                            "restock_type": "return",
                            "subtotal": float(amount),
                            "subtotal_set": _set(_money(amount), order.payload["currency"]),
                            "line_item": dict(line),
                        }
                    ]
                    if line is not None
                    else []
                ),
                "duties": [],
                "additional_fees": [],
            },
            amount,
        )
        return str(refund_id)

    def _book_refund(self, order: FakeOrder, refund: dict[str, Any], amount: Decimal) -> None:
        """Put a refund on its order and move the order's money fields as Shopify does."""
        order.payload["refunds"].append(refund)
        order.refunds[str(refund["id"])] = amount
        refunded = sum(order.refunds.values(), start=Decimal("0.00"))
        total = self._total(order)
        order.payload["financial_status"] = (
            "refunded" if refunded >= total else "partially_refunded"
        )
        order.payload["current_total_price"] = _money(max(total - refunded, Decimal("0.00")))

    # -- refunds over HTTP ------------------------------------------------------------

    def lose_answers(self, *modes: str) -> None:
        """The next creates, one per mode, are made and then their answer is lost:
        ``LOST_502`` answers 502, ``LOST_TIMEOUT`` answers ``lost_answer_delay`` late."""
        with self.lock:
            self.lost.extend(modes)

    def refundable(self, order: FakeOrder) -> Decimal:
        """What can still go back: the paid total less the refunds so far."""
        return order.paid - sum(order.refunds.values(), start=Decimal("0.00"))

    def _shipping_left(self, order: FakeOrder) -> Decimal:
        charged = sum(
            (Decimal(line["price"]) for line in order.payload["shipping_lines"]),
            start=Decimal("0.00"),
        )
        refunded = sum(
            (
                -Decimal(adjustment["amount"])
                for refund in order.payload["refunds"]
                for adjustment in refund.get("order_adjustments") or []
                if adjustment.get("kind") == "shipping_refund"
            ),
            start=Decimal("0.00"),
        )
        return charged - refunded

    def _refund_parts(
        self, order: FakeOrder, refund: dict[str, Any]
    ) -> tuple[list[tuple[dict[str, Any], int, str]], Decimal]:
        """The lines (line, quantity, restock type) and shipping a refund request names."""
        currency = refund.get("currency")
        if currency is not None and currency != order.payload["currency"]:
            raise _Unprocessable(
                {"currency": [f"must be the order's currency ({order.payload['currency']})"]}
            )
        lines = {line["id"]: line for line in order.payload["line_items"]}
        chosen = []
        for item in refund.get("refund_line_items") or []:
            line = lines.get(_as_int(item.get("line_item_id")))
            if line is None:
                raise _Unprocessable(
                    {"refund_line_items": [f"{item.get('line_item_id')} is not a line item"]}
                )
            quantity = item.get("quantity")
            if not isinstance(quantity, int) or not 1 <= quantity <= line["current_quantity"]:
                raise _Unprocessable(
                    {"refund_line_items": ["quantity cannot refund more items than were purchased"]}
                )
            restock = item.get("restock_type") or "no_restock"
            if restock not in RESTOCK_TYPES:
                raise _Unprocessable({"refund_line_items": [f"restock_type {restock} is invalid"]})
            chosen.append((line, quantity, restock))
        shipping = refund.get("shipping") or {}
        left = self._shipping_left(order)
        try:
            wanted = left if shipping.get("full_refund") else _decimal(shipping.get("amount"))
        except ValueError:
            raise _Unprocessable({"shipping": ["amount is not a number"]}) from None
        if not Decimal("0.00") <= wanted <= left:
            raise _Unprocessable(
                {"shipping": [f"amount cannot be more than the refundable shipping ({left})"]}
            )
        return chosen, wanted

    @staticmethod
    def _unit(line: dict[str, Any]) -> Decimal:
        """A unit's price after the line's discounts."""
        discount = sum(
            (Decimal(a["amount"]) for a in line.get("discount_allocations") or []),
            start=Decimal("0.00"),
        )
        return (Decimal(line["price"]) * line["quantity"] - discount) / line["quantity"]

    def calculate_refund(self, order_id: int, refund: dict[str, Any]) -> tuple[int, Any]:
        """``refunds/calculate.json``: (status, body); changes nothing."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return 404, {"errors": "Not Found"}
            try:
                chosen, shipping = self._refund_parts(order, refund)
            except _Unprocessable as exc:
                return 422, {"errors": exc.errors}
            rows = []
            suggested = shipping
            for line, quantity, restock in chosen:
                subtotal = (self._unit(line) * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
                tax = (subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
                listed = Decimal(line["price"]) * quantity
                rows.append(
                    {
                        "quantity": quantity,
                        "line_item_id": line["id"],
                        "location_id": None,
                        "restock_type": restock,
                        "price": line["price"],
                        "subtotal": _money(subtotal),
                        "total_tax": _money(tax),
                        "discounted_price": line["price"],
                        "discounted_total_price": _money(listed),
                        "total_cart_discount_amount": _money(listed - subtotal),
                    }
                )
                suggested += subtotal + tax
            left = self.refundable(order)
            transactions = (
                [
                    {
                        "order_id": order.id,
                        "amount": _money(min(suggested, left)),
                        "kind": "suggested_refund",
                        "gateway": "bogus",
                        "parent_id": order.sale_id,
                        "maximum_refundable": _money(left),
                    }
                ]
                if left > 0
                else []
            )
            return 200, {
                "refund": {
                    "currency": order.payload["currency"],
                    "shipping": {
                        "amount": _money(shipping),
                        "tax": "0.00",
                        "maximum_refundable": _money(self._shipping_left(order)),
                    },
                    "refund_line_items": rows,
                    "transactions": transactions,
                }
            }

    def create_refund(self, order_id: int, refund: dict[str, Any]) -> tuple[int, Any]:
        """``refunds.json``: (status, body); a 201 has executed and is counted."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return 404, {"errors": "Not Found"}
            try:
                chosen, shipping = self._refund_parts(order, refund)
                amounts = [self._refund_amount(order, t) for t in refund.get("transactions") or []]
                total = sum(amounts, start=Decimal("0.00"))
                left = self.refundable(order)
                if total > left:
                    raise _Unprocessable(
                        {
                            "transactions": [
                                f"amount {total} is more than the maximum refundable "
                                f"amount ({left})"
                            ]
                        }
                    )
                if not (chosen or shipping or amounts):
                    raise _Unprocessable({"base": ["a refund needs a line, shipping or money"]})
            except _Unprocessable as exc:
                return 422, {"errors": exc.errors}
            at = _whole_seconds(self.now())
            refund_id = self._new_id()
            currency = order.payload["currency"]
            transactions = []
            for sent, amount in zip(refund.get("transactions") or [], amounts, strict=True):
                transaction = self._transaction(order, amount, at, "success")
                transaction["parent_id"] = order.sale_id
                transaction["gateway"] = sent.get("gateway") or "bogus"
                transactions.append(transaction)
            lines = []
            for line, quantity, restock in chosen:
                subtotal = (self._unit(line) * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
                tax = (subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
                line["current_quantity"] -= quantity
                line["fulfillable_quantity"] = min(
                    line["fulfillable_quantity"], line["current_quantity"]
                )
                lines.append(
                    {
                        "id": self._new_id(),
                        "line_item_id": line["id"],
                        "location_id": None,
                        "quantity": quantity,
                        "restock_type": restock,
                        "subtotal": float(subtotal),
                        "subtotal_set": _set(_money(subtotal), currency),
                        "total_tax": float(tax),
                        "total_tax_set": _set(_money(tax), currency),
                        "line_item": dict(line),
                    }
                )
            adjustments = []
            if shipping > 0:
                adjustment_id = self._new_id()
                adjustments.append(
                    {
                        "id": adjustment_id,
                        "order_id": order.id,
                        "refund_id": refund_id,
                        "amount": _money(-shipping),
                        "amount_set": _set(_money(-shipping), currency),
                        "tax_amount": "0.00",
                        "tax_amount_set": _set("0.00", currency),
                        "kind": "shipping_refund",
                        "reason": "Shipping refund",
                    }
                )
            made = {
                "id": refund_id,
                "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
                "created_at": self._time(at),
                "note": refund.get("note"),
                "order_id": order.id,
                "processed_at": self._time(at),
                "restock": any(restock != "no_restock" for _, _, restock in chosen),
                "user_id": 548380009,
                "order_adjustments": adjustments,
                "transactions": transactions,
                "refund_line_items": lines,
                "duties": [],
                "additional_fees": [],
            }
            self._book_refund(order, made, total)
            if order.payload["financial_status"] == "refunded":
                order.status = CLOSED
            self._stamp(order, at)
            order.freeze()
            self.executed_refunds.append(json.loads(json.dumps(made)))
            return 201, {"refund": made}

    def _refund_amount(self, order: FakeOrder, transaction: Any) -> Decimal:
        """One sent refund transaction's amount, once it is shown to be one Shopify takes."""
        if not isinstance(transaction, dict) or transaction.get("kind") != "refund":
            raise _Unprocessable({"transactions": ["kind must be refund"]})
        if _as_int(transaction.get("parent_id")) != order.sale_id:
            raise _Unprocessable({"transactions": ["parent_id is not a sale of this order"]})
        try:
            amount = _decimal(transaction.get("amount"))
        except ValueError:
            raise _Unprocessable({"transactions": ["amount is not a number"]}) from None
        if amount <= 0:
            raise _Unprocessable({"transactions": ["amount must be greater than 0"]})
        return amount

    def _transaction(
        self, order: FakeOrder, amount: Decimal, at: datetime, status: str
    ) -> dict[str, Any]:
        transaction_id = self._new_id()
        return {
            "id": transaction_id,
            "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{transaction_id}",
            "amount": _money(amount),
            "authorization": "authorization-key",
            "created_at": self._time(at),
            "currency": order.payload["currency"],
            "error_code": None if status == "success" else "card_declined",
            "gateway": "bogus",
            "kind": "refund",
            "message": None,
            "order_id": order.id,
            "parent_id": 801038806,
            "processed_at": self._time(at),
            "receipt": {},
            "source_name": "web",
            "status": status,
            "test": False,
        }

    def _make(self, order: FakeOrder, status: str, updated: datetime) -> None:
        """Set Shopify's fields so the order is in ``status`` in our vocabulary."""
        updated = _whole_seconds(updated)
        rng = self.rng
        if status == AWAITING_PAYMENT:
            order.payload["financial_status"] = rng.choice(["pending", "authorized"])
            order.payload["processed_at"] = None
        elif status == CLOSED:
            order.payload["cancelled_at"] = self._time(updated)
            order.payload["cancel_reason"] = rng.choice(["customer", "inventory", "declined"])
            if rng.random() < 0.5:
                order.payload["financial_status"] = "voided"
                order.payload["processed_at"] = None
            else:
                self._pay(order)
                self._refund(order, self._total(order), updated, note="Order canceled")
        else:
            self._pay(order, partially=status == AWAITING_SHIPMENT and rng.random() < 0.1)
            if status in (SHIPPED, COMPLETED):
                self._fulfil(order, updated, partial=status == SHIPPED and rng.random() < 0.2)
            if status == COMPLETED:
                order.payload["closed_at"] = self._time(updated)
            if rng.random() < 0.1:
                line = rng.choice(order.payload["line_items"])
                self._refund(
                    order,
                    # One unit back, never the whole order: the order stays paid-ish.
                    min(Decimal(line["price"]), (self._total(order) / 2).quantize(CENT)),
                    updated,
                    note=rng.choice(["it broke during shipping", "wrong size", None]),
                    line=line,
                    failed_first=rng.random() < 0.3,
                )
        order.status = status
        self._stamp(order, updated)

    def _stamp(self, order: FakeOrder, at: datetime) -> None:
        order.updated = max(order.created, _whole_seconds(at))
        order.payload["updated_at"] = self._time(order.updated)
        self.version += 1

    def touch(self, order_id: int, at: datetime) -> dict[str, Any]:
        """Move an order one step on (paid, shipped, completed, refunded) and bump ``updated_at``.

        An order already closed only gets a new note, so it still changes.
        """
        with self.lock:
            order = self.orders[int(order_id)]
            at = _whole_seconds(at)
            if order.status == AWAITING_PAYMENT:
                self._pay(order)
                order.payload["processed_at"] = self._time(at)
                order.status = AWAITING_SHIPMENT
            elif order.status == AWAITING_SHIPMENT:
                if order.payload["financial_status"] == "partially_paid":
                    self._pay(order)
                self._fulfil(order, at)
                order.status = SHIPPED
            elif order.status == SHIPPED:
                if order.payload["fulfillment_status"] != "fulfilled":
                    self._fulfil(order, at)
                    order.payload["fulfillment_status"] = "fulfilled"
                order.payload["closed_at"] = self._time(at)
                order.status = COMPLETED
            elif order.status == COMPLETED:
                left = self._total(order) - sum(order.refunds.values(), start=Decimal("0.00"))
                self._refund(order, left, at, note="returned in full")
                order.status = CLOSED
            else:
                order.payload["note"] = f"touched at {self._time(at)}"
            self._stamp(order, at)
            order.freeze()
            return json.loads(order.body())

    def refund(
        self, order_id: int, amount: Decimal, at: datetime, *, note: str | None = None
    ) -> str:
        """Refund part of an order now; returns the refund id. Status stays what it was."""
        with self.lock:
            order = self.orders[int(order_id)]
            refund_id = self._refund(order, amount, _whole_seconds(at), note=note)
            if order.payload["financial_status"] == "refunded":
                order.status = CLOSED
            self._stamp(order, at)
            order.freeze()
            return refund_id

    def expected(self, order_id: int) -> dict[str, Any]:
        """What a correct connector reports for this order, by the fake's own bookkeeping."""
        with self.lock:
            order = self.orders[int(order_id)]
            return {
                "status": order.status,
                "platform_status": order.financial_status,
                "total": order.total,
                "paid": order.paid,
                "updated_at": order.updated,
                "refunds": dict(order.refunds),
                "tracking": sorted(
                    n for f in order.payload["fulfillments"] for n in f["tracking_numbers"]
                ),
            }

    # -- the bucket -------------------------------------------------------------

    def take_call(self) -> tuple[bool, str]:
        """Leak, then take one call if it fits; returns (allowed, ``used/max``)."""
        with self.lock:
            now = self.clock()
            self.level = max(0.0, self.level - (now - self.leaked_at) * self.restore_rate)
            self.leaked_at = now
            if self.level + 1 > self.bucket_size:
                self.throttled += 1
                return False, f"{self.bucket_size}/{self.bucket_size}"
            self.level += 1
            return True, f"{min(self.bucket_size, int(-(-self.level // 1)))}/{self.bucket_size}"

    # -- queries --------------------------------------------------------------

    def select(self, query: dict[str, str]) -> tuple[list[FakeOrder], list[tuple[int, int]]]:
        """The orders matching a list query in its order, with their ascending sort keys.

        Cached until the shop changes, so paging 100,000 orders costs a bisect
        a page rather than a scan.
        """
        cache_key = tuple(sorted(query.items()))
        if self._cache_version != self.version:
            self._cache.clear()
            self._cache_version = self.version
        if cache_key in self._cache:
            return self._cache[cache_key]
        column, direction = _sort(query.get("order"))
        rows = [order for order in self.orders.values() if _matches(order, query, self.zone)]
        keyed = sorted(((_sort_key(o, column, direction), o) for o in rows), key=lambda p: p[0])
        result = ([o for _, o in keyed], [k for k, _ in keyed])
        self._cache[cache_key] = result
        return result


class _Unprocessable(Exception):
    """A refund request Shopify answers with 422 ``{"errors": errors}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _decimal(value: Any) -> Decimal:
    """An amount as sent (string or number; absent is zero), to the cent."""
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except ArithmeticError:
        raise ValueError(value) from None
    if not amount.is_finite():
        raise ValueError(value)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _matches(order: FakeOrder, query: dict[str, str], zone: timezone) -> bool:
    status = query.get("status", "open")
    if status == "open" and (order.closed or order.cancelled):
        return False
    if status == "closed" and not order.closed:
        return False
    if status == "cancelled" and not order.cancelled:
        return False
    if "ids" in query and str(order.id) not in query["ids"].split(","):
        return False
    if "since_id" in query and order.id <= int(query["since_id"]):
        return False
    financial = query.get("financial_status", "any")
    if financial != "any" and not _financial_matches(financial, order.financial_status):
        return False
    fulfillment = query.get("fulfillment_status", "any")
    if fulfillment != "any" and not _fulfillment_matches(fulfillment, order.fulfillment_status):
        return False
    for column, value in (("created_at", order.created), ("updated_at", order.updated)):
        low = query.get(f"{column}_min")
        high = query.get(f"{column}_max")
        if not _within(
            value,
            _parse_time(low, zone) if low else None,
            _parse_time(high, zone) if high else None,
        ):
            return False
    return True


def _within(value: datetime, low: datetime | None, high: datetime | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _financial_matches(wanted: str, actual: str) -> bool:
    if wanted == "unpaid":
        return actual in ("pending", "authorized", "partially_paid")
    return wanted == actual


def _fulfillment_matches(wanted: str, actual: str | None) -> bool:
    if wanted == "shipped":
        return actual == "fulfilled"
    if wanted == "unshipped":
        return actual is None
    if wanted == "unfulfilled":
        return actual in (None, "partial")
    return wanted == actual


def _parse_time(value: str, zone: timezone) -> datetime:
    # A "+" left unescaped in a query string arrives as a space.
    parsed = datetime.fromisoformat(value.strip().replace(" ", "+").replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _sort(value: str | None) -> tuple[str, str]:
    column, _, direction = (value or "id asc").strip().partition(" ")
    direction = direction.strip().lower() or "asc"
    if column not in SORTABLE or direction not in ("asc", "desc"):
        raise ValueError(f"order {value!r}")
    return column, direction


def _key(order: FakeOrder, column: str) -> tuple[int, int]:
    if column == "id":
        return (order.id, order.id)
    if column == "created_at":
        return (int(order.created.timestamp()), order.id)
    if column == "processed_at":
        return (int(order.processed.timestamp()) if order.processed else 0, order.id)
    return (int(order.updated.timestamp()), order.id)


def _sort_key(order: FakeOrder, column: str, direction: str) -> tuple[int, int]:
    """Ascending in the listing's order: a descending listing negates its key."""
    key = _key(order, column)
    return (-key[0], -key[1]) if direction == "desc" else key


def _encode_page(query: dict[str, str], direction: str, anchor: tuple[int, int]) -> str:
    raw = json.dumps({"q": query, "d": direction, "k": list(anchor)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_page(page_info: str) -> tuple[dict[str, str], str, tuple[int, int]]:
    padded = page_info + "=" * (-len(page_info) % 4)
    state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    anchor = state["k"]
    if state["d"] not in ("next", "previous") or not isinstance(state["q"], dict):
        raise ValueError("page_info")
    return state["q"], state["d"], (int(anchor[0]), int(anchor[1]))


def _project(payload: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if not fields:
        return payload
    return {key: payload[key] for key in fields if key in payload}


def _render(key: str, orders: list[FakeOrder], fields: list[str] | None) -> bytes:
    """``{"orders": [...]}`` or ``{"order": {...}}`` from the stored JSON, joined as is."""
    if fields:
        projected = [_project(json.loads(o.body()), fields) for o in orders]
        return json.dumps({key: projected if key == "orders" else projected[0]}).encode()
    bodies = b",".join(o.body() for o in orders)
    if key == "orders":
        bodies = b"[" + bodies + b"]"
    return b'{"' + key.encode() + b'":' + bodies + b"}"


def _fields(value: str | None) -> list[str] | None:
    return [f.strip() for f in value.split(",") if f.strip()] if value else None


def make_app(shop: FakeShopifyShop) -> Starlette:
    """The fake's HTTP face; serve it with ``tests.fakes.serve.serve``."""

    def error(status: int, errors: Any, headers: dict[str, str] | None = None) -> JSONResponse:
        if status == 400:
            shop.bad_requests += 1
        return JSONResponse({"errors": errors}, status_code=status, headers=headers)

    def gate(request: Request, name: str) -> tuple[Response | None, dict[str, str]]:
        """Token first, then the bucket; every answer carries the bucket's level."""
        with shop.lock:
            shop.requests[name] += 1
            shop.queries.append((request.url.path, request.url.query))
        if request.headers.get("x-shopify-access-token") != shop.token:
            shop.unauthorized += 1
            return error(401, INVALID_TOKEN), {}
        allowed, level = shop.take_call()
        headers = {"X-Shopify-Shop-Api-Call-Limit": level}
        if not allowed:
            headers["Retry-After"] = shop.retry_after
            return error(429, THROTTLED, headers), headers
        return None, headers

    async def list_orders(request: Request) -> Response:
        refused, headers = gate(request, "orders")
        if refused is not None:
            return refused
        params = request.query_params
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return error(400, {"limit": ["is not a number"]}, headers)
        if not 1 <= limit <= MAX_LIMIT:
            return error(400, {"limit": [f"must be between 1 and {MAX_LIMIT}"]}, headers)
        fields = _fields(params.get("fields"))
        anchor: tuple[int, int] | None = None
        direction = "next"
        if "page_info" in params:
            extra = sorted(set(params.keys()) - PAGE_PARAMS)
            if extra:
                return error(
                    400,
                    {"page_info": [f"cannot be combined with other parameters: {extra}"]},
                    headers,
                )
            try:
                query, direction, anchor = _decode_page(params["page_info"])
            except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
                return error(400, {"page_info": ["Invalid value."]}, headers)
        else:
            query = {k: v for k, v in params.items() if k not in PAGE_PARAMS}
        try:
            with shop.lock:
                rows, keys = shop.select(query)
                start, end = _window(keys, direction, anchor, limit)
                # Rendered under the lock, so a touch cannot change a page half-written.
                body = _render("orders", rows[start:end], fields)
        except ValueError as exc:
            return error(400, {"query": [f"Invalid value: {exc}"]}, headers)
        base = str(request.url.replace(query=""))
        also = f"&fields={quote(params['fields'])}" if fields else ""
        links = []
        if start < end and start > 0:
            token = _encode_page(query, "previous", keys[start])
            links.append(f'<{base}?page_info={token}&limit={limit}{also}>; rel="previous"')
        if start < end < len(keys):
            token = _encode_page(query, "next", keys[end - 1])
            links.append(f'<{base}?page_info={token}&limit={limit}{also}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return Response(body, media_type="application/json", headers=headers)

    async def get_order(request: Request) -> Response:
        refused, headers = gate(request, "order")
        if refused is not None:
            return refused
        with shop.lock:
            order = shop.orders.get(int(request.path_params["order_id"]))
            fields = _fields(request.query_params.get("fields"))
            body = _render("order", [order], fields) if order else None
        if body is None:
            return error(404, "Not Found", headers)
        return Response(body, media_type="application/json", headers=headers)

    async def list_refunds(request: Request) -> JSONResponse:
        refused, headers = gate(request, "refunds")
        if refused is not None:
            return refused
        with shop.lock:
            order = shop.orders.get(int(request.path_params["order_id"]))
            refunds = json.loads(order.body())["refunds"] if order else None
        if refunds is None:
            return error(404, "Not Found", headers)
        return JSONResponse({"refunds": refunds}, headers=headers)

    async def refund_request(request: Request, kind: str) -> dict[str, Any] | None:
        """The ``refund`` object of a POST body, recorded as sent; None if there is none."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("refund"), dict):
            return None
        with shop.lock:
            shop.refund_posts.append((kind, body))
        return body["refund"]

    async def calculate_refund(request: Request) -> Response:
        refused, headers = gate(request, "refunds_calculate")
        if refused is not None:
            return refused
        refund = await refund_request(request, "calculate")
        if refund is None:
            return error(400, {"refund": "Required parameter missing or invalid"}, headers)
        status, body = shop.calculate_refund(int(request.path_params["order_id"]), refund)
        return JSONResponse(body, status_code=status, headers=headers)

    async def create_refund(request: Request) -> Response:
        refused, headers = gate(request, "refunds_create")
        if refused is not None:
            return refused
        refund = await refund_request(request, "create")
        if refund is None:
            return error(400, {"refund": "Required parameter missing or invalid"}, headers)
        status, body = shop.create_refund(int(request.path_params["order_id"]), refund)
        if status == 201 and shop.lost:
            mode = shop.lost.pop(0)
            if mode == LOST_502:
                return Response("<h1>502 Bad Gateway</h1>", status_code=502, media_type="text/html")
            await asyncio.sleep(shop.lost_answer_delay)  # LOST_TIMEOUT: the client is gone
        return JSONResponse(body, status_code=status, headers=headers)

    return Starlette(
        routes=[
            Route("/admin/api/{version}/orders.json", list_orders),
            Route("/admin/api/{version}/orders/{order_id:int}.json", get_order),
            Route("/admin/api/{version}/orders/{order_id:int}/refunds.json", list_refunds),
            Route(
                "/admin/api/{version}/orders/{order_id:int}/refunds.json",
                create_refund,
                methods=["POST"],
            ),
            Route(
                "/admin/api/{version}/orders/{order_id:int}/refunds/calculate.json",
                calculate_refund,
                methods=["POST"],
            ),
        ]
    )


def _window(
    keys: list[tuple[int, int]], direction: str, anchor: tuple[int, int] | None, limit: int
) -> tuple[int, int]:
    """The slice ``[start, end)`` of one keyset page: after ``anchor`` going next, before it
    going back; ``keys`` ascend in the listing's order and ``anchor`` is one of them."""
    if anchor is None:
        return 0, min(limit, len(keys))
    if direction == "next":
        start = bisect.bisect_right(keys, anchor)
        return start, min(start + limit, len(keys))
    end = bisect.bisect_left(keys, anchor)
    return max(0, end - limit), end
