"""A fake Pinduoduo gateway (``POST /api/router``) over an in-memory shop.

Strict where PLATFORMS-CN section B (and its D notes for fake servers) says the
real gateway is: the form body is parsed and ``client_id``, the signature
(computed here apart from the connector: uppercase MD5 over the sorted fields
except ``sign``, empty ones skipped, wrapped in the secret), a Unix-seconds
``timestamp`` within 10 minutes and the ``access_token`` are checked; the
increment lists refuse a window over 30 minutes and a page over 100; a per-shop
call limit answers 52101 with no hint of how long to wait. Every refusal is an
``error_response`` with HTTP 200 (the status is unconfirmed; D says 200).

Where PDD's behaviour is not documented the fake makes a choice and says so:
lists are sorted by update time ascending (the order is undocumented; the
connector must not depend on it), both window bounds are inclusive, the refund
list numbers ``after_sales_type`` as the detail does (1 仅退款, 2 退货退款, 3 换货),
``expire_time`` is on the detail only, amounts are JSON numbers (yuan).

Tokens: ``expire_token()`` makes the current access token answer 10019;
``pdd.pop.auth.token.refresh`` with the current refresh token issues new ones
(``refresh_fails`` makes it refuse, code 10019 with ``refresh_token`` named).

Writes (``pdd.refund.agree``, ``pdd.refund.returngoods.agree``) take one
``request`` field of JSON. Their business errors are undocumented, so these are
the fake's own, all with ``error_code`` 10000 (a client error by LYW's ranges):
``after_sales_id`` unknown, a status that is not waiting for the merchant (so a
replay of a write already made lands here), a return agreed without its
``return_address_id``. Each executed write is counted (``executed``), and
``lose_answers`` makes the gateway carry out an agree and then answer 504.

Receiver details: an order waiting for shipping (``order_status`` 1, 成交) carries
ciphertext in ``receiver_name``/``receiver_phone``/``receiver_address`` (the
fake's own format; the platform's is unconfirmed), any other order empty
strings, beside the masked twins. ``pdd.open.decrypt.batch`` takes ``data_list``
(JSON, ``[{data_tag, encrypted_data}]``, at most 100: more is refused with
10000, the fake's choice) and answers ``data_decrypt_list`` with the plaintext,
or ``error_code`` for a ciphertext of another order or one in ``refuse_decrypt``;
an order with ``virtual_tel`` answers its phone as a virtual number.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from connectors.timeutil import CHINA

PRODUCTS = [
    ("农家土鸡蛋 30枚", "30枚装", "29.90"),
    ("加厚抽纸 24包", "24包", "19.90"),
    ("纯棉四件套", "1.8m床", "89.00"),
    ("不粘锅炒锅", "32cm", "59.00"),
    ("儿童保暖棉袜 5双", "S码", "15.80"),
    ("新疆阿克苏苹果 5斤装", "中果", "24.90"),
]
REASONS = ["不想要了", "质量问题", "商品与描述不符", "少件/漏发", "发错货"]
NAMES = ["王**", "李**", "张**", "刘**", "陈**"]


def pdd_text(value: datetime) -> str:
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def expected_sign(params: dict[str, str], secret: str) -> str:
    """The gateway's own check, written apart from the connector's ``sign``."""
    pieces = [name + params[name] for name in sorted(params) if name != "sign" and params[name]]
    return hashlib.md5((secret + "".join(pieces) + secret).encode("utf-8")).hexdigest().upper()


class Clock:
    """A settable "now" shared by the shop and the connector in tests."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@dataclass
class Line:
    goods_id: int
    sku_id: int
    goods_name: str
    goods_spec: str
    goods_count: int
    goods_price: Decimal


