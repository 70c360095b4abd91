"""WooCommerce REST API v3 (``/wp-json/wc/v3``).

Auth: HTTP Basic with the consumer key and secret over HTTPS; one-legged
OAuth 1.0a (HMAC-SHA256, key ``secret&``) over plain HTTP, as the
WooCommerce docs require. Orders are listed by ``modified_after`` /
``modified_before`` in GMT, ``per_page=100``, ``X-WP-TotalPages``; reviews
can only be filtered by creation date, so each sync re-scans a trailing
window to catch edits and moderation.

Cursor (JSON): ``{"since": t}`` between syncs; ``{"since", "until", "page"}``
inside one, so a sync killed halfway resumes at the next page of the same
window. The next window starts ``overlap`` before the last one ended, so an
order modified while we paged is never lost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

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
from connectors.http import PlatformClient
from connectors.timeutil import iso_utc, parse_utc

API = "/wp-json/wc/v3"
STATUS = {
    "pending": OrderStatus.AWAITING_PAYMENT,
    "on-hold": OrderStatus.AWAITING_PAYMENT,
    "processing": OrderStatus.AWAITING_SHIPMENT,
    "completed": OrderStatus.COMPLETED,
    "cancelled": OrderStatus.CLOSED,
    "refunded": OrderStatus.CLOSED,
    "failed": OrderStatus.CLOSED,
    "trash": OrderStatus.CLOSED,
    "checkout-draft": OrderStatus.AWAITING_PAYMENT,
}


def _rfc3986(value: str) -> str:
    return quote(value, safe="~-._")


def oauth1_signature(method: str, url: str, params: dict[str, str], secret: str) -> str:
    """HMAC-SHA256 over the OAuth 1.0a base string, keyed ``secret&`` (no token)."""
    pairs = sorted((_rfc3986(k), _rfc3986(v)) for k, v in params.items())
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    base = "&".join([method.upper(), _rfc3986(url), _rfc3986(normalized)])
    digest = hmac.new(f"{secret}&".encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class OAuth1QueryAuth(httpx.Auth):
    """One-legged OAuth 1.0a in the query string, for shops without HTTPS."""

    def __init__(self, key: str, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.secret = secret
        self.clock = clock

    def auth_flow(self, request: httpx.Request):  # type: ignore[override]
        params = dict(request.url.params)
        params.update(
            {
                "oauth_consumer_key": self.key,
                "oauth_timestamp": str(int(self.clock())),
                "oauth_nonce": secrets.token_hex(16),
                "oauth_signature_method": "HMAC-SHA256",
            }
        )
        url = str(request.url.copy_with(query=None))
        params["oauth_signature"] = oauth1_signature(request.method, url, params, self.secret)
        request.url = request.url.copy_with(params=params)
        yield request


TRACKING_META = "_wc_shipment_tracking_items"


def _shipments(payload: dict[str, Any]) -> list[ShipmentRecord]:
    """Tracking from the WooCommerce Shipment Tracking extension's order meta.

    WooCommerce itself has no tracking numbers. The extension keeps a list of
    ``{tracking_provider, custom_tracking_provider, tracking_number,
    date_shipped (unix seconds)}`` under this meta key (the extension's
    documented shape, not confirmed in PLATFORMS.md). A shop without it has
    no shipments here, only the completion time.
    """
    parcels = []
    for meta in payload.get("meta_data") or []:
        if not isinstance(meta, dict) or meta.get("key") != TRACKING_META:
            continue
        for item in meta.get("value") or []:
            number = str(item.get("tracking_number") or "").strip()
            if not number:
                continue
            shipped = str(item.get("date_shipped") or "")
            parcels.append(
                ShipmentRecord(
                    carrier=item.get("custom_tracking_provider")
                    or item.get("tracking_provider")
                    or "",
                    tracking_no=number,
                    shipped_at=datetime.fromtimestamp(int(shipped), UTC)
                    if shipped.isdigit()
                    else None,
                )
            )
    return parcels


def parse_order(payload: dict[str, Any]) -> OrderRecord:
    """One order from ``GET /orders``; a malformed one raises ``BadPayload`` with its id."""
    record_id = str(payload.get("id", "?"))
    try:
        billing = payload.get("billing") or {}
        shipping = payload.get("shipping") or {}
        name = " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p)
        customer_id = payload.get("customer_id") or 0
        buyer_id = str(customer_id) if customer_id else f"guest:{billing.get('email') or record_id}"
        address = ", ".join(
            p
            for p in (
                shipping.get("address_1"),
                shipping.get("address_2"),
                shipping.get("city"),
                shipping.get("state"),
                shipping.get("postcode"),
                shipping.get("country"),
            )
            if p
        )
        paid_at = parse_utc(payload.get("date_paid_gmt"))
        total = parse_money(payload["total"], record_id)
        items = [
            OrderItemRecord(
                platform_item_id=str(line["id"]),
                title=html.unescape(line["name"]),
                sku=line.get("sku") or None,
                quantity=int(line["quantity"]),
                unit_price=parse_money(line.get("price"), record_id),
                amount=parse_money(line["total"], record_id),
            )
            for line in payload.get("line_items") or []
        ]
        return OrderRecord(
            platform_order_id=record_id,
            status=STATUS.get(payload["status"], OrderStatus.AWAITING_PAYMENT),
            platform_status=payload["status"],
            buyer=BuyerRecord(
                platform_buyer_id=buyer_id,
                nick=name or billing.get("email") or buyer_id,
                name=name or None,
                phone=billing.get("phone") or None,
                address=address or None,
            ),
            currency=payload.get("currency") or "USD",
            total_amount=total,
            paid_amount=total if paid_at else Decimal("0.00"),
            created_at=parse_utc(payload["date_created_gmt"]),
            paid_at=paid_at,
            shipped_at=parse_utc(payload.get("date_completed_gmt")),
            updated_at=parse_utc(payload["date_modified_gmt"]),
            items=items,
            shipments=_shipments(payload),
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"order {record_id}: {exc}", record_id=record_id) from None


def parse_refund(order_id: str, currency: str, payload: dict[str, Any]) -> AfterSaleRecord:
    record_id = str(payload.get("id", "?"))
    try:
        created = parse_utc(payload["date_created_gmt"])
        amount = parse_money(payload["amount"], record_id)
        lines = payload.get("line_items") or []
        return AfterSaleRecord(
            platform_refund_id=record_id,
            platform_order_id=order_id,
            platform_item_id=str(lines[0]["id"]) if len(lines) == 1 else None,
            kind=AfterSaleKind.REFUND_ONLY,
            platform_status="refunded",
            currency=currency,
            requested_amount=abs(amount),
            reason=payload.get("reason") or None,
            created_at=created,
            updated_at=created,
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"refund {record_id}: {exc}", record_id=record_id) from None


def parse_review(payload: dict[str, Any]) -> ReviewRecord:
    record_id = str(payload.get("id", "?"))
    try:
        text = html.unescape(payload.get("review") or "")
        for tag in ("<p>", "</p>", "<br>", "<br />"):
            text = text.replace(tag, "")
        return ReviewRecord(
            platform_review_id=record_id,
            platform_item_id=str(payload["product_id"]),
            product_title=payload.get("product_name"),
            reviewer_nick=payload.get("reviewer") or "",
            rating=int(payload["rating"]) or None,
            text=text.strip(),
            created_at=parse_utc(payload["date_created_gmt"]),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"review {record_id}: {exc}", record_id=record_id) from None


def _error(response: httpx.Response, body: Any) -> PlatformError:
    """WooCommerce errors are ``{"code", "message", "data": {"status"}}``."""
    code = body.get("code", "") if isinstance(body, dict) else ""
    message = body.get("message", "") if isinstance(body, dict) else response.text[:200]
    return PlatformError(f"WooCommerce: {message}", code=code, status=response.status_code)


class WooCommerceConnector:
    platform = "woocommerce"
    capabilities = Capabilities(orders=True, after_sales=True, reviews=True)

    def __init__(
        self,
        *,
        base_url: str,
        key: str,
        secret: str,
        per_page: int = 100,
        overlap: timedelta = timedelta(minutes=10),
        review_rescan: timedelta = timedelta(days=7),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **client_options: Any,
    ) -> None:
        https = urlsplit(base_url).scheme == "https"
        auth: httpx.Auth = httpx.BasicAuth(key, secret) if https else OAuth1QueryAuth(key, secret)
        self.client = PlatformClient(base_url.rstrip("/"), auth=auth, **client_options)
        self.per_page = per_page
        self.overlap = overlap
        self.review_rescan = review_rescan
        self.now = now

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _get(self, path: str, params: dict[str, Any]) -> tuple[Any, httpx.Response]:
        body, response = await self.client.json("GET", API + path, params=params)
        if response.status_code >= 400:
            raise _error(response, body)
        return body, response

    async def _pages(
        self,
        path: str,
        cursor: str | None,
        since: datetime,
        params: Callable[[str, str], dict[str, Any]],
        next_since: Callable[[datetime], datetime],
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        state = json.loads(cursor) if cursor else {"since": iso_utc(since)}
        until = state.get("until") or iso_utc(self.now())
        page = int(state.get("page", 1))
        while True:
            body, response = await self._get(
                path,
                {**params(state["since"], until), "per_page": self.per_page, "page": page},
            )
            if not isinstance(body, list):
                raise PlatformError(f"WooCommerce {path} did not return a list")
            total_pages = int(response.headers.get("X-WP-TotalPages", "1") or 1)
            if page >= total_pages:
                end = next_since(parse_utc(until))  # type: ignore[arg-type]
                yield body, json.dumps({"since": iso_utc(end)})
                return
            page += 1
            yield body, json.dumps({"since": state["since"], "until": until, "page": page})

    def _order_params(self, since: str, until: str) -> dict[str, Any]:
        return {
            "modified_after": since,
            "modified_before": until,
            "dates_are_gmt": "true",
            "orderby": "id",
            "order": "asc",
        }

    async def orders(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[OrderRecord]]:
        async for rows, next_cursor in self._pages(
            "/orders", cursor, since, self._order_params, lambda t: t - self.overlap
        ):
            page: Page[OrderRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_order(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def order(self, platform_order_id: str) -> OrderRecord:
        body, _ = await self._get(f"/orders/{int(platform_order_id)}", {})
        return parse_order(body)

    async def after_sales(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[AfterSaleRecord]]:
        """Refunds of orders modified in the window (a refund modifies its order)."""
        async for rows, next_cursor in self._pages(
            "/orders", cursor, since, self._order_params, lambda t: t - self.overlap
        ):
            page: Page[AfterSaleRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                if not row.get("refunds"):
                    continue
                order_id = str(row.get("id"))
                refunds, _ = await self._get(f"/orders/{order_id}/refunds", {"per_page": 100})
                for refund in refunds:
                    try:
                        page.records.append(
                            parse_refund(order_id, row.get("currency") or "USD", refund)
                        )
                    except BadPayload as exc:
                        page.errors.append(exc)
            yield page

    async def reviews(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[ReviewRecord]]:
        def params(since_: str, until: str) -> dict[str, Any]:
            # Reviews filter on the creation date only (in the site's zone).
            return {"after": since_, "before": until, "status": "all"}

        async for rows, next_cursor in self._pages(
            "/products/reviews", cursor, since, params, lambda t: t - self.review_rescan
        ):
            page: Page[ReviewRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_review(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def check(self) -> None:
        """A cheap authenticated call, for "test connection"."""
        await self._get("/orders", {"per_page": 1})


def connect(
    *, base_url: str | None, credentials: dict[str, str], **options: Any
) -> WooCommerceConnector:
    """Entry point ``aftersales.connectors: woocommerce``; the shop's URL is required."""
    if not base_url:
        raise ValueError("a WooCommerce store needs its site URL as base_url")
    return WooCommerceConnector(
        base_url=base_url, key=credentials["key"], secret=credentials["secret"], **options
    )


def verify_webhook(secret: str, body: bytes, signature: str | None) -> bool:
    """``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the exact body, keyed with the secret."""
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.encode())


def webhook_delivery_id(headers: dict[str, str]) -> str | None:
    return headers.get("x-wc-webhook-delivery-id")


def webhook_order(headers: dict[str, str], body: bytes) -> OrderRecord | None:
    """The order an ``order.created/updated`` webhook carries; None for other topics."""
    topic = headers.get("x-wc-webhook-topic", "")
    if topic not in ("order.created", "order.updated", "order.restored"):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadPayload("webhook body is not JSON") from None
    return parse_order(payload)
