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

Refund write-back (``decide_refund``): WooCommerce buyers file no refund
requests, so there is nothing to reject on the platform; a REJECT is only
recorded by the desk (``rejected_locally``, no HTTP call). An APPROVE
creates a refund on the order with ``api_refund=true`` (the payment gateway
pays the money back) and ``api_restock=false`` (goods are restocked when
they come back, not when money goes out). WooCommerce honours no
idempotency header, so the refund carries our key in its ``meta_data``
(``_aftersales_idempotency_key``) and every attempt first lists the order's
refunds: one carrying the key means the write was made (``already_done``).
A write that names a ``platform_refund_id`` is about a refund already made:
it is found on the order (``already_done``) or refused, never made again.
The create itself is sent once: a 5xx or a lost answer is not resent blind
but raised, so the retry looks first. WooCommerce saves the meta just after
the gateway refund; a crash between the two would leave a refund we cannot
recognise, a window we cannot close from outside.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from urllib.parse import quote, urlsplit

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
from connectors.http import PlatformClient
from connectors.timeutil import iso_utc, parse_utc, required_utc

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
# The refund's meta field that carries our idempotency key (see the module docstring).
IDEMPOTENCY_META = "_aftersales_idempotency_key"
# WooCommerce's code for a refund it will not make: over the remaining amount, or the
# gateway cannot refund. Core's REST controller sends it with HTTP 500 (others are said
# to send 400), so the code decides, not the status: nothing was refunded and resending
# cannot help.
REFUND_REFUSED = "woocommerce_rest_cannot_create_order_refund"
REFUNDED = "refunded"
REJECTED_LOCALLY = "rejected_locally"
CENT = Decimal("0.01")


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

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
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
                    if shipped.isascii() and shipped.isdigit()
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
            created_at=required_utc(payload["date_created_gmt"]),
            paid_at=paid_at,
            shipped_at=parse_utc(payload.get("date_completed_gmt")),
            updated_at=required_utc(payload["date_modified_gmt"]),
            items=items,
            shipments=_shipments(payload),
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, ValidationError) as exc:
        # AttributeError: ``billing`` or a line that is not an object; OverflowError: int(1e400).
        raise BadPayload(f"order {record_id}: {exc!r}"[:500], record_id=record_id) from None


def parse_refund(order_id: str, currency: str, payload: dict[str, Any]) -> AfterSaleRecord:
    record_id = str(payload.get("id", "?"))
    try:
        created = required_utc(payload["date_created_gmt"])
        amount = parse_money(payload["amount"], record_id)
        lines = payload.get("line_items") or []
        return AfterSaleRecord(
            platform_refund_id=record_id,
            platform_order_id=order_id,
            platform_item_id=_refunded_item_id(lines[0]) if len(lines) == 1 else None,
            kind=AfterSaleKind.REFUND_ONLY,
            status=AfterSaleStatus.REFUNDED,  # the platform lists only refunds made
            platform_status="refunded",
            currency=currency,
            requested_amount=abs(amount),
            reason=payload.get("reason") or None,
            created_at=created,
            updated_at=created,
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"refund {record_id}: {exc}", record_id=record_id) from None


def _refunded_item_id(line: dict[str, Any]) -> str:
    """The order line a refund line refunds: a refund's lines are copies with their own
    ids, pointing back through ``_refunded_item_id`` meta (the copy's id if it has none)."""
    for meta in line.get("meta_data") or []:
        if isinstance(meta, dict) and meta.get("key") == "_refunded_item_id" and meta.get("value"):
            return str(meta["value"])
    return str(line["id"])


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
            created_at=required_utc(payload["date_created_gmt"]),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"review {record_id}: {exc}", record_id=record_id) from None


def _error(response: httpx.Response, body: Any) -> PlatformError:
    """WooCommerce errors are ``{"code", "message", "data": {"status"}}``."""
    code = body.get("code", "") if isinstance(body, dict) else ""
    message = body.get("message", "") if isinstance(body, dict) else response.text[:200]
    return PlatformError(f"WooCommerce: {message}", code=code, status=response.status_code)


def _refused(response: httpx.Response, body: Any) -> WriteRefused:
    error = _error(response, body)
    return WriteRefused(str(error), code=error.code, status=error.status)


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}"


# What the desk may ask of this platform (read without connecting: ``capabilities_of``).
CAPABILITIES = Capabilities(
    orders=True, after_sales=True, reviews=True, decide_refund=True, start_refund=True
)


