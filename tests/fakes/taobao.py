"""A fake TOP gateway (``POST /router/rest``) over an in-memory Taobao shop.

It is strict where the real gateway is strict, so a connector that passes
here does not learn its mistakes in production: app key, session, signature
(md5, hmac, hmac-sha256, computed here independently of the connector),
timestamp within +-10 minutes, ``end_modified - start_modified <= 1 day``,
page-size limits, ``use_has_next`` (``has_next`` and no ``total_results``),
newest-modified-first order, and a per-app call limit answering TOP's
call-limit error. Refusals are ``error_response`` bodies with HTTP 200, as
TOP sends them. Limits are constructor arguments so tests can make them
small and fast. The shop is shared with the server thread, so every access
goes through one lock.

Where TOP's behaviour is not documented the fake makes a choice and says so:
increment.get leaves out the receiver (its data is "partial"), refund lists
leave out ``refund_remind_timeout`` (only ``refund.get`` has it), and every
list is sorted newest first.

Refund writes (``taobao.rp.refunds.agree``, ``taobao.refund.refuse``) follow
the SDK's parameters (see ``connectors/taobao.py``); their business errors are
undocumented, so these sub-codes are the fake's own, all with code 15
"Remote service error" as TOP's business refusals come:

- ``isv.refund-not-exist``: no such refund_id;
- ``isv.refund-status-not-support``: the refund's status does not allow it
  (agree: WAIT_SELLER_AGREE or WAIT_SELLER_CONFIRM_GOODS; refuse:
  WAIT_SELLER_AGREE), so a replay of a write already made lands here;
- ``isv.refund-version-expired``: the version is not the refund's ``modified``
  in epoch ms (the refund changed, or the caller is replaying);
- ``isv.refund-fee-not-match``: the amount (fen) is not ``refund_fee``;
- ``isv.refund-phase-not-match``: a Tmall shop's phase missing or wrong;
- ``isv.refund-cannot-refuse`` / ``isv.refund-onweb-only``: the refund's
  ``operation_contraint`` forbids the call.

Review explanations (``taobao.traderate.explain.add``, see ``_explain``) are
counted in ``replies``; ``traderates.get`` filters by ``tid`` (the trade or
the sub-order) as the SDK says, which is how the connector looks before it
writes.

Malformed ``refund_infos`` and a ``refuse_message`` outside 2-200 characters
are code 41 ``isv.invalid-parameter:<name>``; missing ones code 40. A batch of
refunds is all or nothing here (real TOP reports each in
``refund_mapping_result``). Agree moves a refund to SUCCESS, or to
WAIT_BUYER_RETURN_GOODS for a return whose goods have not come back; refuse
to SELLER_REFUSE_BUYER; both bump ``modified`` by at least a second. Each
executed write is counted (``executed_refunds``, ``refused_refunds``), every
request's parameters are kept (``received``), and ``lose_answers`` makes the
gateway carry out a call and then answer 504, as a reply lost on the way.
"""

from __future__ import annotations

import hashlib
import hmac
import math
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
    ("纯棉短袖T恤 男款", ["颜色分类:白色;尺码:L", "颜色分类:黑色;尺码:XL"], "69.00"),
    ("加绒连帽卫衣", ["颜色分类:藏青;尺码:L", "颜色分类:燕麦;尺码:M"], "159.00"),
    ("高腰直筒牛仔裤", ["颜色分类:浅蓝;尺码:27", "颜色分类:深蓝;尺码:28"], "189.00"),
    ("真丝睡衣套装", ["颜色分类:香槟;尺码:M"], "299.00"),
    ("儿童防水雨靴", ["颜色分类:黄色;鞋码:28码"], "89.00"),
    ("不锈钢保温杯 500ml", ["颜色分类:玫瑰金"], "79.90"),
    ("新疆阿克苏苹果 5斤装", ["规格:中果", "规格:大果"], "39.90"),
]
PLACES = [
    ("浙江省", "杭州市", "西湖区", "文一路"),
    ("上海", "上海市", "浦东新区", "张杨路"),
    ("广东省", "深圳市", "南山区", "科技园南路"),
    ("四川省", "成都市", "武侯区", "人民南路"),
]
SURNAMES = "王李张刘陈杨黄赵吴周"
REASONS = ["七天无理由退换货", "质量问题", "尺码不合适", "发错货", "少件/漏发", "不想要了"]
DESCS = ["衣服洗了一次就起球", "颜色和图片差太多", "收到的尺码不对", "", "包装破损，杯子有划痕"]
CARRIERS = ["中通快递", "圆通速递", "顺丰速运", "韵达快递"]
RATE_TEXT = {
    "good": ["质量很好，物超所值", "物流很快，包装严实", "好评！会回购的"],
    "neutral": ["一般般吧，和描述有点差距", "尺码偏小，凑合穿"],
    "bad": ["质量太差了，洗一次就变形", "发错货，客服也不理人", "色差严重，描述不符"],
}
REPLIES = ["亲，非常抱歉给您带来不好的体验，已安排客服联系您处理", "感谢亲的反馈，我们会改进"]
REFUND_TIMERS = {  # DOMAIN.md defaults, used as the fake's refund_remind_timeout
    "WAIT_SELLER_AGREE": timedelta(days=5),
    "WAIT_BUYER_RETURN_GOODS": timedelta(days=7),
    "WAIT_SELLER_CONFIRM_GOODS": timedelta(days=10),
    "SELLER_REFUSE_BUYER": timedelta(days=7),
}
CONFIRMING = ("WAIT_SELLER_CONFIRM_GOODS",)  # goods back: agree pays the refund
NEXT_STATUS = {
    "WAIT_BUYER_PAY": "WAIT_SELLER_SEND_GOODS",
    "WAIT_SELLER_SEND_GOODS": "WAIT_BUYER_CONFIRM_GOODS",
    "WAIT_BUYER_CONFIRM_GOODS": "TRADE_FINISHED",
}


