"""A fake JOS gateway (``/routerjson``) and OAuth endpoint over an in-memory JD shop.

Strict where PLATFORMS-CN.md section C (and D, "Notes for fake servers") says
JOS is: the signature covers the query and the form fields together and is
checked over ``360buy_param_json`` exactly as received (md5 wrapped in the
secret, hmacmd5, hmacsha256; computed here apart from the connector); success
is ``<method, dots->_>_responce`` with ``code: "0"``; refusals are
``error_response{code, zh_desc, en_desc}`` with HTTP 200, and a business
refusal is also written inside the payload (``apiResult`` / ``queryResult`` /
``replyResult``). enSearch windows are at most a month (31 days here, the
longest month), ``page_size`` at most 100, answering ``orderTotal`` and sorting
by ``modified`` ascending (``sortType=1`` descending); refundapply lists take
``pageSize`` <= 50 and ``pageIndex`` <= 100.

The fake's own choices where JOS is undocumented (each marked unconfirmed in
PLATFORMS-CN.md): both timestamp forms are accepted within +-10 minutes;
code ``19`` answers an expired or unknown token; code ``12`` a bad signature;
the call limit answers code ``"7"`` "调用次数超限，请稍后重试" (no code is
published, and no Retry-After is given); invalid parameters are code ``"66"``;
``applyRefundSum`` is in fen. ``expire_token()`` makes JOS refuse the current
token (code 19) while its refresh still works; ``token_expires_at`` is the
token's lifetime, after which both the token and its refresh are refused
(C4: no refresh after expiry), and a refresh gives a token of one day;
``/oauth2/refresh_token`` hands out a new pair, unless ``refresh_refused``.
Writes (``replyRefund``) are counted in ``executed``; a decision on a request
no longer waiting is refused inside ``replyResult``.
``lose_answers`` carries a call out and then answers 504. Comments
(``PopCommentJsfService``) list by creation time or ``orderIds`` with no total;
``saveReply`` takes one reply per comment (a second is ``resultCode`` 409, the
fake's own) and answers ``resultCode`` ``"1"`` on success (undocumented).
"""

from __future__ import annotations

import hashlib
import hmac
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
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.timeutil import CHINA

PRODUCTS = [
    ("Apple iPhone 15 128GB 黑色", "100012345678", "5999.00"),
    ("小米空气净化器4 Lite", "100023456789", "699.00"),
    ("三只松鼠坚果大礼包 1.5kg", "100034567890", "128.90"),
    ("安踏跑步鞋 男款 42码", "100045678901", "299.00"),
    ("得力A4复印纸 5包装", "100056789012", "109.50"),
]
CARRIERS = ["京东物流", "顺丰速运", "中通快递"]
REASONS = ["不想要了", "地址填错了", "商品选错了", "价格有点贵", "其他原因"]
COMMENTS = {
    True: ["物流很快，第二天就到了", "质量不错，和描述一致", "好评，会回购"],
    False: ["包装破损，商品有划痕", "客服回复太慢", "和图片差别很大，失望"],
}
NEXT_STATE = {
    "WAIT_SELLER_STOCK_OUT": "WAIT_GOODS_RECEIVE_CONFIRM",
    "WAIT_GOODS_RECEIVE_CONFIRM": "FINISHED_L",
}
NO_TIME = "0001-01-01 00:00:00"
TOLERANCE = timedelta(minutes=10)


def jd_text(value: datetime | None) -> str:
    if value is None:
        return NO_TIME
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def parse_jd(value: str) -> datetime:
    """Both timestamp forms: ``yyyy-MM-dd HH:mm:ss`` and ``….SSS+0800``."""
    if "." in value:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f%z").astimezone(UTC)
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(UTC)


def expected_sign(params: dict[str, str], secret: str, method: str) -> str | None:
    pieces = [k + params[k] for k in sorted(params) if k and k != "sign" and params[k]]
    message, key = "".join(pieces).encode("utf-8"), secret.encode("utf-8")
    if method == "md5":
        return hashlib.md5(key + message + key).hexdigest().upper()
    if method == "hmacmd5":
        return hmac.new(key, message, "md5").hexdigest().upper()
    if method == "hmacsha256":
        return hmac.new(key, message, "sha256").hexdigest().upper()
    return None


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@dataclass
class Order:
    order_id: str
    state: str
    pin: str
    created: datetime
    modified: datetime
    payment: Decimal
    lines: list[tuple[str, str, Decimal, int]]  # sku id, name, price, quantity
    paid: datetime | None
    waybill: str = ""
    carrier: str = ""


