"""A fake WooCommerce REST API v3, faithful where our connector depends on it.

- Auth: HTTP Basic (consumer key/secret) or one-legged OAuth 1.0a in the
  query string (HMAC-SHA1/SHA256, key ``secret&``, 15-minute timestamp
  window, no nonce reuse); failures answer 401 with WooCommerce's error body.
- ``GET /orders``: ``modified_after``/``modified_before`` (+ ``dates_are_gmt``),
  ``orderby=id|date``, ``order``, ``page``, ``per_page`` (1..100, else 400
  ``rest_invalid_param``), ``X-WP-Total``/``X-WP-TotalPages`` and ``Link``
  headers, 400 ``rest_post_invalid_page_number`` past the last page.
- ``GET /orders/<id>``, ``GET /orders/<id>/refunds``, ``GET /products/reviews``
  (``after``/``before`` on the creation date only).
- ``POST /orders/<id>/refunds``: ``amount`` up to the paid total less the
  refunds so far, ``line_items[{id, refund_total}]`` landing on order and
  shipping lines (unknown ids are skipped, as ``wc_create_refund`` does),
  ``meta_data`` stored on the refund. An amount over the remainder is refused
  the way WooCommerce core's REST controller refuses it: HTTP 500 with
  ``{"code": "woocommerce_rest_cannot_create_order_refund", "message":
  "Invalid refund amount.", "data": {"status": 500}}`` (``refusal_status``
  changes the status, for versions that answer 400); an amount of zero or
  less is a 400 ``woocommerce_rest_invalid_order_refund``. A refund moves the
  order's ``date_modified`` and, once nothing is left, its status to
  ``refunded``. Every executed refund is counted in ``executed_refunds``;
  ``lose_answers`` makes the next creates execute and then answer 502 or
  too late for the client, as a proxy or a slow gateway would.
The verifier below is written from the WooCommerce docs, not from our client.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "woocommerce"
API = "/wp-json/wc/v3"
CENT = Decimal("0.01")
LOST_502 = "502"  # executed, then a proxy answers 502 Bad Gateway
LOST_TIMEOUT = "timeout"  # executed, then the answer comes after the client gave up


def _gmt(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


REFUND_REFUSED = "woocommerce_rest_cannot_create_order_refund"


def _error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status}}


def _error(status: int, code: str, message: str) -> Response:
    body = _error_body(status, code, message)
    return Response(json.dumps(body), status_code=status, media_type="application/json")


@dataclass
class FakeWooShop:
    key: str = "ck_test"
    secret: str = "cs_test"
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    reviews: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    seen_nonces: set[str] = field(default_factory=set)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Every refund the shop really made over HTTP, once each (what a test counts).
    executed_refunds: list[dict[str, Any]] = field(default_factory=list)
    # Every create body received, made or refused, as sent.
    refund_posts: list[dict[str, Any]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # see lose_answers
    lost_answer_delay: float = 1.0
    refusal_status: int = 500
    _by_window: dict[tuple[str, str, str, str], list[int]] = field(default_factory=dict)
    _json: dict[int, str] = field(default_factory=dict)

    def order_json(self, order_id: int) -> str:
        """Serialized once per change, so the fake spends its CPU on HTTP, not JSON."""
        if order_id not in self._json:
            self._json[order_id] = json.dumps(self.orders[order_id], ensure_ascii=False)
        return self._json[order_id]

    def seed(self, n: int, *, start: datetime, seed: int = 1, refund_every: int = 25) -> None:
        """``n`` orders created over the days after ``start``, like a real shop's."""
        template = json.loads((FIXTURES / "orders--retrieve-an-order.json").read_text())
        rng = random.Random(seed)
        statuses = ["pending", "processing", "processing", "completed", "completed", "cancelled"]
        for order_id in range(1000, 1000 + n):
            created = start + timedelta(seconds=order_id * 37 % (86400 * 30) + order_id)
            order = copy.deepcopy(template)
            quantity = rng.randint(1, 3)
            price = Decimal(rng.randint(500, 50000)) / 100
            line_total = price * quantity
            shipping = Decimal("10.00")
            status = rng.choice(statuses)
            order.update(
                id=order_id,
                number=str(order_id),
                status=status,
                currency="CNY",
                total=f"{line_total + shipping:.2f}",
                shipping_total=f"{shipping:.2f}",
                date_created_gmt=_gmt(created),
                date_created=_gmt(created + timedelta(hours=8)),
                date_modified_gmt=_gmt(created + timedelta(minutes=5)),
                date_modified=_gmt(created + timedelta(hours=8, minutes=5)),
                date_paid_gmt=None if status == "pending" else _gmt(created + timedelta(minutes=1)),
                date_completed_gmt=(
                    _gmt(created + timedelta(days=2)) if status == "completed" else None
                ),
                customer_id=rng.randint(1, 400),
                refunds=[],
            )
            order["billing"]["first_name"] = f"买家{order_id % 400}"
            order["billing"]["phone"] = f"138{order_id:08d}"
            order["line_items"] = [
                {
                    **template["line_items"][0],
                    "id": order_id * 10 + 1,
                    "name": f"商品 {order_id % 97}",
                    "quantity": quantity,
                    "price": float(price),  # WooCommerce really sends a JSON number here
                    "subtotal": f"{line_total:.2f}",
                    "total": f"{line_total:.2f}",
                    "sku": f"SKU-{order_id % 97}",
                }
            ]
            self.orders[order_id] = order
            if refund_every and order_id % refund_every == 0:
                self._refund(order_id, created + timedelta(days=1), Decimal("5.00"))
        self._by_window.clear()

    def _refund(self, order_id: int, at: datetime, amount: Decimal) -> None:
        refund_id = 900000 + order_id * 3 + len(self.refunds.get(order_id, []))
        line = self.orders[order_id]["line_items"][0]
        self.refunds.setdefault(order_id, []).append(
            {
                "id": refund_id,
                "date_created": _gmt(at + timedelta(hours=8)),
                "date_created_gmt": _gmt(at),
                "amount": f"{amount:.2f}",
                "reason": "尺码不合适",
                "refunded_by": 1,
                "refunded_payment": False,
                "meta_data": [],
                "line_items": [{"id": line["id"] + 5, "name": line["name"], "quantity": -1}],
            }
        )
        self.orders[order_id]["refunds"].append(
            {"id": refund_id, "refund": "尺码不合适", "total": f"-{amount:.2f}"}
        )
        self._json.pop(order_id, None)

    def lose_answers(self, *modes: str) -> None:
        """The next creates, one per mode, are made and then their answer is lost:
        ``LOST_502`` answers 502, ``LOST_TIMEOUT`` answers ``lost_answer_delay`` late."""
        self.lost.extend(modes)

    def remaining(self, order_id: int) -> Decimal:
        """What can still be refunded: the paid total less the refunds so far."""
        order = self.orders[order_id]
        paid = Decimal(order["total"]) if order.get("date_paid_gmt") else Decimal("0.00")
        refunded = sum(
            (-Decimal(r["total"]) for r in order.get("refunds") or []), start=Decimal("0.00")
        )
        return paid - refunded

    def create_refund(self, order_id: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``POST /orders/<id>/refunds`` on the shop's state: (status, JSON body)."""
        try:
            amount = Decimal(str(body.get("amount") or "0")).quantize(CENT)
        except InvalidOperation:
            return 400, _error_body(400, "rest_invalid_param", "Invalid parameter(s): amount")
        if amount <= 0:
            return 400, _error_body(
                400,
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
            )
        if amount > self.remaining(order_id):
            status = self.refusal_status
            return status, _error_body(status, REFUND_REFUSED, "Invalid refund amount.")
        order = self.orders[order_id]
        at = self.clock()
        # Apart from the seeded refunds' ids (900000 + 3 x order id).
        refund_id = 50_000_000 + len(self.executed_refunds)
        wanted = {
            str(line.get("id")): Decimal(str(line.get("refund_total") or "0")).quantize(CENT)
            for line in body.get("line_items") or []
            if isinstance(line, dict)
        }
        meta_id = refund_id * 10
        refund: dict[str, Any] = {
            "id": refund_id,
            "date_created": _gmt(at + timedelta(hours=8)),
            "date_created_gmt": _gmt(at),
            "amount": f"{amount:.2f}",
            "reason": body.get("reason") or "",
            "refunded_by": body.get("refunded_by") or 1,
            "refunded_payment": body.get("api_refund", True) is not False,
            "meta_data": [
                {"id": meta_id + i, "key": m.get("key"), "value": m.get("value")}
                for i, m in enumerate(body.get("meta_data") or [], start=1)
                if isinstance(m, dict)
            ],
            "line_items": [],
            "shipping_lines": [],
            "_links": {
                "self": [{"href": f"{API}/orders/{order_id}/refunds/{refund_id}"}],
                "collection": [{"href": f"{API}/orders/{order_id}/refunds"}],
                "up": [{"href": f"{API}/orders/{order_id}"}],
            },
        }
        for kind in ("line_items", "shipping_lines"):
            for line in order.get(kind) or []:
                total = wanted.get(str(line["id"]))
                if total is None:
                    continue  # wc_create_refund skips the order's lines it was not given
                copy_id = (
                    refund_id * 100 + len(refund["line_items"]) + len(refund["shipping_lines"])
                )
                refund[kind].append(
                    {
                        "id": copy_id,
                        "name": line.get("name") or line.get("method_title"),
                        "quantity": 0,
                        "total": f"{-total:.2f}",
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [
                            {"id": copy_id, "key": "_refunded_item_id", "value": str(line["id"])}
                        ],
                    }
                )
        self.refunds.setdefault(order_id, []).append(refund)
        order["refunds"].append(
            {"id": refund_id, "refund": refund["reason"], "total": f"-{amount:.2f}"}
        )
        status = "refunded" if self.remaining(order_id) <= 0 else order["status"]
        self.touch(order_id, at, status=status)
        self.executed_refunds.append(refund)
        return 201, refund

    def touch(self, order_id: int, at: datetime, *, status: str = "completed") -> None:
        """The shop changed an order: new status, new modified time."""
        order = self.orders[order_id]
        order["status"] = status
        order["date_modified_gmt"] = _gmt(at)
        order["date_modified"] = _gmt(at + timedelta(hours=8))
        self._json.pop(order_id, None)
        self._by_window.clear()

    def _window(self, after: str, before: str, orderby: str, order: str) -> list[int]:
        key = (after, before, orderby, order)
        if key not in self._by_window:
            ids = [
                oid
                for oid, o in self.orders.items()
                if (not after or o["date_modified_gmt"] > after)
                and (not before or o["date_modified_gmt"] < before)
            ]
            sort_key = (
                (lambda i: i)
                if orderby == "id"
                else (lambda i: (self.orders[i]["date_created_gmt"], i))
            )
            ids.sort(key=sort_key, reverse=order == "desc")
            self._by_window[key] = ids
        return self._by_window[key]


def _rfc3986(value: str) -> str:
    return quote(value, safe="~-._")


def _oauth_ok(shop: FakeWooShop, request: Request) -> str | None:
    """None when the OAuth 1.0a signature checks out, else WooCommerce's message."""
    params = dict(request.query_params)
    if params.get("oauth_consumer_key") != shop.key:
        return "Consumer key is invalid."
    method = params.get("oauth_signature_method", "")
    digest = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}.get(method)
    if digest is None:
        return "Invalid signature - signature method is invalid"
    try:
        timestamp = int(params.get("oauth_timestamp", ""))
    except ValueError:
        return "Invalid timestamp."
    if abs(time.time() - timestamp) > 15 * 60:
        return "Invalid timestamp."
    nonce = params.get("oauth_nonce", "")
    if not nonce or (nonce, timestamp) in shop.seen_nonces:  # type: ignore[comparison-overlap]
        return "Invalid nonce - nonce has already been used."
    sent = params.pop("oauth_signature", "")
    base_url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    normalized = "&".join(
        f"{k}={v}" for k, v in sorted((_rfc3986(k), _rfc3986(v)) for k, v in params.items())
    )
    base = "&".join([request.method, _rfc3986(base_url), _rfc3986(normalized)])
    expected = base64.b64encode(
        hmac.new(f"{shop.secret}&".encode(), base.encode(), digest).digest()
    ).decode()
    if not hmac.compare_digest(expected, sent):
        return "Invalid signature - provided signature does not match."
    shop.seen_nonces.add((nonce, timestamp))  # type: ignore[arg-type]
    return None


