"""Douyin Shop (抖店开放平台, op.jinritemai.com): one signed gateway, the API name in the path.

Every fact here comes from ../shared/PLATFORMS-CN.md section A (SDK copies and
doc copies, never the live gateway); what it marks unconfirmed is a setting or
is accepted in both forms, and docs/platforms.md says which.

Transport. ``order.searchList`` is ``POST /order/searchList?method=order.searchList
&app_key=…&timestamp=…&v=2&sign_method=hmac-sha256&sign=…&access_token=…`` with
the business parameters (``param_json``) as the raw JSON body. ``param_json``
is canonical: keys sorted at every level, no whitespace, non-ASCII unescaped;
the sign is HMAC-SHA256 (or MD5, a setting) over
``secret + "app_key"… "method"… "param_json"… "timestamp"… "v2" + secret``,
lowercase hex. The timestamp is Unix seconds (the official SDKs) or
``yyyy-MM-dd HH:mm:ss`` in GMT+8 (the doc copy): ``timestamp_format``.

Envelope: ``{"code": 10000, "msg", "sub_code", "sub_msg", "log_id", "data"}``
(the legacy ``{"err_no": 0, "message", "data"}`` is read too), HTTP 200 either
way, so errors are read from the body:

- ``60000`` / ``isv.traffic-limited`` -> ``RateLimited``; the platform names no
  wait (no Retry-After anywhere), so the connector backs off exponentially with
  jitter and retries itself, then gives ``RateLimited`` to the caller;
- ``isv.access-token-expired`` / ``isv.access-token-no-existed`` -> the token
  is refreshed once (``token.refresh``, or ``token.create`` with
  ``authorization_self`` for a self-use app without a refresh token) and the
  call retried; a refresh the platform refuses is ``AuthFailed``;
- bad signature, app key, token, permissions, IP whitelist -> ``AuthFailed``;
- ``20000`` and ``isp.service-error*`` (系统繁忙) -> retried with backoff;
- anything else -> ``PlatformError`` whose ``code`` is the sub_code.

Streams. ``order.searchList`` (by ``update_time``) and ``afterSale.List`` (by
``update_start_time``/``update_end_time``) are asked sorted by update time
ascending and paged by seeking: after a full page the window's start moves to
the newest time seen, page 0 again, the ids already taken at that second
skipped. A record modified during the sync leaves the window (its new time is
after ``until``, fixed when the sync starts) without shifting anything we have
not read, and the next sync, starting ``overlap`` before ``until``, takes it.
Only a page that shares one second pages on by number, so the platform's
50,000 records reachable by paging (``page * size``) are approached only by
more than 50,000 records updated in one second, which no smaller window can
split: that stops with a ``PlatformError`` saying so rather than the platform's
``:20013``. Seeking is how the windows split. Windows are at most
``window`` (default 7 days) and never start more than 90 days back (the
platform's ``:20022``). ``size`` is at most 100, ``page`` counts from 0.

Cursor (JSON): ``{"since": t}`` between syncs; inside one,
``{"start", "end", "until", "page", "skip"}``.

Write-back (``decide_refund``): ``afterSale.operate`` with one item per call.
The platform documents no idempotency, so we look before we write
(``afterSale.Detail``): a request already showing our decision is
``already_done``; otherwise the ``type`` follows from its kind and stage
(``OPERATE_TYPES``) and the Detail's ``update_time`` goes with the item as the
version check, so a request the buyer changed since is refused by the platform
rather than decided blind. A failed write is followed by reading the Detail
again. Refusals need a ``reject_reason_code`` (from
``afterSale.rejectReasonCodeList``), a store setting; agreeing to a return
needs the shop's return address id (``/address/list``), a store setting too.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
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
    BadSignature,
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
    Record,
    RecordRef,
    RefundDecision,
    RefundWrite,
    RefundWriteResult,
    ReviewRecord,
    ReviewReply,
    ReviewReplyResult,
    ShipmentRecord,
    Stream,
    WebhookEvent,
    WriteRefused,
    contact_token,
    read_contact_token,
)
from connectors.http import PlatformClient
from connectors.timeutil import CHINA, iso_z, parse_utc

DEFAULT_BASE_URL = "https://openapi-fxg.jinritemai.com"
SANDBOX_BASE_URL = "https://openapi-sandbox.jinritemai.com"
SIGN_METHODS = ("hmac-sha256", "md5")
TIMESTAMP_FORMATS = ("unix", "datetime")
SUCCESS = 10000
RATE_LIMIT_CODE = 60000
MAX_PAGE_SIZE = 100
MAX_REACH = 50_000  # records reachable by paging one query (order.searchList :20013)
HISTORY = timedelta(days=90)  # order.searchList answers the last 90 days only (:20022)
SECOND = timedelta(seconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# --- status words -------------------------------------------------------------------------

ORDER_STATUS = {
    "1": OrderStatus.AWAITING_PAYMENT,  # 待确认/待支付
    "105": OrderStatus.AWAITING_SHIPMENT,  # 已支付
    "2": OrderStatus.AWAITING_SHIPMENT,  # 备货中
    "101": OrderStatus.AWAITING_SHIPMENT,  # 部分发货, as Taobao's SELLER_CONSIGNED_PART
    "3": OrderStatus.SHIPPED,  # 已发货
    "4": OrderStatus.CLOSED,  # 已取消
    "5": OrderStatus.COMPLETED,  # 已完成
}
# after_sale_status (List's aftersale_status and Detail's after_sale_status share it).
# The two sets of numbers do not overlap, so one label table names both.
AFTERSALE_STATUS = {
    "6": AfterSaleStatus.REQUESTED,  # 待商家同意 / 申请
    "7": AfterSaleStatus.WAITING_RETURN,  # 待买家退货
    "8": AfterSaleStatus.WAITING_RETURN,  # 待商家发货 (补寄/维修)
    "11": AfterSaleStatus.WAITING_RETURN,  # 待商家二次同意: the goods are back, money owed
    "12": AfterSaleStatus.REFUNDED,  # 售后成功
    "13": AfterSaleStatus.WAITING_RETURN,  # 换货/补寄/维修待买家收货
    "14": AfterSaleStatus.REFUNDED,  # 换货/补寄/维修成功
    "27": AfterSaleStatus.REJECTED,  # 商家一次拒绝
    "28": AfterSaleStatus.CANCELLED,  # 售后失败 (closed)
    "29": AfterSaleStatus.REJECTED,  # 商家二次拒绝
    "51": AfterSaleStatus.REFUNDED,  # 订单取消成功 (a refund before shipping)
    "53": AfterSaleStatus.REFUNDED,  # 逆向交易完成
}
STATUS_LABELS = {
    "1": "Waiting for the buyer to pay",
    "105": "Paid",
    "2": "Paid, being prepared for shipping",
    "101": "Partly shipped",
    "3": "Shipped",
    "4": "Order cancelled",
    "5": "Order completed",
    "6": "Waiting for the seller to agree",
    "7": "Waiting for the buyer to return the goods",
    "8": "Waiting for the seller to send the goods",
    "11": "Goods returned, waiting for the seller's second approval",
    "12": "After-sale succeeded",
    "13": "Sent again, waiting for the buyer to receive it",
    "14": "Exchange, resend or repair succeeded",
    "27": "Seller refused the request",
    "28": "After-sale failed",
    "29": "Seller refused the returned goods",
    "51": "Order cancelled and refunded",
    "53": "Reverse transaction completed",
}

# aftersale_type: the List filter's numbering, and the Detail's (PLATFORMS-CN.md A6).
# Our kinds are about money and goods: 价保 (price protection) is money only; 补寄
# (resend) and 维修 (repair) move goods, not money, like an exchange.
LIST_TYPES = {
    "0": ("退货退款", AfterSaleKind.RETURN_AND_REFUND),
    "1": ("已发货仅退款", AfterSaleKind.REFUND_ONLY),
    "2": ("未发货仅退款", AfterSaleKind.REFUND_ONLY),
    "3": ("换货", AfterSaleKind.EXCHANGE),
    "6": ("价保", AfterSaleKind.REFUND_ONLY),
    "7": ("补寄", AfterSaleKind.EXCHANGE),
    "8": ("维修", AfterSaleKind.EXCHANGE),
}
DETAIL_TYPES = {
    "0": ("退货退款", AfterSaleKind.RETURN_AND_REFUND),
    "1": ("仅退款", AfterSaleKind.REFUND_ONLY),
    "2": ("发货前退款", AfterSaleKind.REFUND_ONLY),
    "3": ("换货", AfterSaleKind.EXCHANGE),
    "4": ("系统取消", AfterSaleKind.REFUND_ONLY),
    "5": ("用户取消", AfterSaleKind.REFUND_ONLY),
    "6": ("价保", AfterSaleKind.REFUND_ONLY),
    "7": ("补寄", AfterSaleKind.EXCHANGE),
    "8": ("维修", AfterSaleKind.EXCHANGE),
}

# afterSale.operate types: (Detail type, decision, status) -> operate type.
RETURN, SHIPPED_REFUND, UNSHIPPED_REFUND, EXCHANGE = "0", "1", "2", "3"
OPERATE_TYPES: dict[tuple[str, RefundDecision], dict[str, int]] = {
    (RETURN, RefundDecision.APPROVE): {"6": 101, "27": 101, "11": 111, "29": 111},
    (RETURN, RefundDecision.REJECT): {"6": 102, "11": 112},
    (SHIPPED_REFUND, RefundDecision.APPROVE): {"6": 201, "27": 201},
    (SHIPPED_REFUND, RefundDecision.REJECT): {"6": 202},
    (UNSHIPPED_REFUND, RefundDecision.APPROVE): {"6": 401},
    (EXCHANGE, RefundDecision.APPROVE): {"6": 301, "27": 301},
    (EXCHANGE, RefundDecision.REJECT): {"6": 302, "11": 312},
}
NEEDS_ADDRESS = frozenset({101, 301})
REJECTS = frozenset({102, 112, 202, 302, 312})
# Statuses that already carry a decision. 7 (waiting for the return) is the platform's
# own "the seller agreed" for a return, as Taobao's WAIT_BUYER_RETURN_GOODS.
DECIDED = {
    RefundDecision.APPROVE: frozenset({"7", "12", "13", "14", "51", "53"}),
    RefundDecision.REJECT: frozenset({"27", "29"}),
}
CLOSED = frozenset({"28"})

# --- error codes (PLATFORMS-CN.md A3) -------------------------------------------------------

TOKEN_EXPIRED = frozenset({"isv.access-token-expired", "isv.access-token-no-existed"})
AUTH_CODES = frozenset({30001, 30002})
AUTH_SUB_CODES = frozenset(
    {
        "isv.signature-invalid",
        "isv.signature-missing",
        "isv.app-id-invalid",
        "isv.app-id-missing",
        "isv.access-token-invalid",
        "isv.access-token-missing",
        "isv.app-permissions-insufficient",
        "dop.authorization-no-existed",
        "dop.authorization-closed",
    }
)


class TransientPlatformError(PlatformError):
    """The platform's own back end failed (``20000``, ``isp.service-error``): retry."""


