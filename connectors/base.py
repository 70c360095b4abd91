"""The contract every platform connector meets.

Exception tree::

    ConnectorError
    ├── AuthFailed          credentials refused; a person must fix the store
    ├── RateLimited         slow down; ``retry_after`` seconds
    ├── PlatformError       the platform said no or broke (code, message, trouble)
    │   └── WriteRefused    a write the platform will never accept as sent
    └── BadPayload          one record could not be read (``record_id``)

A write-back (``decide_refund``) takes an idempotency key. Where the
platform honours no key header, the connector looks before it writes: it
marks its write with the key (a meta field, a note) or reads the request's
state, so a retry of a write the platform already made is recognised and
answered with ``already_done`` instead of refunding twice.

Streams are async iterators of ``Page``: the records of one page and the
cursor to save once they are committed. A bad record is reported in
``Page.errors`` beside the good ones, never dropped silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator


class ConnectorError(Exception):
    pass


class AuthFailed(ConnectorError):
    pass


class RateLimited(ConnectorError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Trouble(StrEnum):
    """How a call to a platform went wrong, when it never got a proper answer.

    The desk tells people what happened in their own words ("could not reach
    Taobao: connection refused"); it cannot read that from an exception's
    English text, and must not learn a transport library's classes, so the
    client that saw the failure names it here.
    """

    CONNECTION_REFUSED = "connection_refused"
    ADDRESS_NOT_FOUND = "address_not_found"
    UNREACHABLE = "unreachable"  # any other connection that never opened or broke
    TIMEOUT = "timeout"
    ANSWER_LOST = "answer_lost"  # a write sent whose answer never came: it may have been made
    BAD_ANSWER = "bad_answer"  # an answer that is not what the platform's API returns


class PlatformError(ConnectorError):
    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        status: int | None = None,
        trouble: Trouble | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.trouble = trouble


class WriteRefused(PlatformError):
    """Retrying cannot help: the amount is over what is refundable, the request is closed."""


class BadPayload(ConnectorError):
    def __init__(self, message: str, *, record_id: str | None = None) -> None:
        super().__init__(message)
        self.record_id = record_id


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CLOSED = "closed"


def _unpickled(cls: type[Record], values: dict[str, Any], fields_set: set[str]) -> Record:
    """A record as pickled, rebuilt without validation (it was validated where it was made)."""
    record = object.__new__(cls)
    object.__setattr__(record, "__dict__", values)
    object.__setattr__(record, "__pydantic_fields_set__", fields_set)
    object.__setattr__(record, "__pydantic_extra__", None)
    object.__setattr__(record, "__pydantic_private__", None)
    return record


class Record(BaseModel):
    """A normalized platform record; ``raw`` keeps nothing, the mapping is the contract."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __reduce__(self) -> tuple[Any, ...]:
        # A big sync's pages come from a child process as pickles. Pydantic's own
        # state (four fields, read back by a __setstate__ per record) made unpickling
        # a fifth of the desk's time; frozen records with no extras need only these.
        return (_unpickled, (type(self), self.__dict__, self.__pydantic_fields_set__))

    @field_validator("*", mode="before")
    @classmethod
    def _no_float_money(cls, value: Any) -> Any:
        # Money arrives as strings or Decimals; a float has already lost cents.
        if isinstance(value, float):
            return Decimal(str(value))
        return value


MAX_AMOUNT = Decimal(10) ** 12


def parse_money(value: Any, record_id: str) -> Decimal:
    """A platform amount (string or number) to cents; anything else is a ``BadPayload``."""
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise BadPayload(f"not an amount: {value!r}", record_id=record_id) from None
    # Finite but beyond any order (1e300) cannot be held to the cent: a bad record too.
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise BadPayload(f"not an amount: {str(value)[:40]!r}", record_id=record_id)
    return amount.quantize(Decimal("0.01"))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadPayload(f"number out of range: {text[:40]}")
    return value


def _no_constant(text: str) -> float:
    raise BadPayload(f"not a JSON number: {text}")


def read_json_object(body: bytes) -> dict[str, Any]:
    """A signed webhook body as a JSON object; anything else is a ``BadPayload``.

    A signature proves who sent a body, not that it is sane: invalid UTF-8,
    a list, ``1e400`` (which Python reads as infinity), ``NaN`` or nesting
    deep enough to exhaust the parser's stack must end as a refusal the
    caller can record, never as an exception it does not expect.
    """
    try:
        payload = json.loads(
            body.decode("utf-8"), parse_float=_finite_float, parse_constant=_no_constant
        )
    except UnicodeDecodeError:
        raise BadPayload("webhook body is not UTF-8") from None
    except RecursionError:
        raise BadPayload("webhook body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int() of a number over 4300 digits
        raise BadPayload(f"webhook body is not JSON: {str(exc)[:120]}") from None
    if not isinstance(payload, dict):
        raise BadPayload(f"webhook body is a JSON {type(payload).__name__}, not an object")
    return payload


CONTACT_FIELDS = ("name", "phone", "address")


class BuyerRecord(Record):
    """A buyer as one order names them.

    Where the platform sends contact details encrypted (Douyin, Pinduoduo, JD),
    ``name``, ``phone`` and ``address`` are the platform's own masked values and
    ``contact_ciphertext`` holds, per field of ``CONTACT_FIELDS``, what the
    connector needs to decrypt that field on demand (``decrypt_contact``). The
    desk keeps those strings and hands them back; it never reads them, and it
    never stores the plaintext.
    """

    platform_buyer_id: str
    nick: str
    name: str | None = None
    phone: str | None = None
    address: str | None = None
    contact_ciphertext: dict[str, str] = {}


def contact_token(fields: Mapping[str, str]) -> str:
    """What the desk keeps for one encrypted buyer field: the platform's ciphertext and
    what its decrypt call needs beside it (the order), as compact sorted JSON. The
    desk stores it as it is; only the connector that wrote it reads it back."""
    return json.dumps(dict(fields), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def read_contact_token(text: str, required: tuple[str, ...], platform: str) -> dict[str, str]:
    """A ``contact_token`` back, with its ``required`` keys; anything else is no value
    this connector wrote (a ``BadPayload`` naming ``platform``)."""
    try:
        token = json.loads(text)
    except ValueError:
        token = None
    if not (isinstance(token, dict) and all(isinstance(token.get(k), str) for k in required)):
        raise BadPayload(f"not a {platform} contact ciphertext")
    return {k: str(v) for k, v in token.items()}


class Decrypted(Record):
    """One contact field decrypted for the page that asked, never to be stored.

    ``text`` is ``None`` when the platform refused this one value (``error``
    says why, in its words). A virtual number (虚拟号) reaches the buyer only
    through ``text`` and then ``extension``: the platform hides the real one.
    """

    text: str | None = None
    virtual: bool = False
    extension: str | None = None
    error: str | None = None


class OrderItemRecord(Record):
    platform_item_id: str
    title: str
    sku: str | None = None
    quantity: int
    unit_price: Decimal
    amount: Decimal


class ShipmentRecord(Record):
    """A parcel the shop sent: the tracking number is what buyers ask about."""

    carrier: str
    tracking_no: str
    shipped_at: datetime | None = None


class OrderRecord(Record):
    platform_order_id: str
    status: OrderStatus
    platform_status: str
    buyer: BuyerRecord
    currency: str = "CNY"
    total_amount: Decimal
    paid_amount: Decimal
    created_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    updated_at: datetime
    items: list[OrderItemRecord]
    shipments: list[ShipmentRecord] = []


class AfterSaleKind(StrEnum):
    REFUND_ONLY = "refund_only"
    RETURN_AND_REFUND = "return_and_refund"
    EXCHANGE = "exchange"


class AfterSaleStatus(StrEnum):
    """Where a request stands, in our words; each connector maps its platform's own.

    ``UNKNOWN`` is a word the connector has never seen: the desk keeps the case
    where it is rather than guess.
    """

    REQUESTED = "requested"
    WAITING_RETURN = "waiting_return"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    UNKNOWN = "unknown"


class AfterSaleRecord(Record):
    """A buyer's after-sale request (or a refund the shop already made)."""

    platform_refund_id: str
    platform_order_id: str
    platform_item_id: str | None = None
    kind: AfterSaleKind
    status: AfterSaleStatus
    platform_status: str
    currency: str = "CNY"
    requested_amount: Decimal
    reason: str | None = None
    buyer_text: str | None = None
    created_at: datetime
    updated_at: datetime
    platform_deadline: datetime | None = None
    return_carrier: str | None = None
    return_tracking_no: str | None = None


class ReviewResult(StrEnum):
    GOOD = "good"
    NEUTRAL = "neutral"
    BAD = "bad"


class ReviewRecord(Record):
    platform_review_id: str
    platform_order_id: str | None = None
    platform_item_id: str | None = None
    product_title: str | None = None
    reviewer_nick: str
    rating: int | None = None  # 1-5 where the platform rates with stars
    result: ReviewResult | None = None  # good/neutral/bad where it rates that way
    text: str = ""
    append_text: str | None = None
    reply: str | None = None
    created_at: datetime
    appended_at: datetime | None = None


class ReviewReply(Record):
    """The shop's public explanation under one buyer review (评价解释).

    ``platform_review_id`` is the review as the connector named it when it
    synced (Taobao: the sub-order, ``oid``); ``text`` is what the buyer and
    every later shopper will read under the review.
    """

    platform_review_id: str
    platform_order_id: str | None = None
    text: str


class ReviewReplyResult(Record):
    platform_reply: str  # the reply as the platform shows it now
    already_done: bool = False  # the platform had this reply before we asked again


class RefundDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class RefundWrite(Record):
    """One refund decision to carry out on the platform.

    ``platform_refund_id`` is the buyer's request where there is one (Taobao);
    a refund the shop starts itself (WooCommerce, Shopify, ad-hoc refunds)
    has none and is created on the order. ``item_amounts`` splits the amount
    over order lines (platform item id -> amount); what is left over is
    ``shipping_amount`` or, where the platform allows it, an order-level sum.
    """

    decision: RefundDecision
    platform_order_id: str
    platform_refund_id: str | None = None
    amount: Decimal
    currency: str = "CNY"
    reason: str = ""
    item_amounts: dict[str, Decimal] = {}
    shipping_amount: Decimal = Decimal("0.00")
    platform_version: datetime | None = None  # Taobao's refund_version: the request's modified time

    def check_parts(self) -> None:
        """Refuse, before any call, a split no platform can carry out as sent.

        The lines and shipping are parts of ``amount``; whatever they leave is an
        order-level sum, so together they may not exceed it.
        """
        parts = [*self.item_amounts.values(), self.shipping_amount]
        if self.amount <= 0:
            raise WriteRefused(f"a refund of {self.amount} is no refund", code="invalid_refund")
        if any(part < 0 for part in parts):
            raise WriteRefused("a refund part is negative", code="invalid_refund")
        if sum(parts, start=Decimal("0.00")) > self.amount:
            raise WriteRefused(
                f"lines and shipping add up to more than the refund of {self.amount}",
                code="invalid_refund",
            )


class RefundWriteResult(Record):
    platform_refund_id: str | None = None
    status: AfterSaleStatus  # where the request stands after the write, in our words
    platform_status: str
    already_done: bool = False  # the platform had made this write before we asked again


R = TypeVar("R", bound=Record)


@dataclass
class Page(Generic[R]):
    records: list[R]
    cursor: str | None
    errors: list[BadPayload] = field(default_factory=list)


@dataclass(frozen=True)
class Capabilities:
    orders: bool = True
    after_sales: bool = False
    reviews: bool = False
    decide_refund: bool = False
    # Within ``decide_refund``: the platform can also refuse by API. Where it cannot
    # (Pinduoduo has agree calls only) a refusal is made in its back office.
    refuse_refund: bool = True
    start_refund: bool = False  # a refund nobody asked for (shipping, compensation)
    reply_review: bool = False
    # ``decrypt_contact``: buyer contact details arrive encrypted and the platform
    # decrypts them on request, for the people who may see them.
    decrypt_contact: bool = False


class Stream(StrEnum):
    ORDERS = "orders"
    AFTER_SALES = "after_sales"
    REVIEWS = "reviews"


class Connector(Protocol):
    """A store platform. A ``None`` cursor means "start from ``since``".

    Its module's ``manifest`` declares the same ``capabilities``, so the desk can
    tell what a platform supports (can it start a refund?) without connecting to it.
    """

    platform: str
    capabilities: Capabilities

    def orders(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[OrderRecord]]: ...

    def after_sales(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[AfterSaleRecord]]: ...

    def reviews(
        self, cursor: str | None, *, since: datetime
    ) -> AsyncIterator[Page[ReviewRecord]]: ...

    async def order(self, platform_order_id: str) -> OrderRecord: ...

    async def after_sale(
        self, platform_refund_id: str
    ) -> AfterSaleRecord: ...  # only where the manifest has ``webhook_targets``

    async def decide_refund(
        self, write: RefundWrite, *, idempotency_key: str
    ) -> RefundWriteResult: ...

    async def reply_review(
        self, reply: ReviewReply, *, idempotency_key: str
    ) -> ReviewReplyResult: ...  # only where ``capabilities.reply_review``

    async def decrypt_contact(self, ciphertexts: Sequence[str]) -> list[Decrypted]:
        """The plaintext of ``BuyerRecord.contact_ciphertext`` values, one result per
        value in the same order; only where ``capabilities.decrypt_contact``. A value
        the platform refuses is a result with ``error``, not an exception."""
        ...

    async def aclose(self) -> None: ...


# --- The manifest: everything the desk may know about a platform -----------------------


@dataclass(frozen=True)
class CredentialField:
    """One thing an owner types to connect a store.

    ``label`` and ``help`` are English msgids: connectors import nothing from
    the desk, so the desk translates them (a plugin's own labels show in
    English until the desk's catalog knows them). A ``secret`` field is a
    password input and is never sent back to the browser.
    """

    name: str
    label: str
    secret: bool = True
    help: str = ""
    required: bool = True


class BadSignature(ConnectorError):
    """A webhook whose signature does not match the store's secret: nothing may change."""


@dataclass(frozen=True)
class WebhookEvent:
    """A delivery whose signature checked out (or a platform's unsigned ping).

    ``delivery_id`` is the same on every retry of one delivery, so the desk
    acknowledges a retry without acting twice. ``headers`` are lowercased.
    """

    topic: str
    body: bytes
    headers: Mapping[str, str]
    delivery_id: str | None = None
    ping: bool = False


@dataclass(frozen=True)
class RecordRef:
    """One record a push names by id only: the desk fetches it from the platform.

    ``platform_id`` is the record's id in its stream: the order's
    ``platform_order_id`` or the request's ``platform_refund_id``. ``shop`` is
    the platform's id of the shop the message is about, where it says (an app
    for many shops has one callback address for all of them); empty if not.
    """

    stream: Stream
    platform_id: str
    shop: str = ""


# headers (lowercased) + raw body + the store's webhook secret -> event, or BadSignature.
WebhookVerifier = Callable[[Mapping[str, str], bytes, str], WebhookEvent]
# The record a verified event carries, for a topic ``webhook_events`` maps to a stream.
WebhookReader = Callable[[WebhookEvent], Record | None]
# The records a verified event names without carrying them (a BadPayload if unreadable).
WebhookTargets = Callable[[WebhookEvent], list[RecordRef]]


@dataclass(frozen=True)
class RateLimits:
    """What the platform allows, for people and for schedulers; ``PlatformClient`` obeys it.

    ``header`` is the response header the platform reports usage in, if any.
    """

    requests_per_second: float | None = None
    burst: int | None = None
    header: str | None = None
    note: str = ""


def strip_base_url(text: str) -> str:
    """A pasted address as it is, without surrounding blanks: the default normalisation."""
    return text.strip()


def no_default_url(credentials: Mapping[str, str]) -> str | None:
    return None


@dataclass(frozen=True)
class ConnectorManifest:
    """One platform, described once: the desk reads this and names no platform itself.

    ``factory`` builds the connector
    (``factory(*, base_url, credentials, **options)``); a platform with none
    (an import-only file format) is never synced. ``history_days`` is how far
    back the platform lets a first sync read (``None``: no limit).
    ``normalize_base_url`` turns what an owner pasted into what the factory
    expects; ``default_base_url`` says where credentials go when no URL is
    set, so moving a store elsewhere can be recognised. ``status_labels``
    names the platform's own order and refund status words (``WAIT_SELLER_AGREE``)
    as English msgids the desk translates, so a page shows the platform's
    status in the reader's words, not its API code. ``buyer_language`` is the
    language the platform's buyers and arbitrators read (``zh-CN`` or ``en``):
    quick replies for its stores are offered in it and texts for them, such as
    the evidence summary, are written in it, unless the store chose otherwise.

    Webhooks: ``webhook`` verifies a delivery, ``webhook_events`` maps its
    topic to a stream and ``webhook_record`` reads the record it carries. A
    platform whose pushes name records by id only gives ``webhook_targets``
    instead; the desk then fetches each named record (the connector's
    ``order`` or ``after_sale``) and takes it in as the sync would. A platform
    that retries every delivery not answered with its own words gives them as
    ``webhook_reply`` (body) and ``webhook_reply_type``, and the desk answers
    every verified delivery it has taken, or had taken before, with exactly that.
    ``shop_credential`` names the credential holding the platform's shop id
    (a ``RecordRef``'s ``shop``): a push about another shop is taken at the
    store of that shop on the desk, if one shares the app, and never at this one.
    """

    platform: str
    label: str
    factory: Callable[..., Any] | None = None
    credentials: tuple[CredentialField, ...] = ()
    capabilities: Capabilities = Capabilities()
    history_days: int | None = None
    base_url_label: str = "Platform URL"
    base_url_help: str = ""
    base_url_required: bool = False
    normalize_base_url: Callable[[str], str] = strip_base_url
    default_base_url: Callable[[Mapping[str, str]], str | None] = no_default_url
    webhook: WebhookVerifier | None = None
    webhook_events: Mapping[str, Stream] = field(default_factory=dict)
    webhook_record: WebhookReader | None = None
    webhook_targets: WebhookTargets | None = None
    webhook_reply: bytes | None = None
    webhook_reply_type: str = "application/json"
    shop_credential: str | None = None
    rate_limits: RateLimits = RateLimits()
    status_labels: Mapping[str, str] = field(default_factory=dict)
    buyer_language: str = "zh-CN"

    @property
    def syncs(self) -> bool:
        return self.factory is not None

    @property
    def required_credentials(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.credentials if f.required)

    def credential(self, name: str) -> CredentialField | None:
        return next((f for f in self.credentials if f.name == name), None)

    def connect(self, *, base_url: str | None, credentials: dict[str, str], **options: Any) -> Any:
        if self.factory is None:
            raise PlatformError(f"{self.platform} has no connector to sync with")
        return self.factory(base_url=base_url, credentials=credentials, **options)
