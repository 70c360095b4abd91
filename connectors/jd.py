"""JD (京东宙斯 JOS): one signed gateway, ``POST /routerjson``.

Facts from ``../shared/PLATFORMS-CN.md`` section C (SDK code, not the official
docs, which were not reachable); what is unconfirmed there is a setting here,
or the connector accepts both forms. ``docs/platforms.md`` ("## JD") says which.

Transport. Every call carries the system parameters (``method``, ``app_key``,
``access_token``, ``timestamp``, ``v=2.0``, ``sign_method``, ``format=json``)
and the business parameters as one JSON object, ``360buy_param_json``, all
signed together (``sign``). The official Java SDK puts the system parameters
in the query string and ``360buy_param_json`` in the form body; another SDK
posts everything as a form. We post everything in the form body by default so
the access token never lands in a proxy's access log (``system_in_query=True``
follows the Java SDK). The gateway hashes ``360buy_param_json`` as received,
so we serialise it once (keys sorted, no whitespace) and sign that string.

Signing (C2): every sent parameter but ``sign``, empty keys and values left
out, sorted by name, ``k1v1k2v2…``; ``md5`` wraps the text in the secret,
``hmacmd5``/``hmacsha256`` key an HMAC with it and do not wrap; uppercase hex.

Timestamp (C1, a conflict between SDK versions): ``yyyy-MM-dd HH:mm:ss`` in
Beijing time by default; ``timestamp_format="ms_zone"`` sends the current
official SDK's ``yyyy-MM-dd HH:mm:ss.SSS+0800``.

Answers (C3): success is ``{"<method, dots->_>_responce": {"code": "0", …}}``
(JOS's own spelling); a gateway refusal is ``{"error_response": {"code",
"zh_desc", "en_desc"}}``; a business refusal comes inside the success
envelope (``apiResult.success=false`` / ``queryResult.success=false``). Codes
seen in SDK mocks and READMEs (weak sources): ``12`` bad signature and the
app-key codes -> ``AuthFailed``; ``19`` expired or missing token -> refresh
once and retry, else ``AuthFailed`` (the store must be authorised again);
``15`` unknown method -> ``PlatformError``. No rate-limit code was found, so
an answer whose code is in ``rate_limit_codes`` or whose description speaks of
call frequency (限流, 频繁, 调用次数, "limit") is ``RateLimited`` with no
Retry-After, backed off exponentially here and retried.

Tokens (C4): ``GET {oauth_url}/oauth2/refresh_token?app_key&app_secret&
grant_type=refresh_token&refresh_token`` answers ``{code, access_token,
refresh_token, expires_in, …}``. JOS refreshes only within 24 hours before
expiry and never after it, so a token that expired for good ends in
``AuthFailed`` ("authorise the store again") after that one attempt. The new
tokens are handed to ``on_tokens`` (a function, maybe async), which the desk
sets to save them in the store's credentials: JD may rotate the refresh token,
and the next sync must start from the new pair. With the pair goes
``expires_at`` (from ``expires_in``), and a call in the last ``refresh_ahead``
(23 hours) before it refreshes first, since after expiry no refresh is possible.

Orders (C5): ``jingdong.pop.order.enSearch`` by modification time, windows of
at most a month (``window``), ``page_size`` <= 100, answering ``orderTotal``
and no has-more flag. ``sortType`` other than 1 is ascending. Page numbers
over a list that changes while we page lose rows (an order modified meanwhile
leaves the window and the rest slide up a place), so we page by seeking:
after a full page the window's start moves up to the newest time seen and we
ask for page 1 again, skipping the ids already taken at that second; only when
a whole page shares one second do we page on by number within it. The sync's
end is fixed when it starts, and the next sync restarts ``overlap`` before it.
Amounts are yuan strings, read exactly into ``Decimal``; times are Beijing
``yyyy-MM-dd HH:mm:ss``, ``0001-01-01 00:00:00`` meaning none.

After-sales (C6): pre-shipment cancellation refunds
(``jingdong.pop.afs.soa.refundapply.queryPageList``, 取消订单退款审核单) are
refund-only requests; their list filters by apply time and by check time but
not by update time, so each window is read twice (applied in it, checked in
it), ``pageSize`` <= 50 and ``pageIndex`` <= 100. ``applyRefundSum`` is fen
per a secondary source [unconfirmed]: ``refund_sum_unit`` says ``fen``
(default) or ``yuan``. The after-sale service orders (售后服务单,
``jingdong.asc.*``) have no confirmed status codes or deadlines, so they are
not synced yet (see docs/platforms.md).

Refund write-back (``decide_refund``): ``jingdong.pop.afs.soa.refundapply.
replyRefund`` with ``status`` 1 (approve) or 2 (refuse, with ``rejectType`` 5
其他 and the reason as ``remark``). JOS documents no idempotency, so we look
before and after writing: ``queryById`` first; a request already in the
decided status answers ``already_done``; after a failed write it is read
again, and our decision there means the write went through.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import inspect
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from connectors.base import (
    AfterSaleKind,
    AfterSaleRecord,
    AfterSaleStatus,
    AuthFailed,
    BadPayload,
    BuyerRecord,
    Capabilities,
    ConnectorError,
    ConnectorManifest,
    CredentialField,
    OrderItemRecord,
    OrderRecord,
    OrderStatus,
    Page,
    PlatformError,
    RateLimited,
    RateLimits,
    RefundDecision,
    RefundWrite,
    RefundWriteResult,
    ReviewRecord,
    ReviewReply,
    ReviewReplyResult,
    ShipmentRecord,
    WriteRefused,
    parse_money,
)
from connectors.http import PlatformClient
from connectors.timeutil import CHINA, iso_z, parse_utc


def N_(message: str) -> str:
    """Marks a msgid for the desk's catalog; the desk translates it when it shows it."""
    return message