class TokenExpired(AuthFailed):
    """The access token is out of date: refresh it once, then retry the call."""


# --- signing and time ---------------------------------------------------------------------


def canonical_json(params: Any) -> str:
    """``param_json`` as the platform signs it: keys sorted at every level (objects in
    arrays too), no whitespace, non-ASCII left as it is. No params is ``{}``."""
    return json.dumps(
        params if params is not None else {},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def sign(
    *,
    app_key: str,
    app_secret: str,
    method: str,
    param_json: str,
    timestamp: str,
    sign_method: str = "hmac-sha256",
) -> str:
    """The request's ``sign``: the five pairs in their fixed order, wrapped in the secret."""
    text = (
        f"{app_secret}app_key{app_key}method{method}param_json{param_json}"
        f"timestamp{timestamp}v2{app_secret}"
    ).encode()
    if sign_method == "hmac-sha256":
        return hmac.new(app_secret.encode(), text, hashlib.sha256).hexdigest()
    if sign_method == "md5":
        return hashlib.md5(text).hexdigest()
    raise ValueError(f"unknown Douyin sign_method {sign_method!r}; use one of {SIGN_METHODS}")


def path_of(method: str) -> str:
    """``order.searchList`` -> ``/order/searchList``."""
    return "/" + method.replace(".", "/")


def unix(value: datetime) -> int:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (aware - EPOCH) // SECOND


def from_unix(value: Any) -> datetime | None:
    """Unix seconds (a number or its digits) as aware UTC; 0 and empty are no time."""
    if value in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(value), UTC)


def required_unix(value: Any) -> datetime:
    parsed = from_unix(value)
    if parsed is None:
        raise ValueError("a required time is missing")
    return parsed


def fen_to_yuan(value: Any, record_id: str) -> Decimal:
    """An amount in fen (分, an integer) as yuan, exactly; anything else is ``BadPayload``."""
    if isinstance(value, bool) or value in (None, ""):
        if value in (None, ""):
            return Decimal("0.00")
        raise BadPayload(f"not an amount in fen: {value!r}", record_id=record_id)
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or len(text) > 16:
        raise BadPayload(f"not an amount in fen: {text[:40]!r}", record_id=record_id)
    return (Decimal(int(text)) / 100).quantize(Decimal("0.01"))


def to_fen(amount: Decimal) -> int:
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen)


