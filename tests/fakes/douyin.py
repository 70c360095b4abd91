"""A fake Douyin Shop gateway (``POST /<api path>?method=…``) over an in-memory shop.

Strict where PLATFORMS-CN.md section A says the gateway is (D. "Notes for
fake servers"): the method in the path and the query must agree; the sign is
checked over the exact ``param_json`` body received (HMAC-SHA256 or MD5,
computed here apart from the connector); both timestamp forms are accepted
and a skew over 600 s refused; the app key, the access token and its expiry;
``order.searchList``'s limits (one of the start times, ``size`` <= 100, the
last 90 days, at most ``max_reach`` records reachable by paging, ``total`` and
no ``has_more``); ``afterSale.List``'s ``has_more``; a per-second call limit
answering ``60000 isv.traffic-limited``. Every refusal is the current
envelope with HTTP 200 and a 34-character ``log_id``. IDs are 19-digit
strings, amounts integers in fen, times Unix seconds.

Tokens (``token.create`` with ``authorization_self``, ``token.refresh``) follow
the documented rules: a refresh more than an hour before expiry returns the
same tokens; inside the last hour or after expiry, new ones.

After-sales keep a small state machine with ``status_deadline``;
``afterSale.operate`` takes one item (the fake refuses more: the connector must
send one per call), checks that its ``type`` applies to the request's type and
status, the optional ``update_time`` version, ``reject_reason_code`` on
refusals and a return address on 101/301, and counts every executed operation
(``operations``). ``lose_answers`` carries a call out and then answers 504.
Business refusals use ``50002 isv.business-failed:20309541`` (售后状态错误) as
the doc-derived notes give it; the version mismatch reuses it (the platform's
own code for it is unconfirmed).

Buyer contact details are masked (``mask_*``) and encrypted (``encrypt_*``,
the address's ``post_addr.encrypt_detail``); no plaintext is ever sent with
an order. ``order.batchDecrypt`` takes ``cipher_infos[{auth_id, cipher_text}]``,
at most 50 (more is refused with ``isv.parameter-invalid``: the platform's own
sub-code for it is unconfirmed), and answers each item in ``decrypt_infos``:
the plaintext, or ``err_no`` when the ciphertext is unknown, belongs to another
order than its ``auth_id`` or was made undecryptable (``refuse_decrypt``). An
order with ``virtual_tel`` answers its phone as a virtual number
(``is_virtual_tel``, ``phone_no_a``/``phone_no_b``, ``decrypt_text`` "a-b").
The ciphertext format is the fake's own (the platform's is unconfirmed).
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import hmac
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.timeutil import CHINA

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRODUCTS = [
    ("纯棉短袖T恤 男款", "颜色:白色", 6900),
    ("加绒连帽卫衣", "尺码:L", 15900),
    ("不锈钢保温杯 500ml", "颜色:玫瑰金", 7990),
    ("新疆阿克苏苹果 5斤装", "规格:大果", 3990),
]
CARRIERS = ["中通快递", "圆通速递", "顺丰速运"]
# Operate types: which (List/Detail type, status) each applies to, and where it moves.
OPERATES: dict[int, tuple[str, tuple[str, ...], str]] = {
    101: ("0", ("6", "27"), "7"),
    102: ("0", ("6",), "27"),
    111: ("0", ("7", "11", "29"), "12"),
    112: ("0", ("11",), "29"),
    201: ("1", ("6", "27"), "12"),
    202: ("1", ("6",), "27"),
    301: ("3", ("6", "27"), "7"),
    302: ("3", ("6",), "27"),
    311: ("3", ("7", "11", "29"), "13"),
    312: ("3", ("11",), "29"),
    401: ("2", ("6",), "12"),
}
REJECT_TYPES = {102, 112, 202, 302, 312}
REJECT_REASON_CODES = {1, 2, 3}
ADDRESS_IDS = {"7000000000000000999"}
DEADLINES = {"6": timedelta(days=2), "7": timedelta(days=7), "11": timedelta(days=2)}


def unix(value: datetime) -> int:
    return (value - EPOCH) // timedelta(seconds=1)


def expected_sign(
    app_key: str, secret: str, method: str, body: str, timestamp: str, sign_method: str
) -> str | None:
    """The gateway's own check, written apart from the connector's ``sign``."""
    text = secret + "".join(
        k + v
        for k, v in (
            ("app_key", app_key),
            ("method", method),
            ("param_json", body),
            ("timestamp", timestamp),
            ("v", "2"),
        )
    )
    text += secret
    if sign_method in ("hmac-sha256", ""):
        return hmac.new(secret.encode(), text.encode(), "sha256").hexdigest()
    if sign_method == "md5":
        return hashlib.md5(text.encode()).hexdigest()
    return None


class Refusal(Exception):
    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(f"{code} {sub_code}")
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg


def _invalid(sub: str, why: str) -> Refusal:
    return Refusal(40004, "非法的参数", f"isv.parameter-invalid:{sub}", why)


def _state_error(why: str = "售后状态错误") -> Refusal:
    return Refusal(50002, "业务处理失败", "isv.business-failed:20309541", why)


@dataclass
class SkuOrder:
    order_id: str
    product_name: str
    spec: str
    item_num: int
    origin_amount: int  # fen
    pay_amount: int


@dataclass
class ShopOrder:
    order_id: str
    order_status: int
    create_time: datetime
    update_time: datetime
    pay_amount: int  # fen
    post_amount: int
    open_id: str
    skus: list[SkuOrder]
    pay_time: datetime | None = None
    ship_time: datetime | None = None
    tracking_no: str | None = None
    carrier: str = ""
    receiver: str = "王小明"
    tel: str = "13812345688"
    detail: str = "文一路100号3幢201室"
    virtual_tel: tuple[str, str] | None = None  # (main number, extension)

    def cipher(self, kind: str) -> str:
        """The fake's ciphertext of one field: ``#``/``$``/``~`` wrapped, per order."""
        mark = {"name": "#", "phone": "$", "address": "~"}[kind]
        digest = hashlib.sha256(f"{self.order_id}:{kind}".encode()).hexdigest()[:16]
        return f"{mark}{digest}{mark}{digest[::-1]}=="


