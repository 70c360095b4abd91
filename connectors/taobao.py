"""Taobao / Tmall Open Platform (TOP): one signed gateway, ``POST /router/rest``.

Every call carries the system parameters (``method``, ``app_key``,
``session``, ``timestamp`` as ``yyyy-MM-dd HH:mm:ss`` in GMT+8, ``v=2.0``,
``sign_method``, ``format=json``, ``simplify=false``) beside its business
parameters, all signed together (``sign``). All of them go in the form body,
none in the URL, so the session key never lands in a proxy's access log.

Answers are ``{"<method without 'taobao.', dots->_>_response": {...}}`` or
``{"error_response": {"code", "msg", "sub_code", "sub_msg"}}`` with HTTP 200,
so errors are read from the body, not the status:

- call limits -> ``RateLimited``; the connector waits ``retry_after`` (read
  from "ban will last for N more seconds" / "released in N seconds", else
  ``DEFAULT_RATE_WAIT``) and retries itself, unless the ban is longer than
  ``max_rate_wait`` (a daily quota), which goes to the caller;
- bad session, signature or app key -> ``AuthFailed`` (a person must act);
- ``isp.*`` sub-codes (the platform's own back end failed) -> retried with
  backoff like a 5xx, then ``PlatformError``;
- anything else -> ``PlatformError`` with the TOP code.

Which codes are confirmed: the official pages we hold (PLATFORMS.md section 3)
confirm only the two envelopes; they say nothing about codes. What follows is
therefore *corroborated* by several independent public clients and SDK copies
(found by code search), or *guessed* from memory of TOP's error table:

- corroborated: ``7`` "App Call Limited" with ``accesscontrol.limited-by-
  {app,api,app-api}-access-count`` and "This ban will last for N more
  seconds"; ``25`` "Invalid signature"; ``27`` "Invalid session" with
  ``invalid-sessionkey`` ("SessionKey非法"); ``26``/``27``/``53`` as invalid
  session (the TOP SDK's own ``ErrorUtil``); ``29`` "Invalid app Key";
  ``session-expired``; ``isp.remote-service-timeout``,
  ``isp.remote-connection-error``, ``isp.unknown-error``, ``isp.top-remote-*``;
  ``isv.access-limited-by-*`` (a TOP gateway's constants).
- guessed: ``28`` Missing App Key; ``11``/``12`` insufficient ISV/user
  permissions (treated as ``AuthFailed``: only re-authorising helps);
  ``isv.invalid-signature``, ``isv.access-limited``, ``isv.appkey-not-exists``
  as sub-codes; the "released in N seconds" wording; ``31`` invalid
  timestamp, ``40``/``41`` missing/invalid arguments (plain ``PlatformError``).

Streams and cursors. ``trades.sold.increment.get`` and
``refunds.receive.get`` list by modification time in windows of at most one
day (the platform's hard limit; 30 minutes is only its recommendation, and a
90-day backfill in 30-minute windows costs 4,320 calls even when empty, so we
take one day and let routine syncs, a few minutes apart, make small windows by
themselves). The sync's end (``until``) is fixed when it starts, so nothing
can *enter* a window while we page it; a trade modified meanwhile *leaves* it
(its new time is after ``until``) and the next sync, which starts ``overlap``
before ``until``, picks it up (``overlap`` also covers the platform's indexing
delay and a clock of ours running ahead of Taobao's by less than it).
Leaving shifts every later row up a place, and with ``page_no`` paging over a
list sorted by ``modified`` descending the row
at the top of the next page would slide onto a page already read and be lost
for good. So we page by seeking instead: after each page the window's upper
bound moves down to the oldest time seen (plus a second) and we ask for page 1
again, remembering the ids already taken at that second; rows that leave then
no longer matter. Only when a whole page shares one second (a batch update)
do we fall back to ``page_no`` for that second. If a page ever comes back not
sorted descending, that window falls back to ``page_no`` paging altogether.
Each window asks one second wider than it keeps (``[start, end)``), so rows
at a boundary are kept once whether the platform's bounds are inclusive or not.

``traderates.get`` filters on the rating's creation time only, so each sync
re-reads ``review_rescan`` (30 days, the buyer's revision window in DOMAIN.md)
to catch revised ratings and replies; ratings do not move, so plain
``page_no`` paging (at most 200 pages) is safe there.

Cursor (JSON): ``{"since": t}`` between syncs; inside one, the window
``{"start", "end", "until", "bound", "page", "skip", "seek"}`` so a killed
sync resumes at the next page of the same window.

Refund write-back (``decide_refund``). Sources: the TOP SDK model files as
copied in bububa/opentaobao ``model/refund/`` (request/response structs with
the platform's own field comments); nothing here is in PLATFORMS.md and
nothing was tried against the real gateway.

- ``taobao.rp.refunds.agree`` (confirmed by the SDK model): ``refund_infos`` is
  ``refund_id|amount|version|phase``, several joined by commas; amount in fen
  (分), version "the refund's last update time (timestamp)", phase ``onsale`` /
  ``aftersale``, required for Tmall, not sent for Taobao. Optional ``code``: an
  SMS code the seller's phone receives when the amount is large (we never send
  it; such a refusal needs a person). Only sub-accounts (子账号) may call it; one
  call refunds at most 20 refunds / 6000 yuan on Taobao, 30 / 10000 yuan on
  Tmall (so one refund above that is refused before calling). Answer
  ``rp_refunds_agree_response``: ``msg_code`` (``OP_SUCC``, ``SOME_OP_SUCC``,
  ``OP_FAILURE_UE``), ``succ``, ``message``, ``results.refund_mapping_result``
  ``[{refund_id, succ, message}]``. We send one refund per call and read our
  row's ``succ``; ``msg_code`` only when the row is missing.
- ``taobao.refund.refuse`` (confirmed by the SDK model): ``refund_id``,
  ``refuse_message`` (2-200 characters), ``refund_phase`` and
  ``refund_version`` (required for Tmall; we send the version for Taobao too),
  ``refuse_reason_id`` (optional, not sent), ``refuse_proof`` (an image,
  "required for Tmall": we cannot send one, so a Tmall refusal may be refused
  by the platform and then surfaces as ``WriteRefused``). The SDK adds that it
  does not apply to unshipped orders, 7-day no-reason returns and game items.
  Answer ``refund_refuse_response``: ``is_success`` and ``refund{refund_id,
  status, modified}``.
- ``taobao.refund.get`` fields (confirmed by the SDK's field list) include
  ``refund_phase``, ``refund_version`` (a timestamp, presumably ms) and
  ``operation_contraint`` (sic: ``cannot_refuse`` or ``refund_onweb``, "must be
  done on the web"). Status words (SDK ``Refund`` comment):
  WAIT_BUYER_RETURN_GOODS is "the seller has agreed, waiting for the buyer to
  return the goods"; WAIT_SELLER_CONFIRM_GOODS is "the buyer returned the
  goods, waiting for the seller to confirm": the money is still owed there.
- Guessed, not confirmed: that ``refund_version`` is what the version slot
  wants (we send it when ``refund.get`` gives it, else the desk's
  ``platform_version`` or ``modified``, as epoch ms); that the amount must equal
  ``refund_fee``; what agree does to a return request still in
  WAIT_SELLER_AGREE (we expect WAIT_BUYER_RETURN_GOODS); every business error
  code of both APIs (none are published in what we hold). So no decision hangs
  on a code: a failed write is followed by reading the refund again.

Review explanations (``reply_review``, 评价解释). Source: the TOP SDK model as
copied in bububa/opentaobao ``model/traderate/TaobaoTraderateExplainAdd*``;
not in PLATFORMS.md, never tried against the real gateway.

- ``taobao.traderate.explain.add`` (confirmed by the SDK model): ``oid`` (the
  sub-order, our ``platform_review_id``) and ``reply`` ("评价解释内容，最大长度：
  500个汉字"); answer ``traderate_explain_add_response`` with ``is_success``.
  The SDK's own description: "商城卖家给评价做出解释（买家追加评论后、评价超过30天
  的，都不能再做评价解释）": once the buyer added a 追评, or 30 days after the
  rating, no explanation is taken.
- ``taobao.traderates.get`` takes ``tid`` "可以是父订单id号，也可以是子订单id号"
  (SDK model), so one rating and its ``reply`` can be read by its ``oid``.
- Unconfirmed: that "商城" (Tmall) is a limit and not a word (we offer it to every
  Taobao store; a C-shop refused surfaces as ``WriteRefused``); every business
  error code (the expired window, a second explanation: none is published in
  what we hold); whether a second explanation replaces the first (we never send
  one: the desk refuses a second reply itself); whether ``reply`` counts 500
  characters or bytes (we count characters).

TOP takes no idempotency key here either, so ``reply_review`` looks before it
writes (the rating's ``reply`` already ours: ``already_done``; another text:
``WriteRefused``, one explanation per rating) and reads the rating again when the
write fails: our text there means the write (or the transport's own retry of it)
went through.

TOP honours no idempotency key and a refund cannot be marked with one without
the buyer seeing it, so ``decide_refund`` looks before and after it writes:
``refund.get`` first, and if the refund already shows the decision (approve:
SUCCESS or WAIT_BUYER_RETURN_GOODS; reject: SELLER_REFUSE_BUYER) it answers
``already_done`` without writing; CLOSED is ``WriteRefused``. The desk's
``platform_version`` is compared with ``modified`` (whole seconds both), so a
request the buyer changed after the desk decided is refused, not written
(the desk reads ``modified`` as text, to the second; ``refund_version`` may
carry milliseconds, which is why we send the platform's own number). When the
write fails, the refund is read again: the decision there means our write (or
the transport's own retry of it) went through, so ``already_done``; otherwise
a TOP business error is ``WriteRefused`` and a transport failure or ``isp.*``
error goes to the caller, who retries with the same key. Agree acts only on
a refund waiting for the seller and every write changes its version, so a
replayed agree is refused rather than paid twice (so the fake behaves; TOP is
expected to, not known to).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
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
    ReviewResult,
    ShipmentRecord,
    WriteRefused,
    parse_money,
)
from connectors.http import PlatformClient
from connectors.timeutil import CHINA, iso_z, parse_utc

DEFAULT_BASE_URL = "https://gw.api.taobao.com"
ROUTER = "/router/rest"
SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
MAX_SPAN = timedelta(days=1)  # end_modified - start_modified, trades.sold.increment.get
DEFAULT_RATE_WAIT = 1.0  # seconds, when a call-limit answer does not say how long
SECOND = timedelta(seconds=1)

TRADE_STATUS = {
    "WAIT_BUYER_PAY": OrderStatus.AWAITING_PAYMENT,
    "PAY_PENDING": OrderStatus.AWAITING_PAYMENT,
    "WAIT_PRE_AUTH_CONFIRM": OrderStatus.AWAITING_PAYMENT,
    "WAIT_SELLER_SEND_GOODS": OrderStatus.AWAITING_SHIPMENT,
    "SELLER_CONSIGNED_PART": OrderStatus.AWAITING_SHIPMENT,
    "PAID_FORBID_CONSIGN": OrderStatus.AWAITING_SHIPMENT,  # guessed: paid, shipping blocked
    "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.SHIPPED,
    "TRADE_BUYER_SIGNED": OrderStatus.SHIPPED,
    "TRADE_FINISHED": OrderStatus.COMPLETED,
    "TRADE_CLOSED": OrderStatus.CLOSED,
    "TRADE_CLOSED_BY_TAOBAO": OrderStatus.CLOSED,
    "TRADE_NO_CREATE_PAY": OrderStatus.CLOSED,
}
# Refund states in which a platform timer runs (so refund_remind_timeout matters).
# TOP's refund words (PLATFORMS.md) in the desk's terms; an exchange turned into
# a refund is a new request for money.
REFUND_STATUS = {
    "WAIT_SELLER_AGREE": AfterSaleStatus.REQUESTED,
    "EXCHANGE_TRANSFORM_TO_REFUND": AfterSaleStatus.REQUESTED,
    "WAIT_BUYER_RETURN_GOODS": AfterSaleStatus.WAITING_RETURN,
    "WAIT_SELLER_CONFIRM_GOODS": AfterSaleStatus.WAITING_RETURN,
    "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS": AfterSaleStatus.WAITING_RETURN,
    "WAIT_SELLER_CONSIGN_GOODS": AfterSaleStatus.WAITING_RETURN,
    "SELLER_REFUSE_BUYER": AfterSaleStatus.REJECTED,
    "CLOSED": AfterSaleStatus.CANCELLED,
    "SUCCESS": AfterSaleStatus.REFUNDED,
}
# TOP's trade and refund status words as the seller centre shows them (English
# msgids; the desk's catalog holds the Chinese), for ``ConnectorManifest.status_labels``.
STATUS_LABELS = {
    "WAIT_BUYER_PAY": "Waiting for the buyer to pay",
    "PAY_PENDING": "Payment being confirmed",
    "WAIT_PRE_AUTH_CONFIRM": "Waiting for pre-authorisation",
    "WAIT_SELLER_SEND_GOODS": "Paid, waiting for the seller to ship",
    "SELLER_CONSIGNED_PART": "Partly shipped",
    "PAID_FORBID_CONSIGN": "Paid, shipping blocked",
    "WAIT_BUYER_CONFIRM_GOODS": "Shipped, waiting for the buyer to confirm receipt",
    "TRADE_BUYER_SIGNED": "Signed for by the buyer",
    "TRADE_FINISHED": "Trade completed",
    "TRADE_CLOSED": "Trade closed",
    "TRADE_CLOSED_BY_TAOBAO": "Trade closed before payment",
    "TRADE_NO_CREATE_PAY": "No payment created",
    "WAIT_SELLER_AGREE": "Waiting for the seller to agree",
    "EXCHANGE_TRANSFORM_TO_REFUND": "Exchange turned into a refund",
    "WAIT_BUYER_RETURN_GOODS": "Waiting for the buyer to return the goods",
    "WAIT_SELLER_CONFIRM_GOODS": "Waiting for the seller to confirm the returned goods",
    "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS": (
        "Replacement shipped, waiting for the buyer to confirm"
    ),
    "WAIT_SELLER_CONSIGN_GOODS": "Waiting for the seller to ship the replacement",
    "SELLER_REFUSE_BUYER": "Seller refused the refund",
    "CLOSED": "Refund closed",
    "SUCCESS": "Refund succeeded",
}


def refund_status(word: str) -> AfterSaleStatus:
    return REFUND_STATUS.get(word, AfterSaleStatus.UNKNOWN)


OPEN_REFUND_STATUSES = frozenset(
    {
        "WAIT_SELLER_AGREE",
        "WAIT_BUYER_RETURN_GOODS",
        "WAIT_SELLER_CONFIRM_GOODS",
        "SELLER_REFUSE_BUYER",
        "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS",
        "WAIT_SELLER_CONSIGN_GOODS",
    }
)

ITEM_FIELDS = ("oid", "title", "sku_properties_name", "num", "price", "payment")
RECEIVER_FIELDS = (
    "receiver_name",
    "receiver_mobile",
    "receiver_state",
    "receiver_city",
    "receiver_district",
    "receiver_address",
)
TRADE_FIELDS = ",".join(
    [
        "tid",
        "status",
        "buyer_nick",
        "buyer_open_uid",
        "payment",
        "total_fee",
        "created",
        "pay_time",
        "consign_time",
        "modified",
        *(f"orders.{name}" for name in ITEM_FIELDS),
        "orders.logistics_company",
        "orders.invoice_no",
        *RECEIVER_FIELDS,
    ]
)
REFUND_FIELDS = (
    "refund_id,tid,oid,title,buyer_nick,status,created,modified,refund_fee,"
    "has_good_return,reason,desc,company_name,sid,good_status,dispute_type"
)
REFUND_DEADLINE_FIELDS = "refund_id,status,modified,refund_remind_timeout"
RATE_FIELDS = "tid,oid,role,nick,result,created,rated_nick,item_title,item_price,content,reply"
# What decide_refund reads before and after it writes (all in refund.get's SDK field list).
REFUND_STATE_FIELDS = (
    "refund_id,status,modified,refund_fee,has_good_return,refund_phase,refund_version,"
    "operation_contraint"
)
# Statuses that already carry the decision. WAIT_BUYER_RETURN_GOODS is the platform's own
# "seller has agreed" (the money follows the goods); WAIT_SELLER_CONFIRM_GOODS is not: the
# goods are back and the refund is still owed, which is exactly what agree is for there.
DECIDED_STATUSES = {
    RefundDecision.APPROVE: frozenset({"SUCCESS", "WAIT_BUYER_RETURN_GOODS"}),
    RefundDecision.REJECT: frozenset({"SELLER_REFUSE_BUYER"}),
}
REFUSE_MESSAGE_LENGTH = (2, 200)  # refund.refuse's refuse_message, in characters
AGREE_LIMIT = {False: Decimal("6000.00"), True: Decimal("10000.00")}  # per call: Taobao, Tmall
REFUND_PHASES = frozenset({"onsale", "aftersale"})
EXPLAIN_API = "taobao.traderate.explain.add"
EXPLAIN_MAX = 500  # explain.add's reply: "最大长度：500个汉字" (the SDK model), in characters
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# --- error codes (see the module docstring for what is confirmed) -------------------------

AUTH_CODES = frozenset({"11", "12", "25", "26", "27", "28", "29", "53"})
AUTH_SUB_CODES = frozenset(
    {
        "isv.invalid-signature",
        "invalid-signature",
        "invalid-sessionkey",
        "isv.invalid-sessionkey",
        "session-expired",
        "session-not-exist",
        "sessionkey-not-generated-by-server",
        "isv.appkey-not-exists",
        "isv.appkey not exists",
        "isv.appkey invalid status",
        "isv.invalid-app-key",
    }
)
RATE_LIMIT_CODES = frozenset({"7"})
_BAN_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:more\s+)?(?:seconds?|secs?\b|秒)", re.IGNORECASE)


class TransientPlatformError(PlatformError):
    """The platform's own back end failed (``isp.*``); worth a retry like a 5xx."""


