"""Shopify Admin REST API (``/admin/api/2024-04``).

Auth: the app's Admin API access token in ``X-Shopify-Access-Token``. Orders
are listed with ``status=any`` (the default ``open`` would hide closed and
cancelled orders) by ``updated_at_min`` / ``updated_at_max``, oldest update
first. Later pages follow the ``Link: <...page_info=...>; rel="next"`` URL
exactly as given: Shopify refuses any filter beside ``page_info``, ``limit``
and ``fields`` there, and sends no ``Link`` when everything fits.

Refunds come embedded in each order (``refunds[]``) and a refund bumps the
order's ``updated_at``, so the after-sales stream walks the same listing.
Shopify has no product-review API; reviews live in third-party apps.

Rate limit: a leaky bucket per app and shop (40 calls, 2 restored a second
on standard plans), reported after each call as
``X-Shopify-Shop-Api-Call-Limit: used/max``. ``ShopifyPacer`` slows down
before the bucket is full, so a 429 stays the exception.

Cursor (JSON): ``{"since": t}`` between syncs; ``{"since", "until", "next"}``
inside one, where ``next`` is the ``rel="next"`` URL, so a sync killed
halfway resumes at the next page of the same window. The next window starts
``overlap`` before the last one ended, so an order updated while we paged is
never lost.

Refund write-back (``decide_refund``): Shopify buyers file no refund
requests over REST (returns are a GraphQL flow we do not use), so a REJECT is
only recorded by the desk (``rejected_locally``, no HTTP call). An APPROVE
asks ``refunds/calculate.json`` for the parent transaction and gateway, then
creates the refund with ``notify=false`` (the desk writes to the buyer
itself) and ``restock_type: no_restock`` (goods are restocked when they come
back, not when money goes out). The transaction carries ``write.amount``;
Shopify, not we, refuses more than ``maximum_refundable`` (422 ->
``WriteRefused``). Lines are refunded by quantity, so a line's amount that is
a whole number of its units (at the discounted or the list price, to the
cent per unit) becomes ``refund_line_items``; any other amount stays money
refunded on the order, tied to no line, rather than a guessed quantity.
Shopify REST has no idempotency key for refunds: the note ends with
``[aftersales:KEY]`` and every attempt first lists the order's refunds; one
carrying the key means the write was made (``already_done``). A write that
names a ``platform_refund_id`` is about a refund already made: it is found on
the order (``already_done``) or refused, never made again. The create is
sent once: a 5xx or a lost answer is raised, not resent, so the retry looks
first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

import httpx
from pydantic import ValidationError

from connectors.base import (
    AfterSaleKind,
    AfterSaleRecord,
    AfterSaleStatus,
    BadPayload,
    BadSignature,
    BuyerRecord,
    Capabilities,
    ConnectorManifest,
    CredentialField,
    OrderItemRecord,
    OrderRecord,
    OrderStatus,
    Page,
    PlatformError,
    RateLimits,
    RefundDecision,
    RefundWrite,
    RefundWriteResult,
    ReviewRecord,
    ShipmentRecord,
    Stream,
    WebhookEvent,
    WriteRefused,
    parse_money,
    read_json_object,
)
from connectors.http import Pacer, PlatformClient, Sleep
from connectors.timeutil import iso_z, parse_utc, required_utc

# Shared with WooCommerce so there is one copy of the parts that keep refunds single:
# the create sent once, the split checked before any call.

API_VERSION = "2024-04"
API = f"/admin/api/{API_VERSION}"
MAX_LIMIT = 250
CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"

# The buyer has paid (at least in part), even if some was refunded since.
PAID = {"paid", "partially_paid", "partially_refunded", "refunded"}
# Nothing is owed or kept any more: the order is dead.
CLOSED = {"voided", "refunded"}
SHIPPED = {"fulfilled", "partial"}
# Fulfillments that never left the warehouse do not count as shipped.
FAILED_FULFILLMENT = {"failure", "error", "cancelled"}

# Topics whose body is a whole order (``orders/edited`` carries an order_edit instead).
ORDER_TOPICS = {
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
}

_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')
# The mark our refunds carry at the end of their note (see the module docstring).
_MARK = re.compile(r"\s*\[aftersales:[^\]]*\]\s*$")
REFUNDED = "refunded"
REJECTED_LOCALLY = "rejected_locally"
CENT = Decimal("0.01")


def order_status(payload: dict[str, Any]) -> OrderStatus:
    """Our status from Shopify's three fields: cancellation, payment, fulfillment."""
    financial = payload.get("financial_status")
    fulfillment = payload.get("fulfillment_status")
    if payload.get("cancelled_at") or financial in CLOSED:
        return OrderStatus.CLOSED
    if financial not in PAID:
        # pending, authorized, expired: nothing captured yet.
        return OrderStatus.AWAITING_PAYMENT
    if fulfillment == "fulfilled" and payload.get("closed_at"):
        return OrderStatus.COMPLETED
    if fulfillment in SHIPPED:
        return OrderStatus.SHIPPED
    return OrderStatus.AWAITING_SHIPMENT