@dataclass
class AfterSale:
    aftersale_id: str
    shop_order_id: str
    sku_order_id: str
    list_type: str  # the List numbering; the Detail shares it for 0-3 and 6-8
    status: str
    apply_time: datetime
    update_time: datetime
    refund_amount: int  # fen
    reason: str = "不想要了"
    deadline: datetime | None = None


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime


@dataclass
class FakeDouyinShop:
    now: Callable[[], datetime]
    app_key: str = "1234567890123456789"
    app_secret: str = "test-secret"
    shop_id: str = "4463798"
    max_size: int = 100
    max_reach: int = 50_000
    history: timedelta = timedelta(days=90)
    calls_per_second: int | None = None
    token_life: timedelta = timedelta(days=7)
    orders: dict[str, ShopOrder] = field(default_factory=dict)
    aftersales: dict[str, AfterSale] = field(default_factory=dict)
    operations: list[tuple[str, int]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    refreshes: int = 0
    decrypted: list[str] = field(default_factory=list)  # ciphertexts answered in plaintext
    refuse_decrypt: set[str] = field(default_factory=set)  # ciphertexts answered with err_no
    lock: threading.Lock = field(default_factory=threading.Lock)
    _tokens: Tokens | None = None
    _errors: list[tuple[str, Refusal]] = field(default_factory=list)
    _lose: set[str] = field(default_factory=set)
    _second: tuple[int, int] = (0, 0)
    _serial: int = 0
    _changes: int = 0
    _sorted: list[ShopOrder] = field(default_factory=list)
    _sorted_key: tuple[int, int] = (-1, -1)

    # --- seeding --------------------------------------------------------------------

    def issue_tokens(self, *, expires_at: datetime | None = None) -> Tokens:
        self._serial += 1
        self._tokens = Tokens(
            access_token=f"act.{self._serial:04d}{random.Random(self._serial).randrange(10**8)}",
            refresh_token=f"rft.{self._serial:04d}",
            expires_at=expires_at or self.now() + self.token_life,
        )
        return self._tokens

    @property
    def tokens(self) -> Tokens:
        return self._tokens or self.issue_tokens()

    def expire_token(self) -> None:
        self.tokens.expires_at = self.now() - timedelta(seconds=1)

    def _id(self, prefix: int) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:018d}"[:19].ljust(19, "0")

    def seed(self, n: int, *, start: datetime, days: int, seed: int = 1, burst: int = 0) -> None:
        """``n`` orders over ``days``; ``burst`` of them share one update second."""
        rng = random.Random(seed)
        span = days * 86400
        for i in range(n):
            created = start + timedelta(seconds=rng.randrange(span))
            status = rng.choice([1, 2, 3, 4, 5, 105, 101])
            skus = []
            for _ in range(rng.randint(1, 3)):
                name, spec, price = rng.choice(PRODUCTS)
                num = rng.randint(1, 3)
                skus.append(SkuOrder(self._id(6), name, spec, num, price, price * num))
            post = rng.choice([0, 0, 800])
            order = ShopOrder(
                order_id=self._id(5),
                order_status=status,
                create_time=created,
                update_time=created + timedelta(seconds=rng.randrange(3600)),
                pay_amount=sum(s.pay_amount for s in skus) + post,
                post_amount=post,
                open_id=f"1@#{rng.randrange(10**12):012d}",
                skus=skus,
                pay_time=None if status == 1 else created + timedelta(seconds=30),
            )
            if i < burst:
                order.update_time = start + timedelta(days=1)
            if status in (3, 5, 101):
                order.ship_time = order.create_time + timedelta(hours=5)
                order.tracking_no = f"YT{order.order_id[-12:]}"
                order.carrier = rng.choice(CARRIERS)
            self.orders[order.order_id] = order

    def add_aftersale(
        self,
        order: ShopOrder,
        list_type: str,
        *,
        status: str = "6",
        amount: int | None = None,
        at: datetime | None = None,
    ) -> AfterSale:
        at = (at or self.now() - timedelta(hours=1)).replace(microsecond=0)  # Unix seconds
        sale = AfterSale(
            aftersale_id=self._id(7),
            shop_order_id=order.order_id,
            sku_order_id=order.skus[0].order_id,
            list_type=list_type,
            status=status,
            apply_time=at,
            update_time=at,
            refund_amount=order.skus[0].pay_amount if amount is None else amount,
        )
        sale.deadline = at + DEADLINES[status] if status in DEADLINES else None
        self.aftersales[sale.aftersale_id] = sale
        return sale

    def touch(self, order_id: str, at: datetime, status: int | None = None) -> None:
        with self.lock:
            order = self.orders[order_id]
            order.update_time = at
            self._changes += 1
            if status is not None:
                order.order_status = status

    def queue_error(self, method: str, refusal: Refusal) -> None:
        self._errors.append((method, refusal))

    def lose_answers(self, *methods: str) -> None:
        self._lose |= set(methods)

    # --- serving --------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, str], body: bytes) -> tuple[dict[str, Any], bool]:
        """The envelope and whether the answer is to be lost (504 after executing)."""
        with self.lock:
            method = query.get("method", "")
            try:
                data = self._handle(path, method, query, body)
            except Refusal as r:
                return (
                    {
                        "code": r.code,
                        "msg": r.msg,
                        "sub_code": r.sub_code,
                        "sub_msg": r.sub_msg,
                        "log_id": log_id(self.now()),
                    },
                    False,
                )
            envelope = {
                "code": 10000,
                "msg": "success",
                "sub_code": "",
                "sub_msg": "",
                "log_id": log_id(self.now()),
                "data": data,
            }
            return envelope, method in self._lose

    def _handle(self, path: str, method: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        if not method or "/" + method.replace(".", "/") != path:
            raise Refusal(40001, "缺少必选参数", "isv.parameter-missing", "method 与路径不符")
        if query.get("app_key") != self.app_key:
            raise Refusal(
                40003, "非法的参数", "isv.app-id-invalid", "app_key格式不正确，应为19位纯数字"
            )
        self._check_timestamp(query.get("timestamp", ""))
        text = body.decode("utf-8")
        expected = expected_sign(
            self.app_key,
            self.app_secret,
            method,
            text,
            query.get("timestamp", ""),
            query.get("sign_method", ""),
        )
        if not query.get("sign"):
            raise Refusal(40001, "缺少必选参数", "isv.signature-missing", "缺少sign")
        if expected is None or not hmac.compare_digest(expected, query["sign"]):
            raise Refusal(40003, "非法的参数", "isv.signature-invalid", "签名无效")
        params = json.loads(text) if text else {}
        if not isinstance(params, dict):
            raise Refusal(40003, "非法的参数", "isv.parameter-format-invalid", "param_json")
        self._count_call()
        self.calls[method] += 1
        self.received.append({"method": method, "params": params, "query": dict(query)})
        for index, (queued, refusal) in enumerate(self._errors):
            if queued == method:
                del self._errors[index]
                raise refusal
        if method == "token.create":
            return self._create(params)
        if method == "token.refresh":
            return self._refresh(params)
        self._check_token(query.get("access_token"))
        api = {
            "order.searchList": self._search,
            "order.orderDetail": self._order_detail,
            "afterSale.List": self._aftersale_list,
            "afterSale.Detail": self._aftersale_detail,
            "afterSale.operate": self._operate,
            "order.batchDecrypt": self._batch_decrypt,
        }.get(method)
        if api is None:
            raise Refusal(70000, "API 下线", "isp.api-service-off", f"{method} 不存在")
        return api(params)

    def _check_timestamp(self, value: str) -> None:
        try:
            if value.isdigit():
                at = datetime.fromtimestamp(int(value), UTC)
            else:
                at = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
        except ValueError:
            raise Refusal(40003, "非法的参数", "isv.timestamp-format-error", value) from None
        if abs((at - self.now()).total_seconds()) > 600:
            raise Refusal(
                40003, "非法的参数", "isv.timestamp-invalid", "时间戳与服务器相差超过10分钟"
            )

    def _count_call(self) -> None:
        if self.calls_per_second is None:
            return
        second = int(time.monotonic())  # wall time: the shop's clock may stand still
        at, count = self._second
        if at != second:
            at, count = second, 0
        count += 1
        self._second = (at, count)
        if count > self.calls_per_second:
            raise Refusal(60000, "触发限流，请稍后重试", "isv.traffic-limited", "请求过于频繁")

    def _check_token(self, token: str | None) -> None:
        if not token:
            raise Refusal(40001, "缺少必选参数", "isv.access-token-missing", "缺少access_token")
        tokens = self.tokens
        if token != tokens.access_token:
            raise Refusal(40003, "非法的参数", "isv.access-token-no-existed", "access_token不存在")
        if self.now() >= tokens.expires_at:
            raise Refusal(40003, "非法的参数", "isv.access-token-expired", "access_token已过期")

    def _token_data(self, tokens: Tokens) -> dict[str, Any]:
        return {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_in": max(0, int((tokens.expires_at - self.now()).total_seconds())),
            "scope": "SCOPE",
            "shop_id": int(self.shop_id),
            "shop_name": "抖店测试店",
            "authority_id": "",
            "auth_subject_type": "MiniApp",
        }

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("grant_type") != "authorization_self" or str(params.get("shop_id")) != (
            self.shop_id
        ):
            raise Refusal(50001, "平台处理失败", "dop.token-generate-failed:code-invalid", "")
        self.refreshes += 1
        return self._token_data(self.issue_tokens())

    def _refresh(self, params: dict[str, Any]) -> dict[str, Any]:
        tokens = self.tokens
        if params.get("grant_type") != "refresh_token":
            raise Refusal(50001, "平台处理失败", "dop.token-generate-failed:grant-type-invalid", "")
        if params.get("refresh_token") != tokens.refresh_token:
            raise Refusal(50001, "平台处理失败", "dop.token-generate-failed:token-invalid", "")
        self.refreshes += 1
        if tokens.expires_at - self.now() > timedelta(hours=1):
            return self._token_data(tokens)  # the same tokens, validity unchanged
        return self._token_data(self.issue_tokens())

    # --- reads ------------------------------------------------------------------------

    def _window(
        self, params: dict[str, Any], start_name: str, end_name: str
    ) -> tuple[datetime, datetime]:
        if start_name not in params:
            raise _invalid("20011", f"{start_name} 必填")
        start = datetime.fromtimestamp(int(params[start_name]), UTC)
        end = datetime.fromtimestamp(int(params.get(end_name) or unix(self.now())), UTC)
        if start < self.now() - self.history:
            raise _invalid("20022", "只能查询近90天的订单")
        return start, end

    def _paging(self, params: dict[str, Any]) -> tuple[int, int]:
        page, size = int(params.get("page", 0)), int(params.get("size", 10))
        if not 1 <= size <= self.max_size:
            raise _invalid("20008", f"size 不能超过{self.max_size}")
        if page < 0:
            raise _invalid("20008", "page 从0开始")
        if (page + 1) * size > self.max_reach:
            raise _invalid("20013", f"最多查询{self.max_reach}条")
        return page, size

    def _by_update(self) -> list[ShopOrder]:
        """Orders by (update_time, order_id), rebuilt only when an order changed."""
        key = (len(self.orders), self._changes)
        if self._sorted_key != key:
            self._sorted = sorted(self.orders.values(), key=lambda o: (o.update_time, o.order_id))
            self._sorted_key = key
        return self._sorted

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        start, end = self._window(params, "update_time_start", "update_time_end")
        page, size = self._paging(params)
        ordered = self._by_update()
        low = bisect.bisect_left(ordered, start, key=lambda o: o.update_time)
        high = bisect.bisect_right(ordered, end, key=lambda o: o.update_time)
        rows = ordered[low:high]
        if not params.get("order_asc"):
            rows = rows[::-1]
        chosen = rows[page * size : (page + 1) * size]
        return {
            "page": page,
            "size": size,
            "total": len(rows),
            "shop_order_list": [order_json(o) for o in chosen],
        }

    def _order_detail(self, params: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(str(params.get("shop_order_id")))
        if order is None:
            raise Refusal(50002, "业务处理失败", "isv.business-failed:20001", "订单不存在")
        return {"shop_order_detail": order_json(order)}

    def _aftersale_list(self, params: dict[str, Any]) -> dict[str, Any]:
        start, end = self._window(params, "update_start_time", "update_end_time")
        page, size = self._paging(params)
        rows = [a for a in self.aftersales.values() if start <= a.update_time <= end]
        asc = "update_time asc" in (params.get("order_by") or [])
        rows.sort(key=lambda a: (a.update_time, a.aftersale_id), reverse=not asc)
        chosen = rows[page * size : (page + 1) * size]
        return {
            "page": page,
            "size": size,
            "total": len(rows),
            "has_more": (page + 1) * size < len(rows),
            "items": [self._aftersale_json(a) for a in chosen],
        }

    def _aftersale_json(self, sale: AfterSale) -> dict[str, Any]:
        return {
            "aftersale_info": {
                "aftersale_id": sale.aftersale_id,
                "related_id": sale.sku_order_id,
                "aftersale_type": int(sale.list_type),
                "aftersale_status": int(sale.status),
                "apply_time": unix(sale.apply_time),
                "update_time": unix(sale.update_time),
                "status_deadline": unix(sale.deadline) if sale.deadline else 0,
                "refund_amount": sale.refund_amount,
                "refund_post_amount": 0,
                "refund_status": 3 if sale.status == "12" else 1,
            },
            "order_info": {
                "shop_order_id": sale.shop_order_id,
                "related_order_info": [{"sku_order_id": sale.sku_order_id, "item_num": 1}],
            },
            "text_part": {"reason_text": sale.reason},
        }

    def _aftersale_detail(self, params: dict[str, Any]) -> dict[str, Any]:
        sale = self.aftersales.get(str(params.get("after_sale_id")))
        if sale is None:
            raise Refusal(50002, "业务处理失败", "isv.business-failed:20309540", "售后单不存在")
        return {
            "process_info": {
                "after_sale_info": {
                    "after_sale_id": sale.aftersale_id,
                    "after_sale_status": int(sale.status),
                    "after_sale_type": int(sale.list_type),
                    "refund_total_amount": sale.refund_amount,
                    "refund_post_amount": 0,
                    "refund_status": 3 if sale.status == "12" else 1,
                    "status_deadline": unix(sale.deadline) if sale.deadline else 0,
                    "apply_time": unix(sale.apply_time),
                    "update_time": unix(sale.update_time),
                    "reason": sale.reason,
                    "reason_remark": "",
                },
                "logistics_info": {},
            },
            "order_info": {
                "shop_order_id": sale.shop_order_id,
                "sku_order_infos": [{"sku_order_id": sale.sku_order_id, "item_quantity": 1}],
            },
        }

    # --- decryption -----------------------------------------------------------------

    def _batch_decrypt(self, params: dict[str, Any]) -> dict[str, Any]:
        infos = params.get("cipher_infos")
        if not isinstance(infos, list) or not infos:
            raise Refusal(40001, "缺少必选参数", "isv.parameter-missing", "cipher_infos 必填")
        if len(infos) > 50:
            raise _invalid("cipher_infos", "最大支持一次解密50条")
        return {"decrypt_infos": [self._decrypt_one(info) for info in infos]}

    def _decrypt_one(self, info: Any) -> dict[str, Any]:
        auth_id = str(info.get("auth_id") or "") if isinstance(info, dict) else ""
        cipher = str(info.get("cipher_text") or "") if isinstance(info, dict) else ""
        row: dict[str, Any] = {
            "auth_id": auth_id,
            "cipher_text": cipher,
            "decrypt_text": "",
            "err_no": 0,
            "err_msg": "",
            "data_type": 0,
            "is_virtual_tel": False,
            "expire_time": 0,
            "phone_no_a": "",
            "phone_no_b": "",
        }
        order = self.orders.get(auth_id)
        kinds = {"address": 1, "name": 2, "phone": 3}
        kind = next((k for k in kinds if order and order.cipher(k) == cipher), None)
        if order is None or kind is None:
            return row | {"err_no": 300008, "err_msg": "密文与订单不匹配"}
        if cipher in self.refuse_decrypt:
            return row | {"err_no": 300006, "err_msg": "解密失败"}
        row["data_type"] = kinds[kind]
        self.decrypted.append(cipher)
        if kind == "phone" and order.virtual_tel:
            main, ext = order.virtual_tel
            expires = unix(self.now() + timedelta(hours=12))
            return row | {
                "decrypt_text": f"{main}-{ext}",
                "is_virtual_tel": True,
                "phone_no_a": main,
                "phone_no_b": ext,
                "expire_time": expires,
            }
        text = {"name": order.receiver, "phone": order.tel, "address": order.detail}[kind]
        return row | {"decrypt_text": text}

    # --- the write ------------------------------------------------------------------

    def _operate(self, params: dict[str, Any]) -> dict[str, Any]:
        kind = int(params.get("type") or 0)
        items = params.get("items") or []
        if kind not in OPERATES:
            raise _invalid("11000", f"type {kind} 不支持")
        if len(items) != 1:
            raise _invalid("11000", "每次只处理一个售后单")  # the docs advise one per call
        item = items[0]
        sale = self.aftersales.get(str(item.get("aftersale_id")))
        if sale is None:
            raise Refusal(50002, "业务处理失败", "isv.business-failed:20309540", "售后单不存在")
        list_type, statuses, moves_to = OPERATES[kind]
        if sale.list_type != list_type or sale.status not in statuses:
            raise _state_error()
        if item.get("update_time") and int(item["update_time"]) != unix(sale.update_time):
            raise _state_error("售后单已更新，请刷新后重试")
        if kind in REJECT_TYPES and (
            item.get("reject_reason_code") not in REJECT_REASON_CODES or not item.get("reason")
        ):
            raise _invalid("11000", "拒绝需要reject_reason_code和reason")
        if (
            kind in (101, 301)
            and (item.get("logistics") or {}).get("receiver_address_id") not in ADDRESS_IDS
        ):
            raise _invalid("11000", "缺少退货地址")
        sale.status = moves_to
        sale.update_time = max(self.now(), sale.update_time + timedelta(seconds=1))
        sale.deadline = sale.update_time + DEADLINES[moves_to] if moves_to in DEADLINES else None
        self.operations.append((sale.aftersale_id, kind))
        return {"items": [{"aftersale_id": sale.aftersale_id, "status_code": 0, "status_msg": ""}]}


def log_id(at: datetime) -> str:
    """34 characters like the SKIT sample: a time, then hex."""
    stamp = at.astimezone(CHINA).strftime("%Y%m%d%H%M%S")
    return (stamp + hashlib.md5(stamp.encode()).hexdigest().upper())[:34]


def order_json(order: ShopOrder) -> dict[str, Any]:
    """A shop order as order.searchList gives it: fen, seconds, masked and encrypted buyer."""
    logistics = []
    if order.tracking_no:
        logistics.append(
            {
                "tracking_no": order.tracking_no,
                "company": "zhongtong",
                "company_name": order.carrier,
                "ship_time": unix(order.ship_time) if order.ship_time else 0,
                "product_info": [{"sku_order_id": s.order_id} for s in order.skus],
            }
        )
    return {
        "order_id": order.order_id,
        "shop_id": 4463798,
        "order_status": order.order_status,
        "order_status_desc": "",
        "create_time": unix(order.create_time),
        "update_time": unix(order.update_time),
        "pay_time": unix(order.pay_time) if order.pay_time else 0,
        "ship_time": unix(order.ship_time) if order.ship_time else 0,
        "order_amount": order.pay_amount,
        "pay_amount": order.pay_amount,
        "post_amount": order.post_amount,
        "doudian_open_id": order.open_id,
        "mask_post_receiver": "王**",
        "mask_post_tel": "1********88",
        "mask_post_addr": {
            "province": {"name": "浙江省"},
            "city": {"name": "杭州市"},
            "town": {"name": "西湖区"},
            "street": {"name": "文新街道", "id": "330106"},
            "detail": "文一路***",
        },
        "encrypt_post_receiver": order.cipher("name"),
        "encrypt_post_tel": order.cipher("phone"),
        "post_addr": {
            "province": {"name": "浙江省"},
            "city": {"name": "杭州市"},
            "town": {"name": "西湖区"},
            "street": {"name": "文新街道", "id": "330106"},
            "detail": "文一路***",
            "encrypt_detail": order.cipher("address"),
        },
        "logistics_info": logistics,
        "sku_order_list": [
            {
                "order_id": s.order_id,
                "parent_order_id": order.order_id,
                "product_name": s.product_name,
                "spec": [{"name": s.spec.split(":")[0], "value": s.spec.split(":")[1]}],
                "item_num": s.item_num,
                "origin_amount": s.origin_amount,
                "pay_amount": s.pay_amount,
                "order_status": order.order_status,
            }
            for s in order.skus
        ],
    }


def douyin_app(shop: FakeDouyinShop, *, slow: Mapping[str, float] | None = None) -> Starlette:
    """The gateway; ``slow`` holds a method's answer that long after it has executed."""

    async def gateway(request: Request) -> Response:
        if request.method != "POST":
            return PlainTextResponse("POST only", status_code=405)
        body = await request.body()
        query = dict(request.query_params)
        envelope, lose = await asyncio.to_thread(shop.answer, request.url.path, query, body)
        if slow and (wait := slow.get(query.get("method", ""))):
            await asyncio.sleep(wait)
        if lose:
            return PlainTextResponse("gateway timeout", status_code=504)
        return JSONResponse(envelope)

    return Starlette(routes=[Route("/{path:path}", gateway, methods=["POST", "GET"])])
