"""Pinduoduo Open Platform (拼多多开放平台): one signed gateway, ``POST /api/router``.

Sources: /work/shared/PLATFORMS-CN.md section B (third-party SDKs: lywzx/pdd-node-sdk
"LYW", whalesky-labs/pdd-sdk-php "WSK", dtapps); nothing here was tried against the
real gateway. What is unconfirmed there is a setting here or accepted in both forms.

Transport. Every parameter, system (``type``, ``client_id``, ``access_token``,
``timestamp`` in Unix seconds, ``data_type=JSON``, ``version=V1``) and business,
is a form field; an object or list value is JSON-stringified into one field (the
``request`` of ``pdd.refund.agree``). ``sign`` is ``UPPER(hex(MD5(secret +
k1v1k2v2... + secret)))`` over every field but ``sign``, sorted, empty values left
out (WSK's vector is a test). Each attempt is signed afresh: the gateway accepts a
timestamp within 10 minutes of its own clock.

Answers are ``{"<name>_response": {...}}`` (one key; some writes use plain
``response``) or ``{"error_response": {"error_code", "error_msg", "sub_code",
"sub_msg"}}``, whatever the HTTP status (200 is assumed; the fake answers 200). The
body is decoded with every number as a ``Decimal``: amounts are yuan as JSON numbers
and a float would have lost the cents before we saw them.

Errors (codes from LYW's ``retryAble`` and real answers quoted in PLATFORMS-CN B3):

- ``10019`` access token expired -> one ``pdd.pop.auth.token.refresh`` with the
  store's refresh token, then the call once more; a second expiry, a failed refresh
  or no refresh token -> ``AuthFailed`` ("authorise the store again");
- ``20004`` bad signature -> ``AuthFailed`` (the secret is wrong: a person must act);
- ``52101`` (当前接口被限流) and ``70031`` (调用过于频繁) -> ``RateLimited``. PDD
  says nothing about how long: we back off exponentially from ``rate_wait`` with
  jitter, up to ``max_rate_attempts`` waits, then hand ``RateLimited`` to the caller;
- ``52102``/``52103`` and any code outside 10000-39999 and 50000-52003 (LYW's
  "retryable") -> ``TransientPlatformError``, retried with backoff;
- anything else (client errors, 10000-39999) -> ``PlatformError`` with the code.

Streams. ``pdd.order.number.list.increment.get`` and ``pdd.refund.list.increment.get``
list by update time in windows of at most 30 minutes (``end - start <= 1800 s``),
pages of at most 100, and only orders confirmed in the last 3 months. The sync's end
(``until``) is fixed when it starts and kept ``end_lag`` (3 minutes, PDD's own
advice) behind now, so nothing can enter a window while we page it; a row updated
meanwhile leaves it, and leaving shifts later rows to lower positions. PDD's advice
is to page backwards from the last page, and that is what we do: a row that leaves
can then only push a row we already read onto a page still to read (read twice,
harmless), never one still to read onto a page already read (lost). The first call
of a window (page 1) learns ``total_count``; when the window fits one page its rows
are kept, else the pages are read from the last one down to 1. Each window asks one
second wider at the start than it keeps (``[start, end)``), so a row at a boundary
is kept once whether PDD's bounds are inclusive or not; the asked span is then
exactly 30 minutes. The next sync starts ``overlap`` before the last ``until``.

Cursor (JSON): ``{"since": t}`` between syncs; inside one the window ``{"start",
"end", "until", "page", "pages"}``, so a killed sync resumes at its next page.

Orders. The increment list's ``order_sn_list`` carries whole orders (LYW's response
model); ``pdd.order.information.get`` reads one (``order``) and fills in rows listed
without ``item_list``. Statuses: ``confirm_status`` 2 (cancelled) -> closed, 0 (not
yet 成交) -> awaiting payment, else ``order_status`` 1/2/3 -> awaiting shipment,
shipped, completed (已签收). The platform word kept is ``order:<n>`` /
``order:cancelled`` / ``order:unconfirmed``. The receiver's name, phone and
address are ciphertext or empty (PDD encrypts them), so the buyer shows the
``*_mask`` twins; PDD names no buyer id in an order, so the buyer is keyed by
order (``pdd-order:<order_sn>``). Times are ``yyyy-MM-dd HH:mm:ss`` Beijing time
(unconfirmed: Unix seconds are accepted too).

After-sales. Rows' ``after_sales_type`` is read in the detail's numbering (1 仅退款,
2 退货退款, 3 换货, 4 补寄, 5 维修; the list *filter* numbers differently, 1 being
"all"): unconfirmed for the list rows. 补寄 and 维修 are kept as exchanges (goods,
no money). ``after_sales_status`` is asked with ``after_sales_status_all`` (default
1; whether the filter has an "all" value is unconfirmed, hence a setting). The
platform word kept is ``after_sales:<n>``. Open requests (2, 3) are read again with
``pdd.refund.information.get`` for ``expire_time``, the platform's own deadline.

Write-backs. PDD's 售后 catalog has ``pdd.refund.agree`` (refund only) and
``pdd.refund.returngoods.agree`` (agree a return, naming a ``return_address_id``
from the store's settings) and **no refusal API**: ``Capabilities.refuse_refund`` is
False, and ``decide_refund`` refuses a rejection before any call (``WriteRefused``,
"refuse it in the merchant back office"). Neither agree takes an amount: only the
whole ``refund_amount`` can be agreed. PDD's idempotency is unconfirmed, so
``decide_refund`` looks before it writes (``pdd.refund.information.get``: a
status that already carries the agreement is ``already_done``) and reads again
when the write fails or its answer is lost; the write itself is sent once
(``send_once``), never replayed blind by the transport.

Push (PMC over WebSocket) is out for now: see docs/platforms.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
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
    Decrypted,
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
    Trouble,
    WriteRefused,
    contact_token,
    parse_money,
    read_contact_token,
)
from connectors.http import PlatformClient
from connectors.timeutil import CHINA, iso_z, parse_utc

DEFAULT_BASE_URL = "https://gw-api.pinduoduo.com"
ROUTER = "/api/router"
MAX_SPAN = timedelta(minutes=30)  # end_updated_at - start_updated_at, both increment lists
MAX_PAGE_SIZE = 100
SECOND = timedelta(seconds=1)
REACH = timedelta(days=89)  # "only trades confirmed in the last 3 months"

ORDERS_API = "pdd.order.number.list.increment.get"
ORDER_API = "pdd.order.information.get"
REFUNDS_API = "pdd.refund.list.increment.get"
REFUND_API = "pdd.refund.information.get"
AGREE_API = "pdd.refund.agree"
RETURN_AGREE_API = "pdd.refund.returngoods.agree"
REFRESH_API = "pdd.pop.auth.token.refresh"

# --- error codes (PLATFORMS-CN B3) --------------------------------------------------------

EXPIRED_TOKEN = 10019
AUTH_CODES = frozenset({20004})  # bad signature: the secret is wrong
RATE_LIMIT_CODES = frozenset({52101, 70031})


class TransientPlatformError(PlatformError):
    """PDD's own back end failed (52102/52103, codes LYW retries); worth a retry like a 5xx."""