@dataclass
class Order:
    order_sn: str
    order_status: int  # 1 待发货, 2 已发货待签收, 3 已签收
    confirm_status: int  # 0 未成交, 1 已成交, 2 已取消
    created: datetime
    updated: datetime
    lines: list[Line]
    postage: Decimal
    discount: Decimal
    pay_time: datetime | None = None
    shipping_time: datetime | None = None
    tracking_number: str = ""
    receiver: str = "王小明"
    tel: str = "13800000000"
    full_address: str = "浙江省杭州市西湖区文一路100号3幢201室"
    virtual_tel: tuple[str, str] | None = None  # (number, extension)

    @property
    def encrypted(self) -> bool:
        """Paid and waiting for shipping: PDD sends the receiver (encrypted) only then."""
        return self.order_status == 1 and self.confirm_status == 1

    def cipher(self, kind: str) -> str:
        """The fake's ciphertext of one field, per order."""
        digest = hashlib.sha256(f"{self.order_sn}:{kind}".encode()).hexdigest()[:20]
        return f"~{kind[0]}~{digest}~"

    @property
    def pay_amount(self) -> Decimal:
        goods = sum((line.goods_price * line.goods_count for line in self.lines), Decimal("0"))
        return goods - self.discount + self.postage


@dataclass
class AfterSale:
    id: int
    order_sn: str
    sku_id: int
    after_sales_type: int  # detail numbering: 1 仅退款, 2 退货退款, 3 换货
    after_sales_status: int
    refund_amount: Decimal
    reason: str
    created: datetime
    updated: datetime
    expire: datetime | None = None
    tracking_number: str = ""
    shipping_name: str = ""


class Refusal(Exception):
    """An ``error_response``; the gateway answers it with HTTP 200."""

    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(f"{code} {msg}")
        self.body: dict[str, Any] = {"error_code": code, "error_msg": msg, "request_id": "fake"}
        if sub_code:
            self.body["sub_code"] = sub_code
        if sub_msg:
            self.body["sub_msg"] = sub_msg


@dataclass
class CallLimit:
    """At most ``calls`` per ``seconds`` (wall clock) per shop, then 52101."""

    calls: int
    seconds: float
    started: float = 0.0
    used: int = 0