DEFAULT_BASE_URL = "https://api.jd.com"
DEFAULT_OAUTH_URL = "https://open-oauth.jd.com"
ROUTER = "/routerjson"
SIGN_METHODS = ("md5", "hmacmd5", "hmacsha256")
TIMESTAMP_FORMATS = ("plain", "ms_zone")
MAX_SPAN = timedelta(days=30)  # enSearch: start_date and end_date "≤ 1 month apart"
REACH = timedelta(days=89)  # "by update time only 3 months are visible" [unconfirmed]
SECOND = timedelta(seconds=1)
NO_TIME = "0001-01-01 00:00:00"
ORDER_API = "jingdong.pop.order.enSearch"
ORDER_DETAIL_API = "jingdong.pop.order.get"
REFUND_LIST_API = "jingdong.pop.afs.soa.refundapply.queryPageList"
REFUND_GET_API = "jingdong.pop.afs.soa.refundapply.queryById"
REFUND_REPLY_API = "jingdong.pop.afs.soa.refundapply.replyRefund"
REFUND_PAGE_SIZE = 50
COMMENT_LIST_API = "jingdong.pop.PopCommentJsfService.getVenderCommentsForJos"
COMMENT_REPLY_API = "jingdong.pop.PopCommentJsfService.saveReply"
COMMENT_REACH = timedelta(days=179)  # [unconfirmed]: how far back the list answers
REPLY_MAX = 500  # saveReply's content limit [unconfirmed]; we count characters
REFUND_MAX_PAGE = 100

ORDER_STATES = (
    "WAIT_SELLER_STOCK_OUT",
    "WAIT_SELLER_DELIVERY",
    "WAIT_GOODS_RECEIVE_CONFIRM",
    "FINISHED_L",
    "TRADE_CANCELED",
    "LOCKED",
    "PAUSE",
    "POP_ORDER_PAUSE",
    "WAIT_SEND_CODE",
)
ORDER_STATUS = {
    "WAIT_SELLER_STOCK_OUT": OrderStatus.AWAITING_SHIPMENT,
    "WAIT_SELLER_DELIVERY": OrderStatus.AWAITING_SHIPMENT,
    "WAIT_SEND_CODE": OrderStatus.AWAITING_SHIPMENT,
    "LOCKED": OrderStatus.AWAITING_SHIPMENT,  # paid, held by JD (a dispute, a risk check)
    "PAUSE": OrderStatus.AWAITING_SHIPMENT,
    "POP_ORDER_PAUSE": OrderStatus.AWAITING_SHIPMENT,
    "WAIT_GOODS_RECEIVE_CONFIRM": OrderStatus.SHIPPED,
    "FINISHED_L": OrderStatus.COMPLETED,
    "TRADE_CANCELED": OrderStatus.CLOSED,
}
# refundapply status (C6): 0 未审核 … 9 强制关单并退款.
REFUND_STATUS = {
    "0": AfterSaleStatus.REQUESTED,
    "1": AfterSaleStatus.REFUNDED,
    "2": AfterSaleStatus.REJECTED,
    "3": AfterSaleStatus.REFUNDED,
    "4": AfterSaleStatus.REJECTED,
    "5": AfterSaleStatus.REFUNDED,
    "6": AfterSaleStatus.REFUNDED,
    "7": AfterSaleStatus.REFUNDED,
    "8": AfterSaleStatus.REQUESTED,  # 青龙拦截失败: the parcel went on; the seller decides again
    "9": AfterSaleStatus.REFUNDED,
}
# The statuses that already carry our decision (replyRefund 1 approve, 2 refuse).
DECIDED = {
    RefundDecision.APPROVE: frozenset({"1", "3", "5", "6", "7", "9"}),
    RefundDecision.REJECT: frozenset({"2", "4"}),
}
REPLY_STATUS = {RefundDecision.APPROVE: "1", RefundDecision.REJECT: "2"}
REJECT_OTHER = "5"  # rejectType 其他: the reason goes in remark
STATUS_LABELS = {
    "WAIT_SELLER_STOCK_OUT": N_("Waiting for the seller to ship"),
    "WAIT_SELLER_DELIVERY": N_("Waiting for domestic shipping"),
    "WAIT_SEND_CODE": N_("Waiting for the code to be sent"),
    "LOCKED": N_("Locked by JD"),
    "PAUSE": N_("Paused"),
    "POP_ORDER_PAUSE": N_("Paused"),
    "WAIT_GOODS_RECEIVE_CONFIRM": N_("Shipped, waiting for the buyer to confirm receipt"),
    "FINISHED_L": N_("Trade completed"),
    "TRADE_CANCELED": N_("Trade cancelled"),
    # refundapply's numeric statuses (C6), the words JD's back office shows.
    "0": N_("Cancellation waiting for review"),
    "1": N_("Cancellation approved"),
    "2": N_("Cancellation refused"),
    "3": N_("Approved by JD finance"),
    "4": N_("Refused by JD finance"),
    "5": N_("Approved by hand"),
    "6": N_("Intercepted and refunded"),
    "7": N_("Parcel intercepted by JD Logistics"),
    "8": N_("JD Logistics could not intercept the parcel"),
    "9": N_("Order force-closed and refunded"),
}

AUTH_CODES = frozenset({"12", "13", "14", "16", "17", "18", "20"})  # sign and app-key family
TOKEN_CODES = frozenset({"19"})
RATE_WORDS = re.compile(r"限流|频繁|调用次数|流量|rate.?limit|call.?limit|too many|frequen", re.I)


