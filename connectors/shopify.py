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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError

from connectors.base import (
    AfterSaleKind,
    AfterSaleRecord,
    BadPayload,
    BuyerRecord,
    Capabilities,
    OrderItemRecord,
    OrderRecord,
    OrderStatus,
    Page,
    PlatformError,
    ReviewRecord,
    ShipmentRecord,
    parse_money,
)
from connectors.http import Pacer, PlatformClient, Sleep
from connectors.timeutil import iso_z, parse_utc

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
    except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
        raise BadPayload(f"order {record_id}: {exc!r}", record_id=record_id) from None


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
            platform_status="refunded",
            currency=currency,
            requested_amount=amount,
            reason=payload.get("note") or None,
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
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadPayload("webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise BadPayload("webhook body is not an order")
    return parse_order(payload)


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


class ShopifyConnector:
    platform = "shopify"
    capabilities = Capabilities(orders=True, after_sales=True, reviews=False)

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
                end = parse_utc(until) - self.overlap  # type: ignore[operator]
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