def platform_status(payload: dict[str, Any]) -> str:
    """Shopify's own words, ``financial[/fulfillment]``, for the desk to show as is."""
    financial = payload["financial_status"]
    if not isinstance(financial, str) or not financial:
        raise ValueError(f"financial_status is {financial!r}")
    fulfillment = payload.get("fulfillment_status")
    return f"{financial}/{fulfillment}" if fulfillment else financial


def _required_time(payload: dict[str, Any], key: str) -> datetime:
    value = parse_utc(payload.get(key))
    if value is None:
        raise ValueError(f"{key} is missing")
    return value


def _address(address: dict[str, Any]) -> str | None:
    parts = (
        address.get("address1"),
        address.get("address2"),
        address.get("city"),
        address.get("province"),
        address.get("zip"),
        address.get("country"),
    )
    return ", ".join(str(p) for p in parts if p) or None


def parse_line_item(payload: dict[str, Any], record_id: str) -> OrderItemRecord:
    """A line's amount is what the buyer pays for it: price x quantity less its discounts."""
    quantity = int(payload["quantity"])
    price = parse_money(payload["price"], record_id)
    allocations = payload.get("discount_allocations")
    if allocations:
        discount = sum(
            (parse_money(a.get("amount"), record_id) for a in allocations), start=Decimal("0.00")
        )
    else:
        discount = parse_money(payload.get("total_discount"), record_id)
    return OrderItemRecord(
        platform_item_id=str(payload["id"]),
        title=payload.get("name") or payload["title"],
        sku=payload.get("sku") or None,
        quantity=quantity,
        unit_price=price,
        amount=price * quantity - discount,
    )


def _buyer(payload: dict[str, Any], record_id: str) -> BuyerRecord:
    customer = payload.get("customer") or {}
    shipping = payload.get("shipping_address") or {}
    email = payload.get("email") or payload.get("contact_email") or customer.get("email")
    # A guest checkout has no customer; the email is the only stable handle.
    buyer_id = str(customer["id"]) if customer.get("id") else f"guest:{email or record_id}"
    customer_name = " ".join(
        p for p in (customer.get("first_name"), customer.get("last_name")) if p
    )
    name = shipping.get("name") or customer_name or None
    return BuyerRecord(
        platform_buyer_id=buyer_id,
        nick=customer_name or name or email or buyer_id,
        name=name,
        phone=payload.get("phone") or shipping.get("phone") or customer.get("phone") or None,
        address=_address(shipping),
    )


def _shipped_at(payload: dict[str, Any]) -> datetime | None:
    times = [
        parse_utc(f.get("created_at"))
        for f in payload.get("fulfillments") or []
        if f.get("status") not in FAILED_FULFILLMENT and f.get("created_at")
    ]
    return min((t for t in times if t is not None), default=None)