class TransientPlatformError(PlatformError):
    """JOS's own back end failed; worth a retry like a 5xx."""


class TokenExpired(AuthFailed):
    """Code 19: the access token expired or is missing; one refresh may help."""


# --- signing and time ----------------------------------------------------------------------


def sign(params: Mapping[str, Any], secret: str, method: str = "md5") -> str:
    """JOS's signature over every parameter but ``sign`` (see the module docstring)."""
    text = "".join(
        f"{name}{value}"
        for name, value in sorted((str(k), str(v)) for k, v in params.items() if v is not None)
        if name and name != "sign" and value != ""
    )
    data, key = text.encode("utf-8"), secret.encode("utf-8")
    if method == "md5":
        return hashlib.md5(key + data + key).hexdigest().upper()
    if method == "hmacmd5":
        return hmac.new(key, data, hashlib.md5).hexdigest().upper()
    if method == "hmacsha256":
        return hmac.new(key, data, hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unknown JOS sign_method {method!r}; use one of {SIGN_METHODS}")


def param_json(params: Mapping[str, Any]) -> str:
    """``360buy_param_json``: sorted keys (the Java SDK's TreeMap), no whitespace."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def jd_time(value: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time: JOS's business times and the old timestamp."""
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def jd_timestamp(value: datetime, form: str = "plain") -> str:
    if form == "ms_zone":
        local = value.astimezone(CHINA)
        return local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}+0800"
    return jd_time(value)


def parse_jd_time(value: Any) -> datetime | None:
    """A JOS time (Beijing, no offset written) as aware UTC; ``0001-01-01…`` is none."""
    if value in (None, "") or str(value).startswith("0001-01-01"):
        return None
    return parse_utc(str(value), naive_zone=CHINA)


def response_key(api: str) -> str:
    """``jingdong.pop.order.enSearch`` -> ``jingdong_pop_order_enSearch_responce`` (sic)."""
    return api.replace(".", "_") + "_responce"