@dataclass
class RefundApply:
    id: str
    order_id: str
    status: str
    applied: datetime
    fen: int
    reason: str
    checked: datetime | None = None
    remark: str = ""


@dataclass
class Comment:
    comment_id: str
    order_id: str
    sku: str
    sku_name: str
    score: int
    content: str
    created: datetime
    nick: str
    reply: str | None = None
    replied: datetime | None = None


class Refusal(Exception):
    def __init__(self, code: str, zh: str, en: str = "") -> None:
        super().__init__(f"{code} {zh}")
        self.body = {"code": code, "zh_desc": zh, "en_desc": en or zh}


@dataclass
class CallLimit:
    calls: int
    seconds: float
    started: float = 0.0
    used: int = 0


@dataclass
class FakeJDShop:
    app_key: str = "JDAPPKEY01"
    app_secret: str = "fake-jos-secret"
    access_token: str = "jd-token-1"
    refresh_token: str = "jd-refresh-1"
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    call_limit: CallLimit | None = None
    max_span: timedelta = timedelta(days=31)
    seed_value: int = 20261203
    orders: dict[str, Order] = field(default_factory=dict)
    refunds: dict[str, RefundApply] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)  # one comment id per reply posted
    comment_page_max: int = 50
    calls: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    executed: list[tuple[str, str]] = field(default_factory=list)  # (refund id, status)
    received: list[dict[str, str]] = field(default_factory=list)
    windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    queued: list[dict[str, str]] = field(default_factory=list)
    refreshes: int = 0
    refresh_refused: bool = False
    expired: set[str] = field(default_factory=set)
    token_expires_at: datetime | None = None  # None: the token never expires by time
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- data ------------------------------------------------------------------------------

    def seed(self, n: int, *, start: datetime, days: float = 10, refund_rate: float = 0.1) -> None:
        rng = random.Random(self.seed_value)
        span = int(days * 86400)
        with self.lock:
            for k in range(n):
                order_id = str(280_000_000_000 + k * 7919 + rng.randint(0, 7))
                created = start + timedelta(seconds=rng.randrange(span))
                lines = []
                for _ in range(rng.choice([1, 1, 2])):
                    name, sku, price = rng.choice(PRODUCTS)
                    lines.append((sku, name, Decimal(price), rng.choice([1, 1, 2])))
                gross = sum((p * q for _, _, p, q in lines), Decimal("0"))
                discount = Decimal(rng.choice(["0", "0", "5.00", "20.00"]))
                state = rng.choice(
                    ["WAIT_SELLER_STOCK_OUT"] * 3
                    + ["WAIT_GOODS_RECEIVE_CONFIRM"] * 3
                    + ["FINISHED_L"] * 3
                    + ["TRADE_CANCELED", "LOCKED"]
                )
                modified = created + timedelta(seconds=rng.randrange(1, 86400))
                order = Order(
                    order_id=order_id,
                    state=state,
                    pin=f"jd_{rng.randrange(10**8):08d}",
                    created=created,
                    modified=min(modified, start + timedelta(seconds=span)),
                    payment=(gross - discount + Decimal("6.00")).quantize(Decimal("0.01")),
                    lines=lines,
                    paid=created + timedelta(minutes=1),
                )
                if state in ("WAIT_GOODS_RECEIVE_CONFIRM", "FINISHED_L"):
                    order.carrier = rng.choice(CARRIERS)
                    order.waybill = f"JDV{order_id}"
                self.orders[order_id] = order
                if state == "FINISHED_L" and rng.random() < 0.5:
                    sku, name, _, _ = lines[0]
                    score = rng.choice([5, 5, 5, 4, 3, 2, 1])
                    self.comments[str(700_000 + k)] = Comment(
                        comment_id=str(700_000 + k),
                        order_id=order_id,
                        sku=sku,
                        sku_name=name,
                        score=score,
                        content=rng.choice(COMMENTS[score >= 4]),
                        created=order.modified,
                        nick=f"j***{k % 10}",
                    )
                if state == "WAIT_SELLER_STOCK_OUT" and rng.random() < refund_rate * 3:
                    rid = str(9_000_000 + k)
                    applied = created + timedelta(minutes=rng.randrange(2, 600))
                    self.refunds[rid] = RefundApply(
                        id=rid,
                        order_id=order_id,
                        status=rng.choice(["0", "0", "0", "1", "2"]),
                        applied=applied,
                        fen=int(order.payment * 100),
                        reason=rng.choice(REASONS),
                    )
                    refund = self.refunds[rid]
                    if refund.status != "0":
                        refund.checked = applied + timedelta(hours=2)

    def touch(self, order_id: str, at: datetime) -> Order:
        with self.lock:
            order = self.orders[order_id]
            order.state = NEXT_STATE.get(order.state, order.state)
            order.modified = at
            return order

    def expire_token(self) -> None:
        with self.lock:
            self.expired.add(self.access_token)

    def queue_error(self, code: str, zh: str, *, times: int = 1) -> None:
        with self.lock:
            self.queued.extend([{"code": code, "zh_desc": zh, "en_desc": zh}] * times)

    def lose_answers(self, *apis: str) -> None:
        with self.lock:
            self.lost.extend(apis)

    # --- OAuth ------------------------------------------------------------------------------

    def refresh(self, params: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            if (
                self.refresh_refused
                or params.get("app_key") != self.app_key
                or params.get("app_secret") != self.app_secret
                or params.get("grant_type") != "refresh_token"
                or params.get("refresh_token") != self.refresh_token
            ):
                return {"code": 401, "msg": "refresh_token无效或已过期"}
            if self.token_expires_at is not None and self.now() >= self.token_expires_at:
                # C4: "refreshing after expiry is not possible".
                return {"code": 402, "msg": "access_token已过期，无法刷新，请重新授权"}
            self.refreshes += 1
            self.token_expires_at = self.now() + timedelta(seconds=86400)
            self.access_token = f"jd-token-{self.refreshes + 1}"
            self.refresh_token = f"jd-refresh-{self.refreshes + 1}"
            return {
                "code": 0,
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": 86400,
                "time": str(int(time.time() * 1000)),
                "token_type": "bearer",
                "uid": "fake-uid",
            }

    # --- the gateway ------------------------------------------------------------------------

    def answer(self, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        with self.lock:
            self.received.append(dict(params))
            try:
                body = self._handle(params)
            except Refusal as refusal:
                self.refusals[refusal.body["code"]] += 1
                return {"error_response": refusal.body}, False
            if self.lost and self.lost[0] == params.get("method"):
                self.lost.pop(0)
                return body, True
            return body, False

    def _handle(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("app_key") != self.app_key:
            raise Refusal("14", "无效的app_key", "Invalid app_key")
        self._count_call()
        method = params.get("sign_method") or "md5"
        wanted = expected_sign(params, self.app_secret, method)
        if wanted is None or not hmac.compare_digest(wanted, params.get("sign", "")):
            raise Refusal("12", "无效签名", "Invalid signature")
        try:
            sent = parse_jd(params.get("timestamp", ""))
        except ValueError:
            raise Refusal("11", "无效的时间戳", "Invalid timestamp") from None
        if abs(sent - self.now()) > TOLERANCE:
            raise Refusal("11", "时间戳误差过大", "Timestamp out of range")
        if params.get("v") != "2.0":
            raise Refusal("21", "无效的版本", "Invalid version")
        token = params.get("access_token", "")
        lapsed = self.token_expires_at is not None and self.now() >= self.token_expires_at
        if token != self.access_token or token in self.expired or lapsed:
            raise Refusal("19", "token过期", "Token expired")
        api = params.get("method", "")
        handler = self.apis().get(api)
        if handler is None:
            raise Refusal("15", "不存在的方法名", "Invalid Method")
        try:
            business = json.loads(params.get("360buy_param_json") or "{}")
        except ValueError:
            raise Refusal("66", "360buy_param_json不是JSON") from None
        self.calls[api] += 1
        if self.queued:
            queued = self.queued.pop(0)
            raise Refusal(queued["code"], queued["zh_desc"], queued["en_desc"])
        inner = handler(business)
        return {api.replace(".", "_") + "_responce": {"code": "0", **inner}}

    def _count_call(self) -> None:
        limit = self.call_limit
        if limit is None:
            return
        clock = time.monotonic()
        if clock - limit.started >= limit.seconds:
            limit.started, limit.used = clock, 0
        if limit.used >= limit.calls:
            raise Refusal("7", "调用次数超限，请稍后重试", "App call limited")
        limit.used += 1

    def apis(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "jingdong.pop.order.enSearch": self._search,
            "jingdong.pop.order.get": self._get,
            "jingdong.pop.afs.soa.refundapply.queryPageList": self._refund_list,
            "jingdong.pop.afs.soa.refundapply.queryById": self._refund_by_id,
            "jingdong.pop.afs.soa.refundapply.replyRefund": self._reply,
            "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos": self._comments,
            "jingdong.pop.PopCommentJsfService.saveReply": self._save_reply,
        }

    def _search(self, query: dict[str, Any]) -> dict[str, Any]:
        try:
            start = parse_jd(str(query["start_date"]))
            end = parse_jd(str(query["end_date"]))
            page = int(query.get("page", 1))
            size = int(query.get("page_size", 20))
        except (KeyError, ValueError):
            return _api_refused("searchorderinfo_result", "参数错误: start_date/end_date/page")
        if end - start > self.max_span or end < start:
            return _api_refused("searchorderinfo_result", "查询时间跨度不能超过一个月")
        if not 1 <= size <= 100 or page < 1:
            return _api_refused("searchorderinfo_result", "page_size不能超过100")
        self.windows.append((start, end))
        states = set(str(query.get("order_state") or "").split(","))
        rows = sorted(
            (o for o in self.orders.values() if start <= o.modified <= end and o.state in states),
            key=lambda o: (o.modified, o.order_id),
            reverse=str(query.get("sortType")) == "1",
        )
        chunk = rows[(page - 1) * size : page * size]
        return {
            "searchorderinfo_result": {
                "orderInfoList": [_order_json(o) for o in chunk],
                "orderTotal": len(rows),
                "apiResult": {"success": True, "numberCode": 10100000, "chineseErrCode": "成功"},
            }
        }

    def _get(self, query: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(str(query.get("order_id")))
        if order is None:
            return _api_refused("orderDetailInfo", "订单不存在")
        return {"orderDetailInfo": {"orderInfo": _order_json(order), "apiResult": _ok()}}

    def _refund_list(self, query: dict[str, Any]) -> dict[str, Any]:
        size, index = int(query.get("pageSize", 10)), int(query.get("pageIndex", 1))
        if not 1 <= size <= 50 or not 1 <= index <= 100:
            return _query_refused("pageSize 1-50, pageIndex 1-100")
        rows = list(self.refunds.values())
        for prefix, attr in (("applyTime", "applied"), ("checkTime", "checked")):
            if query.get(prefix + "Start") or query.get(prefix + "End"):
                low, high = parse_jd(query[prefix + "Start"]), parse_jd(query[prefix + "End"])
                rows = [r for r in rows if (t := getattr(r, attr)) and low <= t <= high]
        if query.get("ids"):
            wanted = set(str(query["ids"]).split(","))
            rows = [r for r in rows if r.id in wanted]
        rows.sort(key=lambda r: r.id)
        chunk = rows[(index - 1) * size : index * size]
        return {
            "queryResult": {
                "success": True,
                "result": [self._refund_json(r) for r in chunk],
                "totalCount": len(rows),
            }
        }

    def _refund_by_id(self, query: dict[str, Any]) -> dict[str, Any]:
        refund = self.refunds.get(str(query.get("id")))
        return {
            "queryResult": {
                "success": True,
                "result": [self._refund_json(refund)] if refund else [],
                "totalCount": 1 if refund else 0,
            }
        }

    def _reply(self, query: dict[str, Any]) -> dict[str, Any]:
        refund = self.refunds.get(str(query.get("id")))
        status = str(query.get("status"))
        if refund is None:
            return {"replyResult": {"success": False, "code": "404", "msg": "退款单不存在"}}
        if status not in ("1", "2", "6", "9", "10"):
            return {"replyResult": {"success": False, "code": "400", "msg": "status无效"}}
        if status != "9" and not query.get("remark"):
            return {"replyResult": {"success": False, "code": "400", "msg": "remark不能为空"}}
        if status == "2" and not query.get("rejectType"):
            return {"replyResult": {"success": False, "code": "400", "msg": "rejectType不能为空"}}
        if refund.status not in ("0", "8"):
            return {"replyResult": {"success": False, "code": "409", "msg": "退款单已审核"}}
        refund.status = status
        refund.checked = self.now()
        refund.remark = str(query.get("remark") or "")
        self.executed.append((refund.id, status))
        return {"replyResult": {"success": True}}

    def _comments(self, query: dict[str, Any]) -> dict[str, Any]:
        """Filtered by creation time (``beginTime``/``endTime``) or ``orderIds``; no total."""
        page, size = int(query.get("page", 1)), int(query.get("pageSize", 10))
        if not 1 <= size <= self.comment_page_max or page < 1:
            raise Refusal("66", f"pageSize 1-{self.comment_page_max}")
        rows = list(self.comments.values())
        if query.get("beginTime") or query.get("endTime"):
            low, high = parse_jd(query["beginTime"]), parse_jd(query["endTime"])
            rows = [c for c in rows if low <= c.created <= high]
        if query.get("orderIds"):
            wanted = set(str(query["orderIds"]).split(","))
            rows = [c for c in rows if c.order_id in wanted]
        rows.sort(key=lambda c: (c.created, c.comment_id))
        return {"comments": [_comment_json(c) for c in rows[(page - 1) * size : page * size]]}

    def _save_reply(self, query: dict[str, Any]) -> dict[str, Any]:
        comment = self.comments.get(str(query.get("commentId")))
        if comment is None:
            return {"resultCode": "404", "resultMsg": "评价不存在"}
        if not query.get("content"):
            return {"resultCode": "400", "resultMsg": "回复内容不能为空"}
        if comment.reply is not None:
            return {"resultCode": "409", "resultMsg": "该评价已回复"}
        comment.reply, comment.replied = str(query["content"]), self.now()
        self.replies.append(comment.comment_id)
        return {"resultCode": "1", "resultMsg": "成功"}

    def _refund_json(self, refund: RefundApply) -> dict[str, Any]:
        order = self.orders[refund.order_id]
        return {
            "id": refund.id,
            "orderId": refund.order_id,
            "status": int(refund.status),
            "applyTime": jd_text(refund.applied),
            "checkTime": jd_text(refund.checked) if refund.checked else None,
            "applyRefundSum": refund.fen,
            "reason": refund.reason,
            "buyerId": order.pin,
            "checkUserName": "aftersales" if refund.checked else None,
        }


def _ok() -> dict[str, Any]:
    return {"success": True, "numberCode": 10100000, "chineseErrCode": "成功"}


def _api_refused(name: str, why: str) -> dict[str, Any]:
    return {
        name: {
            "apiResult": {
                "success": False,
                "numberCode": 10100033,
                "chineseErrCode": why,
                "englishErrCode": "invalid parameter",
            }
        }
    }


def _query_refused(why: str) -> dict[str, Any]:
    return {"queryResult": {"success": False, "code": "66", "msg": why}}


def _comment_json(comment: Comment) -> dict[str, Any]:
    replies = []
    if comment.reply is not None:
        replies.append(
            {
                "replyId": f"r{comment.comment_id}",
                "content": comment.reply,
                "creationTime": jd_text(comment.replied),
                "nickName": "商家",
                "parentReply": None,
            }
        )
    return {
        "commentId": comment.comment_id,
        "skuid": comment.sku,
        "skuName": comment.sku_name,
        "content": comment.content,
        "creationTime": jd_text(comment.created),
        "score": comment.score,
        "status": 1,
        "isVenderReply": bool(replies),
        "replyCount": len(replies),
        "replies": replies,
        "images": [],
        "videos": [],
        "nickName": comment.nick,
        "orderId": comment.order_id,
    }


def _order_json(order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "venderId": "10086",
        "orderType": "22",
        "payType": "4-在线支付",
        "orderState": order.state,
        "orderStateRemark": "",
        "orderTotalPrice": str(sum((p * q for _, _, p, q in order.lines), Decimal("0.00"))),
        "orderPayment": str(order.payment),
        "freightPrice": "6.00",
        "orderStartTime": jd_text(order.created),
        "orderEndTime": jd_text(order.modified) if order.state == "FINISHED_L" else NO_TIME,
        "paymentConfirmTime": jd_text(order.paid),
        "modified": jd_text(order.modified),
        "pin": order.pin,
        "open_id_buyer": f"oid-{order.pin}",
        "consigneeInfo": {
            "fullname": "张**",
            "mobile": "138****5678",
            "fullAddress": "北京市朝阳区******",
            "encrypt_fullname": "~AgAAAAEAAAA~",
            "encrypt_mobile": "~AgAAAAIAAAA~",
        },
        "itemInfoList": [
            {"skuId": sku, "skuName": name, "jdPrice": str(price), "itemTotal": str(qty)}
            for sku, name, price, qty in order.lines
        ],
        "waybill": order.waybill,
        "logisticsId": order.carrier,
    }


def jd_app(shop: FakeJDShop) -> Starlette:
    """The gateway: parameters from the query string and the form body, merged and signed."""

    async def router(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        body, lost = shop.answer(params)
        if lost:
            return PlainTextResponse("upstream answer lost", status_code=504)
        return JSONResponse(body)

    async def refresh(request: Request) -> Response:
        return JSONResponse(shop.refresh(dict(request.query_params)))

    return Starlette(
        routes=[
            Route("/routerjson", router, methods=["GET", "POST"]),
            Route("/oauth2/refresh_token", refresh, methods=["GET"]),
        ]
    )