def top_text(value: datetime) -> str:
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def parse_top(value: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` in GMT+8; epoch milliseconds too (the Python SDK sends them)."""
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(UTC)


def expected_sign(params: dict[str, str], secret: str, method: str) -> str | None:
    """The gateway's own check, written apart from the connector's ``sign``."""
    pieces = [name + params[name] for name in sorted(params) if name != "sign" and params[name]]
    message = "".join(pieces).encode("utf-8")
    key = secret.encode("utf-8")
    if method == "md5":
        return hashlib.md5(key + message + key).hexdigest().upper()
    if method == "hmac":
        return hmac.new(key, message, "md5").hexdigest().upper()
    if method == "hmac-sha256":
        return hmac.new(key, message, "sha256").hexdigest().upper()
    return None


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
    oid: int
    title: str
    sku_properties_name: str
    num: int
    price: Decimal
    payment: Decimal
    num_iid: int


@dataclass
class Trade:
    tid: int
    status: str
    buyer_nick: str
    buyer_open_uid: str
    created: datetime
    modified: datetime
    payment: Decimal
    total_fee: Decimal
    lines: list[Line]
    receiver: dict[str, str]
    pay_time: datetime | None = None
    consign_time: datetime | None = None
    end_time: datetime | None = None


@dataclass
class Refund:
    refund_id: int
    tid: int
    oid: int
    title: str
    buyer_nick: str
    status: str
    created: datetime
    modified: datetime
    refund_fee: Decimal
    has_good_return: bool
    reason: str
    desc: str
    company_name: str | None = None
    sid: str | None = None
    timeout: datetime | None = None
    dispute_type: str | None = None  # None: REFUND or REFUND_AND_RETURN from has_good_return
    phase: str = "aftersale"  # refund_phase: onsale before the trade finished, else aftersale
    operation_constraint: str | None = None  # refund.get's operation_contraint
    refuse_message: str | None = None


@dataclass
class Rating:
    tid: int
    oid: int
    nick: str
    result: str
    created: datetime
    item_title: str
    item_price: Decimal
    num_iid: int
    content: str
    reply: str | None = None
    append_content: str | None = None  # the buyer's 追评: no explanation after it


class TopRefusal(Exception):
    """An ``error_response``; the gateway answers it with HTTP 200."""

    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(f"{code} {msg} {sub_code} {sub_msg}")
        self.body: dict[str, Any] = {"code": code, "msg": msg}
        if sub_code:
            self.body["sub_code"] = sub_code
        if sub_msg:
            self.body["sub_msg"] = sub_msg


def _missing(name: str) -> TopRefusal:
    return TopRefusal(40, f"Missing required arguments:{name}", "isv.missing-parameter", name)


def _invalid(name: str, why: str) -> TopRefusal:
    return TopRefusal(41, f"Invalid arguments:{name}", f"isv.invalid-parameter:{name}", why)


@dataclass
class CallLimit:
    """At most ``calls`` per ``seconds`` (wall clock) per app key, then a ban."""

    calls: int
    seconds: float
    started: float = 0.0
    used: int = 0


@dataclass
class FakeTaobaoShop:
    app_key: str = "12345678"
    app_secret: str = "fake-top-secret"
    session: str = "6100fake-session-key"
    seller_nick: str = "测试旗舰店"
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    call_limit: CallLimit | None = None
    max_span: timedelta = timedelta(days=1)
    timestamp_tolerance: timedelta = timedelta(minutes=10)
    seed_value: int = 20261123
    trades: dict[int, Trade] = field(default_factory=dict)
    refunds: dict[int, Refund] = field(default_factory=dict)
    ratings: list[Rating] = field(default_factory=list)
    tmall: bool = False  # refund writes then need a phase (and refuse a version)
    calls: Counter[str] = field(default_factory=Counter)
    refusals: Counter[int] = field(default_factory=Counter)  # error_response codes answered
    executed_refunds: list[int] = field(default_factory=list)  # one entry per refund agreed
    refused_refunds: list[int] = field(default_factory=list)  # one entry per refund refused
    replies: list[int] = field(default_factory=list)  # one oid per explanation posted
    explain_days: int = 30  # explain.add's window after the rating (the SDK's "30天")
    received: list[dict[str, str]] = field(default_factory=list)  # every request's params
    lost: list[str] = field(default_factory=list)  # see lose_answers
    windows: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    queued: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- data ------------------------------------------------------------------------------

    def seed(
        self,
        n_orders: int,
        *,
        start: datetime,
        days: float = 10,
        refund_rate: float = 0.08,
        rating_rate: float = 0.4,
        burst: int = 0,
    ) -> None:
        """``n_orders`` trades created over ``days`` from ``start``, deterministically.

        ``burst`` trades are closed by the platform in one batch at the same second
        (TOP closes unpaid trades that way), so more than a page shares a time.
        """
        rng = random.Random(self.seed_value)
        horizon = start + timedelta(days=days)
        span = int(days * 86400)
        with self.lock:
            for n in range(n_orders):
                tid = 4_100_000_000_000 + n * 7919 + rng.randint(0, 7)
                created = start + timedelta(seconds=rng.randrange(span))
                trade = self._new_trade(rng, tid, created, horizon)
                self.trades[tid] = trade
                self._maybe_refund(rng, trade, horizon, refund_rate)
                self._maybe_rate(rng, trade, horizon, rating_rate)
            if burst:
                sweep = start + timedelta(seconds=span // 2 + 17)
                unpaid = [
                    t
                    for t in self.trades.values()
                    if sweep - timedelta(days=3) < t.created < sweep - timedelta(hours=2)
                ][:burst]
                for trade in unpaid:
                    trade.status, trade.pay_time = "TRADE_CLOSED_BY_TAOBAO", None
                    trade.consign_time = trade.end_time = None
                    trade.modified = sweep
                    for refund in [r for r in self.refunds.values() if r.tid == trade.tid]:
                        del self.refunds[refund.refund_id]
                    self.ratings = [r for r in self.ratings if r.tid != trade.tid]

    def _new_trade(
        self, rng: random.Random, tid: int, created: datetime, horizon: datetime
    ) -> Trade:
        lines = []
        for index in range(rng.choice([1, 1, 1, 2, 3])):
            title, skus, price = rng.choice(PRODUCTS)
            num = rng.choice([1, 1, 2])
            gross = Decimal(price) * num
            discount = Decimal(rng.choice(["0", "0", "5.00", "10.00"]) if gross > 100 else "0")
            lines.append(
                Line(
                    oid=tid * 10 + index + 1,
                    title=title,
                    sku_properties_name=rng.choice(skus),
                    num=num,
                    price=Decimal(price),
                    payment=gross - discount,
                    num_iid=600000000000 + PRODUCTS.index((title, skus, price)),
                )
            )
        state, city, district, street = rng.choice(PLACES)
        name = rng.choice(SURNAMES) + rng.choice(["小雨", "晓明", "静", "伟", "婷婷"])
        trade = Trade(
            tid=tid,
            status="WAIT_BUYER_PAY",
            buyer_nick=name[0] + "**",
            buyer_open_uid=f"AAH{rng.getrandbits(40):010x}",
            created=created,
            modified=created,
            payment=sum((line.payment for line in lines), Decimal("0")),
            total_fee=sum((line.price * line.num for line in lines), Decimal("0")),
            lines=lines,
            receiver={
                "receiver_name": name,
                "receiver_mobile": f"13{rng.randint(100000000, 999999999)}",
                "receiver_state": state,
                "receiver_city": city,
                "receiver_district": district,
                "receiver_address": f"{street}{rng.randint(1, 999)}号",
            },
        )
        if rng.random() < 0.12:  # never paid: the buyer cancels, or TOP closes it a day on
            cancel = created + timedelta(minutes=rng.randint(1, 60))
            timeout = created + timedelta(days=1)
            if rng.random() < 0.3 and cancel <= horizon:
                trade.status, trade.modified = "TRADE_CLOSED", cancel
            elif timeout <= horizon:
                trade.status, trade.modified = "TRADE_CLOSED_BY_TAOBAO", timeout
            return trade
        steps = [
            ("pay_time", timedelta(minutes=rng.randint(1, 90))),
            ("consign_time", timedelta(hours=rng.randint(2, 40))),
            ("end_time", timedelta(days=rng.randint(3, 10))),
        ]
        at = created
        for name_, delay in steps:
            at = at + delay
            if at > horizon:
                break
            setattr(trade, name_, at)
            trade.status = NEXT_STATUS[trade.status]
            trade.modified = at
        trade.modified = min(trade.modified + timedelta(seconds=rng.randint(0, 59)), horizon)
        return trade

    def _maybe_refund(
        self, rng: random.Random, trade: Trade, horizon: datetime, rate: float
    ) -> None:
        if trade.pay_time is None or rng.random() >= rate:
            return
        created = (trade.consign_time or trade.pay_time) + timedelta(hours=rng.randint(1, 48))
        modified = created + timedelta(hours=rng.randint(0, 30), seconds=rng.randint(0, 59))
        if modified > horizon:
            return
        line = rng.choice(trade.lines)
        returning = trade.consign_time is not None and rng.random() < 0.6
        statuses = ["WAIT_SELLER_AGREE", "SUCCESS", "CLOSED", "SELLER_REFUSE_BUYER"]
        if returning:
            statuses += ["WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS"]
        status = rng.choice(statuses)
        shipped_back = returning and status in ("WAIT_SELLER_CONFIRM_GOODS", "SUCCESS")
        refund = Refund(
            refund_id=9_000_000_000 + len(self.refunds) * 131 + rng.randint(0, 100),
            tid=trade.tid,
            oid=line.oid,
            title=line.title,
            buyer_nick=trade.buyer_nick,
            status=status,
            created=created,
            modified=modified,
            refund_fee=line.payment
            if rng.random() < 0.8
            else (line.payment / 2).quantize(Decimal("0.01")),
            has_good_return=returning,
            reason=rng.choice(REASONS),
            desc=rng.choice(DESCS),
            company_name=rng.choice(CARRIERS) if shipped_back else None,
            sid=f"7531{rng.randint(10**9, 10**10 - 1)}" if shipped_back else None,
            timeout=modified + REFUND_TIMERS[status] if status in REFUND_TIMERS else None,
            phase="aftersale" if trade.end_time and trade.end_time <= created else "onsale",
        )
        if returning and refund.refund_id % 7 == 0:  # some buyers want another size instead
            refund.dispute_type = "TMALL_EXCHANGE"
        self.refunds[refund.refund_id] = refund
        trade.modified = max(trade.modified, modified)  # a refund modifies its trade

    def _maybe_rate(self, rng: random.Random, trade: Trade, horizon: datetime, rate: float) -> None:
        if trade.end_time is None or rng.random() >= rate:
            return
        for line in trade.lines:
            created = trade.end_time + timedelta(
                hours=rng.randint(0, 47), seconds=rng.randint(0, 59)
            )
            if created > horizon:
                continue
            result = rng.choices(["good", "neutral", "bad"], weights=[8, 1, 1])[0]
            self.ratings.append(
                Rating(
                    tid=trade.tid,
                    oid=line.oid,
                    nick=trade.buyer_nick,
                    result=result,
                    created=created,
                    item_title=line.title,
                    item_price=line.price,
                    num_iid=line.num_iid,
                    content=rng.choice(RATE_TEXT[result]),
                    reply=rng.choice(REPLIES) if result != "good" and rng.random() < 0.5 else None,
                )
            )

    def touch(self, tid: int, at: datetime, *, status: str | None = None) -> Trade:
        """Modify a trade at ``at``: its next status (or ``status``), as the buyer or shop would."""
        with self.lock:
            trade = self.trades[tid]
            trade.status = status or NEXT_STATUS.get(trade.status, trade.status)
            if trade.status == "WAIT_SELLER_SEND_GOODS" and trade.pay_time is None:
                trade.pay_time = at
            if trade.status == "WAIT_BUYER_CONFIRM_GOODS" and trade.consign_time is None:
                trade.consign_time = at
            trade.modified = at
            return trade

    def queue_error(
        self, code: int, msg: str, sub_code: str = "", sub_msg: str = "", *, times: int = 1
    ) -> None:
        """The next ``times`` authorised calls answer this ``error_response``."""
        body: dict[str, Any] = {"code": code, "msg": msg}
        if sub_code:
            body["sub_code"] = sub_code
        if sub_msg:
            body["sub_msg"] = sub_msg
        with self.lock:
            self.queued.extend([body] * times)

    def lose_answers(self, *apis: str) -> None:
        """The next successful calls of these methods, in this order, are carried out and
        then answered with a 504: the reply lost on its way, the write made. A call of
        another method in between is answered as usual."""
        with self.lock:
            self.lost.extend(apis)

    # --- the gateway -----------------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> dict[str, Any]:
        """One gateway call: the body TOP would answer."""
        return self.answer(params)[0]

    def answer(self, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        """The body and whether ``lose_answers`` wants it lost."""
        with self.lock:
            self.received.append(dict(params))
            try:
                body = self._handle(params)
            except TopRefusal as refusal:
                self.refusals[refusal.body["code"]] += 1
                return {"error_response": refusal.body}, False
            if self.lost and self.lost[0] == params.get("method"):
                self.lost.pop(0)
                return body, True
            return body, False

    def _handle(self, params: dict[str, str]) -> dict[str, Any]:
        app_key = params.get("app_key")
        if not app_key:
            raise TopRefusal(28, "Missing App Key")
        if app_key != self.app_key:
            raise TopRefusal(29, "Invalid app Key", "isv.appkey-not-exists")
        self._count_call()
        if not params.get("sign"):
            raise TopRefusal(24, "Missing signature")
        method = params.get("sign_method") or "md5"
        wanted = expected_sign(params, self.app_secret, method)
        if wanted is None or not hmac.compare_digest(wanted, params["sign"]):
            raise TopRefusal(25, "Invalid signature")
        self._check_timestamp(params.get("timestamp"))
        if params.get("v") != "2.0":
            raise TopRefusal(33, "Invalid version")
        if params.get("format") != "json":
            raise TopRefusal(23, "Invalid format", sub_msg="this fake speaks json only")
        if not params.get("session"):
            raise TopRefusal(26, "Missing session")
        if params["session"] != self.session:
            raise TopRefusal(27, "Invalid session", "invalid-sessionkey", "SessionKey非法")
        api = params.get("method") or ""
        handler = self.apis().get(api)
        if handler is None:
            raise TopRefusal(22, "Invalid method")
        self.calls[api] += 1
        if self.queued:
            raise TopRefusal(**self.queued.pop(0))
        answer = handler(params)
        return {api.removeprefix("taobao.").replace(".", "_") + "_response": answer}

    def _count_call(self) -> None:
        limit = self.call_limit
        if limit is None:
            return
        clock = time.monotonic()
        if clock - limit.started >= limit.seconds:
            limit.started, limit.used = clock, 0
        if limit.used >= limit.calls:
            left = limit.started + limit.seconds - clock
            shown = str(math.ceil(left)) if left >= 1 else f"{math.ceil(left * 100) / 100:.2f}"
            raise TopRefusal(
                7,
                "App Call Limited",
                "accesscontrol.limited-by-app-access-count",
                f"This ban will last for {shown} more seconds",
            )
        limit.used += 1

    def _check_timestamp(self, value: str | None) -> None:
        if not value:
            raise TopRefusal(30, "Missing timestamp")
        try:
            sent = parse_top(value)
        except ValueError:
            raise TopRefusal(31, "Invalid timestamp", sub_msg="yyyy-MM-dd HH:mm:ss") from None
        if abs(sent - self.now()) > self.timestamp_tolerance:
            raise TopRefusal(
                31, "Invalid timestamp", "isv.timestamp-limit-error", "时间戳误差超过10分钟"
            )

    def apis(self) -> dict[str, Callable[[dict[str, str]], dict[str, Any]]]:
        return {
            "taobao.trades.sold.increment.get": self._increment,
            "taobao.trade.fullinfo.get": self._fullinfo,
            "taobao.refunds.receive.get": self._refunds,
            "taobao.refund.get": self._refund,
            "taobao.rp.refunds.agree": self._agree,
            "taobao.refund.refuse": self._refuse,
            "taobao.traderates.get": self._rates,
            "taobao.traderate.explain.add": self._explain,
            "taobao.user.seller.get": lambda params: {"user": {"nick": self.seller_nick}},
        }

    # --- APIs ------------------------------------------------------------------------------

    def _increment(self, params: dict[str, str]) -> dict[str, Any]:
        fields = _fields(params)
        start, end = _time_param(params, "start_modified"), _time_param(params, "end_modified")
        if start is None or end is None:
            raise _missing("start_modified" if start is None else "end_modified")
        if end < start:
            raise _invalid("end_modified", "end_modified必须大于start_modified")
        if end - start > self.max_span:
            raise _invalid("start_modified", "修改时间跨度不能大于一天")
        self.windows.append(("taobao.trades.sold.increment.get", start, end))
        rows = [t for t in self.trades.values() if start <= t.modified <= end]
        rows.sort(key=lambda t: (t.modified, t.tid), reverse=True)
        page, extra = _paginate(rows, params, max_size=100, default_size=40)
        # increment.get's data is partial: no receiver, even when asked for.
        return {
            **extra,
            **_wrapped("trades", "trade", [_trade_json(t, fields, receiver=False) for t in page]),
        }

    def _fullinfo(self, params: dict[str, str]) -> dict[str, Any]:
        fields = _fields(params)
        tid = params.get("tid")
        if not tid:
            raise _missing("tid")
        trade = self.trades.get(int(tid))
        if trade is None:
            raise TopRefusal(15, "Remote service error", "isv.trade-not-exist", "交易不存在")
        return {"trade": _trade_json(trade, fields, receiver=True)}

    def _refunds(self, params: dict[str, str]) -> dict[str, Any]:
        fields = _fields(params)
        start, end = _time_param(params, "start_modified"), _time_param(params, "end_modified")
        rows = [
            r
            for r in self.refunds.values()
            if (start is None or r.modified >= start) and (end is None or r.modified <= end)
        ]
        rows.sort(key=lambda r: (r.modified, r.refund_id), reverse=True)
        page, extra = _paginate(rows, params, max_size=100, default_size=40)
        body = [_pick(_refund_json(r, deadline=False), fields) for r in page]
        return {**extra, **_wrapped("refunds", "refund", body)}

    def _refund(self, params: dict[str, str]) -> dict[str, Any]:
        refund_id = params.get("refund_id")
        if not refund_id:
            raise _missing("refund_id")
        refund = self.refunds.get(int(refund_id))
        if refund is None:
            raise TopRefusal(15, "Remote service error", "isv.refund-not-exist", "退款不存在")
        return {"refund": _pick(_refund_json(refund, deadline=True), _fields(params))}

    def _agree(self, params: dict[str, str]) -> dict[str, Any]:
        infos = params.get("refund_infos")
        if not infos:
            raise _missing("refund_infos")
        entries = [entry.strip() for entry in infos.split(",") if entry.strip()]
        if not 1 <= len(entries) <= (30 if self.tmall else 20):
            raise _invalid("refund_infos", "一次最多20笔（天猫30笔）")
        agreed: list[Refund] = []
        for entry in entries:  # all checked before any is carried out
            parts = entry.split("|")
            if len(parts) not in (3, 4) or not all(p.isdigit() for p in parts[:3]):
                raise _invalid("refund_infos", "refund_id|amount|version|phase")
            refund = self._writable_refund(int(parts[0]), ("WAIT_SELLER_AGREE", *CONFIRMING))
            self._check_version(refund, parts[2])
            if int(parts[1]) != int(refund.refund_fee * 100):
                raise TopRefusal(
                    15, "Remote service error", "isv.refund-fee-not-match", "退款金额不一致"
                )
            self._check_phase(refund, parts[3] if len(parts) == 4 else None)
            agreed.append(refund)
        rows = []
        for refund in agreed:
            returning = refund.has_good_return and refund.status not in CONFIRMING
            self._move(refund, "WAIT_BUYER_RETURN_GOODS" if returning else "SUCCESS")
            self.executed_refunds.append(refund.refund_id)
            rows.append({"refund_id": str(refund.refund_id), "succ": True, "message": "操作成功"})
        return {
            "msg_code": "OP_SUCC",
            "succ": True,
            "message": "",
            "results": {"refund_mapping_result": rows},
        }

    def _refuse(self, params: dict[str, str]) -> dict[str, Any]:
        for name in ("refund_id", "refuse_message"):
            if not params.get(name):
                raise _missing(name)
        if not 2 <= len(params["refuse_message"]) <= 200:
            raise _invalid("refuse_message", "长度2-200")
        if not params["refund_id"].isdigit():
            raise _invalid("refund_id", "a number")
        refund = self._writable_refund(int(params["refund_id"]), ("WAIT_SELLER_AGREE",))
        if refund.operation_constraint == "cannot_refuse":
            raise TopRefusal(15, "Remote service error", "isv.refund-cannot-refuse", "不允许拒绝")
        if self.tmall:
            for name in ("refund_phase", "refund_version"):
                if not params.get(name):
                    raise _missing(name)
        if params.get("refund_version"):
            self._check_version(refund, params["refund_version"])
        if self.tmall:
            self._check_phase(refund, params["refund_phase"])
        self._move(refund, "SELLER_REFUSE_BUYER")
        refund.refuse_message = params["refuse_message"]
        self.refused_refunds.append(refund.refund_id)
        return {
            "is_success": True,
            "refund": {
                "refund_id": refund.refund_id,
                "status": refund.status,
                "modified": top_text(refund.modified),
            },
        }

    def _writable_refund(self, refund_id: int, statuses: tuple[str, ...]) -> Refund:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise TopRefusal(15, "Remote service error", "isv.refund-not-exist", "退款不存在")
        if refund.operation_constraint == "refund_onweb":
            raise TopRefusal(15, "Remote service error", "isv.refund-onweb-only", "请到网页版操作")
        if refund.status not in statuses:
            raise TopRefusal(
                15,
                "Remote service error",
                "isv.refund-status-not-support",
                f"退款状态{refund.status}不支持此操作",
            )
        return refund

    @staticmethod
    def _check_version(refund: Refund, version: str) -> None:
        if version != str(epoch_ms(refund.modified)):
            raise TopRefusal(
                15, "Remote service error", "isv.refund-version-expired", "退款版本已过期"
            )

    def _check_phase(self, refund: Refund, phase: str | None) -> None:
        if self.tmall and phase != refund.phase:
            raise TopRefusal(
                15, "Remote service error", "isv.refund-phase-not-match", "退款阶段不正确"
            )

    def _move(self, refund: Refund, status: str) -> None:
        """A write: the new status, ``modified`` a whole second later at least (the
        version of the next write), and the timer of the new status."""
        at = self.now().astimezone(UTC).replace(microsecond=0)
        refund.modified = max(at, refund.modified.replace(microsecond=0) + timedelta(seconds=1))
        refund.status = status
        timer = REFUND_TIMERS.get(status)
        refund.timeout = refund.modified + timer if timer else None

    def _rates(self, params: dict[str, str]) -> dict[str, Any]:
        fields = _fields(params)
        for name in ("rate_type", "role"):
            if not params.get(name):
                raise _missing(name)
        start, end = _time_param(params, "start_date"), _time_param(params, "end_date")
        result = params.get("result")
        if result and result not in RATE_TEXT:
            raise _invalid("result", "good, neutral or bad")
        tid = params.get("tid")
        if tid and not tid.isdigit():
            raise _invalid("tid", "a number")
        rows = []
        if params["rate_type"] == "get" and params["role"] == "buyer":
            rows = [
                r
                for r in self.ratings
                if (start is None or r.created >= start)
                and (end is None or r.created <= end)
                and (not result or r.result == result)
                and (not tid or int(tid) in (r.tid, r.oid))  # 父订单或子订单id (SDK)
            ]
        rows.sort(key=lambda r: (r.created, r.oid), reverse=True)
        page, extra = _paginate(rows, params, max_size=150, default_size=40, max_page=200)
        body = [_pick(_rate_json(r, self.seller_nick), fields) for r in page]
        return {**extra, **_wrapped("trade_rates", "trade_rate", body)}

    def _explain(self, params: dict[str, str]) -> dict[str, Any]:
        """``taobao.traderate.explain.add``: ``oid`` and ``reply`` (at most 500 characters).

        Refused, with the fake's own sub-codes (TOP publishes none): no such rating
        (``isv.rate-not-exist``), 30 days past the rating or after a 追评
        (``isv.rate-explain-expired``), a rating already explained
        (``isv.rate-explain-exists``), so a blind replay never posts twice.
        """
        for name in ("oid", "reply"):
            if not params.get(name):
                raise _missing(name)
        if not params["oid"].isdigit():
            raise _invalid("oid", "a number")
        if len(params["reply"]) > 500:
            raise _invalid("reply", "最大长度500个汉字")
        oid = int(params["oid"])
        rating = next((r for r in self.ratings if r.oid == oid), None)
        if rating is None:
            raise TopRefusal(15, "Remote service error", "isv.rate-not-exist", "评价不存在")
        if rating.append_content or self.now() > rating.created + timedelta(days=self.explain_days):
            raise TopRefusal(
                15,
                "Remote service error",
                "isv.rate-explain-expired",
                "买家追加评论后、评价超过30天的，都不能再做评价解释",
            )
        if rating.reply:
            raise TopRefusal(15, "Remote service error", "isv.rate-explain-exists", "该评价已解释")
        rating.reply = params["reply"]
        self.replies.append(oid)
        return {"is_success": True}


def epoch_ms(value: datetime) -> int:
    """A refund's version: its ``modified`` as epoch milliseconds."""
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _fields(params: dict[str, str]) -> set[str]:
    value = params.get("fields")
    if not value:
        raise _missing("fields")
    return {name.strip() for name in value.split(",") if name.strip()}


def _time_param(params: dict[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return parse_top(value)
    except ValueError:
        raise _invalid(name, "yyyy-MM-dd HH:mm:ss") from None


def _paginate(
    rows: list[Any],
    params: dict[str, str],
    *,
    max_size: int,
    default_size: int,
    max_page: int | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    try:
        page_no = int(params.get("page_no") or 1)
        page_size = int(params.get("page_size") or default_size)
    except ValueError:
        raise _invalid("page_size", "a number") from None
    if page_no < 1 or (max_page is not None and page_no > max_page):
        raise _invalid("page_no", f"1..{max_page or 'n'}")
    if not 1 <= page_size <= max_size:
        raise _invalid("page_size", f"1..{max_size}")
    first = (page_no - 1) * page_size
    page = rows[first : first + page_size]
    if params.get("use_has_next") == "true":
        return page, {"has_next": first + page_size < len(rows)}
    return page, {"total_results": len(rows)}


def _wrapped(outer: str, inner: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """simplify=false lists: ``{"trades": {"trade": [...]}}``, left out when empty."""
    return {outer: {inner: rows}} if rows else {}


def _pick(row: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in fields}


def _maybe_time(value: datetime | None) -> str | None:
    return top_text(value) if value else None


def _trade_json(trade: Trade, fields: set[str], *, receiver: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "tid": trade.tid,
        "status": trade.status,
        "buyer_nick": trade.buyer_nick,
        "buyer_open_uid": trade.buyer_open_uid,
        "payment": f"{trade.payment:.2f}",
        "total_fee": f"{trade.total_fee:.2f}",
        "created": top_text(trade.created),
        "modified": top_text(trade.modified),
        "pay_time": _maybe_time(trade.pay_time),
        "consign_time": _maybe_time(trade.consign_time),
        "end_time": _maybe_time(trade.end_time),
    }
    if receiver:
        row.update(trade.receiver)
    picked = {k: v for k, v in _pick(row, fields).items() if v is not None}
    wanted = {f.split(".", 1)[1] for f in fields if f.startswith("orders.")}
    if "orders" in fields or wanted:
        lines = [
            {
                "oid": line.oid,
                "title": line.title,
                "sku_properties_name": line.sku_properties_name,
                "num": line.num,
                "price": f"{line.price:.2f}",
                "payment": f"{line.payment:.2f}",
                "num_iid": line.num_iid,
                **(
                    {"logistics_company": "中通快递", "invoice_no": f"7531{trade.tid}"}
                    if trade.consign_time
                    else {}
                ),
            }
            for line in trade.lines
        ]
        if wanted:
            lines = [_pick(line, wanted) for line in lines]
        picked["orders"] = {"order": lines}
    return picked


def _refund_json(refund: Refund, *, deadline: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "tid": refund.tid,
        "oid": refund.oid,
        "title": refund.title,
        "buyer_nick": refund.buyer_nick,
        "status": refund.status,
        "created": top_text(refund.created),
        "modified": top_text(refund.modified),
        "refund_fee": f"{refund.refund_fee:.2f}",
        "has_good_return": refund.has_good_return,
        "reason": refund.reason,
        "desc": refund.desc,
        "good_status": "BUYER_RETURNED_GOODS" if refund.sid else "BUYER_NOT_RECEIVED",
        "dispute_type": refund.dispute_type
        or ("REFUND_AND_RETURN" if refund.has_good_return else "REFUND"),
    }
    row["refund_phase"] = refund.phase
    row["refund_version"] = epoch_ms(refund.modified)
    if refund.operation_constraint:
        row["operation_contraint"] = refund.operation_constraint  # TOP's spelling
    if refund.company_name:
        row["company_name"] = refund.company_name
        row["sid"] = refund.sid
    if deadline:
        row["refund_remind_timeout"] = {
            "exist_timeout": refund.timeout is not None,
            "remind_type": 1,
            **({"timeout": top_text(refund.timeout)} if refund.timeout else {}),
        }
    return row


def _rate_json(rating: Rating, seller_nick: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "tid": rating.tid,
        "oid": rating.oid,
        "role": "buyer",
        "nick": rating.nick,
        "result": rating.result,
        "created": top_text(rating.created),
        "rated_nick": seller_nick,
        "item_title": rating.item_title,
        "item_price": f"{rating.item_price:.2f}",
        "num_iid": rating.num_iid,
        "content": rating.content,
    }
    if rating.reply:
        row["reply"] = rating.reply
    if rating.append_content:
        row["append_content"] = rating.append_content  # not in RATE_FIELDS: never picked
    return row


def taobao_app(shop: FakeTaobaoShop) -> Starlette:
    """The gateway as an ASGI app: parameters from the query and the form body, merged."""

    async def router(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        body, lost = shop.answer(params)
        if lost:
            return PlainTextResponse("upstream answer lost", status_code=504)
        return JSONResponse(body)

    return Starlette(routes=[Route("/router/rest", router, methods=["GET", "POST"])])