# --- statuses --------------------------------------------------------------------------------

ORDER_STATUS = {
    "order:unconfirmed": OrderStatus.AWAITING_PAYMENT,
    "order:1": OrderStatus.AWAITING_SHIPMENT,
    "order:2": OrderStatus.SHIPPED,
    "order:3": OrderStatus.COMPLETED,
    "order:cancelled": OrderStatus.CLOSED,
}
# after_sales_status (LYW's table). 4/5 "agreed, refund in progress": the decision is
# taken and the money moves by itself, so the desk has nothing left to do. 8 (the platform
# arbitrates) and the exchange/repair sub-states whose meaning we do not hold are UNKNOWN:
# the desk keeps such a case where it is.
REFUND_STATUS = {
    "after_sales:2": AfterSaleStatus.REQUESTED,
    "after_sales:3": AfterSaleStatus.REQUESTED,
    "after_sales:4": AfterSaleStatus.REFUNDED,
    "after_sales:5": AfterSaleStatus.REFUNDED,
    "after_sales:6": AfterSaleStatus.REJECTED,
    "after_sales:7": AfterSaleStatus.WAITING_RETURN,
    "after_sales:9": AfterSaleStatus.REJECTED,
    "after_sales:10": AfterSaleStatus.REFUNDED,
    "after_sales:11": AfterSaleStatus.CANCELLED,
    "after_sales:12": AfterSaleStatus.CANCELLED,
    "after_sales:13": AfterSaleStatus.CANCELLED,
    "after_sales:27": AfterSaleStatus.WAITING_RETURN,
    "after_sales:31": AfterSaleStatus.WAITING_RETURN,
    "after_sales:32": AfterSaleStatus.WAITING_RETURN,
}
OPEN_REFUND_CODES = frozenset({2, 3})  # 待商家处理: expire_time is set only there
REFUND_ONLY_WAITING = 2  # 买家申请退款，待商家处理 -> pdd.refund.agree
RETURN_WAITING = 3  # 退货退款，待商家处理 -> pdd.refund.returngoods.agree
AGREED_CODES = frozenset({4, 5, 7, 10, 31})  # already carry the seller's (or PDD's) yes
CLOSED_CODES = frozenset({6, 9, 11, 12, 13})  # refused, cancelled, timed out: nothing to agree
KINDS = {
    1: AfterSaleKind.REFUND_ONLY,
    2: AfterSaleKind.RETURN_AND_REFUND,
    3: AfterSaleKind.EXCHANGE,
    4: AfterSaleKind.EXCHANGE,  # 补寄: the missing goods are sent again, no money
    5: AfterSaleKind.EXCHANGE,  # 维修: repaired, no money
}
# The platform's words as the merchant back office shows them (English msgids; the
# desk's catalog holds the Chinese), for ``ConnectorManifest.status_labels``.
STATUS_LABELS = {
    "order:unconfirmed": "Not yet confirmed (group not formed)",
    "order:1": "Waiting for shipment",
    "order:2": "Shipped, waiting for the buyer to sign",
    "order:3": "Signed for by the buyer",
    "order:cancelled": "Order cancelled",
    "after_sales:2": "Buyer asked for a refund, waiting for the merchant",
    "after_sales:3": "Buyer asked to return for a refund, waiting for the merchant",
    "after_sales:4": "Merchant agreed, refund in progress",
    "after_sales:5": "Platform agreed, refund in progress",
    "after_sales:6": "Refund refused, waiting for the buyer",
    "after_sales:7": "Return agreed, waiting for the buyer to send the goods",
    "after_sales:8": "Platform handling the request",
    "after_sales:9": "Platform refused the refund, closed",
    "after_sales:10": "Refund succeeded",
    "after_sales:11": "Withdrawn by the buyer",
    "after_sales:12": "Buyer did not act in time, refund failed",
    "after_sales:13": "Buyer did not act in time, request expired",
    "after_sales:31": "Refund on refusal agreed, waiting for the buyer to refuse delivery",
    "after_sales:32": "Resend agreed, waiting for the merchant to ship",
}