# --- errors -------------------------------------------------------------------------------


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def douyin_error(method: str, body: Mapping[str, Any]) -> ConnectorError:
    """One error envelope (current or legacy) as the typed errors of ``connectors.base``."""
    code = _code(body.get("code"))
    if code is None:
        code = _code(body.get("err_no"))
    sub_code = str(body.get("sub_code") or "")
    msg = str(body.get("msg") or body.get("message") or "")
    sub_msg = str(body.get("sub_msg") or "")
    text = f"Douyin {method}: {code} {msg}".rstrip()
    if sub_code or sub_msg:
        text += f" [{sub_code}] {sub_msg}".rstrip()
    if log_id := body.get("log_id"):
        text += f" (log_id {log_id})"
    if code == RATE_LIMIT_CODE or sub_code == "isv.traffic-limited":
        # No wait is named anywhere (PLATFORMS-CN.md A3): the caller backs off.
        return RateLimited(text, retry_after=0.0)
    if sub_code in TOKEN_EXPIRED:
        return TokenExpired(text)
    if code in AUTH_CODES or sub_code in AUTH_SUB_CODES:
        return AuthFailed(text)
    if code == 20000 or sub_code.startswith(("isp.service-error", "dop.service-error")):
        return TransientPlatformError(text, code=sub_code or str(code))
    return PlatformError(text, code=sub_code or str(code))


def unwrap(method: str, body: Any, status: int | None = None) -> dict[str, Any]:
    """``data`` of a success envelope, or the typed error the envelope holds."""
    if not isinstance(body, dict):
        raise PlatformError(f"Douyin {method}: unexpected answer: {str(body)[:200]}", status=status)
    code = _code(body.get("code"))
    ok = code == SUCCESS if code is not None else _code(body.get("err_no")) == 0
    if not ok:
        if code is None and "err_no" not in body:
            raise PlatformError(
                f"Douyin {method}: no code in the answer: {str(body)[:200]}", status=status
            )
        raise douyin_error(method, body)
    data = body.get("data")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PlatformError(f"Douyin {method}: data is not an object", status=status)
    return data


# --- mapping ------------------------------------------------------------------------------


def _region(addr: Any) -> str:
    """``post_addr`` without its ``detail``: province to street, never encrypted."""
    if not isinstance(addr, dict):
        return ""
    parts = []
    for name in ("province", "city", "town", "street"):
        part = addr.get(name)
        if isinstance(part, dict):
            part = part.get("name")
        if part:
            parts.append(str(part))
    return "".join(parts)


def _address(addr: Any) -> str | None:
    """``post_addr`` as one line; a street is ``{name, id}``, the rest plain text."""
    if not isinstance(addr, dict):
        return None
    return _region(addr) + str(addr.get("detail") or "") or None


def cipher_token(order_id: str, cipher_text: str, region: str = "") -> str:
    """What the desk keeps for one encrypted field: ``order.batchDecrypt`` needs the
    order as ``auth_id`` beside the ciphertext, and an address's ciphertext is its
    ``detail`` only, so the region (shown masked to everyone anyway) goes with it."""
    token: dict[str, str] = {"auth_id": order_id, "cipher_text": cipher_text}
    if region:
        token["region"] = region
    return contact_token(token)


def _ciphertext(order_id: str, payload: Mapping[str, Any]) -> dict[str, str]:
    """The ``encrypt_*`` values of one order as ``BuyerRecord.contact_ciphertext``."""
    addr = payload.get("post_addr")
    detail = addr.get("encrypt_detail") if isinstance(addr, dict) else None
    found = {
        "name": (payload.get("encrypt_post_receiver"), ""),
        "phone": (payload.get("encrypt_post_tel"), ""),
        "address": (detail, _region(payload.get("mask_post_addr") or addr)),
    }
    return {
        name: cipher_token(order_id, str(cipher), region)
        for name, (cipher, region) in found.items()
        if cipher and isinstance(cipher, str)
    }


def parse_order(payload: Mapping[str, Any]) -> OrderRecord:
    """One shop order (店铺单) from ``order.searchList`` with its sku orders.

    Buyer contact details are the platform's masked values (``mask_*``); the
    ciphertext (``encrypt_*``) goes along for ``decrypt_contact``, never decrypted
    here (see docs/platforms.md). ``post_receiver``, ``post_tel`` and
    ``post_addr.detail`` are never read: plaintext, where a gateway still sends it,
    must not reach the desk's database.
    """
    record_id = str(payload.get("order_id") or "?")
    try:
        word = str(payload["order_status"])
        if word not in ORDER_STATUS:
            raise BadPayload(f"order {record_id}: unknown status {word!r}", record_id=record_id)
        paid_at = from_unix(payload.get("pay_time"))
        pay_amount = fen_to_yuan(payload.get("pay_amount"), record_id)
        items = []
        for line in payload.get("sku_order_list") or []:
            spec = line.get("spec") or []
            sku = ";".join(
                f"{s.get('name')}:{s.get('value')}" for s in spec if isinstance(s, dict)
            ) or (str(line["code"]) if line.get("code") else None)
            items.append(
                OrderItemRecord(
                    platform_item_id=str(line["order_id"]),
                    title=str(line["product_name"]),
                    sku=sku or None,
                    quantity=int(line["item_num"]),
                    unit_price=fen_to_yuan(line.get("origin_amount"), record_id),
                    amount=fen_to_yuan(line.get("pay_amount"), record_id),
                )
            )
        buyer_id = str(payload.get("doudian_open_id") or "")
        if not buyer_id:
            raise ValueError("no doudian_open_id")
        addr = payload.get("mask_post_addr")
        if not isinstance(addr, dict):  # the region only: its detail may be plaintext
            raw = payload.get("post_addr")
            addr = {**raw, "detail": ""} if isinstance(raw, dict) else None
        return OrderRecord(
            platform_order_id=record_id,
            status=ORDER_STATUS[word],
            platform_status=word,
            buyer=BuyerRecord(
                platform_buyer_id=buyer_id,
                nick=str(payload.get("mask_post_receiver") or buyer_id),
                name=payload.get("mask_post_receiver") or None,
                phone=payload.get("mask_post_tel") or None,
                address=_address(addr),
                contact_ciphertext=_ciphertext(record_id, payload),
            ),
            currency="CNY",
            total_amount=pay_amount,
            paid_amount=pay_amount if paid_at else Decimal("0.00"),
            created_at=required_unix(payload["create_time"]),
            paid_at=paid_at,
            shipped_at=from_unix(payload.get("ship_time")),
            updated_at=required_unix(payload["update_time"]),
            items=items,
            shipments=_shipments(payload),
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"order {record_id}: {exc!r}", record_id=record_id) from None


def _shipments(payload: Mapping[str, Any]) -> list[ShipmentRecord]:
    parcels: dict[str, ShipmentRecord] = {}
    for parcel in payload.get("logistics_info") or []:
        number = str(parcel.get("tracking_no") or "").strip()
        if number and number not in parcels:
            parcels[number] = ShipmentRecord(
                carrier=str(parcel.get("company_name") or parcel.get("company") or ""),
                tracking_no=number,
                shipped_at=from_unix(parcel.get("ship_time")),
            )
    return list(parcels.values())