def _authenticate(shop: FakeWooShop, request: Request) -> Response | None:
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        if user == shop.key and password == shop.secret:
            return None
        return _error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
    if "oauth_signature" in request.query_params:
        problem = _oauth_ok(shop, request)
        if problem is None:
            return None
        return _error(401, "woocommerce_rest_authentication_error", problem)
    return _error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")


def _paged(request: Request, ids: list[int], render) -> Response:
    try:
        per_page = int(request.query_params.get("per_page", "10"))
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
    if not 1 <= per_page <= 100:
        return _error(
            400, "rest_invalid_param", "Invalid parameter(s): per_page (must be between 1 and 100)"
        )
    total = len(ids)
    pages = (total + per_page - 1) // per_page
    if page < 1 or (page > pages and total > 0):
        return _error(
            400,
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        )
    chunk = ids[(page - 1) * per_page : page * per_page]
    body = "[" + ",".join(render(i) for i in chunk) + "]"
    base = str(request.url.remove_query_params("page"))
    links = []
    if page < pages:
        links.append(f'<{base}&page={page + 1}>; rel="next"')
    if page > 1:
        links.append(f'<{base}&page={page - 1}>; rel="prev"')
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    if links:
        headers["Link"] = ", ".join(links)
    return Response(body, media_type="application/json", headers=headers)