@dataclass
class FakePddShop:
    client_id: str = "fake-client-id"
    client_secret: str = "fake-pdd-secret"
    access_token: str = "fake-access-token-1"
    refresh_token: str = "fake-refresh-token-1"
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    call_limit: CallLimit | None = None
    max_span: timedelta = timedelta(minutes=30)
    max_page_size: int = 100
    timestamp_tolerance: timedelta = timedelta(minutes=10)
    seed_value: int = 20261203
    orders: dict[str, Order] = field(default_factory=dict)
    after_sales: dict[int, AfterSale] = field(default_factory=dict)
    return_address_id: str = "778899"
    expired_tokens: set[str] = field(default_factory=set)
    refresh_fails: bool = False
    refreshed: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    refusals: Counter[int] = field(default_factory=Counter)
    executed: list[int] = field(default_factory=list)  # one after_sales_id per agree carried out
    received: list[dict[str, str]] = field(default_factory=list)
    decrypted: list[str] = field(default_factory=list)  # ciphertexts answered in plaintext
    refuse_decrypt: set[str] = field(default_factory=set)  # answered with an error_code
    lose_answers: int = 0
    queued: list[dict[str, Any]] = field(default_factory=list)
    on_list: Callable[[str, int], None] | None = None  # (type, page), before answering a page
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- data ------------------------------------------------------------------------------

    def seed(self, n_orders: int, *, start: datetime, days: float = 10) -> None:
        """``n_orders`` orders updated over ``days`` from ``start``, deterministically."""
        rng = random.Random(self.seed_value)
        span = int(days * 86400)
        horizon = start + timedelta(seconds=span)
        with self.lock:
            for n in range(n_orders):
                created = start + timedelta(seconds=rng.randrange(span))
                sn = f"{pdd_text(created)[2:10].replace('-', '')}-{400000000000000 + n * 7919}"
                lines = []
                for index in range(rng.choice([1, 1, 2])):
                    name, spec, price = rng.choice(PRODUCTS)
                    lines.append(
                        Line(
                            goods_id=100000 + PRODUCTS.index((name, spec, price)),
                            sku_id=(n + 1) * 1000 + index,
                            goods_name=name,
                            goods_spec=spec,
                            goods_count=rng.choice([1, 1, 2, 3]),
                            goods_price=Decimal(price),
                        )
                    )
                order = Order(
                    order_sn=sn,
                    order_status=1,
                    confirm_status=1,
                    created=created,
                    updated=created,
                    lines=lines,
                    postage=Decimal(rng.choice(["0", "0", "5.00"])),
                    discount=Decimal(rng.choice(["0", "2.00", "3.50"])),
                    pay_time=created,
                )
                at = created
                if rng.random() < 0.08:
                    order.confirm_status = 2
                    order.updated = min(created + timedelta(minutes=rng.randint(1, 30)), horizon)
                else:
                    for status, delay in ((2, 20), (3, 90)):
                        at = at + timedelta(hours=rng.randint(1, delay))
                        if at > horizon:
                            break
                        order.order_status = status
                        order.updated = at
                        if status == 2:
                            order.shipping_time = at
                            order.tracking_number = f"YT{rng.randint(10**11, 10**12 - 1)}"
                self.orders[sn] = order
                if rng.random() < 0.1:
                    self._maybe_refund(rng, order, horizon)

    def _maybe_refund(self, rng: random.Random, order: Order, horizon: datetime) -> None:
        created = order.updated + timedelta(minutes=rng.randint(1, 600))
        if created > horizon:
            return
        line = rng.choice(order.lines)
        kind = 1 if order.order_status == 1 else rng.choice([1, 2, 2, 3])
        waiting = 2 if kind == 1 else 3
        status = rng.choice([waiting, waiting, 10, 11, 7 if kind == 2 else 4])
        sale = AfterSale(
            id=50_000_000 + len(self.after_sales) * 97 + rng.randint(0, 50),
            order_sn=order.order_sn,
            sku_id=line.sku_id,
            after_sales_type=kind,
            after_sales_status=status,
            # Never more than the buyer paid (discounts come off the order).
            refund_amount=min(line.goods_price * line.goods_count, order.pay_amount),
            reason=rng.choice(REASONS),
            created=created,
            updated=created,
            expire=created + timedelta(hours=48) if status in (2, 3) else None,
        )
        self.after_sales[sale.id] = sale

    def touch(self, sn: str, at: datetime) -> Order:
        """The order moves on (shipped, signed) at ``at``, as the buyer or shop would."""
        with self.lock:
            order = self.orders[sn]
            if order.order_status < 3 and order.confirm_status == 1:
                order.order_status += 1
                if order.order_status == 2:
                    order.shipping_time, order.tracking_number = at, f"YT{sn[-9:]}"
            order.updated = at
            return order

    def expire_token(self) -> None:
        with self.lock:
            self.expired_tokens.add(self.access_token)

    def queue_error(self, code: int, msg: str, *, times: int = 1, sub_code: str = "") -> None:
        """The next ``times`` calls answer this error (after the signature checks)."""
        with self.lock:
            body = {"error_code": code, "error_msg": msg}
            if sub_code:
                body["sub_code"] = sub_code
            self.queued.extend([body] * times)

    # --- gateway ---------------------------------------------------------------------------

    def handle(self, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self.received.append(form)
            api = form.get("type", "")
            self.calls[api] += 1
            self._check(form)
            if self.queued:
                raise _Queued(self.queued.pop(0))
            handler = HANDLERS.get(api)
            if handler is None:
                raise Refusal(10000, "type not found", "type", api)
            return handler(self, form)

    def _check(self, form: dict[str, str]) -> None:
        if form.get("client_id") != self.client_id:
            raise Refusal(10016, "client_id不存在", "client_id_invalid")
        if form.get("sign") != expected_sign(form, self.client_secret):
            raise Refusal(20004, "签名验证失败", "20004")
        stamp = form.get("timestamp", "")
        if not stamp.isdigit():
            raise Refusal(10000, "参数错误", "timestamp", "timestamp must be Unix seconds")
        skew = abs(datetime.fromtimestamp(int(stamp), UTC) - self.now())
        if skew > self.timestamp_tolerance:
            raise Refusal(10000, "timestamp已过期", "timestamp_expired")
        if form.get("data_type") != "JSON":
            raise Refusal(10000, "参数错误", "data_type")
        if form.get("type") != "pdd.pop.auth.token.refresh":
            token = form.get("access_token", "")
            if token in self.expired_tokens:
                raise Refusal(10019, "access_token已过期", "access_token_invalid")
            if token != self.access_token:
                raise Refusal(10019, "access_token已过期", "access_token_invalid", "unknown")
        limit = self.call_limit
        if limit is not None:
            wall = time.monotonic()
            if wall - limit.started >= limit.seconds:
                limit.started, limit.used = wall, 0
            limit.used += 1
            if limit.used > limit.calls:
                raise Refusal(52101, "当前接口被限流，请稍后重试")

    # --- lists -----------------------------------------------------------------------------

    def _window(self, form: dict[str, str]) -> tuple[datetime, datetime, int, int]:
        try:
            start = datetime.fromtimestamp(int(form["start_updated_at"]), UTC)
            end = datetime.fromtimestamp(int(form["end_updated_at"]), UTC)
            page = int(form.get("page", "1"))
            size = int(form.get("page_size", "100"))
        except (KeyError, ValueError) as exc:
            raise Refusal(10000, "参数错误", "param_invalid", repr(exc)) from None
        if end < start or end - start > self.max_span:
            raise Refusal(10000, "参数错误", "time_range", "end-start must be within 30 minutes")
        if not 1 <= size <= self.max_page_size or page < 1:
            raise Refusal(10000, "参数错误", "page_size", "page_size must be 1-100")
        return start, end, page, size

    def _page(self, api: str, rows: list[Any], page: int, size: int) -> list[Any]:
        if self.on_list is not None:
            self.on_list(api, page)
        return rows[(page - 1) * size : page * size]

    def _orders(self, form: dict[str, str]) -> dict[str, Any]:
        start, end, page, size = self._window(form)
        rows = sorted(
            (o for o in self.orders.values() if start <= o.updated.replace(microsecond=0) <= end),
            key=lambda o: (o.updated, o.order_sn),
        )
        total = len(rows)
        chosen = self._page(ORDERS, rows, page, size)
        return {
            "order_sn_increment_get_response": {
                "total_count": total,
                "has_next": page * size < total,
                "order_sn_list": [order_json(o) for o in chosen],
            }
        }

    def _order(self, form: dict[str, str]) -> dict[str, Any]:
        order = self.orders.get(form.get("order_sn", ""))
        if order is None:
            raise Refusal(10000, "订单不存在", "order_sn")
        return {"order_info_get_response": {"order_info": order_json(order)}}

    def _refunds(self, form: dict[str, str]) -> dict[str, Any]:
        start, end, page, size = self._window(form)
        if form.get("after_sales_status") != "1" or form.get("after_sales_type") != "1":
            raise Refusal(10000, "参数错误", "after_sales_status", "required")
        rows = sorted(
            (s for s in self.after_sales.values() if start <= s.updated <= end),
            key=lambda s: (s.updated, s.id),
        )
        chosen = self._page(REFUNDS, rows, page, size)
        return {
            "refund_increment_get_response": {
                "total_count": len(rows),
                "refund_list": [refund_json(s) for s in chosen],
            }
        }

    def _refund(self, form: dict[str, str]) -> dict[str, Any]:
        sale = self._sale(form)
        if sale.order_sn != form.get("order_sn"):
            raise Refusal(10000, "售后单不存在", "order_sn")
        body = refund_json(sale)
        body["expire_time"] = pdd_text(sale.expire) if sale.expire else ""
        body["after_sales_type"] = sale.after_sales_type
        return {"refund_information_get_response": body}

    def _sale(self, form: dict[str, str]) -> AfterSale:
        try:
            sale_id = int(form["after_sales_id"])
        except (KeyError, ValueError):
            raise Refusal(10000, "参数错误", "after_sales_id") from None
        sale = self.after_sales.get(sale_id)
        if sale is None:
            raise Refusal(10000, "售后单不存在", "after_sales_id")
        return sale

    # --- writes ----------------------------------------------------------------------------

    def _agree(self, form: dict[str, str], *, returns: bool) -> dict[str, Any]:
        try:
            request = json.loads(form["request"])
        except (KeyError, ValueError):
            raise Refusal(10000, "参数错误", "request", "request must be JSON") from None
        sale = self._sale({"after_sales_id": str(request.get("after_sales_id", ""))})
        if request.get("order_sn") != sale.order_sn:
            raise Refusal(10000, "参数错误", "order_sn")
        waiting = 3 if returns else 2
        if sale.after_sales_status != waiting:
            raise Refusal(10000, "售后状态不允许此操作", "after_sales_status")
        if returns and str(request.get("return_address_id")) != self.return_address_id:
            raise Refusal(10000, "参数错误", "return_address_id")
        sale.after_sales_status = 7 if returns else 4
        sale.updated = max(self.now(), sale.updated + timedelta(seconds=1)).replace(microsecond=0)
        sale.expire = None
        self.executed.append(sale.id)
        if self.lose_answers:
            self.lose_answers -= 1
            raise _Lost()
        result = {"succ": True, "message": "", "after_sales_id": sale.id, "order_sn": sale.order_sn}
        if returns:
            return {"response": {"success": True, "result": {"success": True, "message": ""}}}
        return {"response": {"result": result}}

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        if self.refresh_fails or form.get("refresh_token") != self.refresh_token:
            raise Refusal(10019, "refresh_token已过期", "refresh_token_invalid")
        self.refreshed += 1
        self.access_token = f"fake-access-token-{self.refreshed + 1}"
        self.refresh_token = f"fake-refresh-token-{self.refreshed + 1}"
        return {
            "pop_auth_token_refresh_response": {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": 86400,
                "owner_id": 998877,
                "owner_name": "测试拼多多店",
            }
        }

    def _decrypt(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            items = json.loads(form.get("data_list") or "")
        except ValueError:
            raise Refusal(10000, "参数错误", "data_list", "data_list is not JSON") from None
        if not isinstance(items, list) or not items:
            raise Refusal(10000, "参数错误", "data_list", "data_list is empty")
        if len(items) > 100:
            raise Refusal(10000, "参数错误", "data_list", "data_list 默认列表大小不超过100")
        return {"open_decrypt_batch_response": {"data_decrypt_list": [self._one(i) for i in items]}}

    def _one(self, item: Any) -> dict[str, Any]:
        tag = str(item.get("data_tag") or "") if isinstance(item, dict) else ""
        data = str(item.get("encrypted_data") or "") if isinstance(item, dict) else ""
        row: dict[str, Any] = {
            "data_tag": tag,
            "encrypted_data": data,
            "decrypted_data": "",
            "data_type": 0,
            "error_code": 0,
            "error_msg": "",
            "virtual_number_type": 0,
            "virtual_identify_number": "",
        }
        order = self.orders.get(tag)
        kinds = {"name": 5, "phone": 6, "address": 7}
        kind = next((k for k in kinds if order and order.cipher(k) == data), None)
        if order is None or kind is None:
            return row | {"error_code": 100001, "error_msg": "密文与订单不匹配"}
        if data in self.refuse_decrypt:
            return row | {"error_code": 100002, "error_msg": "解密失败"}
        self.decrypted.append(data)
        row["data_type"] = kinds[kind]
        if kind == "phone" and order.virtual_tel:
            number, extension = order.virtual_tel
            return row | {
                "decrypted_data": number,
                "virtual_number_type": 1,
                "virtual_identify_number": extension,
            }
        plain = {"name": order.receiver, "phone": order.tel, "address": order.full_address}
        return row | {"decrypted_data": plain[kind]}

    def _mall(self, form: dict[str, str]) -> dict[str, Any]:
        return {"mall_info_get_response": {"mall_id": 998877, "mall_name": "测试拼多多店"}}


ORDERS = "pdd.order.number.list.increment.get"
REFUNDS = "pdd.refund.list.increment.get"


class _Queued(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.body = body


class _Lost(Exception):
    """The write was carried out; its answer is lost on the way."""


HANDLERS: dict[str, Callable[[FakePddShop, dict[str, str]], dict[str, Any]]] = {
    ORDERS: FakePddShop._orders,
    "pdd.order.information.get": FakePddShop._order,
    REFUNDS: FakePddShop._refunds,
    "pdd.refund.information.get": FakePddShop._refund,
    "pdd.refund.agree": lambda shop, form: shop._agree(form, returns=False),
    "pdd.refund.returngoods.agree": lambda shop, form: shop._agree(form, returns=True),
    "pdd.pop.auth.token.refresh": FakePddShop._token,
    "pdd.mall.info.get": FakePddShop._mall,
    "pdd.open.decrypt.batch": FakePddShop._decrypt,
}


def order_json(order: Order) -> dict[str, Any]:
    """An order as the increment list and information.get give it (PII masked or empty)."""
    return {
        "order_sn": order.order_sn,
        "order_status": order.order_status,
        "confirm_status": order.confirm_status,
        "refund_status": 1,
        "created_time": pdd_text(order.created),
        "confirm_time": pdd_text(order.created),
        "pay_time": pdd_text(order.pay_time) if order.pay_time else "",
        "shipping_time": pdd_text(order.shipping_time) if order.shipping_time else "",
        "updated_at": pdd_text(order.updated),
        "pay_amount": order.pay_amount,
        "goods_amount": order.pay_amount + order.discount - order.postage,
        "discount_amount": order.discount,
        "postage": order.postage,
        "tracking_number": order.tracking_number,
        "logistics_id": 85 if order.tracking_number else 0,
        # Ciphertext only while the order waits for shipping, empty strings after.
        "receiver_name": order.cipher("name") if order.encrypted else "",
        "receiver_phone": order.cipher("phone") if order.encrypted else "",
        "receiver_address": order.cipher("address") if order.encrypted else "",
        "province": "浙江省",
        "city": "杭州市",
        "town": "西湖区",
        "receiver_name_mask": "王*",
        "receiver_phone_mask": "138****0000",
        "address_mask": "浙江省杭州市西湖区文一路***",
        "item_list": [
            {
                "goods_id": line.goods_id,
                "sku_id": line.sku_id,
                "goods_name": line.goods_name,
                "goods_spec": line.goods_spec,
                "goods_count": line.goods_count,
                "goods_price": line.goods_price,
                "outer_id": "",
            }
            for line in order.lines
        ],
    }


def refund_json(sale: AfterSale) -> dict[str, Any]:
    return {
        "id": sale.id,
        "order_sn": sale.order_sn,
        "sku_id": sale.sku_id,
        "after_sales_type": sale.after_sales_type,
        "after_sales_status": sale.after_sales_status,
        "after_sale_reason": sale.reason,
        "refund_amount": sale.refund_amount,
        "created_time": pdd_text(sale.created),
        "updated_time": pdd_text(sale.updated),
        "tracking_number": sale.tracking_number,
        "shipping_name": sale.shipping_name,
    }


def _numbers(value: Any) -> Any:
    """Decimals as JSON numbers, as PDD writes amounts (the shortest repr keeps the cents)."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    text = json.dumps(body, ensure_ascii=False, default=_numbers)
    return Response(text.encode("utf-8"), status_code=status, media_type="application/json")


def pinduoduo_app(shop: FakePddShop) -> Starlette:
    async def router(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return _json({"error_response": {"error_code": 10000, "error_msg": "form body only"}})
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            return _json(shop.handle(form))
        except (Refusal, _Queued) as refusal:
            with shop.lock:
                shop.refusals[int(refusal.body["error_code"])] += 1
            return _json({"error_response": refusal.body})
        except _Lost:
            return PlainTextResponse("gateway timeout", status_code=504)

    return Starlette(routes=[Route("/api/router", router, methods=["POST"])])