def parse_aftersale(item: Mapping[str, Any]) -> AfterSaleRecord:
    """One ``afterSale.List`` item (``aftersale_info`` + ``order_info``), List numbering."""
    info = item.get("aftersale_info") or {}
    order = item.get("order_info") or {}
    record_id = str(info.get("aftersale_id") or "?")
    try:
        kind_word = str(info["aftersale_type"])
        if kind_word not in LIST_TYPES:
            raise BadPayload(
                f"after-sale {record_id}: unknown type {kind_word!r}", record_id=record_id
            )
        status = str(info["aftersale_status"])
        related = order.get("related_order_info") or []
        item_id = info.get("related_id") or (related[0].get("sku_order_id") if related else None)
        text_part = item.get("text_part") or {}
        return AfterSaleRecord(
            platform_refund_id=record_id,
            platform_order_id=str(order["shop_order_id"]),
            platform_item_id=str(item_id) if item_id else None,
            kind=LIST_TYPES[kind_word][1],
            status=AFTERSALE_STATUS.get(status, AfterSaleStatus.UNKNOWN),
            platform_status=status,
            currency="CNY",
            requested_amount=fen_to_yuan(info.get("refund_amount"), record_id),
            reason=text_part.get("reason_text") or None,
            buyer_text=info.get("buyer_text") or None,
            created_at=required_unix(info["apply_time"]),
            updated_at=required_unix(info["update_time"]),
            platform_deadline=from_unix(info.get("status_deadline")),
            return_carrier=info.get("return_logistics_company_name") or None,
            return_tracking_no=info.get("return_logistics_code") or None,
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"after-sale {record_id}: {exc!r}", record_id=record_id) from None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_aftersale_detail(data: Mapping[str, Any], asked: str) -> AfterSaleRecord:
    """One ``afterSale.Detail`` answer as the same record ``afterSale.List`` gives.

    The Detail numbers types its own way (``DETAIL_TYPES``); statuses share one
    table. ``refund_total_amount`` is read as the List's ``refund_amount``, as
    the write-back's check already does; the sku order is the first of
    ``order_info.sku_order_infos``; the return parcel is ``logistics_info.return``.
    """
    process = _mapping(data.get("process_info"))
    info = _mapping(process.get("after_sale_info"))
    order = _mapping(data.get("order_info"))
    record_id = str(info.get("after_sale_id") or asked)
    if not info:
        raise PlatformError(f"Douyin afterSale.Detail: no after-sale {asked}")
    try:
        kind_word = str(info["after_sale_type"])
        if kind_word not in DETAIL_TYPES:
            raise BadPayload(
                f"after-sale {record_id}: unknown Detail type {kind_word!r}", record_id=record_id
            )
        status = str(info["after_sale_status"])
        skus = [s for s in order.get("sku_order_infos") or [] if isinstance(s, dict)]
        item_id = skus[0].get("sku_order_id") if skus else None
        parcel = _mapping(_mapping(process.get("logistics_info")).get("return"))
        return AfterSaleRecord(
            platform_refund_id=record_id,
            platform_order_id=str(order["shop_order_id"]),
            platform_item_id=str(item_id) if item_id else None,
            kind=DETAIL_TYPES[kind_word][1],
            status=AFTERSALE_STATUS.get(status, AfterSaleStatus.UNKNOWN),
            platform_status=status,
            currency="CNY",
            requested_amount=fen_to_yuan(info.get("refund_total_amount"), record_id),
            reason=info.get("reason") or None,
            buyer_text=info.get("reason_remark") or None,
            created_at=required_unix(info["apply_time"]),
            updated_at=required_unix(info["update_time"]),
            platform_deadline=from_unix(info.get("status_deadline")),
            return_carrier=parcel.get("company_name") or None,
            return_tracking_no=parcel.get("tracking_no") or None,
        )
    except BadPayload:
        raise
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise BadPayload(f"after-sale {record_id}: {exc!r}", record_id=record_id) from None


def detail_kind(info: Mapping[str, Any]) -> AfterSaleKind:
    """The Detail's ``after_sale_type`` (its own numbering) as our kind."""
    word = str(info.get("after_sale_type"))
    if word not in DETAIL_TYPES:
        raise BadPayload(f"after-sale: unknown Detail type {word!r}")
    return DETAIL_TYPES[word][1]


def _decrypted(row: Mapping[str, Any] | None, region: str) -> Decrypted:
    """One ``decrypt_infos`` item as a result; a missing item is a refusal too."""
    if row is None:
        return Decrypted(error="Douyin order.batchDecrypt: no answer for this value")
    err_no = _code(row.get("err_no")) or 0
    if err_no:
        reason = str(row.get("err_msg") or "")[:200]
        return Decrypted(error=f"Douyin order.batchDecrypt: {err_no} {reason}".rstrip())
    if row.get("is_virtual_tel") and row.get("phone_no_a"):
        return Decrypted(
            text=str(row["phone_no_a"]),
            virtual=True,
            extension=str(row.get("phone_no_b") or "") or None,
        )
    text = str(row.get("decrypt_text") or "")
    if not text:
        return Decrypted(error="Douyin order.batchDecrypt: an empty value")
    # The address's ciphertext is its detail only [unconfirmed]: a text that already
    # starts with the region is taken as the whole address.
    return Decrypted(text=text if text.startswith(region) else region + text)


# --- windows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """How one list API is windowed and paged (both sort by update time ascending)."""

    method: str
    start_param: str
    end_param: str
    rows: Callable[[Mapping[str, Any]], list[dict[str, Any]]]
    row_id: Callable[[Mapping[str, Any]], str]
    row_time: Callable[[Mapping[str, Any]], Any]
    order: dict[str, Any]
    reach: timedelta | None