def _shipments(payload: dict[str, Any]) -> list[ShipmentRecord]:
    """One parcel per tracking number of every fulfillment that did not fail."""
    parcels: dict[str, ShipmentRecord] = {}
    for fulfillment in payload.get("fulfillments") or []:
        if fulfillment.get("status") in FAILED_FULFILLMENT:
            continue
        numbers = fulfillment.get("tracking_numbers") or [fulfillment.get("tracking_number")]
        for number in numbers:
            if number:
                parcels[str(number)] = ShipmentRecord(
                    carrier=fulfillment.get("tracking_company") or "",
                    tracking_no=str(number),
                    shipped_at=parse_utc(fulfillment.get("created_at")),
                )
    return list(parcels.values())


def parse_order(payload: dict[str, Any]) -> OrderRecord:
    """One order from ``GET /orders.json``; a malformed one raises ``BadPayload`` with its id."""
    record_id = str(payload.get("id", "?"))
    try:
        status = order_status(payload)
        total = parse_money(payload["total_price"], record_id)
        paid = payload.get("financial_status") in PAID
        if paid and payload.get("total_outstanding") not in (None, ""):
            # partially_paid: the outstanding part has not arrived yet.
            paid_amount = total - parse_money(payload["total_outstanding"], record_id)
        else:
            paid_amount = total if paid else Decimal("0.00")
        return OrderRecord(
            platform_order_id=record_id,
            status=status,
            platform_status=platform_status(payload),
            buyer=_buyer(payload, record_id),
            currency=payload.get("currency") or "USD",
            total_amount=total,
            paid_amount=max(paid_amount, Decimal("0.00")),
            created_at=_required_time(payload, "created_at"),
            # Shopify has no payment time on the order; processed_at is when checkout went through.
            paid_at=parse_utc(payload.get("processed_at")) if paid else None,
            shipped_at=_shipped_at(payload),
            updated_at=_required_time(payload, "updated_at"),
            items=[parse_line_item(line, record_id) for line in payload.get("line_items") or []],
            shipments=_shipments(payload),
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, ValidationError) as exc:
        raise BadPayload(f"order {record_id}: {exc!r}"[:500], record_id=record_id) from None