def _second(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# --- errors --------------------------------------------------------------------------------


def jd_error(api: str, error: Mapping[str, Any], rate_codes: frozenset[str]) -> ConnectorError:
    """One ``error_response`` as a typed error of ``connectors.base``."""
    code = str(error.get("code", "") or "")
    zh, en = str(error.get("zh_desc", "") or ""), str(error.get("en_desc", "") or "")
    text = f"JD {api}: {code} {zh} {en}".rstrip()
    if code in rate_codes or RATE_WORDS.search(f"{zh} {en}"):
        return RateLimited(text, retry_after=0.0)
    if code in TOKEN_CODES:
        return TokenExpired(text)
    if code in AUTH_CODES:
        return AuthFailed(text)
    if code.startswith("5") or "系统" in zh or "timeout" in en.lower():
        return TransientPlatformError(text, code=code)
    return PlatformError(text, code=code)


def unwrap(api: str, body: Any, rate_codes: frozenset[str], status: int | None = None) -> Any:
    """The inside of the ``_responce`` envelope, or the typed error the answer holds."""
    if isinstance(body, dict):
        error = body.get("error_response")
        if isinstance(error, dict):
            raise jd_error(api, error, rate_codes)
        inner = body.get(response_key(api))
        if isinstance(inner, dict):
            code = str(inner.get("code", "0"))
            if code != "0":
                raise jd_error(api, {"code": code, "zh_desc": inner.get("zh_desc")}, rate_codes)
            return inner
    raise PlatformError(f"JD {api}: unexpected answer: {str(body)[:200]}", status=status)


def checked_result(api: str, inner: Mapping[str, Any], name: str, status_key: str) -> Any:
    """A payload container (``searchorderinfo_result``) whose own status must say success."""
    result = inner.get(name)
    if not isinstance(result, dict):
        raise PlatformError(f"JD {api}: no {name} in the answer")
    verdict = result.get(status_key) if status_key else result
    if isinstance(verdict, dict) and "success" in verdict and not _truthy(verdict["success"]):
        code = str(verdict.get("numberCode") or verdict.get("code") or "")
        why = verdict.get("chineseErrCode") or verdict.get("englishErrCode") or verdict.get("msg")
        raise PlatformError(f"JD {api}: {code} {why or 'refused'}".rstrip(), code=code)
    return result


def _rows(container: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    rows = container.get(name)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise PlatformError(f"JD: {name} is not a list")
    return [row for row in rows if isinstance(row, dict)]


# --- mapping -------------------------------------------------------------------------------


def _required_time(value: Any) -> datetime:
    parsed = parse_jd_time(value)
    if parsed is None:
        raise ValueError("missing time")
    return parsed


def _shipments(payload: Mapping[str, Any], shipped_at: datetime | None) -> list[ShipmentRecord]:
    """``waybill``: numbers separated by ``,``, carriers' groups by ``|`` (C5)."""
    carrier = str(payload.get("logisticsId") or "")
    numbers: list[str] = []
    for group in str(payload.get("waybill") or "").split("|"):
        numbers += [n.strip() for n in group.split(",") if n.strip() and n.strip() not in numbers]
    return [ShipmentRecord(carrier=carrier, tracking_no=n, shipped_at=shipped_at) for n in numbers]


def parse_order(payload: Mapping[str, Any]) -> OrderRecord:
    """One order of ``enSearch`` or ``order.get``; a malformed one raises ``BadPayload``."""
    record_id = str(payload.get("orderId", "?"))
    try:
        word = str(payload["orderState"])
        if word not in ORDER_STATUS:
            raise BadPayload(f"order {record_id}: unknown state {word!r}", record_id=record_id)
        consignee = payload.get("consigneeInfo") or {}
        buyer_id = str(
            payload.get("open_id_buyer") or payload.get("xid_buyer") or payload.get("pin") or ""
        )
        if not buyer_id:
            raise ValueError("no open_id_buyer, xid_buyer or pin")
        payment = parse_money(payload.get("orderPayment"), record_id)
        paid_at = parse_jd_time(payload.get("paymentConfirmTime"))
        shipped = ORDER_STATUS[word] in (OrderStatus.SHIPPED, OrderStatus.COMPLETED)
        items = []
        for line in _rows(payload, "itemInfoList"):
            price = parse_money(line.get("jdPrice"), record_id)
            quantity = int(line["itemTotal"])
            items.append(
                OrderItemRecord(
                    platform_item_id=str(line["skuId"]),
                    title=str(line.get("skuName") or ""),
                    sku=str(line.get("outerSkuId") or "") or None,
                    quantity=quantity,
                    unit_price=price,
                    amount=price * quantity,
                )
            )
        return OrderRecord(
            platform_order_id=record_id,
            status=ORDER_STATUS[word],
            platform_status=word,
            buyer=BuyerRecord(
                platform_buyer_id=buyer_id,
                nick=str(payload.get("pin") or buyer_id),
                # enSearch gives these masked [unconfirmed]; only masked values are kept.
                name=consignee.get("fullname") or None,
                phone=consignee.get("mobile") or consignee.get("telephone") or None,
                address=consignee.get("fullAddress") or None,
            ),
            currency="CNY",
            total_amount=payment,
            paid_amount=payment if paid_at else Decimal("0.00"),
            created_at=_required_time(payload["orderStartTime"]),
            paid_at=paid_at,
            shipped_at=None,
            updated_at=_required_time(payload["modified"]),
            items=items,
            shipments=_shipments(payload, None) if shipped else [],
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"order {record_id}: {exc!r}", record_id=record_id) from None


def parse_refund_apply(payload: Mapping[str, Any], unit: str = "fen") -> AfterSaleRecord:
    """One 取消订单退款审核单: a refund-only request made before the order shipped."""
    record_id = str(payload.get("id", "?"))
    try:
        word = str(payload["status"])
        raw = payload.get("applyRefundSum")
        amount = parse_money(raw, record_id)
        if unit == "fen":
            amount = (amount / 100).quantize(Decimal("0.01"))
        applied = _required_time(payload["applyTime"])
        checked = parse_jd_time(payload.get("checkTime"))
        return AfterSaleRecord(
            platform_refund_id=record_id,
            platform_order_id=str(payload["orderId"]),
            kind=AfterSaleKind.REFUND_ONLY,
            status=REFUND_STATUS.get(word, AfterSaleStatus.UNKNOWN),
            platform_status=word,
            currency="CNY",
            requested_amount=amount,
            reason=payload.get("reason") or None,
            buyer_text=payload.get("remark") or None,
            created_at=applied,
            updated_at=max(applied, checked) if checked else applied,
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"refund {record_id}: {exc!r}", record_id=record_id) from None


def parse_comment(payload: Mapping[str, Any]) -> ReviewRecord:
    """One ``PopCommentJosVo``: the buyer's score (1-5), text, and the shop's reply."""
    record_id = str(payload.get("commentId") or "?")
    try:
        replies = [r for r in _rows(payload, "replies") if not r.get("parentReply")]
        rating = int(payload["score"])
        if not 1 <= rating <= 5:
            raise ValueError(f"score {rating} is not 1-5")
        return ReviewRecord(
            platform_review_id=record_id,
            platform_order_id=str(payload["orderId"]) if payload.get("orderId") else None,
            platform_item_id=str(payload["skuid"]) if payload.get("skuid") else None,
            product_title=payload.get("skuName") or payload.get("wareName") or None,
            reviewer_nick=str(payload.get("nickName") or payload.get("pin") or ""),
            rating=rating,
            text=str(payload.get("content") or "").strip(),
            reply=str(replies[0].get("content") or "") or None if replies else None,
            created_at=_required_time(payload["creationTime"]),
        )
    except (KeyError, TypeError, ValueError, ValidationError, PlatformError) as exc:
        raise BadPayload(f"comment {record_id}: {exc!r}", record_id=record_id) from None


# --- windows -------------------------------------------------------------------------------


@dataclass
class Window:
    """Rows kept are ``start <= t < end``; ``page`` and ``skip`` within ``start``'s second."""

    start: datetime
    end: datetime
    until: datetime
    page: int = 1
    skip: list[str] = field(default_factory=list)

    def to_cursor(self, **extra: Any) -> str:
        state = asdict(self)
        for name in ("start", "end", "until"):
            state[name] = iso_z(state[name])
        return json.dumps({**state, **extra}, separators=(",", ":"))

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Window:
        times = {name: parse_utc(state[name]) for name in ("start", "end", "until")}
        return cls(
            **times,  # type: ignore[arg-type]
            page=int(state.get("page", 1)),
            skip=[str(i) for i in state.get("skip", [])],
        )


CAPABILITIES = Capabilities(
    orders=True, after_sales=True, reviews=True, decide_refund=True, reply_review=True
)


class JDConnector:
    platform = "jd"
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        access_token: str,
        refresh_token: str = "",
        base_url: str | None = None,
        oauth_url: str | None = None,
        sign_method: str = "md5",
        timestamp_format: str = "plain",
        system_in_query: bool = False,
        page_size: int = 100,
        window: timedelta = MAX_SPAN,
        overlap: timedelta = timedelta(minutes=10),
        refund_sum_unit: str = "fen",
        rate_limit_codes: frozenset[str] = frozenset(),
        comment_page_size: int = 50,
        expires_at: datetime | None = None,
        refresh_ahead: timedelta = timedelta(hours=23),
        review_rescan: timedelta = timedelta(days=30),
        on_tokens: Callable[[dict[str, Any]], Any] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **client_options: Any,
    ) -> None:
        if sign_method not in SIGN_METHODS:
            raise ValueError(f"unknown JOS sign_method {sign_method!r}; use one of {SIGN_METHODS}")
        if timestamp_format not in TIMESTAMP_FORMATS:
            raise ValueError(f"timestamp_format is one of {TIMESTAMP_FORMATS}")
        if not SECOND * 2 <= window <= MAX_SPAN:
            raise ValueError("window must be between 2 seconds and 30 days (JOS's month)")
        if refund_sum_unit not in ("fen", "yuan"):
            raise ValueError("refund_sum_unit is fen or yuan")
        root = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.client = PlatformClient(root, **client_options)
        self.oauth_url = (oauth_url or (root if base_url else DEFAULT_OAUTH_URL)).rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.sign_method = sign_method
        self.timestamp_format = timestamp_format
        self.system_in_query = system_in_query
        self.page_size = max(1, min(page_size, 100))
        self.window = window
        self.overlap = overlap
        self.refund_sum_unit = refund_sum_unit
        self.rate_limit_codes = rate_limit_codes
        self.comment_page_size = comment_page_size
        self.review_rescan = review_rescan
        self.on_tokens = on_tokens
        self.now = now
        self.refreshes = 0
        self.expires_at: datetime | None = expires_at
        self.refresh_ahead = refresh_ahead

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- one call ---------------------------------------------------------------------------

    def signed(self, api: str, params: Mapping[str, Any]) -> dict[str, str]:
        """System parameters, ``360buy_param_json`` and their signature, freshly timed."""
        form = {
            "method": api,
            "app_key": self.app_key,
            "access_token": self.access_token,
            "timestamp": jd_timestamp(self.now(), self.timestamp_format),
            "v": "2.0",
            "sign_method": self.sign_method,
            "format": "json",
            "360buy_param_json": param_json(params),
        }
        form["sign"] = sign(form, self.app_secret, self.sign_method)
        return form

    def _request(self, form: dict[str, str]) -> dict[str, Any]:
        if not self.system_in_query:
            return {"data": form}
        body = {"360buy_param_json": form["360buy_param_json"]}
        query = {k: v for k, v in form.items() if k not in body}
        return {"params": query, "data": body}

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.client.backoff_cap, self.client.backoff_base * 2**attempt)
        return self.client.rng.uniform(ceiling / 2, ceiling)

    async def call(self, api: str, params: Mapping[str, Any] | None = None) -> Any:
        """One JOS call, signed afresh each attempt; limits backed off, one token refresh."""
        last: ConnectorError | None = None
        refreshed = await self._refresh_ahead()
        for attempt in range(self.client.max_attempts):
            form = self.signed(api, params or {})
            body, response = await self.client.json("POST", ROUTER, **self._request(form))
            try:
                return unwrap(api, body, self.rate_limit_codes, response.status_code)
            except TokenExpired as exc:
                if refreshed or not self.refresh_token:
                    raise AuthFailed(
                        f"{exc}; the JD access token expired and could not be refreshed: "
                        "authorise the store again"
                    ) from None
                await self.refresh()
                refreshed = True
                continue
            except (RateLimited, TransientPlatformError) as exc:
                last = exc  # no Retry-After from JOS: back off
            self.client.retries += 1
            await self.client.sleep(self._backoff(attempt))
        assert last is not None
        raise last

    async def _refresh_ahead(self) -> bool:
        """Refresh in the last ``refresh_ahead`` before expiry: JOS refreshes only then,
        never after. A refusal here is no failure yet; the call itself will tell."""
        at = self.expires_at
        if at is None or not self.refresh_token or self.refreshes:
            return False
        if not at - self.refresh_ahead <= self.now() < at:
            return False
        try:
            await self.refresh()
        except ConnectorError:
            return False
        return True

    async def refresh(self) -> None:
        """Trade the refresh token for new tokens (C4); a refusal means re-authorising."""
        response = await self.client.request(
            "GET",
            f"{self.oauth_url}/oauth2/refresh_token",
            params={
                "app_key": self.app_key,
                "app_secret": self.app_secret,
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
            },
        )
        try:
            decoded = response.json()
        except ValueError:
            decoded = None
        answer: dict[str, Any] = decoded if isinstance(decoded, dict) else {}
        token = answer.get("access_token")
        if not token or str(answer.get("code", "0")) not in ("0", ""):
            why = answer.get("msg") or response.text[:120]
            raise AuthFailed(
                f"JD refused to refresh the access token ({why}): authorise the store again"
            )
        self.access_token = str(token)
        self.refresh_token = str(answer.get("refresh_token") or self.refresh_token)
        self.refreshes += 1
        try:
            self.expires_at = self.now() + timedelta(seconds=int(answer["expires_in"]))
        except (KeyError, TypeError, ValueError):
            self.expires_at = None
        if self.on_tokens is not None:
            kept = self.on_tokens(
                {
                    "access_token": self.access_token,
                    "refresh_token": self.refresh_token,
                    "expires_at": iso_z(self.expires_at) if self.expires_at else "",
                }
            )
            if inspect.isawaitable(kept):
                await kept

    # --- orders -----------------------------------------------------------------------------

    def _start(self, cursor: str | None, since: datetime | None) -> tuple[Window | None, str]:
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        if "until" in state:
            return Window.from_state(state), ""
        until = _second(self.now())
        if "since" in state:
            start = _second(parse_utc(state["since"]))  # type: ignore[arg-type]
        elif since is not None:
            start = _second(since)
        else:
            start = until - REACH
        start = max(start, until - REACH)
        if start >= until:
            return None, json.dumps({"since": iso_z(start)})
        return Window(start=start, end=min(start + self.window, until), until=until), ""

    async def orders(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[OrderRecord]]:
        """Orders modified since ``since`` (default: the 3 months JOS shows by update time)."""
        window, done = self._start(cursor, since)
        if window is None:
            yield Page(records=[], cursor=done)
            return
        while True:
            inner = await self.call(
                ORDER_API,
                {
                    # One second wider at the start: bounds inclusive or not, the rows at
                    # a window's edge are kept once (``start <= t < end``).
                    "start_date": jd_time(window.start - SECOND),
                    "end_date": jd_time(window.end),
                    "order_state": ",".join(ORDER_STATES),
                    "page": str(window.page),
                    "page_size": str(self.page_size),
                },
            )
            result = checked_result(ORDER_API, inner, "searchorderinfo_result", "apiResult")
            rows = _rows(result, "orderInfoList")
            total = int(result.get("orderTotal") or 0)
            times = [_row_time(row) for row in rows]
            kept = [
                row
                for row, at in zip(rows, times, strict=True)
                if at is None
                or (window.start <= at < window.end and str(row.get("orderId")) not in window.skip)
            ]
            full = len(rows) >= self.page_size and window.page * self.page_size < total
            if full:
                window = self._next(window, rows, times)
                next_cursor = window.to_cursor()
            elif window.end >= window.until:
                next_cursor = json.dumps({"since": iso_z(window.until - self.overlap)})
            else:
                window = Window(
                    start=window.end,
                    end=min(window.end + self.window, window.until),
                    until=window.until,
                )
                next_cursor = window.to_cursor()
            page: Page[OrderRecord] = Page(records=[], cursor=next_cursor)
            for row in kept:
                try:
                    page.records.append(parse_order(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page
            if not full and "until" not in json.loads(next_cursor):
                return

    @staticmethod
    def _next(window: Window, rows: list[dict[str, Any]], times: list[datetime | None]) -> Window:
        """After a full page: seek above the newest row seen, or page on within a second."""
        known = [at for at in times if at is not None]
        newest = max(known) if known else window.start
        at_newest = [
            str(row.get("orderId")) for row, at in zip(rows, times, strict=True) if at == newest
        ]
        if newest > window.start:
            return replace(window, start=newest, page=1, skip=at_newest)
        return replace(window, page=window.page + 1, skip=sorted({*window.skip, *at_newest}))

    async def order(self, platform_order_id: str) -> OrderRecord:
        inner = await self.call(ORDER_DETAIL_API, {"order_id": platform_order_id})
        # The detail's container is named in secondary notes only [unconfirmed]: a
        # refusal inside it is read, and an order at the top level is accepted too.
        if isinstance(inner.get("orderDetailInfo"), dict):
            result = checked_result(ORDER_DETAIL_API, inner, "orderDetailInfo", "apiResult")
        else:
            result = inner
        row = result.get("orderInfo") if isinstance(result.get("orderInfo"), dict) else result
        if not isinstance(row, dict) or "orderId" not in row:
            raise PlatformError(f"JD {ORDER_DETAIL_API}: no order {platform_order_id}", status=404)
        return parse_order(row)

    # --- after-sales ------------------------------------------------------------------------

    async def after_sales(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[AfterSaleRecord]]:
        """Cancellation refunds applied for or checked since ``since``, window by window."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        window, done = self._start(cursor, since)
        if window is None:
            yield Page(records=[], cursor=done)
            return
        by = str(state.get("by", "apply"))
        while True:
            prefix = "applyTime" if by == "apply" else "checkTime"
            asked = window
            inner = await self.call(
                REFUND_LIST_API,
                {
                    f"{prefix}Start": jd_time(window.start - SECOND),
                    f"{prefix}End": jd_time(window.end),
                    "pageIndex": window.page,
                    "pageSize": REFUND_PAGE_SIZE,
                },
            )
            result = checked_result(REFUND_LIST_API, inner, "queryResult", "")
            rows = _rows(result, "result")
            total = int(result.get("totalCount") or 0)
            if window.page * REFUND_PAGE_SIZE < total:
                if window.page >= REFUND_MAX_PAGE:
                    raise PlatformError(
                        f"JD {REFUND_LIST_API}: more than {REFUND_MAX_PAGE} pages in one window;"
                        " make the window smaller"
                    )
                window = replace(window, page=window.page + 1)
                next_cursor = window.to_cursor(by=by)
            elif by == "apply":
                by = "check"
                window = replace(window, page=1)
                next_cursor = window.to_cursor(by=by)
            elif window.end >= window.until:
                next_cursor = json.dumps({"since": iso_z(window.until - self.overlap)})
            else:
                by = "apply"
                window = Window(
                    start=window.end,
                    end=min(window.end + self.window, window.until),
                    until=window.until,
                )
                next_cursor = window.to_cursor(by=by)
            page: Page[AfterSaleRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                at = _row_time(row, prefix)
                if at is not None and not asked.start <= at < asked.end:
                    continue  # asked a second wider: the neighbouring window keeps it
                try:
                    page.records.append(parse_refund_apply(row, self.refund_sum_unit))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page
            if "until" not in json.loads(next_cursor):
                return

    async def reviews(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[ReviewRecord]]:
        """Buyer comments created since ``since``; each sync re-reads ``review_rescan`` back
        so replies and revisions made later are picked up (the list filters on creation
        time only). The list answers no total [unconfirmed], so a full page means more."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        if "until" in state:
            window = Window.from_state(state)
        else:
            until = _second(self.now())
            start = _second(parse_utc(state["since"])) if "since" in state else None  # type: ignore[arg-type]
            start = start or (_second(since) if since is not None else until - COMMENT_REACH)
            start = max(start, until - COMMENT_REACH)
            if start >= until:
                yield Page(records=[], cursor=json.dumps({"since": iso_z(start)}))
                return
            window = Window(start=start, end=min(start + self.window, until), until=until)
        while True:
            asked = window
            inner = await self.call(
                COMMENT_LIST_API,
                {
                    "beginTime": jd_time(window.start - SECOND),
                    "endTime": jd_time(window.end),
                    "page": window.page,
                    "pageSize": self.comment_page_size,
                },
            )
            rows = _rows(inner, "comments")
            if len(rows) >= self.comment_page_size:
                window = replace(window, page=window.page + 1)
                next_cursor = window.to_cursor()
            elif window.end >= window.until:
                next_cursor = json.dumps({"since": iso_z(window.until - self.review_rescan)})
            else:
                window = Window(
                    start=window.end,
                    end=min(window.end + self.window, window.until),
                    until=window.until,
                )
                next_cursor = window.to_cursor()
            page: Page[ReviewRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                at = _row_time(row, "creationTime")
                if at is not None and not asked.start <= at < asked.end:
                    continue
                try:
                    page.records.append(parse_comment(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page
            if "until" not in json.loads(next_cursor):
                return

    # --- review replies ---------------------------------------------------------------------

    async def reply_review(self, reply: ReviewReply, *, idempotency_key: str) -> ReviewReplyResult:
        """Post the shop's reply under one comment, at most once however often retried.

        ``saveReply``'s answer (``resultCode``, ``resultMsg``) has no documented success
        value, so the comment itself is the record: read before (our text there:
        ``already_done``; another reply: ``WriteRefused``) and after the write.
        """
        comment_id, text = reply.platform_review_id.strip(), reply.text.strip()
        if not comment_id or not text:
            raise WriteRefused("a JD reply needs the comment id and a text")
        if len(text) > REPLY_MAX:
            raise WriteRefused(
                f"JD comment {comment_id}: a reply is at most {REPLY_MAX} characters"
            )
        if not reply.platform_order_id:
            # The list cannot be filtered by comment id, only by order: without it we
            # cannot look before writing, and a blind write could be made twice.
            raise WriteRefused(f"JD comment {comment_id}: the order is needed to read it back")
        shown = await self._comment_reply(comment_id, reply.platform_order_id)
        if shown:
            if shown == text:
                return ReviewReplyResult(platform_reply=shown, already_done=True)
            raise WriteRefused(
                f"JD comment {comment_id} already has another reply (write {idempotency_key})",
                code="already_replied",
            )
        failure: PlatformError | None = None
        try:
            answer = await self.call(COMMENT_REPLY_API, {"commentId": comment_id, "content": text})
        except PlatformError as exc:
            failure, answer = exc, {}
        try:
            after = await self._comment_reply(comment_id, reply.platform_order_id)
        except ConnectorError as reread:
            if failure is None:
                raise
            failure.add_note(f"re-reading comment {comment_id} failed too: {reread}")
            raise failure from None
        if after == text:
            return ReviewReplyResult(platform_reply=after, already_done=failure is not None)
        if failure is not None and (
            isinstance(failure, TransientPlatformError) or not failure.code
        ):
            raise failure  # the wire broke: the caller retries with the same key
        why = answer.get("resultMsg") if failure is None else str(failure)
        raise WriteRefused(
            f"JD {COMMENT_REPLY_API}: comment {comment_id} shows no reply after the write "
            f"({why or answer.get('resultCode') or 'no reason given'}; write {idempotency_key})",
            code=str(answer.get("resultCode") or (failure.code if failure else "") or "no_reply"),
        )

    async def _comment_reply(self, comment_id: str, order_id: str) -> str:
        """The shop's reply under the comment as JD shows it now ("" when none)."""
        inner = await self.call(
            COMMENT_LIST_API, {"orderIds": order_id, "page": 1, "pageSize": self.comment_page_size}
        )
        for row in _rows(inner, "comments"):
            if str(row.get("commentId")) == comment_id:
                replies = [r for r in _rows(row, "replies") if not r.get("parentReply")]
                return str(replies[0].get("content") or "").strip() if replies else ""
        raise WriteRefused(f"JD comment {comment_id} was not found on order {order_id}")

    async def check(self) -> None:
        """A cheap call that needs the token, for "test connection"."""
        await self.call(REFUND_LIST_API, {"pageIndex": 1, "pageSize": 1})

    # --- refund write-back ------------------------------------------------------------------

    async def _refund_state(self, refund_id: str) -> dict[str, Any]:
        inner = await self.call(REFUND_GET_API, {"id": refund_id})
        result = checked_result(REFUND_GET_API, inner, "queryResult", "")
        rows = _rows(result, "result")
        if not rows:
            raise WriteRefused(f"JD refund {refund_id} was not found", code="not_found")
        return rows[0]

    async def decide_refund(self, write: RefundWrite, *, idempotency_key: str) -> RefundWriteResult:
        """Approve or refuse a cancellation refund at most once, however often retried."""
        refund_id = (write.platform_refund_id or "").strip()
        if not refund_id:
            raise WriteRefused("JD refunds are decided on the buyer's request: no refund id")
        if write.currency != "CNY":
            raise WriteRefused(f"JD refunds are in CNY, not {write.currency}")
        if write.decision is RefundDecision.REJECT and not write.reason.strip():
            raise WriteRefused(f"JD refund {refund_id}: a refusal needs a reason (remark)")
        before = await self._refund_state(refund_id)
        if (done := self._decided(write, refund_id, before)) is not None:
            return done
        if write.decision is RefundDecision.APPROVE:
            asked = parse_refund_apply(before, self.refund_sum_unit).requested_amount
            if write.amount != asked:
                # replyRefund takes no amount: approving refunds what the buyer asked.
                raise WriteRefused(
                    f"JD refund {refund_id}: a cancellation is refunded in full ({asked}), "
                    f"not {write.amount}; refund a part in JD's back office",
                    code="partial_refund",
                )
        if str(before.get("status")) != "0" and str(before.get("status")) != "8":
            raise WriteRefused(
                f"JD refund {refund_id} is in status {before.get('status')}; it takes no decision"
            )
        params: dict[str, Any] = {
            "id": refund_id,
            "status": REPLY_STATUS[write.decision],
            "checkUserName": "aftersales",
            "remark": write.reason.strip() or "同意退款",
        }
        if write.decision is RefundDecision.REJECT:
            params["rejectType"] = REJECT_OTHER
        try:
            inner = await self.call(REFUND_REPLY_API, params)
            result = inner.get("replyResult")
            if not isinstance(result, dict) or not _truthy(result.get("success")):
                why = result.get("msg") if isinstance(result, dict) else None
                raise PlatformError(
                    f"JD {REFUND_REPLY_API}: refund {refund_id} not decided: {why or 'refused'}",
                    code=str(result.get("code") or "replyResult")
                    if isinstance(result, dict)
                    else "replyResult",
                )
        except PlatformError as failure:
            try:
                after = await self._refund_state(refund_id)
            except ConnectorError as reread:
                failure.add_note(f"re-reading refund {refund_id} failed too: {reread}")
                raise failure from None
            if (done := self._decided(write, refund_id, after)) is not None:
                return done
            if isinstance(failure, TransientPlatformError) or not failure.code:
                raise failure
            raise WriteRefused(
                f"{failure} (write {idempotency_key})", code=failure.code, status=failure.status
            ) from failure
        status = REPLY_STATUS[write.decision]
        return RefundWriteResult(
            platform_refund_id=refund_id, status=REFUND_STATUS[status], platform_status=status
        )

    @staticmethod
    def _decided(
        write: RefundWrite, refund_id: str, state: Mapping[str, Any]
    ) -> RefundWriteResult | None:
        status = str(state.get("status"))
        if status in DECIDED[write.decision]:
            return RefundWriteResult(
                platform_refund_id=refund_id,
                status=REFUND_STATUS[status],
                platform_status=status,
                already_done=True,
            )
        other = (
            RefundDecision.REJECT
            if write.decision is RefundDecision.APPROVE
            else (RefundDecision.APPROVE)
        )
        if status in DECIDED[other]:
            raise WriteRefused(f"JD refund {refund_id} was already decided otherwise ({status})")
        return None


def _row_time(row: Mapping[str, Any], name: str = "modified") -> datetime | None:
    try:
        return parse_jd_time(row.get(name))
    except (TypeError, ValueError):
        return None  # parse_order reports the row as BadPayload


def connect(*, base_url: str | None, credentials: dict[str, str], **options: Any) -> JDConnector:
    """Entry point ``aftersales.connectors: jd``; ``base_url`` defaults to JOS's gateway."""
    missing = [k for k in ("app_key", "app_secret", "access_token") if not credentials.get(k)]
    if missing:
        raise ValueError(f"a JD store needs {', '.join(missing)} in its credentials")
    for name in ("sign_method", "timestamp_format", "refund_sum_unit", "oauth_url"):
        if credentials.get(name):
            options.setdefault(name, credentials[name])
    if credentials.get("expires_at"):
        with contextlib.suppress(ValueError):  # a damaged note only costs the early refresh
            options.setdefault("expires_at", parse_utc(credentials["expires_at"]))
    return JDConnector(
        base_url=base_url,
        app_key=credentials["app_key"],
        app_secret=credentials["app_secret"],
        access_token=credentials["access_token"],
        refresh_token=credentials.get("refresh_token", ""),
        **options,
    )


def normalize_base_url(text: str) -> str:
    """Scheme and host from what an owner pasted; ``/routerjson`` is the connector's own."""
    text = text.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    path = parts.path.rstrip("/").removesuffix(ROUTER).rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc}{path}"


manifest = ConnectorManifest(
    platform="jd",
    label=N_("JD"),
    factory=connect,
    credentials=(
        CredentialField("app_key", N_("App key"), secret=False),
        CredentialField("app_secret", N_("App secret")),
        CredentialField(
            "access_token",
            N_("Access token"),
            help=N_("The shop's authorisation from JD's open platform (access_token)."),
        ),
        CredentialField(
            "refresh_token",
            N_("Refresh token"),
            help=N_(
                "Lets the desk renew an expired access token once; JD renews only in the "
                "last 24 hours before it expires."
            ),
            required=False,
        ),
    ),
    capabilities=CAPABILITIES,
    history_days=90,
    base_url_label=N_("Gateway URL"),
    base_url_help=N_("Leave empty for JD's gateway (api.jd.com); a host alone works."),
    normalize_base_url=normalize_base_url,
    rate_limits=RateLimits(note=N_("JD publishes no call limit; refusals are backed off.")),
    status_labels=STATUS_LABELS,
)