def _rows(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    rows = data.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise PlatformError(f"Douyin: {key} is not a list")
    return [row for row in rows if isinstance(row, dict)]


def _aftersale_info(row: Mapping[str, Any]) -> Mapping[str, Any]:
    info = row.get("aftersale_info")
    return info if isinstance(info, dict) else {}


ORDERS = Listing(
    method="order.searchList",
    start_param="update_time_start",
    end_param="update_time_end",
    rows=lambda data: _rows(data, "shop_order_list"),
    row_id=lambda row: str(row.get("order_id")),
    row_time=lambda row: row.get("update_time"),
    order={"order_by": "update_time", "order_asc": True},
    reach=HISTORY - timedelta(hours=1),  # an hour of margin against our clock running ahead
)
AFTER_SALES = Listing(
    method="afterSale.List",
    start_param="update_start_time",
    end_param="update_end_time",
    rows=lambda data: _rows(data, "items"),
    row_id=lambda row: str(_aftersale_info(row).get("aftersale_id")),
    row_time=lambda row: _aftersale_info(row).get("update_time"),
    order={"order_by": ["update_time asc"]},
    reach=None,  # [unconfirmed]; the same 90 days are assumed
)


@dataclass
class Window:
    """Rows kept are ``start <= t <= end`` (whole seconds); ``skip`` are ids at ``start``."""

    start: datetime
    end: datetime
    until: datetime
    page: int = 0
    skip: list[str] = field(default_factory=list)

    def to_cursor(self) -> str:
        state = asdict(self)
        for name in ("start", "end", "until"):
            state[name] = iso_z(state[name])
        return json.dumps(state, separators=(",", ":"))

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Window:
        times = {name: parse_utc(state[name]) for name in ("start", "end", "until")}
        return cls(
            **times,  # type: ignore[arg-type]
            page=int(state.get("page", 0)),
            skip=[str(i) for i in state.get("skip", [])],
        )


def _row_second(spec: Listing, row: Mapping[str, Any]) -> datetime | None:
    try:
        return from_unix(spec.row_time(row))
    except (TypeError, ValueError):
        return None  # the parser reports the row as BadPayload


# What the desk may ask of this platform. No reviews: Douyin switched its review API off
# (70000 isp.comment-service-off); no refund the shop starts itself.
CAPABILITIES = Capabilities(
    orders=True,
    after_sales=True,
    reviews=False,
    decide_refund=True,
    reply_review=False,
    decrypt_contact=True,
)
MAX_DECRYPT = 50  # cipher_infos per order.batchDecrypt call

TokenSaver = Callable[[dict[str, Any]], Any]  # may be async (the desk saves to the db)


class DouyinConnector:
    platform = "douyin"
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        access_token: str = "",
        refresh_token: str = "",
        shop_id: str = "",
        base_url: str | None = None,
        sign_method: str = "hmac-sha256",
        timestamp_format: str = "unix",
        page_size: int = MAX_PAGE_SIZE,
        max_reach: int = MAX_REACH,
        window: timedelta = timedelta(days=7),
        overlap: timedelta = timedelta(minutes=10),
        rate_attempts: int = 6,
        reject_reason_code: int | None = None,
        return_address_id: str = "",
        on_tokens: TokenSaver | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **client_options: Any,
    ) -> None:
        """``on_tokens`` receives the new tokens after a refresh (``access_token``,
        ``refresh_token``, ``expires_in``) so the store can keep them; without it they
        live as long as this connector. ``reject_reason_code`` is sent with every
        refusal; ``return_address_id`` with every agreed return or exchange."""
        if sign_method not in SIGN_METHODS:
            raise ValueError(f"unknown Douyin sign_method {sign_method!r}; use {SIGN_METHODS}")
        if timestamp_format not in TIMESTAMP_FORMATS:
            raise ValueError(f"unknown timestamp_format {timestamp_format!r}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1-{MAX_PAGE_SIZE}")
        if not SECOND * 2 <= window <= HISTORY:
            raise ValueError("window must be between 2 seconds and 90 days")
        self.client = PlatformClient((base_url or DEFAULT_BASE_URL).rstrip("/"), **client_options)
        self.app_key = app_key
        self.app_secret = app_secret
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.shop_id = shop_id
        self.sign_method = sign_method
        self.timestamp_format = timestamp_format
        self.page_size = page_size
        self.max_reach = max_reach
        self.window = window
        self.overlap = overlap
        self.rate_attempts = rate_attempts
        self.reject_reason_code = reject_reason_code
        self.return_address_id = return_address_id
        self.on_tokens = on_tokens
        self.now = now

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- one call ---------------------------------------------------------------------------

    def timestamp(self) -> str:
        now = self.now()
        if self.timestamp_format == "unix":
            return str(unix(now))
        return now.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")

    def signed(self, method: str, params: Mapping[str, Any] | None) -> tuple[dict[str, str], str]:
        """The query (system parameters with the sign) and the body (``param_json``)."""
        body = canonical_json(params or {})
        timestamp = self.timestamp()
        query = {
            "app_key": self.app_key,
            "method": method,
            "timestamp": timestamp,
            "v": "2",
            "sign_method": self.sign_method,
            "sign": sign(
                app_key=self.app_key,
                app_secret=self.app_secret,
                method=method,
                param_json=body,
                timestamp=timestamp,
                sign_method=self.sign_method,
            ),
        }
        if not method.startswith("token."):
            query["access_token"] = self.access_token
        return query, body

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.client.backoff_cap, self.client.backoff_base * 2**attempt)
        return self.client.rng.uniform(ceiling / 2, ceiling)

    async def _once(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        query, body = self.signed(method, params)
        answer, response = await self.client.json(
            "POST",
            path_of(method),
            params=query,
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        return unwrap(method, answer, response.status_code)

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One call, signed afresh on every attempt: rate limits and 系统繁忙 backed off
        and retried, an expired token refreshed once."""
        if not method.startswith("token.") and not self.access_token:
            await self.refresh()
        refreshed = False
        last: ConnectorError | None = None
        attempts = max(self.client.max_attempts, self.rate_attempts)
        for attempt in range(attempts):
            try:
                return await self._once(method, params)
            except TokenExpired as exc:
                if refreshed or method.startswith("token."):
                    raise AuthFailed(
                        f"{exc}; the refreshed token was refused too: authorise the app "
                        "for this shop again in the Douyin service market"
                    ) from None
                await self.refresh()
                refreshed = True
                continue
            except (RateLimited, TransientPlatformError) as exc:
                last = exc
            self.client.retries += 1
            await self.client.sleep(self._backoff(attempt))
        assert last is not None
        if isinstance(last, RateLimited):
            last.retry_after = self.client.backoff_cap
        raise last

    # --- tokens ---------------------------------------------------------------------------

    async def refresh(self) -> None:
        """New tokens: ``token.refresh`` with the refresh token, and for a self-use app
        (a shop id) ``token.create`` with ``authorization_self`` when there is no refresh
        token or it was refused (another process of ours may have renewed the tokens
        meanwhile). A refusal is ``AuthFailed``: only authorising the app again helps."""
        attempts: list[tuple[str, dict[str, Any]]] = []
        if self.refresh_token:
            attempts.append(
                (
                    "token.refresh",
                    {"grant_type": "refresh_token", "refresh_token": self.refresh_token},
                )
            )
        if self.shop_id:
            attempts.append(
                (
                    "token.create",
                    {"grant_type": "authorization_self", "code": "", "shop_id": self.shop_id},
                )
            )
        if not attempts:
            raise AuthFailed(
                "Douyin: no access token, refresh token or shop id: connect the store again"
            )
        refused: list[str] = []
        for method, params in attempts:
            try:
                data = await self._once(method, params)
            except TransientPlatformError:
                raise
            except (PlatformError, AuthFailed) as exc:
                refused.append(str(exc))
                continue
            token = str(data.get("access_token") or "")
            if not token:
                refused.append(f"Douyin {method}: the answer has no access_token")
                continue
            self.access_token = token
            self.refresh_token = str(data.get("refresh_token") or self.refresh_token)
            if self.on_tokens is not None:
                kept = self.on_tokens(
                    {
                        "access_token": self.access_token,
                        "refresh_token": self.refresh_token,
                    }
                )
                if inspect.isawaitable(kept):
                    await kept
            return
        raise AuthFailed(
            f"Douyin refused to renew the store's token ({'; '.join(refused)}); authorise "
            "the app for this shop again and paste the new tokens"
        )

    # --- windows ----------------------------------------------------------------------------

    def _first_window(self, start: datetime, until: datetime) -> Window:
        return Window(start=start, end=min(start + self.window, until), until=until)

    async def _listing(
        self, spec: Listing, cursor: str | None, since: datetime | None
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Rows of ``spec`` window by window, each with the cursor to resume after it."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        if "until" in state:
            window = Window.from_state(state)
        else:
            until = self.now().astimezone(UTC).replace(microsecond=0)
            reach = spec.reach or ORDERS.reach or HISTORY
            if "since" in state:
                start = parse_utc(state["since"]) or until - reach
            elif since is not None:
                start = since.astimezone(UTC).replace(microsecond=0)
            else:
                start = until - reach
            start = max(start, until - reach)
            if start >= until:
                yield [], json.dumps({"since": iso_z(start)})
                return
            window = self._first_window(start, until)
        while True:
            if (window.page + 1) * self.page_size > self.max_reach:
                # Thousands of records sharing one second: nothing more can be reached.
                raise PlatformError(
                    f"Douyin {spec.method}: more than {self.max_reach} records updated at "
                    f"{iso_z(window.start)}; the platform pages no further"
                )
            data = await self.call(
                spec.method,
                {
                    # One second wider than kept: inclusive or not, a boundary row is kept once.
                    spec.start_param: unix(window.start - SECOND),
                    spec.end_param: unix(window.end + SECOND),
                    "page": window.page,
                    "size": self.page_size,
                    **spec.order,
                },
            )
            rows = spec.rows(data)
            times = [_row_second(spec, row) for row in rows]
            kept = [
                row
                for row, at in zip(rows, times, strict=True)
                if at is None
                or (window.start <= at <= window.end and spec.row_id(row) not in window.skip)
            ]
            if self._has_more(data, window.page, len(rows)):
                window = self._next_page(spec, window, rows, times)
                yield kept, window.to_cursor()
            elif window.end >= window.until:
                yield kept, json.dumps({"since": iso_z(window.until - self.overlap)})
                return
            else:
                window = self._first_window(window.end + SECOND, window.until)
                yield kept, window.to_cursor()

    def _has_more(self, data: Mapping[str, Any], page: int, rows: int) -> bool:
        """``has_more`` where the API gives it (afterSale.List), else ``total`` (searchList)."""
        if "has_more" in data:
            return bool(data["has_more"])
        if "total" in data:
            return (page + 1) * self.page_size < int(data["total"])
        return rows >= self.page_size

    @staticmethod
    def _next_page(
        spec: Listing, window: Window, rows: list[dict[str, Any]], times: list[datetime | None]
    ) -> Window:
        """After a full page: seek to the newest second seen, or page on inside one second."""
        known = [at for at in times if at is not None]
        ascending = all(a <= b for a, b in pairwise(known))
        if not known or not ascending:
            return Window(window.start, window.end, window.until, window.page + 1, window.skip)
        newest = known[-1]
        at_newest = [spec.row_id(row) for row, at in zip(rows, times, strict=True) if at == newest]
        if newest > window.start:
            return Window(newest, window.end, window.until, 0, at_newest)
        # The whole page shares the window's first second: page through that second.
        return Window(
            window.start,
            window.end,
            window.until,
            window.page + 1,
            sorted({*window.skip, *at_newest}),
        )

    # --- streams --------------------------------------------------------------------------

    async def orders(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[OrderRecord]]:
        """Shop orders updated since ``since`` (default: as far back as the platform answers)."""
        async for rows, next_cursor in self._listing(ORDERS, cursor, since):
            page: Page[OrderRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_order(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def after_sales(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[AfterSaleRecord]]:
        """After-sale requests of every type, updated since ``since``."""
        async for rows, next_cursor in self._listing(AFTER_SALES, cursor, since):
            page: Page[AfterSaleRecord] = Page(records=[], cursor=next_cursor)
            for row in rows:
                try:
                    page.records.append(parse_aftersale(row))
                except BadPayload as exc:
                    page.errors.append(exc)
            yield page

    async def reviews(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[ReviewRecord]]:
        """None: the platform switched its review API off (``isp.comment-service-off``)."""
        yield Page(records=[], cursor=cursor)

    async def order(self, platform_order_id: str) -> OrderRecord:
        data = await self.call("order.orderDetail", {"shop_order_id": platform_order_id})
        detail = data.get("shop_order_detail")
        if not isinstance(detail, dict):
            raise PlatformError(f"Douyin order.orderDetail: no order {platform_order_id}")
        return parse_order(detail)

    async def after_sale(self, platform_refund_id: str) -> AfterSaleRecord:
        """One request by its id (``afterSale.Detail``), for a push that names it."""
        data = await self.call("afterSale.Detail", {"after_sale_id": platform_refund_id})
        return parse_aftersale_detail(data, platform_refund_id)

    async def check(self) -> None:
        """A cheap call that needs the token, for "test connection"."""
        now = self.now()
        await self.call(
            "order.searchList",
            {
                "update_time_start": unix(now - SECOND * 60),
                "update_time_end": unix(now),
                "page": 0,
                "size": 1,
            },
        )

    async def reply_review(self, reply: ReviewReply, *, idempotency_key: str) -> ReviewReplyResult:
        raise WriteRefused("Douyin has no review API (switched off by the platform)")

    # --- contact details, decrypted on demand ---------------------------------------------

    async def decrypt_contact(self, ciphertexts: Sequence[str]) -> list[Decrypted]:
        """``order.batchDecrypt``, at most ``MAX_DECRYPT`` values per call.

        Each value is a ``cipher_token``. An item with a non-zero ``err_no`` is
        that value's ``error``; a virtual phone number (``is_virtual_tel``) is its
        main number with the extension apart (``phone_no_a``/``phone_no_b``). No
        error raised here carries an answer's text: it may hold plaintext.
        """
        tokens = [read_contact_token(t, ("auth_id", "cipher_text"), "Douyin") for t in ciphertexts]
        wanted = list(dict.fromkeys((t["auth_id"], t["cipher_text"]) for t in tokens))
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(wanted), MAX_DECRYPT):
            batch = wanted[start : start + MAX_DECRYPT]
            infos = [{"auth_id": a, "cipher_text": c} for a, c in batch]
            try:
                data = await self.call("order.batchDecrypt", {"cipher_infos": infos})
            except PlatformError as exc:
                if exc.code:  # the platform's own refusal: its words carry no plaintext
                    raise
                raise PlatformError(
                    "Douyin order.batchDecrypt: an answer the desk cannot read",
                    status=exc.status,
                    trouble=exc.trouble,
                ) from None
            for row in _rows(data, "decrypt_infos"):
                found[(str(row.get("auth_id")), str(row.get("cipher_text")))] = row
        return [
            _decrypted(found.get((t["auth_id"], t["cipher_text"])), t.get("region", ""))
            for t in tokens
        ]

    # --- refund write-back ----------------------------------------------------------------

    async def _detail(self, aftersale_id: str) -> dict[str, Any]:
        """The request as the platform has it now: the only record of our earlier writes."""
        data = await self.call("afterSale.Detail", {"after_sale_id": aftersale_id})
        process = data.get("process_info")
        info = process.get("after_sale_info") if isinstance(process, dict) else None
        if not isinstance(info, dict):
            raise PlatformError(f"Douyin afterSale.Detail: no after-sale {aftersale_id}")
        return info

    @staticmethod
    def _decided(
        write: RefundWrite, aftersale_id: str, info: Mapping[str, Any]
    ) -> RefundWriteResult | None:
        status = str(info.get("after_sale_status"))
        if status in DECIDED[write.decision]:
            return RefundWriteResult(
                platform_refund_id=aftersale_id,
                status=AFTERSALE_STATUS.get(status, AfterSaleStatus.UNKNOWN),
                platform_status=status,
                already_done=True,
            )
        if status in CLOSED:
            raise WriteRefused(f"Douyin after-sale {aftersale_id} is closed (status {status})")
        return None

    def _operate_type(self, write: RefundWrite, aftersale_id: str, info: Mapping[str, Any]) -> int:
        """The ``afterSale.operate`` type for this kind and stage, or ``WriteRefused``."""
        kind_word = str(info.get("after_sale_type"))
        status = str(info.get("after_sale_status"))
        name = DETAIL_TYPES.get(kind_word, (kind_word, None))[0]
        if kind_word == UNSHIPPED_REFUND and write.decision is RefundDecision.REJECT:
            raise WriteRefused(
                f"Douyin after-sale {aftersale_id} ({name}): a refund before shipping is "
                "refused by shipping the order, not through the API"
            )
        found = OPERATE_TYPES.get((kind_word, write.decision), {}).get(status)
        if found is None:
            raise WriteRefused(
                f"Douyin after-sale {aftersale_id} ({name}, status {status}) cannot be "
                f"{write.decision.value}d through the API; decide it in the Douyin back office"
            )
        if found in NEEDS_ADDRESS and not self.return_address_id:
            raise WriteRefused(
                f"Douyin after-sale {aftersale_id}: agreeing to a return needs the shop's "
                "return address id in the store settings"
            )
        if found in REJECTS and self.reject_reason_code is None:
            raise WriteRefused(
                f"Douyin after-sale {aftersale_id}: a refusal needs a reject reason code "
                "in the store settings"
            )
        return found

    def _checked(self, write: RefundWrite, info: Mapping[str, Any], aftersale_id: str) -> None:
        if write.decision is RefundDecision.APPROVE:
            asked = fen_to_yuan(info.get("refund_total_amount"), aftersale_id)
            if detail_kind(info) is not AfterSaleKind.EXCHANGE and write.amount != asked:
                raise WriteRefused(
                    f"Douyin after-sale {aftersale_id}: the platform refunds what the buyer "
                    f"asked ({asked}), not {write.amount}"
                )
        elif not write.reason.strip():
            raise WriteRefused(f"Douyin after-sale {aftersale_id}: a refusal needs a reason")
        updated = from_unix(info.get("update_time"))
        if write.platform_version is not None and updated is not None:
            seen = write.platform_version
            seen = (seen if seen.tzinfo else seen.replace(tzinfo=UTC)).replace(microsecond=0)
            if updated > seen:
                raise WriteRefused(
                    f"Douyin after-sale {aftersale_id} changed at {iso_z(updated)}, after the "
                    f"decision was taken on its {iso_z(seen)} state; decide again"
                )

    async def decide_refund(self, write: RefundWrite, *, idempotency_key: str) -> RefundWriteResult:
        """Agree or refuse one after-sale request, at most once however often retried."""
        aftersale_id = (write.platform_refund_id or "").strip()
        if not aftersale_id:
            raise WriteRefused("Douyin refunds are decided on the buyer's request only")
        if write.currency != "CNY":
            raise WriteRefused(f"Douyin refunds are in CNY, not {write.currency}")
        before = await self._detail(aftersale_id)
        if (done := self._decided(write, aftersale_id, before)) is not None:
            return done
        try:
            self._checked(write, before, aftersale_id)
        except BadPayload as exc:
            raise WriteRefused(str(exc)) from None
        kind = self._operate_type(write, aftersale_id, before)
        item: dict[str, Any] = {
            "aftersale_id": aftersale_id,
            "update_time": int(before.get("update_time") or 0),
        }
        if kind in REJECTS:
            item |= {
                "reason": write.reason.strip(),
                "remark": write.reason.strip(),
                "reject_reason_code": self.reject_reason_code,
            }
        if kind in NEEDS_ADDRESS:
            item["logistics"] = {"receiver_address_id": self.return_address_id}
        try:
            data = await self.call("afterSale.operate", {"type": kind, "items": [item]})
            rows = _rows(data, "items")
            mine = [r for r in rows if str(r.get("aftersale_id")) == aftersale_id]
            if mine and _code(mine[0].get("status_code")) not in (0, None):
                raise PlatformError(
                    f"Douyin afterSale.operate {kind}: {aftersale_id} not done: "
                    f"{mine[0].get('status_msg')}",
                    code=str(mine[0].get("status_code")),
                )
        except PlatformError as failure:
            return await self._after_failure(write, aftersale_id, failure, idempotency_key)
        try:
            after = str((await self._detail(aftersale_id)).get("after_sale_status"))
        except ConnectorError:
            after = ""  # the write is made; not knowing the new word is no failure
        if after not in DECIDED[write.decision]:
            after = {101: "7", 301: "7", 401: "12", 201: "12", 111: "12"}.get(kind, "27")
        return RefundWriteResult(
            platform_refund_id=aftersale_id,
            status=AFTERSALE_STATUS.get(after, AfterSaleStatus.UNKNOWN),
            platform_status=after,
        )

    async def _after_failure(
        self, write: RefundWrite, aftersale_id: str, failure: PlatformError, key: str
    ) -> RefundWriteResult:
        """A failed write may still have been made: the request's status says which."""
        try:
            state = await self._detail(aftersale_id)
        except ConnectorError as reread:
            failure.add_note(f"re-reading after-sale {aftersale_id} failed too: {reread}")
            raise failure from None
        if (done := self._decided(write, aftersale_id, state)) is not None:
            return done
        if isinstance(failure, TransientPlatformError) or not failure.code:
            raise failure  # the gateway or the wire broke: the caller retries with ``key``
        raise WriteRefused(
            f"{failure} (write {key}; after-sale {aftersale_id} is status "
            f"{state.get('after_sale_status')})",
            code=failure.code,
            status=failure.status,
        ) from failure


# --- push messages (消息推送, PLATFORMS-CN.md A8) ------------------------------------------

ORDER_TAGS = frozenset(
    {"100", "101", "102", "103", "104", "105", "106", "108", "109", "110", "111", "113", "126"}
)
AFTER_SALE_TAGS = frozenset({str(t) for t in range(200, 228)})


@dataclass(frozen=True)
class PushMessage:
    """One message of a push: the tag says what changed, ``data`` names the record."""

    tag: str
    msg_id: str
    data: dict[str, Any]


def push_sign(app_key: str, body: bytes, app_secret: str) -> str:
    """``event-sign``: MD5 of app_key + the raw body bytes + app_secret, lowercase hex."""
    return hashlib.md5(app_key.encode() + body + app_secret.encode()).hexdigest()


def push_messages(body: bytes) -> list[PushMessage]:
    """The messages of a push body: a JSON array of ``{tag, msg_id, data}`` where ``data``
    is a JSON-encoded string (the Go SDK) or an object (SKIT's samples), ``msgId`` too."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadPayload("push body is not JSON") from None
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise BadPayload("push body is not a list of messages")
    messages = []
    for row in payload:
        if not isinstance(row, dict):
            raise BadPayload("a push message is not an object")
        data = row.get("data")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                raise BadPayload("a push message's data is not JSON") from None
        if not isinstance(data, dict):
            raise BadPayload("a push message has no data object")
        messages.append(
            PushMessage(
                tag=str(row.get("tag") or ""),
                msg_id=str(row.get("msg_id") or row.get("msgId") or ""),
                data=data,
            )
        )
    return messages


def verify_push(headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent:
    """The manifest's webhook verifier. The store's webhook secret is the app secret; the
    app key comes from the ``app-id`` header (only the secret makes the sign unforgeable).
    Compared case-insensitively over the raw bytes (RHH strips whitespace first: not us)."""
    app_key = headers.get("app-id", "")
    given = headers.get("event-sign", "").strip().lower()
    if not given or not secret or not hmac.compare_digest(push_sign(app_key, body, secret), given):
        raise BadSignature("the event-sign does not match")
    messages = push_messages(body)
    tags = sorted({m.tag for m in messages})
    return WebhookEvent(
        topic=tags[0] if len(tags) == 1 else "batch",
        body=body,
        headers=headers,
        delivery_id=",".join(sorted(m.msg_id for m in messages))[:128] or None,
    )


def push_record(event: WebhookEvent) -> Record | None:
    """None: a push names records by id only (``p_id``, ``aftersale_id``), it carries none;
    ``push_targets`` names them and the desk fetches each (see docs/platforms.md)."""
    return None


# The reply the platform takes as "received"; anything else is retried (A8).
PUSH_REPLY = b'{"code":0,"msg":"success"}'
PUSH_IDS = {Stream.ORDERS: "p_id", Stream.AFTER_SALES: "aftersale_id"}


def push_targets(event: WebhookEvent) -> list[RecordRef]:
    """The orders (``p_id``) and after-sales (``aftersale_id``) a verified push names.

    Order tags (100-series) name the shop order, after-sale tags (200-series)
    the request; other tags (goods, 400) name nothing the desk keeps. A
    message of a known tag without its id is a ``BadPayload``: the desk keeps
    it as a sync error rather than guess.
    """
    wanted: list[RecordRef] = []
    for message in push_messages(event.body):
        stream = (
            Stream.ORDERS
            if message.tag in ORDER_TAGS
            else Stream.AFTER_SALES
            if message.tag in AFTER_SALE_TAGS
            else None
        )
        if stream is None:
            continue
        value = message.data.get(PUSH_IDS[stream])
        platform_id = str(value).strip() if isinstance(value, int | str) else ""
        if not platform_id.isdigit():
            raise BadPayload(
                f"push {message.msg_id or '?'} (tag {message.tag}) names no "
                f"{PUSH_IDS[stream]}: {str(value)[:40]!r}",
                record_id=message.msg_id[:64] or None,
            )
        shop = message.data.get("shop_id")
        ref = RecordRef(stream, platform_id, str(shop) if isinstance(shop, int | str) else "")
        if ref not in wanted:
            wanted.append(ref)
    return wanted


def _int_or_none(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def connect(
    *, base_url: str | None, credentials: dict[str, str], **options: Any
) -> DouyinConnector:
    """Entry point ``aftersales.connectors: douyin``; ``base_url`` defaults to the gateway."""
    missing = [k for k in ("app_key", "app_secret") if not credentials.get(k)]
    if not (credentials.get("access_token") or credentials.get("shop_id")):
        missing.append("access_token or shop_id")
    if missing:
        raise ValueError(f"a Douyin store needs {', '.join(missing)} in its credentials")
    for name in ("sign_method", "timestamp_format", "return_address_id"):
        if credentials.get(name):
            options.setdefault(name, credentials[name].strip())
    if (code := _int_or_none(credentials.get("reject_reason_code"))) is not None:
        options.setdefault("reject_reason_code", code)
    return DouyinConnector(
        base_url=base_url,
        app_key=credentials["app_key"].strip(),
        app_secret=credentials["app_secret"],
        access_token=credentials.get("access_token", "").strip(),
        refresh_token=credentials.get("refresh_token", "").strip(),
        shop_id=credentials.get("shop_id", "").strip(),
        **options,
    )


def normalize_base_url(text: str) -> str:
    """Scheme and host from what an owner pasted; a bare host gets ``https://``."""
    text = text.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    return f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}"


manifest = ConnectorManifest(
    platform="douyin",
    label="Douyin Shop",
    factory=connect,
    credentials=(
        CredentialField(
            "app_key",
            "App key",
            secret=False,
            help="The app's 19-digit key (Douyin open platform).",
        ),
        CredentialField("app_secret", "App secret"),
        CredentialField(
            "shop_id",
            "Shop ID",
            secret=False,
            required=False,
            help="For a self-use app: the desk creates the token itself from the shop ID.",
        ),
        CredentialField(
            "access_token",
            "Access token",
            required=False,
            help="For a tool app: the token from the shop's authorisation.",
        ),
        CredentialField(
            "refresh_token",
            "Refresh token",
            required=False,
            help="Renews the access token when it expires (every 7 days).",
        ),
        CredentialField(
            "reject_reason_code",
            "Reject reason code",
            secret=False,
            required=False,
            help="Sent with every refusal (afterSale.rejectReasonCodeList).",
        ),
        CredentialField(
            "return_address_id",
            "Return address ID",
            secret=False,
            required=False,
            help="Where buyers send returns when a return is agreed (the shop's address list).",
        ),
    ),
    capabilities=CAPABILITIES,
    history_days=90,
    base_url_label="Gateway URL",
    base_url_help="Leave empty for the Douyin Shop gateway; the sandbox's address works too.",
    normalize_base_url=normalize_base_url,
    webhook=verify_push,
    webhook_events={
        **{tag: Stream.ORDERS for tag in sorted(ORDER_TAGS)},
        **{tag: Stream.AFTER_SALES for tag in sorted(AFTER_SALE_TAGS)},
    },
    webhook_record=push_record,
    webhook_targets=push_targets,
    shop_credential="shop_id",
    webhook_reply=PUSH_REPLY,
    rate_limits=RateLimits(
        note="Per app and API; a refusal (60000) names no wait, so the desk backs off."
    ),
    status_labels=STATUS_LABELS,
)