def parse_refund(payload: dict[str, Any], *, order_id: str, currency: str) -> AfterSaleRecord:
    """A refund the shop made; only money that really went back counts."""
    record_id = str(payload.get("id", "?"))
    try:
        amount = sum(
            (
                parse_money(t.get("amount"), record_id)
                for t in payload.get("transactions") or []
                if t.get("kind") == "refund" and t.get("status") == "success"
            ),
            start=Decimal("0.00"),
        )
        lines = payload.get("refund_line_items") or []
        created = _required_time(payload, "created_at")
        return AfterSaleRecord(
            platform_refund_id=record_id,
            platform_order_id=str(payload.get("order_id") or order_id),
            platform_item_id=str(lines[0]["line_item_id"]) if len(lines) == 1 else None,
            kind=AfterSaleKind.REFUND_ONLY,
            status=AfterSaleStatus.REFUNDED,  # the platform lists only refunds made
            platform_status="refunded",
            currency=currency,
            requested_amount=amount,
            reason=_MARK.sub("", payload.get("note") or "") or None,
            created_at=created,
            updated_at=parse_utc(payload.get("processed_at")) or created,
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
        raise BadPayload(f"refund {record_id}: {exc!r}", record_id=record_id) from None


def parse_link(header: str | None) -> dict[str, str]:
    """``<url>; rel="previous", <url>; rel="next"`` to ``{"previous": url, "next": url}``."""
    return {rel: url for url, rel in _LINK.findall(header or "")}


def verify_webhook(secret: str, body: bytes, hmac_header: str) -> bool:
    """``X-Shopify-Hmac-Sha256`` is base64 HMAC-SHA256 of the raw body, keyed with the secret.

    A store with no secret configured accepts nothing: anyone can sign with an empty key.
    """
    if not secret or not hmac_header:
        return False
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(digest, hmac_header.strip().encode("utf-8", "replace"))


def webhook_delivery_id(headers: dict[str, str]) -> str | None:
    """``X-Shopify-Webhook-Id`` is the same on every retry of one delivery (headers lowercased)."""
    return headers.get("x-shopify-webhook-id") or None


def webhook_order(headers: dict[str, str], body: bytes) -> OrderRecord | None:
    """The order an ``orders/*`` webhook carries (the body is the bare order); None otherwise."""
    if headers.get("x-shopify-topic", "") not in ORDER_TOPICS:
        return None
    return parse_order(read_json_object(body))


class ShopifyPacer(Pacer):
    """Keeps Shopify's leaky bucket from filling: past ``high`` full, wait until below ``low``.

    The level is estimated between calls from the last ``used/max`` header and
    the restore rate, and each call we let through is counted at once, so two
    tasks sharing a client do not both spend the last slot.
    """

    def __init__(
        self,
        *,
        restore_rate: float = 2.0,
        high: float = 0.8,
        low: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert restore_rate > 0 and 0 <= low < high <= 1
        self.restore_rate = restore_rate
        self.high = high
        self.low = low
        self.clock = clock
        self.used = 0.0
        self.size: int | None = None
        self.seen_at = 0.0
        self.waited = 0.0

    def _level(self, now: float) -> float:
        return max(0.0, self.used - (now - self.seen_at) * self.restore_rate)

    async def wait(self, sleep: Sleep) -> None:
        if self.size is None:
            return  # nothing heard yet; the first answer tells us the bucket
        level = self._level(self.clock())
        if level > self.high * self.size:
            delay = (level - self.low * self.size) / self.restore_rate
            self.waited += delay
            await sleep(delay)
        now = self.clock()
        self.used = self._level(now) + 1
        self.seen_at = now

    def observe(self, response: httpx.Response) -> None:
        value = response.headers.get(CALL_LIMIT_HEADER)
        if not value:
            return
        try:
            used, size = (int(p) for p in value.split("/", 1))
        except ValueError:
            return
        if size <= 0:
            return
        self.used = float(used)
        self.size = size
        self.seen_at = self.clock()


def _error(response: httpx.Response, body: Any) -> PlatformError:
    """Shopify errors are ``{"errors": "text"}`` or ``{"errors": {"field": ["text"]}}``."""
    errors = body.get("errors", body.get("error")) if isinstance(body, dict) else None
    if isinstance(errors, dict):
        message = "; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in errors.items()
        )
    elif isinstance(errors, list):
        message = "; ".join(map(str, errors))
    elif errors:
        message = str(errors)
    else:
        message = response.text[:200]
    return PlatformError(
        f"Shopify: {message}", code=str(response.status_code), status=response.status_code
    )


def _refused(response: httpx.Response, body: Any) -> WriteRefused:
    error = _error(response, body)
    return WriteRefused(str(error), code=error.code, status=error.status)


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}"


def refund_mark(idempotency_key: str) -> str:
    return f"[aftersales:{idempotency_key}]"


def _units(line: dict[str, Any], amount: Decimal, order_id: str) -> int | None:
    """How many of a line's units ``amount`` pays back, or None when it is no whole number.

    A unit costs the discounted price (discounts spread over the units, so a cent
    either way per unit is allowed) or the list price. Only units not refunded yet
    (``current_quantity``) can be refunded again.
    """
    item = parse_line_item(line, order_id)
    current = line.get("current_quantity")
    left = item.quantity if current is None else int(current)
    for unit in (item.amount / item.quantity if item.quantity else Decimal(0), item.unit_price):
        if unit <= 0:
            continue
        count = int((amount / unit).to_integral_value(rounding=ROUND_HALF_UP))
        if 1 <= count <= left and abs(count * unit - amount) <= CENT * count:
            return count
    return None