# What the desk may ask of this platform (read without connecting: ``capabilities_of``).
# No review API exists (PLATFORMS-CN B7) and no refusal API (B6).
CAPABILITIES = Capabilities(
    orders=True,
    after_sales=True,
    reviews=False,
    decide_refund=True,
    refuse_refund=False,
    reply_review=False,
    decrypt_contact=True,
)
DECRYPT_API = "pdd.open.decrypt.batch"
MAX_DECRYPT = 100  # data_list items per pdd.open.decrypt.batch call


# --- signing, time, envelopes ------------------------------------------------------------


def field_text(value: Any) -> str:
    """One form field as PDD reads it: objects JSON-stringified, booleans ``true``/``false``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if isinstance(value, datetime):
        return str(unix_seconds(value))
    return str(value)


def sign(params: Mapping[str, Any], secret: str) -> str:
    """PDD's signature: fields sorted by name, ``secret + k1v1k2v2... + secret``, MD5, upper.

    ``sign`` itself and empty values are left out (WSK's signer, whose vector is a test).
    """
    text = "".join(
        f"{name}{value}"
        for name, value in sorted((str(k), field_text(v)) for k, v in params.items())
        if name and name != "sign" and value != ""
    )
    return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()


def unix_seconds(value: datetime) -> int:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(aware.timestamp())


def parse_pdd_time(value: Any) -> datetime | None:
    """A PDD time as aware UTC: ``yyyy-MM-dd HH:mm:ss`` Beijing time, or Unix seconds
    (which one PDD sends is unconfirmed, so both are read)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | Decimal) or str(value).isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return parse_utc(str(value), naive_zone=CHINA)


def _required_time(value: Any) -> datetime:
    parsed = parse_pdd_time(value)
    if parsed is None:
        raise ValueError("missing time")
    return parsed


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def pdd_error(api: str, error: Mapping[str, Any]) -> ConnectorError:
    """Translate one ``error_response`` into the typed errors of ``connectors.base``."""
    code = _int(error.get("error_code"))
    msg = str(error.get("error_msg") or "")
    sub_code = str(error.get("sub_code") or "")
    sub_msg = str(error.get("sub_msg") or "")
    text = f"Pinduoduo {api}: {code} {msg}".rstrip()
    if (sub_code and sub_code != str(code)) or sub_msg:
        text += f" [{sub_code}] {sub_msg}".rstrip()
    if code in RATE_LIMIT_CODES:
        # No Retry-After exists (PLATFORMS-CN B3): the caller's backoff decides.
        return RateLimited(text, retry_after=0.0)
    if code == EXPIRED_TOKEN or sub_code == "access_token_invalid":
        return TokenExpired(text)
    if code in AUTH_CODES:
        return AuthFailed(text)
    if code is None or not (10000 <= code <= 39999 or 50000 <= code <= 52003):
        return TransientPlatformError(text, code=str(code or ""))
    return PlatformError(text, code=str(code))


class TokenExpired(AuthFailed):
    """10019: the access token lapsed; one refresh may cure it."""


def decode(content: bytes) -> Any:
    """The answer with every JSON number as ``Decimal`` (amounts are yuan numbers)."""
    return json.loads(content, parse_float=Decimal)


def unwrap(api: str, body: Any) -> dict[str, Any]:
    """The inside of the success envelope, or the typed error the envelope holds."""
    if isinstance(body, dict):
        error = body.get("error_response")
        if isinstance(error, dict):
            raise pdd_error(api, error)
        inner = [v for k, v in body.items() if k.endswith("response") and isinstance(v, dict)]
        if len(inner) == 1:
            return inner[0]
    raise PlatformError(
        f"Pinduoduo {api}: unexpected answer: {str(body)[:200]}", trouble=Trouble.BAD_ANSWER
    )


# --- mapping -------------------------------------------------------------------------------


def cipher_token(order_sn: str, encrypted: str, region: str = "") -> str:
    """What the desk keeps for one encrypted field: ``pdd.open.decrypt.batch`` names the
    order as ``data_tag``; a detail address (``address``) needs its region before it."""
    token = {"data_tag": order_sn, "encrypted_data": encrypted}
    if region:
        token["region"] = region
    return contact_token(token)


def _ciphertext(order_sn: str, payload: Mapping[str, Any]) -> dict[str, str]:
    """``receiver_name``/``receiver_phone``/``receiver_address`` (else ``address``, the
    detail): ciphertext while the order waits for shipping, empty strings after."""
    region = "".join(str(payload.get(k) or "") for k in ("province", "city", "town"))
    found = {
        "name": (payload.get("receiver_name"), ""),
        "phone": (payload.get("receiver_phone"), ""),
        "address": (payload.get("receiver_address"), "")
        if payload.get("receiver_address")
        else (payload.get("address"), region),
    }
    return {
        name: cipher_token(order_sn, value, prefix)
        for name, (value, prefix) in found.items()
        if value and isinstance(value, str)
    }