# --- signing and time ----------------------------------------------------------------------


def sign(params: Mapping[str, Any], secret: str, method: str = "md5") -> str:
    """TOP's signature: parameters sorted by name, ``k1v1k2v2...``, uppercase hex.

    ``sign`` itself and empty values are left out, as the official SDKs do
    (an empty value is never sent either). md5 wraps the text in the secret;
    hmac is HMAC-MD5 keyed with the secret, no wrapping.
    """
    text = "".join(
        f"{name}{value}"
        for name, value in sorted((str(k), _text(v)) for k, v in params.items())
        if name and name != "sign" and value != ""
    )
    data = text.encode("utf-8")
    key = secret.encode("utf-8")
    if method == "md5":
        return hashlib.md5(key + data + key).hexdigest().upper()
    if method == "hmac":
        return hmac.new(key, data, hashlib.md5).hexdigest().upper()
    if method == "hmac-sha256":
        # Unconfirmed by the docs we hold (PLATFORMS.md marks it so): HMAC-SHA256 keyed
        # with the secret over the same text, as in copies of the SDK's TaobaoUtils.
        return hmac.new(key, data, hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unknown TOP sign_method {method!r}; use one of {SIGN_METHODS}")


def top_time(value: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in GMT+8, TOP's one way of writing a time."""
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def parse_top_time(value: Any) -> datetime | None:
    """A TOP time (GMT+8, no offset written) as aware UTC."""
    if value in (None, ""):
        return None
    return parse_utc(str(value), naive_zone=CHINA)


def response_key(api: str) -> str:
    """``taobao.trades.sold.increment.get`` -> ``trades_sold_increment_get_response``."""
    return api.removeprefix("taobao.").replace(".", "_") + "_response"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return top_time(value)
    return str(value)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _second(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def epoch_ms(value: datetime) -> int:
    """TOP's "timestamp" form of a time; a naive time is taken as UTC (the desk's zone)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (aware - EPOCH) // timedelta(milliseconds=1)


def to_fen(amount: Decimal) -> int:
    """Yuan to fen (分); an amount with a fraction of a fen cannot be sent at all."""
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen)


# --- errors --------------------------------------------------------------------------------


def ban_seconds(text: str) -> float | None:
    """Seconds from "This ban will last for 71 more seconds" and its cousins."""
    match = _BAN_SECONDS.search(text or "")
    return float(match.group(1)) if match else None


def top_error(api: str, error: Mapping[str, Any]) -> ConnectorError:
    """Translate one ``error_response`` into the typed errors of ``connectors.base``."""
    code = str(error.get("code", "") or "")
    sub_code = str(error.get("sub_code", "") or "")
    msg = str(error.get("msg", "") or "")
    sub_msg = str(error.get("sub_msg", "") or "")
    text = f"Taobao {api}: {code} {msg}".rstrip()
    if sub_code or sub_msg:
        text += f" [{sub_code}] {sub_msg}".rstrip()
    if (
        code in RATE_LIMIT_CODES
        or sub_code.startswith("accesscontrol.")
        or "access-limited" in sub_code
        or "call limited" in msg.lower()
    ):
        wait = ban_seconds(sub_msg) or ban_seconds(msg)
        return RateLimited(text, retry_after=DEFAULT_RATE_WAIT if wait is None else wait)
    if code in AUTH_CODES or sub_code in AUTH_SUB_CODES:
        return AuthFailed(text)
    if sub_code.startswith("isp."):
        return TransientPlatformError(text, code=code)
    return PlatformError(text, code=code)


def unwrap(api: str, body: Any, status: int | None = None) -> dict[str, Any]:
    """The inside of the success envelope, or the typed error the envelope holds."""
    if isinstance(body, dict):
        error = body.get("error_response")
        if isinstance(error, dict):
            raise top_error(api, error)
        inner = body.get(response_key(api))
        if isinstance(inner, dict):
            return inner
    raise PlatformError(f"Taobao {api}: unexpected answer: {str(body)[:200]}", status=status)


def _listed(container: Any, outer: str, inner: str) -> list[dict[str, Any]]:
    """``{"trades": {"trade": [...]}}`` (simplify=false); absent when the list is empty."""
    wrapper = container.get(outer) if isinstance(container, dict) else None
    rows = wrapper.get(inner) if isinstance(wrapper, dict) else wrapper
    if rows is None:
        return []
    if isinstance(rows, dict):  # a one-element list some serializers flatten
        rows = [rows]
    if not isinstance(rows, list):
        raise PlatformError(f"Taobao: {outer}.{inner} is not a list")
    return [row for row in rows if isinstance(row, dict)]


# --- mapping -------------------------------------------------------------------------------


def _required_time(value: Any) -> datetime:
    parsed = parse_top_time(value)
    if parsed is None:
        raise ValueError("missing time")
    return parsed


def parse_trade(payload: Mapping[str, Any]) -> OrderRecord:
    """One trade (increment.get or fullinfo.get); a malformed one raises ``BadPayload``."""
    record_id = str(payload.get("tid", "?"))
    try:
        word = payload["status"]
        if word not in TRADE_STATUS:
            # A status we have never seen must be looked at, not guessed into a queue.
            raise BadPayload(f"trade {record_id}: unknown status {word!r}", record_id=record_id)
        address = "".join(
            str(payload[name])
            for name in (
                "receiver_state",
                "receiver_city",
                "receiver_district",
                "receiver_address",
            )
            if payload.get(name)
        )
        nick = payload.get("buyer_nick") or ""
        buyer_id = str(payload.get("buyer_open_uid") or nick)
        if not buyer_id:
            raise ValueError("no buyer_open_uid or buyer_nick")
        paid_at = parse_top_time(payload.get("pay_time"))
        payment = parse_money(payload.get("payment"), record_id)
        items = [
            OrderItemRecord(
                platform_item_id=str(line["oid"]),
                title=line["title"],
                sku=line.get("sku_properties_name") or None,
                quantity=int(line["num"]),
                unit_price=parse_money(line.get("price"), record_id),
                amount=parse_money(line.get("payment"), record_id),
            )
            for line in _listed(payload, "orders", "order")
        ]
        return OrderRecord(
            platform_order_id=record_id,
            status=TRADE_STATUS[word],
            platform_status=word,
            buyer=BuyerRecord(
                platform_buyer_id=buyer_id,
                nick=nick or buyer_id,
                name=payload.get("receiver_name") or None,
                phone=payload.get("receiver_mobile") or None,
                address=address or None,
            ),
            currency="CNY",
            # payment is what the buyer pays for the trade (after discounts, with
            # postage); total_fee is the goods at list price, not a sum of money moved.
            total_amount=payment,
            paid_amount=payment if paid_at else Decimal("0.00"),
            created_at=_required_time(payload["created"]),
            paid_at=paid_at,
            shipped_at=parse_top_time(payload.get("consign_time")),
            updated_at=_required_time(payload["modified"]),
            items=items,
            shipments=_shipments(payload),
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"trade {record_id}: {exc!r}", record_id=record_id) from None


# Exchanges arrive through the same refund API. ``dispute_type`` names them
# (TMALL_EXCHANGE / TAOBAO_EXCHANGE; these values are not confirmed in
# PLATFORMS.md), and the exchange-only statuses there are a second signal for
# sellers whose answer lacks the field. An exchange the buyer turned into a
# refund (EXCHANGE_TRANSFORM_TO_REFUND) is a return and refund from then on.
EXCHANGE_DISPUTES = frozenset({"TMALL_EXCHANGE", "TAOBAO_EXCHANGE"})
EXCHANGE_STATUSES = frozenset({"WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS"})


def refund_kind(payload: Mapping[str, Any]) -> AfterSaleKind:
    if payload.get("status") == "EXCHANGE_TRANSFORM_TO_REFUND":
        return AfterSaleKind.RETURN_AND_REFUND
    if payload.get("dispute_type") in EXCHANGE_DISPUTES or payload.get("status") in (
        EXCHANGE_STATUSES
    ):
        return AfterSaleKind.EXCHANGE
    if _truthy(payload["has_good_return"]):
        return AfterSaleKind.RETURN_AND_REFUND
    return AfterSaleKind.REFUND_ONLY


def _shipments(payload: Mapping[str, Any]) -> list[ShipmentRecord]:
    """Each sub-order names its parcel; one parcel often carries several sub-orders."""
    parcels: dict[str, ShipmentRecord] = {}
    shipped_at = parse_top_time(payload.get("consign_time"))
    for line in _listed(payload, "orders", "order"):
        number = str(line.get("invoice_no") or "").strip()
        if number and number not in parcels:
            parcels[number] = ShipmentRecord(
                carrier=line.get("logistics_company") or "",
                tracking_no=number,
                shipped_at=shipped_at,
            )
    return list(parcels.values())


def parse_refund(payload: Mapping[str, Any]) -> AfterSaleRecord:
    """One refund from ``refunds.receive.get`` (deadline merged in from ``refund.get``)."""
    record_id = str(payload.get("refund_id", "?"))
    try:
        remind = payload.get("refund_remind_timeout")
        deadline = None
        if isinstance(remind, dict) and remind.get("exist_timeout") not in (False, "false"):
            deadline = parse_top_time(remind.get("timeout"))
        kind = refund_kind(payload)
        return AfterSaleRecord(
            platform_refund_id=record_id,
            platform_order_id=str(payload["tid"]),
            platform_item_id=str(payload["oid"]) if payload.get("oid") else None,
            kind=kind,
            status=refund_status(str(payload["status"])),
            platform_status=payload["status"],
            currency="CNY",
            requested_amount=parse_money(payload["refund_fee"], record_id),
            reason=payload.get("reason") or None,
            buyer_text=payload.get("desc") or None,
            created_at=_required_time(payload["created"]),
            updated_at=_required_time(payload["modified"]),
            platform_deadline=deadline,
            return_carrier=payload.get("company_name") or None,
            return_tracking_no=str(payload["sid"]) if payload.get("sid") else None,
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"refund {record_id}: {exc!r}", record_id=record_id) from None


def parse_rate(payload: Mapping[str, Any]) -> ReviewRecord:
    """One buyer rating from ``traderates.get``; TOP gives it no id, the sub-order is one."""
    record_id = str(payload.get("oid") or payload.get("tid") or "?")
    try:
        return ReviewRecord(
            platform_review_id=record_id,
            platform_order_id=str(payload["tid"]) if payload.get("tid") else None,
            platform_item_id=str(payload["oid"]) if payload.get("oid") else None,
            product_title=payload.get("item_title") or None,
            reviewer_nick=payload.get("nick") or "",
            result=ReviewResult(payload["result"]),
            text=(payload.get("content") or "").strip(),
            reply=payload.get("reply") or None,
            created_at=_required_time(payload["created"]),
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"rating {record_id}: {exc!r}", record_id=record_id) from None


# --- listing in time windows ---------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """How one TOP list API is windowed and paged."""

    api: str
    outer: str
    inner: str
    start_param: str
    end_param: str
    time_field: str
    id_field: str
    max_page_size: int
    seek: bool  # the list is sorted by time_field descending (documented for trades)
    reach: timedelta | None = None  # how far back the platform answers
    max_page: int | None = None


TRADES = Listing(
    api="taobao.trades.sold.increment.get",
    outer="trades",
    inner="trade",
    start_param="start_modified",
    end_param="end_modified",
    time_field="modified",
    id_field="tid",
    max_page_size=100,  # seen on sibling APIs, not on the increment page itself
    seek=True,
    reach=timedelta(days=89),  # "the last 3 months"; 89 days fits every 3 months
)
REFUNDS = Listing(
    api="taobao.refunds.receive.get",
    outer="refunds",
    inner="refund",
    start_param="start_modified",
    end_param="end_modified",
    time_field="modified",
    id_field="refund_id",
    max_page_size=100,
    # Order undocumented; we assume trades' (modified descending) and every page is
    # checked, a window falling back to page_no paging if the assumption breaks.
    seek=True,
)
RATES = Listing(
    api="taobao.traderates.get",
    outer="trade_rates",
    inner="trade_rate",
    start_param="start_date",
    end_param="end_date",
    time_field="created",
    id_field="oid",
    max_page_size=150,
    seek=False,
    reach=timedelta(days=179),  # "the last 180 days"
    max_page=200,
)


@dataclass
class Window:
    """Where a sync stands: rows kept are ``start <= t < bound``, ``bound <= end``."""

    start: datetime
    end: datetime
    until: datetime
    bound: datetime
    page: int = 1
    skip: list[str] = field(default_factory=list)
    seek: bool = True

    @classmethod
    def first(cls, start: datetime, until: datetime, span: timedelta, seek: bool) -> Window:
        # One second less than the span: we ask from start - 1s (see the module docstring).
        end = min(start + span - SECOND, until)
        return cls(start=start, end=end, until=until, bound=end, seek=seek)

    def to_cursor(self) -> str:
        state = asdict(self)
        for name in ("start", "end", "until", "bound"):
            state[name] = iso_z(state[name])
        return json.dumps(state, separators=(",", ":"))

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Window:
        times = {name: parse_utc(state[name]) for name in ("start", "end", "until", "bound")}
        return cls(
            **times,  # type: ignore[arg-type]
            page=int(state.get("page", 1)),
            skip=[str(i) for i in state.get("skip", [])],
            seek=bool(state.get("seek", True)),
        )


# What the desk may ask of this platform (read without connecting: ``capabilities_of``).
CAPABILITIES = Capabilities(
    orders=True, after_sales=True, reviews=True, decide_refund=True, reply_review=True
)


class TaobaoConnector:
    platform = "taobao"
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        session: str,
        base_url: str | None = None,
        sign_method: str = "md5",
        page_size: int = 100,
        overlap: timedelta = timedelta(minutes=10),
        window: timedelta = MAX_SPAN,
        review_window: timedelta = timedelta(days=7),
        review_rescan: timedelta = timedelta(days=30),
        fetch_details: bool = False,
        refund_deadlines: bool = True,
        detail_concurrency: int = 4,
        max_rate_wait: float = 60.0,
        tmall: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **client_options: Any,
    ) -> None:
        """``fetch_details`` calls ``trade.fullinfo.get`` for trades listed without an
        address (increment.get's data is partial); off by default so bulk syncs stay at
        one call per page. ``refund_deadlines`` calls ``refund.get`` for open refunds to
        read the platform's own deadline, which wins over the desk's defaults. ``tmall``
        says the store is a Tmall one: its refund writes must name the refund's phase."""
        if sign_method not in SIGN_METHODS:
            raise ValueError(f"unknown TOP sign_method {sign_method!r}; use one of {SIGN_METHODS}")
        if not SECOND * 2 <= window <= MAX_SPAN:
            raise ValueError("window must be between 2 seconds and 1 day (TOP's limit)")
        if review_window < SECOND * 2:
            raise ValueError("review_window must be at least 2 seconds")
        self.client = PlatformClient((base_url or DEFAULT_BASE_URL).rstrip("/"), **client_options)
        self.app_key = app_key
        self.app_secret = app_secret
        self.session = session
        self.sign_method = sign_method
        self.page_size = page_size
        self.overlap = overlap
        self.window = window
        self.review_window = review_window
        self.review_rescan = review_rescan
        self.fetch_details = fetch_details
        self.refund_deadlines = refund_deadlines
        self.detail_concurrency = detail_concurrency
        self.max_rate_wait = max_rate_wait
        self.tmall = tmall
        self.now = now

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- one call ---------------------------------------------------------------------------

    def signed(self, api: str, params: Mapping[str, Any]) -> dict[str, str]:
        """System and business parameters with a fresh timestamp and their signature."""
        form = {
            "method": api,
            "app_key": self.app_key,
            "session": self.session,
            "timestamp": top_time(self.now()),
            "v": "2.0",
            "sign_method": self.sign_method,
            "format": "json",
            "simplify": "false",
        }
        # Empty values are neither sent nor signed, as the official SDKs do.
        form.update({k: _text(v) for k, v in params.items() if _text(v) != ""})
        form["sign"] = sign(form, self.app_secret, self.sign_method)
        return form

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.client.backoff_cap, self.client.backoff_base * 2**attempt)
        return self.client.rng.uniform(ceiling / 2, ceiling)

    async def call(self, api: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One TOP call: signed afresh on every attempt (the timestamp must stay within
        10 minutes), call limits waited out and ``isp.*`` failures retried."""
        last: ConnectorError | None = None
        for attempt in range(self.client.max_attempts):
            body, response = await self.client.json(
                "POST", ROUTER, data=self.signed(api, params or {})
            )
            try:
                return unwrap(api, body, response.status_code)
            except RateLimited as exc:
                if exc.retry_after > self.max_rate_wait:
                    raise  # a quota for hours: the caller reschedules, we do not sit here
                # Jitter so the workers of several stores do not all come back at once.
                wait = exc.retry_after + self.client.rng.uniform(0, self.client.backoff_base)
                last = exc
            except TransientPlatformError as exc:
                wait = self._backoff(attempt)
                last = exc
            self.client.retries += 1
            await self.client.sleep(wait)
        assert last is not None
        raise last

    # --- windows ----------------------------------------------------------------------------

    async def _listing(
        self,
        spec: Listing,
        cursor: str | None,
        since: datetime | None,
        *,
        span: timedelta,
        restart: timedelta,
        params: Mapping[str, Any],
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Rows of ``spec`` window by window, each with the cursor to resume after it."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        if "until" in state:
            window = Window.from_state(state)
        else:
            until = _second(self.now())
            if "since" in state:
                start = _second(parse_utc(state["since"]))  # type: ignore[arg-type]
            elif since is not None:
                start = _second(since)
            else:
                start = until - (spec.reach or timedelta(days=89))
            if spec.reach is not None:
                start = max(start, until - spec.reach)
            if start >= until:
                yield [], json.dumps({"since": iso_z(start)})
                return
            window = Window.first(start, until, span, spec.seek)
        page_size = max(1, min(self.page_size, spec.max_page_size))
        while True:
            answer = await self.call(
                spec.api,
                {
                    **params,
                    spec.start_param: top_time(window.start - SECOND),
                    spec.end_param: top_time(window.bound),
                    "page_no": window.page,
                    "page_size": page_size,
                    "use_has_next": "true",
                },
            )
            rows = _listed(answer, spec.outer, spec.inner)
            times = [_row_time(row, spec.time_field) for row in rows]
            kept = [
                row
                for row, at in zip(rows, times, strict=True)
                if at is None
                or (
                    window.start <= at < window.bound
                    and str(row.get(spec.id_field)) not in window.skip
                )
            ]
            if _has_next(answer, window.page, page_size, len(rows)):
                window = _next_page(window, rows, times, spec)
                if spec.max_page is not None and window.page > spec.max_page:
                    raise PlatformError(
                        f"Taobao {spec.api}: more than {spec.max_page} pages in one window;"
                        " make the window smaller"
                    )
                yield kept, window.to_cursor()
            elif window.end >= window.until:
                yield kept, json.dumps({"since": iso_z(window.until - restart)})
                return
            else:
                window = Window.first(window.end, window.until, span, spec.seek)
                yield kept, window.to_cursor()

    # --- streams ----------------------------------------------------------------------------

    async def orders(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[OrderRecord]]:
        """Trades modified since ``since`` (default: as far back as TOP answers, 3 months)."""
        async for rows, next_cursor in self._listing(
            TRADES,
            cursor,
            since,
            span=self.window,
            restart=self.overlap,
            params={"fields": TRADE_FIELDS},
        ):
            if self.fetch_details:
                rows = await self._with_details(rows)
            page: Page[OrderRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_trade(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def _each(
        self,
        rows: list[dict[str, Any]],
        fetch: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """``fetch`` over the rows, a few at a time; one failure cancels the rest, so no
        call is left running against a client the caller is about to close."""
        gate = asyncio.Semaphore(self.detail_concurrency)

        async def one(row: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                return await fetch(row)

        tasks = [asyncio.ensure_future(one(row)) for row in rows]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _with_details(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fill in what increment.get leaves out (the address) from ``trade.fullinfo.get``."""

        async def detail(row: dict[str, Any]) -> dict[str, Any]:
            if row.get("receiver_address") or not row.get("tid"):
                return row
            return {**row, **await self._fullinfo(str(row["tid"]))}

        return await self._each(rows, detail)

    async def _fullinfo(self, tid: str) -> dict[str, Any]:
        answer = await self.call("taobao.trade.fullinfo.get", {"tid": tid, "fields": TRADE_FIELDS})
        trade = answer.get("trade")
        if not isinstance(trade, dict):
            raise PlatformError(f"Taobao trade.fullinfo.get: no trade {tid}", status=404)
        return trade

    async def order(self, platform_order_id: str) -> OrderRecord:
        return parse_trade(await self._fullinfo(platform_order_id))

    async def after_sales(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[AfterSaleRecord]]:
        """Refunds (refund only / return and refund) modified since ``since``."""
        async for rows, next_cursor in self._listing(
            REFUNDS,
            cursor,
            since,
            span=self.window,
            restart=self.overlap,
            params={"fields": REFUND_FIELDS},
        ):
            if self.refund_deadlines:
                rows = await self._with_deadlines(rows)
            page: Page[AfterSaleRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_refund(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def _with_deadlines(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``refund_remind_timeout`` lives on ``refund.get`` only; open refunds need it."""

        async def deadline(row: dict[str, Any]) -> dict[str, Any]:
            if (
                row.get("status") not in OPEN_REFUND_STATUSES
                or "refund_remind_timeout" in row
                or not row.get("refund_id")
            ):
                return row
            answer = await self.call(
                "taobao.refund.get",
                {"refund_id": row["refund_id"], "fields": REFUND_DEADLINE_FIELDS},
            )
            refund = answer.get("refund")
            if isinstance(refund, dict) and "refund_remind_timeout" in refund:
                return {**row, "refund_remind_timeout": refund["refund_remind_timeout"]}
            return row

        return await self._each(rows, deadline)

    async def reviews(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[ReviewRecord]]:
        """Ratings buyers gave the shop, created since ``since`` (re-read for revisions)."""
        async for rows, next_cursor in self._listing(
            RATES,
            cursor,
            since,
            span=self.review_window,
            restart=self.review_rescan,
            params={"fields": RATE_FIELDS, "rate_type": "get", "role": "buyer"},
        ):
            page: Page[ReviewRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_rate(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def check(self) -> None:
        """A cheap call that needs the session, for "test connection"."""
        await self.call("taobao.user.seller.get", {"fields": "nick"})

    # --- refund write-back ------------------------------------------------------------------

    async def decide_refund(self, write: RefundWrite, *, idempotency_key: str) -> RefundWriteResult:
        """Agree or refuse the buyer's refund request, at most once however often retried.

        TOP takes no idempotency key, so the refund's own status is the record of our
        write: read before writing, and read again when the write fails (see the module
        docstring). ``idempotency_key`` only names the write in error messages.
        """
        refund_id = self._checked(write)
        before = await self._refund_state(refund_id)
        if (done := self._decided(write, refund_id, before)) is not None:
            return done
        self._writable(write, refund_id, before)
        version = self._version(write, refund_id, before)
        try:
            if write.decision is RefundDecision.APPROVE:
                return await self._agree(write, refund_id, version, before)
            return await self._refuse(write, refund_id, version, before)
        except PlatformError as failure:
            return await self._after_failure(write, refund_id, failure, idempotency_key)

    def _checked(self, write: RefundWrite) -> str:
        """What can be refused without asking the platform; the refund id to write to."""
        refund_id = (write.platform_refund_id or "").strip()
        if not refund_id:
            # Taobao refunds exist only as the buyer's request; a seller cannot start one.
            raise WriteRefused(
                "Taobao refunds are decided on the buyer's request: platform_refund_id is required"
            )
        if write.currency != "CNY":
            raise WriteRefused(f"Taobao refunds are in CNY, not {write.currency}")
        if write.decision is RefundDecision.APPROVE:
            try:
                fen = to_fen(write.amount)
            except ValueError as exc:
                raise WriteRefused(f"Taobao refund {refund_id}: {exc}") from None
            if fen <= 0:
                raise WriteRefused(f"Taobao refund {refund_id}: nothing to refund ({write.amount})")
            if write.amount > AGREE_LIMIT[self.tmall]:
                raise WriteRefused(
                    f"Taobao refund {refund_id}: {write.amount} is over what one "
                    f"rp.refunds.agree call may refund ({AGREE_LIMIT[self.tmall]}); "
                    "agree it in the seller centre"
                )
        else:
            low, high = REFUSE_MESSAGE_LENGTH
            if not low <= len(write.reason.strip()) <= high:
                raise WriteRefused(
                    f"Taobao refund {refund_id}: a refusal needs a reason of {low}-{high} "
                    f"characters (refuse_message), got {len(write.reason.strip())}"
                )
        return refund_id

    async def _refund_state(self, refund_id: str) -> dict[str, Any]:
        """The refund as the platform has it now: the only record of our earlier writes."""
        answer = await self.call(
            "taobao.refund.get", {"refund_id": refund_id, "fields": REFUND_STATE_FIELDS}
        )
        refund = answer.get("refund")
        if not isinstance(refund, dict):
            raise PlatformError(f"Taobao refund.get: no refund {refund_id} in the answer")
        return refund

    def _decided(
        self, write: RefundWrite, refund_id: str, state: Mapping[str, Any]
    ) -> RefundWriteResult | None:
        """``already_done`` if the refund shows our decision; CLOSED can take none."""
        status = str(state.get("status") or "")
        if status in DECIDED_STATUSES[write.decision]:
            return RefundWriteResult(
                platform_refund_id=refund_id,
                status=refund_status(status),
                platform_status=status,
                already_done=True,
            )
        if status == "CLOSED":
            raise WriteRefused(
                f"Taobao refund {refund_id} is CLOSED (cancelled by the buyer or timed out)"
            )
        return None

    def _writable(self, write: RefundWrite, refund_id: str, state: Mapping[str, Any]) -> None:
        """Refuse, before writing, what the refund's state already rules out."""
        status = str(state.get("status") or "")
        agreed = DECIDED_STATUSES[RefundDecision.APPROVE]
        if write.decision is RefundDecision.REJECT and status in agreed:
            raise WriteRefused(f"Taobao refund {refund_id} is already agreed ({status})")
        constraint = str(state.get("operation_contraint") or "")
        if constraint == "refund_onweb" or (
            constraint == "cannot_refuse" and write.decision is RefundDecision.REJECT
        ):
            raise WriteRefused(
                f"Taobao refund {refund_id}: the platform allows no API {write.decision.value} "
                f"here ({constraint}); decide it in the seller centre"
            )
        modified = parse_top_time(state.get("modified"))
        if write.platform_version is not None and modified is not None:
            seen = _second(
                write.platform_version
                if write.platform_version.tzinfo
                else write.platform_version.replace(tzinfo=UTC)
            )
            if _second(modified) > seen:
                raise WriteRefused(
                    f"Taobao refund {refund_id} changed at {iso_z(_second(modified))}, after the "
                    f"decision was taken on its {iso_z(seen)} state; decide again"
                )
        if self.tmall and state.get("refund_phase") not in REFUND_PHASES:
            raise WriteRefused(
                f"Tmall refund {refund_id}: refund.get gave no refund_phase, which Tmall requires"
            )

    def _version(self, write: RefundWrite, refund_id: str, state: Mapping[str, Any]) -> int:
        """The version slot: the platform's ``refund_version``, else the desk's time, else
        ``modified``."""
        raw = state.get("refund_version")
        if raw not in (None, ""):
            try:
                return int(str(raw))
            except ValueError:
                pass
        if write.platform_version is not None:
            return epoch_ms(write.platform_version)
        modified = parse_top_time(state.get("modified"))
        if modified is None:
            raise PlatformError(f"Taobao refund.get: refund {refund_id} has no version")
        return epoch_ms(modified)

    async def _agree(
        self, write: RefundWrite, refund_id: str, version: int, before: Mapping[str, Any]
    ) -> RefundWriteResult:
        info = f"{refund_id}|{to_fen(write.amount)}|{version}"
        if self.tmall:
            info += f"|{before['refund_phase']}"
        api = "taobao.rp.refunds.agree"
        answer = await self.call(api, {"refund_infos": info})
        rows = [
            row
            for row in _listed(answer, "results", "refund_mapping_result")
            if str(row.get("refund_id")) == refund_id
        ]
        if rows:
            agreed, message = _truthy(rows[0].get("succ")), rows[0].get("message")
        else:
            code = answer.get("msg_code")
            agreed = code == "OP_SUCC" if code else _truthy(answer.get("succ"))
            message = answer.get("message")
        if not agreed:
            # A per-refund failure inside a success envelope: TOP's answer, not the wire's.
            raise PlatformError(
                f"Taobao {api}: refund {refund_id} not agreed: {message or 'no reason given'}",
                code=str(answer.get("msg_code") or "OP_FAILURE_UE"),
            )
        # The answer has no status; a return not yet sent back waits for the goods.
        expected = (
            "SUCCESS"
            if before.get("status") == "WAIT_SELLER_CONFIRM_GOODS"
            or not _truthy(before.get("has_good_return"))
            else "WAIT_BUYER_RETURN_GOODS"
        )
        try:
            after = str((await self._refund_state(refund_id)).get("status") or "")
        except ConnectorError:
            after = ""  # the refund is agreed; not knowing its new word is no failure
        status = after if after in DECIDED_STATUSES[RefundDecision.APPROVE] else expected
        return RefundWriteResult(
            platform_refund_id=refund_id, status=refund_status(status), platform_status=status
        )

    async def _refuse(
        self, write: RefundWrite, refund_id: str, version: int, before: Mapping[str, Any]
    ) -> RefundWriteResult:
        params: dict[str, Any] = {
            "refund_id": refund_id,
            "refuse_message": write.reason.strip(),
            "refund_version": version,
        }
        if self.tmall:
            params["refund_phase"] = before["refund_phase"]
        api = "taobao.refund.refuse"
        answer = await self.call(api, params)
        if not _truthy(answer.get("is_success")):
            raise PlatformError(
                f"Taobao {api}: refund {refund_id} not refused", code="is_success=false"
            )
        refund = answer.get("refund")
        status = str(refund.get("status") or "") if isinstance(refund, dict) else ""
        status = status or "SELLER_REFUSE_BUYER"
        return RefundWriteResult(
            platform_refund_id=refund_id, status=refund_status(status), platform_status=status
        )

    async def _after_failure(
        self, write: RefundWrite, refund_id: str, failure: PlatformError, key: str
    ) -> RefundWriteResult:
        """A failed write may still have been made (a lost answer, a replay the platform
        refused as stale): the refund's status says which."""
        try:
            state = await self._refund_state(refund_id)
        except ConnectorError as reread:
            failure.add_note(f"re-reading refund {refund_id} failed too: {reread}")
            raise failure from None
        if (done := self._decided(write, refund_id, state)) is not None:
            return done
        if isinstance(failure, TransientPlatformError) or not failure.code:
            raise failure  # the gateway or the wire broke: the caller retries with ``key``
        raise WriteRefused(
            f"{failure} (write {key}; refund {refund_id} is {state.get('status')}, "
            f"refund_fee {state.get('refund_fee')})",
            code=failure.code,
            status=failure.status,
        ) from failure

    # --- review explanations ------------------------------------------------------------------

    async def reply_review(self, reply: ReviewReply, *, idempotency_key: str) -> ReviewReplyResult:
        """Post the shop's explanation under one rating, at most once however often retried.

        The rating's own ``reply`` is the record of our write: read before, and read
        again when the write fails (see the module docstring).
        """
        oid, text = self._explanation(reply)
        before = await self._rating_reply(oid)
        if before:
            return self._explained(oid, text, before, idempotency_key)
        try:
            answer = await self.call(EXPLAIN_API, {"oid": oid, "reply": text})
            if not _truthy(answer.get("is_success")):
                raise PlatformError(
                    f"Taobao {EXPLAIN_API}: rating {oid} not explained", code="is_success=false"
                )
        except PlatformError as failure:
            try:
                after = await self._rating_reply(oid)
            except ConnectorError as reread:
                failure.add_note(f"re-reading rating {oid} failed too: {reread}")
                raise failure from None
            if after.strip() == text:
                return ReviewReplyResult(platform_reply=after, already_done=True)
            if isinstance(failure, TransientPlatformError) or not failure.code:
                raise failure  # the gateway or the wire broke: the caller retries with the key
            raise WriteRefused(
                f"{failure} (write {idempotency_key}; rating {oid})",
                code=failure.code,
                status=failure.status,
            ) from failure
        return ReviewReplyResult(platform_reply=text)

    @staticmethod
    def _explanation(reply: ReviewReply) -> tuple[str, str]:
        """The sub-order and the text, refused before any call when TOP could not take them."""
        oid, text = reply.platform_review_id.strip(), reply.text.strip()
        if not oid.isdigit():
            raise WriteRefused(f"Taobao ratings are explained by sub-order id, not {oid!r}")
        if not text:
            raise WriteRefused(f"Taobao rating {oid}: an explanation needs a text")
        if len(text) > EXPLAIN_MAX:
            raise WriteRefused(
                f"Taobao rating {oid}: an explanation is at most {EXPLAIN_MAX} characters, "
                f"got {len(text)}"
            )
        return oid, text

    async def _rating_reply(self, oid: str) -> str:
        """The rating's explanation as the platform shows it now ("" when none)."""
        answer = await self.call(
            RATES.api,
            {"fields": RATE_FIELDS, "rate_type": "get", "role": "buyer", "tid": oid},
        )
        for row in _listed(answer, RATES.outer, RATES.inner):
            if str(row.get("oid") or row.get("tid") or "") == oid:
                return str(row.get("reply") or "")
        raise WriteRefused(f"Taobao rating {oid} was not found (traderates.get by tid)")

    @staticmethod
    def _explained(oid: str, text: str, shown: str, key: str) -> ReviewReplyResult:
        if shown.strip() == text:
            return ReviewReplyResult(platform_reply=shown, already_done=True)
        raise WriteRefused(
            f"Taobao rating {oid} already has another explanation (write {key}); "
            "a rating takes one",
            code="already_explained",
        )


def _has_next(answer: Mapping[str, Any], page: int, page_size: int, rows: int) -> bool:
    """``has_next`` as asked for; should TOP ever ignore ``use_has_next``, fall back on
    ``total_results`` and then on a full page, rather than stop early and lose rows."""
    if "has_next" in answer:
        return _truthy(answer["has_next"])
    if "total_results" in answer:
        return page * page_size < int(answer["total_results"])
    return rows >= page_size


def _row_time(row: Mapping[str, Any], name: str) -> datetime | None:
    try:
        return parse_top_time(row.get(name))
    except (TypeError, ValueError):
        return None  # parse_* reports the row as BadPayload


def _next_page(
    window: Window, rows: list[dict[str, Any]], times: list[datetime | None], spec: Listing
) -> Window:
    """After a full page: seek below the oldest row seen, or page on where we cannot."""
    known = [at for at in times if at is not None]
    descending = all(a >= b for a, b in pairwise(known))
    if not (window.seek and descending and known):
        return replace(window, page=window.page + 1, seek=window.seek and descending)
    oldest = known[-1]
    at_oldest = [
        str(row.get(spec.id_field)) for row, at in zip(rows, times, strict=True) if at == oldest
    ]
    bound = oldest + SECOND
    if bound < window.bound:
        # Ask for page 1 below the oldest second; its rows we already took are skipped.
        return replace(window, bound=bound, page=1, skip=at_oldest)
    # The whole page shares one second (a batch update): page through that second.
    return replace(window, page=window.page + 1, skip=sorted({*window.skip, *at_oldest}, key=str))


def connect(
    *, base_url: str | None, credentials: dict[str, str], **options: Any
) -> TaobaoConnector:
    """Entry point ``aftersales.connectors: taobao``; ``base_url`` defaults to TOP's gateway."""
    missing = [k for k in ("app_key", "app_secret", "session") if not credentials.get(k)]
    if missing:
        raise ValueError(f"a Taobao store needs {', '.join(missing)} in its credentials")
    if credentials.get("sign_method"):
        options.setdefault("sign_method", credentials["sign_method"])
    if str(credentials.get("tmall") or "").strip().lower() in ("true", "1", "yes"):
        options.setdefault("tmall", True)
    return TaobaoConnector(
        base_url=base_url,
        app_key=credentials["app_key"],
        app_secret=credentials["app_secret"],
        session=credentials["session"],
        **options,
    )


def normalize_base_url(text: str) -> str:
    """What the factory expects from what an owner pasted: scheme and host, maybe a path.

    TOP documents its gateway as ``https://gw.api.taobao.com/router/rest``;
    the connector adds ``/router/rest`` itself, so that suffix is dropped
    (and a query or fragment with it). A bare host gets ``https://``.
    """
    text = text.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    path = parts.path.rstrip("/").removesuffix(ROUTER).rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc}{path}"


manifest = ConnectorManifest(
    platform="taobao",
    label="Taobao",
    factory=connect,
    credentials=(
        CredentialField("app_key", "App key", secret=False),
        CredentialField("app_secret", "App secret"),
        CredentialField("session", "Session key", help="The seller's authorisation (sessionKey)."),
    ),
    capabilities=CAPABILITIES,
    # trades.sold.increment.get keeps 3 months (PLATFORMS.md).
    history_days=90,
    base_url_label="Gateway URL",
    base_url_help="Leave empty for TOP's gateway; https://…/router/rest or a host alone works.",
    normalize_base_url=normalize_base_url,
    rate_limits=RateLimits(
        note="Calls per app per day, by the app's tier; a refusal says how long to wait."
    ),
    status_labels=STATUS_LABELS,
)