def make_app(shop: FakeWooShop, *, delay: float = 0.0) -> Starlette:
    """``delay`` slows every order listing, so a test can kill a sync mid-way."""

    async def list_orders(request: Request) -> Response:
        shop.requests += 1
        await asyncio.sleep(delay)
        if (denied := _authenticate(shop, request)) is not None:
            return denied
        q = request.query_params
        if q.get("dates_are_gmt") not in ("true", "1"):
            return _error(400, "fake_unsupported", "the fake only serves dates_are_gmt=true")
        ids = shop._window(
            q.get("modified_after", ""),
            q.get("modified_before", ""),
            q.get("orderby", "date"),
            q.get("order", "desc"),
        )
        return _paged(request, ids, shop.order_json)

    async def one_order(request: Request) -> Response:
        shop.requests += 1
        if (denied := _authenticate(shop, request)) is not None:
            return denied
        order = shop.orders.get(request.path_params["order_id"])
        if order is None:
            return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return Response(json.dumps(order, ensure_ascii=False), media_type="application/json")

    async def order_refunds(request: Request) -> Response:
        shop.requests += 1
        if (denied := _authenticate(shop, request)) is not None:
            return denied
        order_id = request.path_params["order_id"]
        if order_id not in shop.orders:
            return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        if request.method == "POST":
            return await create_refund(request, order_id)
        refunds = shop.refunds.get(order_id, [])
        return _paged(
            request, list(range(len(refunds))), lambda i: json.dumps(refunds[i], ensure_ascii=False)
        )

    async def create_refund(request: Request, order_id: int) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        if not isinstance(body, dict):
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        shop.refund_posts.append(body)
        status, answer = shop.create_refund(order_id, body)
        if status == 201 and shop.lost:
            mode = shop.lost.pop(0)
            if mode == LOST_502:
                return Response("<h1>502 Bad Gateway</h1>", status_code=502, media_type="text/html")
            await asyncio.sleep(shop.lost_answer_delay)  # LOST_TIMEOUT: the client is gone
        return Response(
            json.dumps(answer, ensure_ascii=False),
            status_code=status,
            media_type="application/json",
        )

    async def list_reviews(request: Request) -> Response:
        shop.requests += 1
        if (denied := _authenticate(shop, request)) is not None:
            return denied
        after = request.query_params.get("after", "")
        before = request.query_params.get("before", "")
        ids = sorted(
            rid
            for rid, r in shop.reviews.items()
            if (not after or r["date_created_gmt"] > after)
            and (not before or r["date_created_gmt"] < before)
        )
        return _paged(request, ids, lambda i: json.dumps(shop.reviews[i], ensure_ascii=False))

    return Starlette(
        routes=[
            Route(API + "/orders", list_orders),
            Route(API + "/orders/{order_id:int}", one_order),
            Route(API + "/orders/{order_id:int}/refunds", order_refunds, methods=["GET", "POST"]),
            Route(API + "/products/reviews", list_reviews),
        ]
    )