def _decrypted(row: Mapping[str, Any] | None, region: str) -> Decrypted:
    """One ``data_decrypt_list`` item as a result; a missing item is a refusal too."""
    if row is None:
        return Decrypted(error=f"Pinduoduo {DECRYPT_API}: no answer for this value")
    code = _int(row.get("error_code")) or 0
    if code:
        reason = str(row.get("error_msg") or "")[:200]
        return Decrypted(error=f"Pinduoduo {DECRYPT_API}: {code} {reason}".rstrip())
    text = str(row.get("decrypted_data") or "")
    if not text:
        return Decrypted(error=f"Pinduoduo {DECRYPT_API}: an empty value")
    if _int(row.get("virtual_number_type")) == 1:
        extension = str(row.get("virtual_identify_number") or "") or None
        return Decrypted(text=text, virtual=True, extension=extension)
    return Decrypted(text=text if text.startswith(region) else region + text)


def order_word(payload: Mapping[str, Any]) -> str:
    confirm = _int(payload.get("confirm_status"))
    if confirm == 2:
        return "order:cancelled"
    if confirm == 0:
        return "order:unconfirmed"
    return f"order:{payload['order_status']}"


def parse_order(payload: Mapping[str, Any]) -> OrderRecord:
    """One order (increment list or information.get); a malformed one raises ``BadPayload``."""
    record_id = str(payload.get("order_sn") or "?")
    try:
        word = order_word(payload)
        if word not in ORDER_STATUS:
            raise BadPayload(f"order {record_id}: unknown status {word!r}", record_id=record_id)
        paid_at = parse_pdd_time(payload.get("pay_time"))
        total = parse_money(payload["pay_amount"], record_id)
        items = [
            OrderItemRecord(
                platform_item_id=str(line["sku_id"]),
                title=str(line["goods_name"]),
                sku=str(line.get("goods_spec") or "") or None,
                quantity=int(line["goods_count"]),
                unit_price=parse_money(line["goods_price"], record_id),
                amount=parse_money(line["goods_price"], record_id) * int(line["goods_count"]),
            )
            for line in payload.get("item_list") or []
        ]
        address = payload.get("address_mask") or payload.get("receiver_address_mask") or ""
        tracking = str(payload.get("tracking_number") or "").strip()
        shipped_at = parse_pdd_time(payload.get("shipping_time"))
        return OrderRecord(
            platform_order_id=record_id,
            status=ORDER_STATUS[word],
            platform_status=word,
            buyer=BuyerRecord(
                platform_buyer_id=f"pdd-order:{record_id}",
                nick=str(payload.get("receiver_name_mask") or record_id),
                name=payload.get("receiver_name_mask") or None,
                phone=payload.get("receiver_phone_mask") or None,
                address=str(address) or None,
                contact_ciphertext=_ciphertext(record_id, payload),
            ),
            currency="CNY",
            # pay_amount = goods - discounts + postage: what the buyer pays.
            total_amount=total,
            paid_amount=total if paid_at else Decimal("0.00"),
            created_at=_required_time(payload["created_time"]),
            paid_at=paid_at,
            shipped_at=shipped_at,
            updated_at=_required_time(payload["updated_at"]),
            items=items,
            shipments=(
                [
                    ShipmentRecord(
                        # PDD names the carrier by logistics_id only (pdd.logistics.companies.get).
                        carrier=str(payload.get("logistics_id") or ""),
                        tracking_no=tracking,
                        shipped_at=shipped_at,
                    )
                ]
                if tracking
                else []
            ),
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"order {record_id}: {exc!r}", record_id=record_id) from None


def refund_word(payload: Mapping[str, Any]) -> str:
    return f"after_sales:{int(str(payload['after_sales_status']))}"


def refund_status(word: str) -> AfterSaleStatus:
    return REFUND_STATUS.get(word, AfterSaleStatus.UNKNOWN)


def parse_refund(payload: Mapping[str, Any]) -> AfterSaleRecord:
    """One request from the refund list (``expire_time`` merged in from the detail)."""
    record_id = str(payload.get("id") or "?")
    try:
        word = refund_word(payload)
        kind = KINDS.get(int(str(payload["after_sales_type"])))
        if kind is None:
            raise ValueError(f"unknown after_sales_type {payload['after_sales_type']!r}")
        tracking = str(payload.get("tracking_number") or "").strip()
        return AfterSaleRecord(
            platform_refund_id=record_id,
            platform_order_id=str(payload["order_sn"]),
            platform_item_id=str(payload["sku_id"]) if payload.get("sku_id") else None,
            kind=kind,
            status=refund_status(word),
            platform_status=word,
            currency="CNY",
            requested_amount=parse_money(payload.get("refund_amount"), record_id),
            reason=payload.get("after_sale_reason") or None,
            buyer_text=payload.get("remark") or None,
            created_at=_required_time(payload["created_time"]),
            updated_at=_required_time(payload["updated_time"]),
            platform_deadline=parse_pdd_time(payload.get("expire_time")),
            return_carrier=payload.get("shipping_name") or None,
            return_tracking_no=tracking or None,
        )
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"after-sale {record_id}: {exc!r}", record_id=record_id) from None


# --- listing in windows --------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """How one PDD increment list is asked and read."""

    api: str
    rows: str  # the list's name in the answer
    time_field: str
    id_field: str


ORDERS = Listing(ORDERS_API, "order_sn_list", "updated_at", "order_sn")
REFUNDS = Listing(REFUNDS_API, "refund_list", "updated_time", "id")