class WooCommerceConnector:
    platform = "woocommerce"
    capabilities = CAPABILITIES

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
        refunded_by: int | None = None,
        **client_options: Any,
    ) -> None:
        """``refunded_by`` is the WordPress user our refunds are credited to; None leaves
        WooCommerce to credit the user the API key belongs to."""
        https = urlsplit(base_url).scheme == "https"
        auth: httpx.Auth = httpx.BasicAuth(key, secret) if https else OAuth1QueryAuth(key, secret)
        self.client = PlatformClient(base_url.rstrip("/"), auth=auth, **client_options)
        self.per_page = per_page
        self.overlap = overlap
        self.review_rescan = review_rescan
        self.now = now
        self.refunded_by = refunded_by

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

    async def decide_refund(self, write: RefundWrite, *, idempotency_key: str) -> RefundWriteResult:
        """Carry out the desk's decision; see the module docstring for why it looks first."""
        if write.decision is RefundDecision.REJECT:
            # No buyer request exists on WooCommerce to decline: the desk's record is all.
            return RefundWriteResult(
                platform_refund_id=write.platform_refund_id,
                status=AfterSaleStatus.REJECTED,
                platform_status=REJECTED_LOCALLY,
            )
        write.check_parts()
        order_id = int(write.platform_order_id)
        made = await self._made_refund(order_id, idempotency_key, write.platform_refund_id)
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
                f"WooCommerce order {order_id} has no refund {write.platform_refund_id}",
                code="invalid_refund",
            )
        payload = await self._refund_payload(order_id, write, idempotency_key)
        body, response = await self.client.send_once(
            "POST", f"{API}/orders/{order_id}/refunds", json=payload
        )
        if response.status_code in (200, 201) and isinstance(body, dict) and body.get("id"):
            return RefundWriteResult(
                platform_refund_id=str(body["id"]),
                status=AfterSaleStatus.REFUNDED,
                platform_status=REFUNDED,
            )
        if isinstance(body, dict) and body.get("code") == REFUND_REFUSED:
            raise _refused(response, body)
        if response.status_code in (400, 404):
            raise _refused(response, body)
        # A 5xx without WooCommerce's refusal (a proxy, a fatal error after the write):
        # the refund may exist. The retry's look will tell.
        raise _error(response, body)

    async def _made_refund(
        self, order_id: int, key: str, refund_id: str | None
    ) -> dict[str, Any] | None:
        """The order's refund that carries our key (an earlier attempt made it) or is
        ``refund_id`` (the write names a refund already made), if there is one."""
        page = 1
        while True:
            body, response = await self._get(
                f"/orders/{order_id}/refunds", {"per_page": 100, "page": page}
            )
            if not isinstance(body, list):
                raise PlatformError(f"WooCommerce refunds of order {order_id} are not a list")
            for refund in body:
                if refund_id and str(refund.get("id")) == refund_id:
                    return cast(dict[str, Any], refund)
                for meta in refund.get("meta_data") or []:
                    if meta.get("key") == IDEMPOTENCY_META and meta.get("value") == key:
                        return cast(dict[str, Any], refund)
            if page >= int(response.headers.get("X-WP-TotalPages", "1") or 1):
                return None
            page += 1

    async def _refund_payload(self, order_id: int, write: RefundWrite, key: str) -> dict[str, Any]:
        """The create body. Lines get ``refund_total`` only: we keep no per-line tax, so
        ``refund_tax`` is left out; what lines and shipping leave is an order-level sum."""
        lines: list[dict[str, Any]] = []
        if write.item_amounts or write.shipping_amount > 0:
            order, _ = await self._get(f"/orders/{order_id}", {})
            known = {str(line.get("id")) for line in order.get("line_items") or []}
            for item_id, amount in write.item_amounts.items():
                if item_id not in known:
                    raise WriteRefused(
                        f"WooCommerce order {order_id} has no line {item_id}", code="invalid_refund"
                    )
                lines.append({"id": int(item_id), "refund_total": _money(amount)})
            lines += _shipping_refunds(order_id, order, write.shipping_amount)
        payload: dict[str, Any] = {
            "amount": _money(write.amount),
            "reason": write.reason,
            "api_refund": True,
            "api_restock": False,
            "line_items": lines,
            "meta_data": [{"key": IDEMPOTENCY_META, "value": key}],
        }
        if self.refunded_by is not None:
            payload["refunded_by"] = self.refunded_by
        return payload


def _shipping_refunds(
    order_id: int, order: dict[str, Any], amount: Decimal
) -> list[dict[str, Any]]:
    """Shipping is refunded on the order's shipping lines, each up to its total, the rest on
    the last (so WooCommerce, not we, judges an amount too high)."""
    if amount <= 0:
        return []
    shipping = [line for line in order.get("shipping_lines") or [] if line.get("id")]
    if not shipping:
        raise WriteRefused(
            f"WooCommerce order {order_id} has no shipping line to refund", code="invalid_refund"
        )
    refunds: list[dict[str, Any]] = []
    left = amount
    for index, line in enumerate(shipping):
        last = index == len(shipping) - 1
        part = left if last else min(left, parse_money(line.get("total"), str(order_id)))
        if part > 0:
            refunds.append({"id": int(line["id"]), "refund_total": _money(part)})
        left -= part
    return refunds


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
    return parse_order(read_json_object(body))


def _verify(headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent:
    """The manifest's webhook verifier: WooCommerce's creation ping is unsigned and answered."""
    if body.startswith(b"webhook_id="):
        return WebhookEvent(topic="ping", body=body, headers=headers, ping=True)
    if not verify_webhook(secret, body, headers.get("x-wc-webhook-signature")):
        raise BadSignature("the X-WC-Webhook-Signature does not match")
    return WebhookEvent(
        topic=headers.get("x-wc-webhook-topic") or "?",
        body=body,
        headers=headers,
        delivery_id=headers.get("x-wc-webhook-delivery-id") or None,
    )


def _webhook_record(event: WebhookEvent) -> OrderRecord:
    return parse_order(read_json_object(event.body))


manifest = ConnectorManifest(
    platform="woocommerce",
    label="WooCommerce",
    buyer_language="en",
    factory=connect,
    credentials=(
        CredentialField("key", "Consumer key", secret=False, help="Starts with ck_."),
        CredentialField("secret", "Consumer secret", help="Starts with cs_."),
    ),
    capabilities=CAPABILITIES,
    base_url_label="Site URL",
    base_url_help="The shop's own address, or a proxy in front of it.",
    base_url_required=True,
    webhook=_verify,
    webhook_events={
        topic: Stream.ORDERS for topic in ("order.created", "order.updated", "order.restored")
    },
    webhook_record=_webhook_record,
    rate_limits=RateLimits(note="Self-hosted: as fast as the shop's server answers."),
)