def _allocate(amount: Decimal, suggested: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spread ``amount`` over the parent transactions Shopify suggests, each up to its
    ``maximum_refundable``; whatever is left goes on the last, for Shopify to refuse."""
    transactions: list[dict[str, Any]] = []
    left = amount
    for index, parent in enumerate(suggested):
        last = index == len(suggested) - 1
        room = parse_money(parent.get("maximum_refundable", parent.get("amount")), "calculate")
        part = left if last else min(left, room)
        if part <= 0:
            continue
        transactions.append(
            {
                "parent_id": parent["parent_id"],
                "amount": _money(part),
                "kind": "refund",
                "gateway": parent.get("gateway"),
            }
        )
        left -= part
    return transactions


# What the desk may ask of this platform (read without connecting: ``capabilities_of``).
CAPABILITIES = Capabilities(
    orders=True, after_sales=True, reviews=False, decide_refund=True, start_refund=True
)


class ShopifyConnector:
    platform = "shopify"
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        shop: str,
        token: str,
        base_url: str | None = None,
        limit: int = MAX_LIMIT,
        overlap: timedelta = timedelta(minutes=10),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **client_options: Any,
    ) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"Shopify pages hold 1 to {MAX_LIMIT} orders, not {limit}")
        if not base_url:
            host = shop if "." in shop else f"{shop}.myshopify.com"
            base_url = f"https://{host}"
        client_options.setdefault("pacer", ShopifyPacer())
        self.client = PlatformClient(
            base_url.rstrip("/"),
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            **client_options,
        )
        self.shop = shop
        self.limit = limit
        self.overlap = overlap
        self.now = now

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _get(
        self, url: str, params: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], httpx.Response]:
        body, response = await self.client.json("GET", url, params=params)
        if response.status_code >= 400:
            raise _error(response, body)
        if not isinstance(body, dict):
            raise PlatformError(f"Shopify {url} did not return an object")
        return body, response

    async def _order_pages(
        self, cursor: str | None, since: datetime
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Raw orders page by page, each with the cursor that resumes after it."""
        state = json.loads(cursor) if cursor else {"since": iso_z(since)}
        until = state.get("until") or iso_z(self.now())
        next_url: str | None = state.get("next")
        while True:
            if next_url:
                # The page_info URL carries the window itself; it must be sent unchanged.
                body, response = await self._get(next_url)
            else:
                body, response = await self._get(
                    f"{API}/orders.json",
                    {
                        "status": "any",
                        "updated_at_min": state["since"],
                        "updated_at_max": until,
                        "limit": self.limit,
                        "order": "updated_at asc",
                    },
                )
            rows = body.get("orders")
            if not isinstance(rows, list):
                raise PlatformError("Shopify orders.json did not return a list of orders")
            next_url = parse_link(response.headers.get("link")).get("next")
            if next_url is None:
                end = required_utc(until) - self.overlap
                yield rows, json.dumps({"since": iso_z(end)})
                return
            yield rows, json.dumps({"since": state["since"], "until": until, "next": next_url})

    async def orders(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[OrderRecord]]:
        async for rows, next_cursor in self._order_pages(cursor, since):
            page: Page[OrderRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_order(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def order(self, platform_order_id: str) -> OrderRecord:
        body, _ = await self._get(f"{API}/orders/{int(platform_order_id)}.json")
        if not isinstance(body.get("order"), dict):
            raise PlatformError(f"Shopify order {platform_order_id} came back without an order")
        return parse_order(body["order"])

    async def after_sales(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[AfterSaleRecord]]:
        """Refunds embedded in the orders updated in the window (a refund updates its order)."""
        async for rows, next_cursor in self._order_pages(cursor, since):
            page: Page[AfterSaleRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                refunds = row.get("refunds") if isinstance(row, dict) else None
                if not refunds:
                    continue
                order_id = str(row.get("id", "?"))
                currency = row.get("currency") or "USD"
                for refund in refunds:
                    try:
                        page.records.append(
                            parse_refund(refund, order_id=order_id, currency=currency)
                        )
                    except BadPayload as exc:
                        page.errors.append(exc)
            yield page

    async def refunds(self, platform_order_id: str, *, currency: str) -> list[AfterSaleRecord]:
        """Every refund of one order, from ``/orders/{id}/refunds.json``."""
        order_id = str(int(platform_order_id))
        body, _ = await self._get(f"{API}/orders/{order_id}/refunds.json")
        return [
            parse_refund(refund, order_id=order_id, currency=currency)
            for refund in body.get("refunds") or []
        ]

    async def reviews(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[ReviewRecord]]:
        """Shopify has no review API (reviews belong to third-party apps): nothing to read."""
        return
        yield  # pragma: no cover - makes this an async generator

    async def check(self) -> None:
        """A cheap authenticated call, for "test connection"."""
        await self._get(f"{API}/orders.json", {"status": "any", "limit": 1, "fields": "id"})

    async def decide_refund(self, write: RefundWrite, *, idempotency_key: str) -> RefundWriteResult:
        """Carry out the desk's decision; see the module docstring for why it looks first."""
        if write.decision is RefundDecision.REJECT:
            # No buyer request exists on Shopify REST to decline: the desk's record is all.
            return RefundWriteResult(
                platform_refund_id=write.platform_refund_id,
                status=AfterSaleStatus.REJECTED,
                platform_status=REJECTED_LOCALLY,
            )
        write.check_parts()
        order_id = str(int(write.platform_order_id))
        mark = refund_mark(idempotency_key)
        made = await self._made_refund(order_id, mark, write.platform_refund_id)
        if made is not None:
            return RefundWriteResult(
                platform_refund_id=str(made.get("id")),
                status=AfterSaleStatus.REFUNDED,
                platform_status=REFUNDED,
                already_done=True,
            )
        if write.platform_refund_id:
            # A refund with an id is one the shop already made; never make a second in its place.
            raise WriteRefused(
                f"Shopify order {order_id} has no refund {write.platform_refund_id}",
                code="invalid_refund",
            )
        refund: dict[str, Any] = {
            "currency": write.currency,
            "refund_line_items": await self._refund_lines(order_id, write),
        }
        if write.shipping_amount > 0:
            refund["shipping"] = {"amount": _money(write.shipping_amount)}
        body, response = await self.client.json(
            "POST", f"{API}/orders/{order_id}/refunds/calculate.json", json={"refund": refund}
        )
        if response.status_code in (400, 404, 422):
            raise _refused(response, body)
        if response.status_code >= 400 or not isinstance(body, dict):
            raise _error(response, body)
        suggested = [
            t
            for t in ((body.get("refund") or {}).get("transactions") or [])
            if t.get("kind") == "suggested_refund" and t.get("parent_id")
        ]
        if not suggested:
            raise WriteRefused(
                f"Shopify order {order_id} has no payment left to refund",
                code="nothing_refundable",
            )
        note = f"{write.reason} {mark}".strip()
        refund |= {
            "notify": False,
            "note": note,
            "transactions": _allocate(write.amount, suggested),
        }
        body, response = await self.client.send_once(
            "POST", f"{API}/orders/{order_id}/refunds.json", json={"refund": refund}
        )
        created = body.get("refund") if isinstance(body, dict) else None
        if response.status_code in (200, 201) and isinstance(created, dict) and created.get("id"):
            return RefundWriteResult(
                platform_refund_id=str(created["id"]),
                status=AfterSaleStatus.REFUNDED,
                platform_status=REFUNDED,
            )
        if response.status_code in (400, 404, 422):
            raise _refused(response, body)
        # A 5xx or an answer we cannot read: the refund may exist. The retry's look will tell.
        raise _error(response, body)

    async def _made_refund(
        self, order_id: str, mark: str, refund_id: str | None
    ) -> dict[str, Any] | None:
        """The order's refund whose note carries ``mark`` (an earlier attempt made it) or
        that is ``refund_id`` (the write names a refund already made), if there is one."""
        url: str | None = f"{API}/orders/{order_id}/refunds.json"
        params: dict[str, Any] | None = {"limit": MAX_LIMIT}
        while url:
            body, response = await self._get(url, params)
            for refund in body.get("refunds") or []:
                if refund_id and str(refund.get("id")) == refund_id:
                    return cast(dict[str, Any], refund)
                if mark in str(refund.get("note") or ""):
                    return cast(dict[str, Any], refund)
            url, params = parse_link(response.headers.get("link")).get("next"), None
        return None

    async def _refund_lines(self, order_id: str, write: RefundWrite) -> list[dict[str, Any]]:
        """``refund_line_items`` for the line amounts that are whole units (module docstring)."""
        if not write.item_amounts:
            return []
        body, _ = await self._get(
            f"{API}/orders/{order_id}.json", {"fields": "id,currency,line_items"}
        )
        lines = {
            str(line.get("id")): line for line in (body.get("order") or {}).get("line_items") or []
        }
        refund_lines: list[dict[str, Any]] = []
        for item_id, amount in write.item_amounts.items():
            line = lines.get(item_id)
            if line is None:
                raise WriteRefused(
                    f"Shopify order {order_id} has no line {item_id}", code="invalid_refund"
                )
            try:
                units = _units(line, amount, order_id)
            except (BadPayload, KeyError, TypeError, ValueError, ValidationError):
                units = None  # a line we cannot price: its money goes back on the order
            if units:
                refund_lines.append(
                    {"line_item_id": int(item_id), "quantity": units, "restock_type": "no_restock"}
                )
        return refund_lines


def connect(
    *, base_url: str | None, credentials: dict[str, str], **options: Any
) -> ShopifyConnector:
    """Entry point ``aftersales.connectors: shopify``; the shop name is enough for the URL."""
    return ShopifyConnector(
        shop=credentials["shop"],
        token=credentials["token"],
        base_url=base_url or None,
        **options,
    )


def _verify(headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent:
    if not verify_webhook(secret, body, headers.get("x-shopify-hmac-sha256") or ""):
        raise BadSignature("the X-Shopify-Hmac-Sha256 does not match")
    return WebhookEvent(
        topic=headers.get("x-shopify-topic") or "?",
        body=body,
        headers=headers,
        delivery_id=headers.get("x-shopify-webhook-id") or None,
    )


def _webhook_record(event: WebhookEvent) -> OrderRecord:
    return parse_order(read_json_object(event.body))


def shop_url(credentials: Mapping[str, str]) -> str | None:
    """Where a store with no URL sends its token: ``https://<shop>.myshopify.com``."""
    shop = (credentials.get("shop") or "").strip().lower()
    if not shop:
        return None
    return "https://" + (shop if "." in shop else f"{shop}.myshopify.com")


manifest = ConnectorManifest(
    platform="shopify",
    label="Shopify",
    buyer_language="en",
    factory=connect,
    credentials=(
        CredentialField(
            "shop", "Shop name", secret=False, help="The shop's name in its Shopify admin address."
        ),
        CredentialField("token", "Admin API access token", help="Starts with shpat_."),
    ),
    capabilities=CAPABILITIES,
    # 60 days of orders without the read_all_orders scope (PLATFORMS.md).
    history_days=60,
    base_url_label="Shop URL (or a proxy)",
    base_url_help="Leave empty to use the shop's own Shopify address.",
    default_base_url=shop_url,
    webhook=_verify,
    webhook_events={topic: Stream.ORDERS for topic in sorted(ORDER_TOPICS)},
    webhook_record=_webhook_record,
    rate_limits=RateLimits(
        requests_per_second=2.0,
        burst=40,
        header=CALL_LIMIT_HEADER,
        note="A leaky bucket per app and shop.",
    ),
)