@dataclass
class Window:
    """Rows kept are ``start <= t < end``; ``page`` is the next to read, going down."""

    start: datetime
    end: datetime
    until: datetime
    page: int = 1
    pages: int = 0  # 0: total_count not yet known

    @classmethod
    def first(cls, start: datetime, until: datetime, span: timedelta) -> Window:
        # One second less than the span: we ask from start - 1s (see the module docstring).
        return cls(start=start, end=min(start + span - SECOND, until), until=until)

    def to_cursor(self) -> str:
        state = asdict(self)
        for name in ("start", "end", "until"):
            state[name] = iso_z(state[name])
        return json.dumps(state, separators=(",", ":"))

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Window:
        start, end, until = (parse_utc(str(state[n])) for n in ("start", "end", "until"))
        assert start and end and until
        return cls(
            start=start,
            end=end,
            until=until,
            page=int(state.get("page", 1)),
            pages=int(state.get("pages", 0)),
        )


def _rows(answer: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    rows = answer.get(name)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise PlatformError(f"Pinduoduo: {name} is not a list", trouble=Trouble.BAD_ANSWER)
    return [row for row in rows if isinstance(row, dict)]


class PinduoduoConnector:
    platform = "pinduoduo"
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        access_token: str,
        refresh_token: str = "",
        base_url: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        window: timedelta = MAX_SPAN,
        overlap: timedelta = timedelta(minutes=10),
        end_lag: timedelta = timedelta(minutes=3),
        after_sales_status_all: int = 1,
        refund_deadlines: bool = True,
        return_address_id: str = "",
        detail_concurrency: int = 4,
        rate_wait: float = 1.0,
        max_rate_attempts: int = 6,
        on_tokens: Callable[[dict[str, Any]], Any] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **client_options: Any,
    ) -> None:
        """``end_lag`` keeps each sync's end behind PDD's clock (its advice: 3 minutes).
        ``after_sales_status_all`` is the status filter's "all" value (unconfirmed).
        ``return_address_id`` is where agreed returns are sent back (from
        ``pdd.refund.address.list.get``); without it a return is agreed in the back office.
        ``on_tokens`` hears the answer of a token refresh, so the store can keep it."""
        if not SECOND * 2 <= window <= MAX_SPAN:
            raise ValueError("window must be between 2 seconds and 30 minutes (PDD's limit)")
        self.client = PlatformClient((base_url or DEFAULT_BASE_URL).rstrip("/"), **client_options)
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.window = window
        self.overlap = overlap
        self.end_lag = end_lag
        self.after_sales_status_all = after_sales_status_all
        self.refund_deadlines = refund_deadlines
        self.return_address_id = return_address_id
        self.detail_concurrency = detail_concurrency
        self.rate_wait = rate_wait
        self.max_rate_attempts = max_rate_attempts
        self.on_tokens = on_tokens
        self.now = now
        self.refreshes = 0

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- one call ---------------------------------------------------------------------------

    def signed(self, api: str, params: Mapping[str, Any], *, token: bool = True) -> dict[str, str]:
        """System and business fields with a fresh timestamp and their signature."""
        form = {
            "type": api,
            "client_id": self.client_id,
            "timestamp": str(unix_seconds(self.now())),
            "data_type": "JSON",
            "version": "V1",
        }
        if token:
            form["access_token"] = self.access_token
        form.update({k: field_text(v) for k, v in params.items() if field_text(v) != ""})
        form["sign"] = sign(form, self.client_secret)
        return form

    def _backoff(self, attempt: int, base: float | None = None) -> float:
        start = self.client.backoff_base if base is None else base
        ceiling = min(self.client.backoff_cap, start * 2**attempt)
        return self.client.rng.uniform(ceiling / 2, ceiling)

    async def _answer(self, api: str, params: Mapping[str, Any], token: bool) -> dict[str, Any]:
        """One signed request whose body is whole JSON (a truncated one is asked again)."""
        for attempt in range(self.client.max_attempts):
            response = await self.client.request(
                "POST", ROUTER, data=self.signed(api, params, token=token)
            )
            try:
                body = decode(response.content)
            except ValueError:
                self.client.retries += 1
                await self.client.sleep(self._backoff(attempt))
                continue
            return unwrap(api, body)
        raise PlatformError(
            f"Pinduoduo {api}: never returned whole JSON", trouble=Trouble.BAD_ANSWER
        )

    async def call(
        self, api: str, params: Mapping[str, Any] | None = None, *, token: bool = True
    ) -> dict[str, Any]:
        """One PDD read: rate limits backed off, transient failures retried, an expired
        token refreshed once and the call made again."""
        refreshed = False
        rate_waits = 0
        attempt = 0
        while True:
            try:
                return await self._answer(api, params or {}, token)
            except TokenExpired as exc:
                if not token:  # the refresh itself: its refresh token is dead too
                    raise AuthFailed(
                        f"{exc}: the refresh token was refused; authorise the store again"
                    ) from None
                if refreshed:
                    raise AuthFailed(
                        f"{exc}: the access token was refreshed and is still refused; "
                        "authorise the store again"
                    ) from None
                await self.refresh(exc)
                refreshed = True
            except RateLimited as exc:
                if rate_waits >= self.max_rate_attempts:
                    exc.retry_after = self._backoff(rate_waits, self.rate_wait)
                    raise  # still limited after all our waits: the caller reschedules
                self.client.retries += 1
                await self.client.sleep(self._backoff(rate_waits, self.rate_wait))
                rate_waits += 1
            except TransientPlatformError:
                attempt += 1
                if attempt >= self.client.max_attempts:
                    raise
                self.client.retries += 1
                await self.client.sleep(self._backoff(attempt))

    async def refresh(self, cause: Exception | None = None) -> None:
        """``pdd.pop.auth.token.refresh``: a new access (and refresh) token for the store."""
        if not self.refresh_token:
            raise AuthFailed(
                f"{cause or 'Pinduoduo'}: the access token expired and the store has no "
                "refresh token; authorise the store again"
            )
        try:
            answer = await self.call(
                REFRESH_API, {"refresh_token": self.refresh_token}, token=False
            )
        except PlatformError as exc:
            raise AuthFailed(
                f"{cause}: refreshing the access token failed ({exc}); authorise the store again"
            ) from None
        new = str(answer.get("access_token") or "")
        if not new:
            raise AuthFailed(f"Pinduoduo {REFRESH_API}: no access_token in the answer")
        self.access_token = new
        self.refresh_token = str(answer.get("refresh_token") or self.refresh_token)
        self.refreshes += 1
        if self.on_tokens is not None:
            # Only the tokens: the answer's other fields (owner, scope) are not credentials.
            kept = self.on_tokens(
                {"access_token": self.access_token, "refresh_token": self.refresh_token}
            )
            if inspect.isawaitable(kept):
                await kept

    # --- windows ----------------------------------------------------------------------------

    async def _listing(
        self, spec: Listing, cursor: str | None, since: datetime | None, params: Mapping[str, Any]
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Rows of ``spec`` window by window, each with the cursor to resume after it."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        if "until" in state:
            window = Window.from_state(state)
        else:
            until = (self.now() - self.end_lag).replace(microsecond=0)
            if "since" in state:
                start = parse_utc(str(state["since"])) or until - REACH
            else:
                start = since if since is not None else until - REACH
            start = max(start.replace(microsecond=0), until - REACH)
            if start >= until:
                yield [], json.dumps({"since": iso_z(start)})
                return
            window = Window.first(start, until, self.window)
        while True:
            answer = await self.call(
                spec.api,
                {
                    **params,
                    "start_updated_at": unix_seconds(window.start - SECOND),
                    "end_updated_at": unix_seconds(window.end),
                    "page": window.page,
                    "page_size": self.page_size,
                },
            )
            rows = _rows(answer, spec.rows)
            kept = [row for row in rows if self._inside(window, row, spec)]
            if window.pages == 0:
                total = _int(answer.get("total_count"))
                pages = -(-total // self.page_size) if total is not None else 1
                if total is None and len(rows) >= self.page_size:
                    raise PlatformError(f"Pinduoduo {spec.api}: no total_count to page by")
                if pages > 1:
                    # Read from the last page down (see the module docstring); page 1's rows
                    # now are not kept: they are read again last.
                    window.pages, window.page = pages, pages
                    yield [], window.to_cursor()
                    continue
            elif window.page > 1:
                window.page -= 1
                yield kept, window.to_cursor()
                continue
            if window.end >= window.until:
                yield kept, json.dumps({"since": iso_z(window.until - self.overlap)})
                return
            window = Window.first(window.end, window.until, self.window)
            yield kept, window.to_cursor()

    @staticmethod
    def _inside(window: Window, row: Mapping[str, Any], spec: Listing) -> bool:
        try:
            at = parse_pdd_time(row.get(spec.time_field))
        except (TypeError, ValueError):
            return True  # the parser reports the row as BadPayload
        return at is None or window.start <= at < window.end

    async def _each(
        self,
        rows: list[dict[str, Any]],
        fetch: Callable[[dict[str, Any]], Any],
    ) -> list[dict[str, Any]]:
        """``fetch`` over the rows, a few at a time; one failure cancels the rest."""
        gate = asyncio.Semaphore(self.detail_concurrency)

        async def one(row: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                result: dict[str, Any] = await fetch(row)
                return result

        tasks = [asyncio.ensure_future(one(row)) for row in rows]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    # --- streams ----------------------------------------------------------------------------

    async def orders(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[OrderRecord]]:
        """Orders updated since ``since`` (default: as far back as PDD answers, 3 months)."""
        filters = {"order_status": 5, "refund_status": 5, "is_lucky_flag": 0}
        async for rows, next_cursor in self._listing(ORDERS, cursor, since, filters):
            rows = await self._each(rows, self._with_items)
            page: Page[OrderRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_order(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def _with_items(self, row: dict[str, Any]) -> dict[str, Any]:
        if row.get("item_list") or not row.get("order_sn"):
            return row
        return {**row, **await self._order_info(str(row["order_sn"]))}

    async def _order_info(self, order_sn: str) -> dict[str, Any]:
        answer = await self.call(ORDER_API, {"order_sn": order_sn})
        info = answer.get("order_info")
        if not isinstance(info, dict):
            raise PlatformError(f"Pinduoduo {ORDER_API}: no order {order_sn}", status=404)
        return info

    async def order(self, platform_order_id: str) -> OrderRecord:
        return parse_order(await self._order_info(platform_order_id))

    async def after_sales(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[AfterSaleRecord]]:
        """After-sales requests (refunds, returns, exchanges) updated since ``since``."""
        filters = {"after_sales_status": self.after_sales_status_all, "after_sales_type": 1}
        async for rows, next_cursor in self._listing(REFUNDS, cursor, since, filters):
            if self.refund_deadlines:
                rows = await self._each(rows, self._with_deadline)
            page: Page[AfterSaleRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_refund(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def _with_deadline(self, row: dict[str, Any]) -> dict[str, Any]:
        """``expire_time`` lives on the detail only, and only while the merchant must act."""
        if (
            _int(row.get("after_sales_status")) not in OPEN_REFUND_CODES
            or "expire_time" in row
            or not row.get("id")
        ):
            return row
        detail = await self._refund_state(str(row["order_sn"]), str(row["id"]))
        return {**row, "expire_time": detail.get("expire_time")}

    async def reviews(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[ReviewRecord]]:
        """PDD has no review API (PLATFORMS-CN B7): nothing to list."""
        yield Page(records=[], cursor=cursor)

    async def reply_review(self, reply: ReviewReply, *, idempotency_key: str) -> ReviewReplyResult:
        raise WriteRefused("Pinduoduo has no review API; reply in the merchant back office")

    async def decrypt_contact(self, ciphertexts: Sequence[str]) -> list[Decrypted]:
        """``pdd.open.decrypt.batch``, at most ``MAX_DECRYPT`` values per call; an item
        with a non-zero ``error_code`` is that value's ``error``, a virtual number
        (``virtual_number_type`` 1) keeps its extension (``virtual_identify_number``)
        apart. No error raised here carries an answer's text: it may hold plaintext."""
        tokens = [
            read_contact_token(t, ("data_tag", "encrypted_data"), "Pinduoduo") for t in ciphertexts
        ]
        wanted = list(dict.fromkeys((t["data_tag"], t["encrypted_data"]) for t in tokens))
        found: dict[tuple[str, str], Mapping[str, Any]] = {}
        for start in range(0, len(wanted), MAX_DECRYPT):
            batch = [
                {"data_tag": tag, "encrypted_data": data}
                for tag, data in wanted[start : start + MAX_DECRYPT]
            ]
            try:
                answer = await self.call(DECRYPT_API, {"data_list": batch})
            except PlatformError as exc:
                if exc.code:  # the platform's own refusal: its words carry no plaintext
                    raise
                raise PlatformError(
                    f"Pinduoduo {DECRYPT_API}: an answer the desk cannot read",
                    status=exc.status,
                    trouble=exc.trouble,
                ) from None
            rows = answer.get("data_decrypt_list")
            for row in rows if isinstance(rows, list) else []:
                if isinstance(row, dict):
                    found[(str(row.get("data_tag")), str(row.get("encrypted_data")))] = row
        return [
            _decrypted(found.get((t["data_tag"], t["encrypted_data"])), t.get("region", ""))
            for t in tokens
        ]

    async def check(self) -> None:
        """A cheap call that needs the token, for "test connection"."""
        await self.call("pdd.mall.info.get")

    # --- refund write-back ------------------------------------------------------------------

    async def decide_refund(self, write: RefundWrite, *, idempotency_key: str) -> RefundWriteResult:
        """Agree the buyer's request, at most once however often retried (see the docstring).

        A refusal is refused here before any call: PDD has no API for it.
        """
        after_sales_id = self._checked(write)
        order_sn = write.platform_order_id
        before = await self._refund_state(order_sn, after_sales_id)
        if (done := self._agreed(after_sales_id, before)) is not None:
            return done
        code = self._writable(write, after_sales_id, before)
        try:
            await self._agree(code, order_sn, after_sales_id, write)
        except PlatformError as failure:
            return await self._after_failure(order_sn, after_sales_id, failure, idempotency_key)
        try:
            after = await self._refund_state(order_sn, after_sales_id)
            word = refund_word(after)
        except (ConnectorError, KeyError, ValueError):
            word = ""  # agreed; not knowing its new word is no failure
        if _int(word.partition(":")[2]) not in AGREED_CODES:
            word = "after_sales:4" if code == REFUND_ONLY_WAITING else "after_sales:7"
        return RefundWriteResult(
            platform_refund_id=after_sales_id, status=refund_status(word), platform_status=word
        )

    def _checked(self, write: RefundWrite) -> str:
        after_sales_id = (write.platform_refund_id or "").strip()
        if write.decision is RefundDecision.REJECT:
            raise WriteRefused(
                "Pinduoduo has no API to refuse an after-sales request: refuse it in the "
                "merchant back office (商家后台)",
                code="no_refuse_api",
            )
        if not after_sales_id:
            raise WriteRefused(
                "Pinduoduo requests are agreed on the buyer's request: an after_sales_id is needed"
            )
        if write.currency != "CNY":
            raise WriteRefused(f"Pinduoduo refunds are in CNY, not {write.currency}")
        return after_sales_id

    async def _refund_state(self, order_sn: str, after_sales_id: str) -> dict[str, Any]:
        """The request as PDD has it now: the only record of our earlier writes."""
        return await self.call(REFUND_API, {"order_sn": order_sn, "after_sales_id": after_sales_id})

    @staticmethod
    def _agreed(after_sales_id: str, state: Mapping[str, Any]) -> RefundWriteResult | None:
        code = _int(state.get("after_sales_status"))
        if code in AGREED_CODES:
            word = f"after_sales:{code}"
            return RefundWriteResult(
                platform_refund_id=after_sales_id,
                status=refund_status(word),
                platform_status=word,
                already_done=True,
            )
        if code in CLOSED_CODES:
            raise WriteRefused(
                f"Pinduoduo after-sale {after_sales_id} is closed or refused "
                f"(after_sales_status {code}); there is nothing to agree"
            )
        return None

    def _writable(self, write: RefundWrite, after_sales_id: str, state: Mapping[str, Any]) -> int:
        """Refuse, before writing, what the request's state rules out; the status code."""
        code = _int(state.get("after_sales_status"))
        if code not in (REFUND_ONLY_WAITING, RETURN_WAITING):
            raise WriteRefused(
                f"Pinduoduo after-sale {after_sales_id} is not waiting for the merchant "
                f"(after_sales_status {code}); decide it in the merchant back office"
            )
        asked = parse_money(state.get("refund_amount"), after_sales_id)
        if write.amount != asked:
            raise WriteRefused(
                f"Pinduoduo after-sale {after_sales_id}: the agree calls take no amount, so "
                f"only the whole {asked} can be agreed, not {write.amount}"
            )
        updated = parse_pdd_time(state.get("updated_time"))
        if write.platform_version is not None and updated is not None:
            seen = write.platform_version
            seen = (seen if seen.tzinfo else seen.replace(tzinfo=UTC)).replace(microsecond=0)
            if updated > seen:
                raise WriteRefused(
                    f"Pinduoduo after-sale {after_sales_id} changed at {iso_z(updated)}, after "
                    f"the decision was taken on its {iso_z(seen)} state; decide again"
                )
        if code == RETURN_WAITING and not self.return_address_id:
            raise WriteRefused(
                f"Pinduoduo after-sale {after_sales_id} is a return: agreeing it needs the "
                "store's return address id; set it, or agree it in the merchant back office"
            )
        return code

    async def _agree(
        self, code: int, order_sn: str, after_sales_id: str, write: RefundWrite
    ) -> None:
        """The write itself, sent once: a lost answer goes to ``_after_failure``."""
        request: dict[str, Any] = {
            "after_sales_id": int(after_sales_id) if after_sales_id.isdigit() else after_sales_id,
            "order_sn": order_sn,
            "operate_desc": (write.reason or "同意").strip()[:200],
        }
        api = AGREE_API
        if code == RETURN_WAITING:
            api = RETURN_AGREE_API
            request["return_address_id"] = self.return_address_id
        form = self.signed(api, {"request": request})
        _, response = await self.client.send_once("POST", ROUTER, data=form)
        try:
            body = decode(response.content)
        except ValueError:
            raise PlatformError(
                f"Pinduoduo {api}: answered {response.status_code} without JSON",
                status=response.status_code,
                trouble=Trouble.ANSWER_LOST,
            ) from None
        inner = unwrap(api, body)
        result = inner.get("result") if isinstance(inner.get("result"), dict) else inner
        assert isinstance(result, dict)
        ok = result.get("succ", result.get("success", inner.get("success")))
        if ok is not True and str(ok).lower() != "true":
            raise PlatformError(
                f"Pinduoduo {api}: after-sale {after_sales_id} not agreed: "
                f"{result.get('message') or inner.get('error_msg') or 'no reason given'}",
                code=str(inner.get("error_code") or "succ=false"),
            )

    async def _after_failure(
        self, order_sn: str, after_sales_id: str, failure: PlatformError, key: str
    ) -> RefundWriteResult:
        """A failed write may still have been made: the request's status says which."""
        try:
            state = await self._refund_state(order_sn, after_sales_id)
        except ConnectorError as reread:
            failure.add_note(f"re-reading after-sale {after_sales_id} failed too: {reread}")
            raise failure from None
        if (done := self._agreed(after_sales_id, state)) is not None:
            return done
        if isinstance(failure, TransientPlatformError) or not failure.code:
            raise failure  # the gateway or the wire broke: the caller retries with ``key``
        raise WriteRefused(
            f"{failure} (write {key}; after-sale {after_sales_id} is "
            f"after_sales_status {state.get('after_sales_status')})",
            code=failure.code,
            status=failure.status,
        ) from failure


def connect(
    *, base_url: str | None, credentials: dict[str, str], **options: Any
) -> PinduoduoConnector:
    """Entry point ``aftersales.connectors: pinduoduo``; ``base_url`` defaults to PDD's."""
    missing = [k for k in ("client_id", "client_secret", "access_token") if not credentials.get(k)]
    if missing:
        raise ValueError(f"a Pinduoduo store needs {', '.join(missing)} in its credentials")
    for name in ("refresh_token", "return_address_id"):
        if credentials.get(name):
            options.setdefault(name, credentials[name].strip())
    return PinduoduoConnector(
        base_url=base_url,
        client_id=credentials["client_id"].strip(),
        client_secret=credentials["client_secret"].strip(),
        access_token=credentials["access_token"].strip(),
        **options,
    )


def normalize_base_url(text: str) -> str:
    """Scheme and host from what an owner pasted; ``/api/router`` is added by the connector."""
    text = text.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    path = parts.path.rstrip("/").removesuffix(ROUTER).rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc}{path}"


manifest = ConnectorManifest(
    platform="pinduoduo",
    label="Pinduoduo",
    factory=connect,
    credentials=(
        CredentialField("client_id", "Client ID", secret=False),
        CredentialField("client_secret", "Client secret"),
        CredentialField(
            "access_token",
            "Access token",
            help="The merchant's authorisation (access_token) for this app.",
        ),
        CredentialField(
            "refresh_token",
            "Refresh token",
            help="Lets the desk renew an expired access token by itself.",
            required=False,
        ),
        CredentialField(
            "return_address_id",
            "Return address ID",
            secret=False,
            help="Where agreed returns are sent back (the merchant's refund address id).",
            required=False,
        ),
    ),
    capabilities=CAPABILITIES,
    history_days=90,  # the increment list answers orders confirmed in the last 3 months
    base_url_label="Gateway URL",
    base_url_help="Leave empty for PDD's gateway; https://…/api/router or a host alone works.",
    normalize_base_url=normalize_base_url,
    rate_limits=RateLimits(
        note="Per shop: order increments 3000 a minute, after-sales 100 per 10 seconds; "
        "a limited call says nothing about how long to wait."
    ),
    status_labels=STATUS_LABELS,
)
