"""Orders: upsert from connector records, search, and the morning checklist counts."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock, failures, modules
from aftersales.core.db import bulk_upsert, check_lengths, insert_new
from aftersales.core.errors import InvalidInput, Msgid, NotFound
from aftersales.core.i18n import N_
from aftersales.core.labels import carrier_name
from aftersales.core.models import Store, User
from aftersales.core.modules import Registry, TimelineEvent
from aftersales.core.security import decrypt_credentials, encrypt_credentials
from aftersales.orders import events as order_words
from aftersales.orders.models import (
    Customer,
    Order,
    OrderItem,
    Shipment,
    ShipmentDirection,
    SyncState,
)
from connectors import registry
from connectors.base import BuyerRecord, ConnectorManifest, OrderRecord, OrderStatus, Stream

if TYPE_CHECKING:
    from connectors.csvfile import CsvImport

UNPAID_AFTER = timedelta(days=1)
SHIP_PROMISE = timedelta(hours=48)
PAGE_SIZE = 50


async def upsert_orders(
    store: Store, records: list[OrderRecord], *, conn: BaseDBAsyncClient
) -> set[str]:
    """Insert or update a page of orders by (store, platform id) in a few statements.

    One page is a handful of bulk upserts instead of queries per order: the
    sync benchmark depends on it. The platform's modification time decides:
    an order whose stored ``platform_updated_at`` is newer than the record's
    is left alone, and so are its buyer, items and parcels. The guard is in
    the upsert statement itself, so a webhook and a sync page racing on one
    order cannot roll it back whichever commits first. Returns the platform
    ids of the orders that were written.
    """
    if not records:
        return set()
    latest: dict[str, OrderRecord] = {}
    for r in records:  # the newest version of an order in the page; later wins a tie
        seen = latest.get(r.platform_order_id)
        if seen is None or r.updated_at >= seen.updated_at:
            latest[r.platform_order_id] = r
    now = clock.now()
    buyers = {r.buyer.platform_buyer_id: r.buyer for r in latest.values()}
    customer_columns = [
        "store_id", "platform_buyer_id", "nick", "name", "phone", "address",
        "contact_ciphertext", "tags", "notes",
    ]  # fmt: skip

    def customer_rows(chosen: Iterable[BuyerRecord]) -> list[Sequence[object]]:
        return [
            [
                store.id,
                b.platform_buyer_id,
                b.nick,
                b.name,
                b.phone,
                b.address,
                _ciphertext_json(b),
                "[]",
                "",
            ]
            for b in chosen
        ]

    # Known buyers keep their details until an order of theirs is actually written
    # below (a stale record must not roll them back); new ones are inserted whole, so
    # a first sync sends each buyer's details (and ciphertext) once, not twice.
    customer_ids, known = await insert_new(
        conn,
        "customers",
        customer_columns,
        customer_rows(buyers.values()),
        conflict=["store_id", "platform_buyer_id"],
    )
    order_ids = await bulk_upsert(
        conn,
        "orders",
        ["store_id", "platform_order_id", *ORDER_FIELDS],
        [
            [
                store.id,
                r.platform_order_id,
                customer_ids[r.buyer.platform_buyer_id],
                r.status,
                r.platform_status,
                r.currency,
                r.total_amount,
                r.paid_amount,
                r.created_at,
                r.paid_at,
                r.shipped_at,
                r.updated_at,
                now,
            ]
            for r in latest.values()
        ],
        conflict=["store_id", "platform_order_id"],
        update=ORDER_FIELDS,
        returning="id",
        where='excluded."platform_updated_at" >= "orders"."platform_updated_at"',
    )
    written = [r for r in latest.values() if r.platform_order_id in order_ids]
    await bulk_upsert(
        conn,
        "customers",
        customer_columns,
        customer_rows(
            {
                r.buyer.platform_buyer_id: r.buyer
                for r in written
                if r.buyer.platform_buyer_id in known
            }.values()
        ),
        conflict=["store_id", "platform_buyer_id"],
        update=["nick", "name", "phone", "address", "contact_ciphertext"],
    )
    await bulk_upsert(
        conn,
        "order_items",
        ["order_id", "platform_item_id", *ITEM_FIELDS],
        [
            [
                order_ids[r.platform_order_id],
                i.platform_item_id,
                i.title,
                i.sku,
                i.quantity,
                i.unit_price,
                i.amount,
            ]
            for r in written
            for i in r.items
        ],
        conflict=["order_id", "platform_item_id"],
        update=ITEM_FIELDS,
    )
    # Parcels are only added or corrected, never removed: a tracking number a
    # buyer was given stays findable even if the platform later drops it.
    await bulk_upsert(
        conn,
        "shipments",
        ["order_id", "direction", "tracking_no", "carrier", "shipped_at", "created_at"],
        [
            [
                order_ids[r.platform_order_id],
                ShipmentDirection.OUTBOUND.value,
                s.tracking_no,
                s.carrier,
                s.shipped_at,
                now,
            ]
            for r in written
            for s in r.shipments
        ],
        conflict=["order_id", "direction", "tracking_no"],
        update=["carrier", "shipped_at"],
    )
    return {r.platform_order_id for r in written}


def _ciphertext_json(buyer: BuyerRecord) -> str | None:
    """The buyer's ciphertext as the JSON column's text (``bulk_upsert`` takes it encoded);
    null where the platform sent the contact in plain words."""
    if not buyer.contact_ciphertext:
        return None
    return json.dumps(buyer.contact_ciphertext, ensure_ascii=False, separators=(",", ":"))


INT32 = 2**31 - 1

# The text and money columns an order record fills, by field name (no name repeats
# across the four tables). Read from the models once: a sync checks every record.
_TEXT_COLUMNS: dict[type[Model], tuple[str, ...]] = {
    Order: ("platform_order_id", "platform_status", "currency"),
    Customer: ("platform_buyer_id", "nick", "name", "phone"),
    OrderItem: ("platform_item_id", "title", "sku"),
    Shipment: ("tracking_no", "carrier"),
}
_MONEY_COLUMNS: dict[type[Model], tuple[str, ...]] = {
    Order: ("total_amount", "paid_amount"),
    OrderItem: ("unit_price", "amount"),
}


@cache
def _max_lengths() -> dict[str, int]:
    """Each text column's ``max_length`` (TEXT columns have none and are left out)."""
    limits: dict[str, int] = {}
    for model, names in _TEXT_COLUMNS.items():
        for name in names:
            limit = getattr(model._meta.fields_map[name], "max_length", None)
            if limit is not None:
                limits[name] = limit
    return limits


@cache
def _money_ceilings() -> dict[str, Decimal]:
    """The first amount each money column cannot hold (10 ** its integer digits)."""
    ceilings: dict[str, Decimal] = {}
    for model, names in _MONEY_COLUMNS.items():
        for name in names:
            column = model._meta.fields_map[name]
            digits = getattr(column, "max_digits", 0) - getattr(column, "decimal_places", 0)
            ceilings[name] = Decimal(10) ** digits
    return ceilings


def record_problem(record: OrderRecord) -> str | None:
    """Why an order record cannot be stored as sent (an id too long, an amount too big).

    PostgreSQL refuses such a value (or silently cuts a string cast to its
    column's length) where SQLite would take it, so a record whose text,
    ids, status or money do not fit is reported like any other record the
    platform sent badly, on both databases alike.
    """
    long = order_too_long(record)
    if long is not None:
        name, limit, length = long
        return (
            f"order {record.platform_order_id[:64]}: {name} is {length} characters, "
            f"more than the {limit} this desk keeps"
        )
    ceilings = _money_ceilings()
    checks: list[tuple[str, Decimal | int | None]] = [
        ("total_amount", record.total_amount),
        ("paid_amount", record.paid_amount),
    ]
    for i in record.items:
        checks += (("quantity", i.quantity), ("unit_price", i.unit_price), ("amount", i.amount))
    for name, value in checks:
        if value is None:
            continue
        if isinstance(value, Decimal):
            fits = abs(value) < ceilings[name]
        else:
            fits = -INT32 - 1 <= value <= INT32
        if not fits:
            return (
                f"order {record.platform_order_id[:64]}: {name} does not fit: {str(value)[:80]!r}"
            )
    return None


def order_too_long(record: OrderRecord) -> tuple[str, int, int] | None:
    """The first value of an order record longer than its column, as the upsert writes it.

    ``bulk_upsert`` is raw SQL: PostgreSQL would refuse such a value (and the
    whole page with it) while SQLite stores it whole, so both refuse it here.
    """
    limits = _max_lengths()
    buyer = record.buyer
    values: list[tuple[str, str | None]] = [
        ("platform_order_id", record.platform_order_id),
        ("platform_status", record.platform_status),
        ("currency", record.currency),
        ("platform_buyer_id", buyer.platform_buyer_id),
        ("nick", buyer.nick),
        ("name", buyer.name),
        ("phone", buyer.phone),
    ]
    for i in record.items:
        values += (("platform_item_id", i.platform_item_id), ("title", i.title), ("sku", i.sku))
    for s in record.shipments:
        values += (("tracking_no", s.tracking_no), ("carrier", s.carrier))
    for name, value in values:
        limit = limits.get(name)
        if limit is not None and value is not None and len(value) > limit:
            return name, limit, len(value)
    return None


ITEM_FIELDS = ["title", "sku", "quantity", "unit_price", "amount"]
ORDER_FIELDS = [
    "customer_id",
    "status",
    "platform_status",
    "currency",
    "total_amount",
    "paid_amount",
    "placed_at",
    "paid_at",
    "shipped_at",
    "platform_updated_at",
    "synced_at",
]


# The morning checks (DOMAIN.md, the team's day): a home tile counts one, and its link
# opens the order list with the same check, so the number and the list always agree.
CHECKS = {
    "unpaid_over_a_day": N_("Unpaid for more than a day"),
    "late_shipment": N_("Paid but not shipped within 48 hours"),
    "last_24_hours": N_("Orders in the last 24 hours"),
}


@dataclass(frozen=True)
class OrderFilters:
    store_id: int | None = None
    status: OrderStatus | None = None
    text: str = ""
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    check: str = ""  # a key of CHECKS
    sort: str = "newest"
    page: int = 1


SORTS = {
    "newest": ("-placed_at", "-id"),
    "oldest": ("placed_at", "id"),
    "paid_high": ("-paid_amount", "-id"),
    "paid_low": ("paid_amount", "id"),
}


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    total: int
    page: int
    pages: int


def _checked(query: QuerySet[Order], check: str, now: datetime) -> QuerySet[Order]:
    if check == "unpaid_over_a_day":
        return query.filter(status=OrderStatus.AWAITING_PAYMENT, placed_at__lt=now - UNPAID_AFTER)
    if check == "late_shipment":
        return query.filter(status=OrderStatus.AWAITING_SHIPMENT, paid_at__lt=now - SHIP_PROMISE)
    if check == "last_24_hours":
        return query.filter(placed_at__gte=now - timedelta(days=1))
    return query


async def order_query(filters: OrderFilters) -> QuerySet[Order]:
    """The orders the filters select: the list pages through it, the home tiles count it."""
    query = _checked(Order.all(), filters.check, clock.now())
    if filters.store_id:
        query = query.filter(store_id=filters.store_id)
    if filters.status:
        query = query.filter(status=filters.status)
    if filters.placed_from:
        query = query.filter(placed_at__gte=filters.placed_from)
    if filters.placed_to:
        query = query.filter(placed_at__lt=filters.placed_to)
    text = filters.text.strip()
    if text:
        condition = (
            Q(platform_order_id__icontains=text)
            | Q(customer__nick__icontains=text)
            | Q(items__title__icontains=text)
        )
        if text.isdigit() and len(text) == 4:
            condition |= Q(customer__phone__endswith=text)
        number = phone_number(text)
        if number is not None:
            buyers = await customers_with_phone(number)
            if buyers:
                condition |= Q(customer_id__in=buyers)
        query = query.filter(condition).distinct()
    return query


async def search_orders(filters: OrderFilters, *, per_page: int = PAGE_SIZE) -> OrderPage:
    query = await order_query(filters)
    total = await query.count()
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(filters.page, 1), pages)
    orders = (
        await query.order_by(*SORTS.get(filters.sort, SORTS["newest"]))
        .offset((page - 1) * per_page)
        .limit(per_page)
        .prefetch_related("customer", "items")
    )
    return OrderPage(orders=orders, total=total, page=page, pages=pages)


_PHONE_PUNCTUATION = str.maketrans("", "", " -().\t")


def phone_number(text: str) -> str | None:
    """The digits of a phone number as typed (spaces, dashes, +86 or 0086 dropped), else None.

    Full-width digits from a Chinese input method count as digits. Fewer
    than 7 digits is no phone number: a tail of 4 has its own search, and a
    prefix must not narrow a masked number down digit by digit.
    """
    cleaned = unicodedata.normalize("NFKC", text).translate(_PHONE_PUNCTUATION)
    cleaned = cleaned.removeprefix("+")
    if not (cleaned.isascii() and cleaned.isdigit()):
        return None
    if cleaned.startswith("0086"):
        cleaned = cleaned[4:]
    elif cleaned.startswith("86") and len(cleaned) == 13:
        cleaned = cleaned[2:]
    return cleaned if 7 <= len(cleaned) <= 15 else None


# The stored phone as a LIKE pattern: separators dropped, a platform's mask (138****5678)
# turned into one-character wildcards, and any wildcard the data itself carried removed.
_STORED_PATTERN = "COALESCE(phone, '')"
for _old, _new in (
    (" ", ""), ("-", ""), ("(", ""), (")", ""), ("+", ""), (".", ""), ("%", ""), ("_", ""),
    ("*", "_"),
):  # fmt: skip
    _STORED_PATTERN = f"REPLACE({_STORED_PATTERN}, '{_old}', '{_new}')"


async def customers_with_phone(number: str) -> list[int]:
    """Buyers whose stored phone is ``number``, however the platform wrote or masked it.

    The typed number is matched whole against the stored one (with or without
    the country code), so nothing about a masked number is revealed beyond
    "this is the buyer you already have on the phone".
    """
    conn = connections.get("default")
    marks = ("$1", "$2", "$3") if conn.capabilities.dialect == "postgres" else ("?", "?", "?")
    where = " OR ".join(f"CAST({m} AS TEXT) LIKE {_STORED_PATTERN}" for m in marks)
    rows = await conn.execute_query_dict(
        f"SELECT id FROM customers WHERE phone IS NOT NULL AND ({where})",
        [number, "86" + number, "0086" + number],
    )
    return [int(row["id"]) for row in rows]


async def get_order(order_id: int) -> Order:
    order = await Order.get_or_none(id=order_id).prefetch_related(
        "customer", "items", "shipments", "store"
    )
    if order is None:
        raise NotFound(N_("No such order."), id=order_id)
    return order


async def order_of_record(
    store: Store, platform_order_id: str, conn: BaseDBAsyncClient
) -> Order | None:
    """The synced order a platform's after-sale record names, if it synced yet.

    Intake runs inside the sync's page transaction, hence ``conn``.
    """
    found = Order.get_or_none(store_id=store.id, platform_order_id=platform_order_id)
    return await found.using_db(conn)


async def orders_with_buyers(order_ids: Iterable[int | None]) -> dict[int, Order]:
    """The orders a page of cases points at, each with its buyer, by id: one query a page.

    A case queue shows each row's buyer; a case with no order (``None``) has none.
    """
    ids = [i for i in order_ids if i]
    return {o.id: o for o in await Order.filter(id__in=ids).prefetch_related("customer")}


async def order_timeline(order: Order, registry: Registry) -> list[TimelineEvent]:
    """Everything that happened to an order, newest first, from every module.

    The platform's own times come from the order and its parcels; refunds,
    returns and reviews add theirs through ``Registry.order_events``, labelled
    in words an agent reads rather than audit action names.
    """
    events = [
        TimelineEvent(at=order.placed_at, label=N_("Order placed")),
        *([TimelineEvent(at=order.paid_at, label=N_("Paid"))] if order.paid_at else []),
        *(
            TimelineEvent(
                at=s.shipped_at or s.created_at,
                label=N_("Parcel sent"),
                detail=f"{carrier_name(s.carrier)} {s.tracking_no}".strip(),
            )
            for s in order.shipments
            if s.direction == ShipmentDirection.OUTBOUND
        ),
        *(
            TimelineEvent(
                at=s.shipped_at or s.created_at,
                label=N_("Return parcel"),
                detail=f"{carrier_name(s.carrier)} {s.tracking_no}".strip(),
            )
            for s in order.shipments
            if s.direction == ShipmentDirection.RETURN
        ),
    ]
    if order.shipped_at and not order.shipments:
        events.append(TimelineEvent(at=order.shipped_at, label=N_("Shipped")))
    events.extend(await registry.order_events(order.id))
    return sorted(events, key=lambda e: e.at, reverse=True)


@dataclass(frozen=True)
class MorningCounts:
    unpaid_over_a_day: int
    late_shipments: int
    placed_today: int
    failing_stores: int


async def morning_counts() -> MorningCounts:
    """Each count is the total of the order (or store) list its home tile links to."""
    return MorningCounts(
        unpaid_over_a_day=await (
            await order_query(OrderFilters(check="unpaid_over_a_day"))
        ).count(),
        late_shipments=await (await order_query(OrderFilters(check="late_shipment"))).count(),
        placed_today=await (await order_query(OrderFilters(check="last_24_hours"))).count(),
        failing_stores=len(await failing_store_ids()),
    )


async def failing_store_ids() -> set[int]:
    """Stores with a stream whose last sync failed: the store list's ``failing=1``."""
    return set(await SyncState.filter(last_error__isnull=False).values_list("store_id", flat=True))


async def check_count(check: str) -> int:
    """How many orders one morning check selects now: its home tile's number, its list's total."""
    assert check in CHECKS, check
    return await (await order_query(OrderFilters(check=check))).count()


@dataclass(frozen=True)
class FailingSync:
    """A synced store with at least one stream whose last sync failed."""

    store: Store
    streams: list[SyncState]  # the failing ones, in stream order

    @property
    def retried(self) -> bool:
        """Every failure may pass by itself at the next sync (none needs a person)."""
        return all(failures.is_retried(s.error_code) for s in self.streams)


async def failing_syncs(store_ids: Iterable[int] | None = None) -> list[FailingSync]:
    """The stores synced on schedule whose sync fails now, by store id (one query each table).

    A paused store is left out: nobody expects its orders to be fresh.
    ``store_ids`` narrows the answer (the handover's live state of some stores).
    """
    query = SyncState.filter(last_error__isnull=False, store__enabled=True)
    if store_ids is not None:
        query = query.filter(store_id__in=list(store_ids))
    states = await query.order_by("store_id", "stream")
    if not states:
        return []
    stores = {s.id: s for s in await Store.filter(id__in={st.store_id for st in states})}
    by_store: dict[int, list[SyncState]] = {}
    order = {stream.value: n for n, stream in enumerate(Stream)}
    for state in sorted(states, key=lambda st: (st.store_id, order.get(st.stream, 99))):
        by_store.setdefault(state.store_id, []).append(state)
    return [FailingSync(stores[sid], found) for sid, found in by_store.items() if sid in stores]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return ZoneInfo(DEFAULT_ZONE)


DEFAULT_ZONE = "Asia/Shanghai"


async def desk_zone() -> ZoneInfo:
    """The zone the morning check's day is named in: the stores' one zone, else Shanghai."""
    rows = await Store.filter(enabled=True).distinct().values_list("timezone", flat=True)
    names = {str(name) for name in rows}
    return _zone(names.pop() if len(names) == 1 else DEFAULT_ZONE)


WEBHOOK_SECRET = "webhook_secret"  # what a platform signs webhooks with, if it sends any


def platforms() -> list[ConnectorManifest]:
    """The platforms a store can be connected to, as their manifests describe them."""
    return list(registry.installed().values())


def platform_manifest(platform: str) -> ConnectorManifest:
    manifest = registry.find(platform)
    if manifest is None:
        raise InvalidInput(N_("Unknown platform %(platform)s."), platform=repr(platform))
    return manifest


def credential_names(manifest: ConnectorManifest) -> tuple[str, ...]:
    """What a store of this platform may keep: its fields, and a webhook secret if it signs."""
    names = tuple(f.name for f in manifest.credentials)
    return (*names, WEBHOOK_SECRET) if manifest.webhook is not None else names


def normalized_base_url(manifest: ConnectorManifest, base_url: str | None) -> str | None:
    """The address as the connector expects it (a pasted gateway URL, a host alone)."""
    return manifest.normalize_base_url(base_url) or None if base_url else None


def credential_labels(manifest: ConnectorManifest, names: list[str]) -> tuple[Msgid, ...]:
    """The form's labels of these credentials, for a message that names them to a person.

    The keys (``app_secret``) are the connector's; the agent typed into fields
    labelled "App secret", in their own language.
    """
    labels = []
    for name in names:
        field = manifest.credential(name)
        labels.append(Msgid(field.label if field is not None else name))
    return tuple(labels)


def _check_base_url(manifest: ConnectorManifest, base_url: str | None) -> None:
    if manifest.base_url_required and not base_url:
        raise InvalidInput(
            N_("A %(platform)s store needs its %(field)s."),
            platform=Msgid(manifest.label),
            field=Msgid(manifest.base_url_label),
        )


async def create_store(
    *,
    name: str,
    platform: str,
    secret_key: str,
    base_url: str | None = None,
    credentials: dict[str, str] | None = None,
    settings: dict[str, object] | None = None,
    actor: User | None = None,
) -> Store:
    """Connect a store; credentials are encrypted before they touch the database."""
    manifest = platform_manifest(platform)
    credentials = {k: v for k, v in (credentials or {}).items() if v}
    missing = [k for k in manifest.required_credentials if not credentials.get(k)]
    if missing:
        raise InvalidInput(
            N_("A %(platform)s store needs: %(fields)s."),
            platform=Msgid(manifest.label),
            fields=credential_labels(manifest, missing),
        )
    base_url = normalized_base_url(manifest, base_url)
    _check_base_url(manifest, base_url)
    if not name.strip():
        raise InvalidInput(N_("A store needs a name."))
    check_lengths(Store, {"name": name.strip(), "base_url": base_url}, STORE_LABELS)
    async with in_transaction() as conn:
        store = await Store.create(
            name=name.strip(),
            platform=platform,
            base_url=base_url or None,
            credentials_encrypted=encrypt_credentials(secret_key, credentials),
            settings=settings or {},
            using_db=conn,
        )
        await audit.record(
            "store.created",
            subject_type="store",
            subject_id=store.id,
            actor=actor,
            data={"name": store.name, "platform": platform},
            using_db=conn,
        )
    return store


MAX_INTERVAL_MINUTES = 24 * 60
STORE_LABELS = {"name": N_("Store name"), "base_url": N_("Site URL")}


# The store columns the edit form writes; settings are written key by key.
STORE_FORM_COLUMNS = ["name", "base_url", "enabled", "credentials_encrypted"]


@dataclass(frozen=True)
class StoreChanges:
    """What the edit form sends; a blank credential keeps the stored one.

    Secrets are never shown back in the form, so an empty field cannot mean
    "erase": an owner changing the interval must not wipe the API token.
    """

    name: str
    base_url: str | None
    enabled: bool
    sync_interval_minutes: int
    credentials: dict[str, str]


DEFAULT_PORTS = {"http": 80, "https": 443}


def platform_host(platform: str, base_url: str | None, credentials: dict[str, str]) -> str:
    """Where a store's credentials are sent, as ``scheme://host[:port]``; "" is the default.

    A store without a URL talks to its manifest's ``default_base_url``, which
    may come from the credentials (a shop name in the host). Paths, user info and queries are not:
    they never decide who receives the token, and may hold secrets.
    """
    manifest = registry.find(platform)
    if not base_url and manifest is not None:
        base_url = manifest.default_base_url(credentials)
    if not base_url:
        return ""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    try:
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:  # a port that is not a number: compare what was typed
        host, port = parts.netloc.rpartition("@")[2].lower(), None
    shown = f"{scheme}://{host}"
    return shown if port in (None, DEFAULT_PORTS.get(scheme)) else f"{shown}:{port}"


async def update_store(
    store: Store, changes: StoreChanges, *, secret_key: str, actor: User | None = None
) -> Store:
    """Edit a connected store; the audit row names what changed, never a secret.

    Moving a store to another host needs its credentials typed again: kept
    secrets would otherwise follow the store to whoever got a manager to
    submit the form, and "Test connection" would hand them the token.
    """
    if not changes.name.strip():
        raise InvalidInput(N_("A store needs a name."), obj=store)
    check_lengths(Store, {"name": changes.name.strip(), "base_url": changes.base_url}, STORE_LABELS)
    if not 1 <= changes.sync_interval_minutes <= MAX_INTERVAL_MINUTES:
        raise InvalidInput(
            N_("The sync interval must be between 1 and %(max)s minutes."),
            obj=store,
            max=MAX_INTERVAL_MINUTES,
        )
    manifest = platform_manifest(store.platform)
    changes = replace(changes, base_url=normalized_base_url(manifest, changes.base_url))
    _check_base_url(manifest, changes.base_url)
    credentials = decrypt_credentials(secret_key, store.credentials_encrypted)
    old_host = platform_host(store.platform, store.base_url, credentials)
    replaced = sorted(k for k, v in changes.credentials.items() if v and credentials.get(k) != v)
    credentials.update({k: v for k, v in changes.credentials.items() if v})
    new_host = platform_host(store.platform, changes.base_url, credentials)
    if new_host != old_host:
        missing = [k for k in manifest.required_credentials if not changes.credentials.get(k)]
        if missing:
            default = Msgid(N_("the platform's own address"))
            raise InvalidInput(
                N_(
                    "The platform address changes from %(old)s to %(new)s: enter the "
                    "credentials again (%(fields)s), or they would be sent to the new address."
                ),
                obj=store,
                old=old_host or default,
                new=new_host or default,
                fields=credential_labels(manifest, missing),
                code="credentials_needed_again",
            )
    before = {
        "name": store.name,
        "base_url": _without_secrets(store.base_url),
        "enabled": store.enabled,
        "sync_interval_minutes": store.settings.get("sync_interval_minutes"),
    }
    store.name = changes.name.strip()
    store.base_url = changes.base_url or None
    store.enabled = changes.enabled
    store.credentials_encrypted = encrypt_credentials(secret_key, credentials)
    after = {
        "name": store.name,
        "base_url": _without_secrets(store.base_url),
        "enabled": store.enabled,
        "sync_interval_minutes": changes.sync_interval_minutes,
    }
    changed = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    async with in_transaction() as conn:
        # Not the settings column: the form's own key goes through the registry,
        # which re-reads the row, so a returns policy saved since this store was
        # loaded is kept rather than overwritten with the stale copy.
        await store.save(using_db=conn, update_fields=STORE_FORM_COLUMNS)
        await modules.current().update_store_settings(
            store, "orders", {"sync_interval_minutes": changes.sync_interval_minutes}, conn
        )
        await audit.record(
            "store.updated",
            subject_type="store",
            subject_id=store.id,
            actor=actor,
            data={
                "changed": changed,
                "credentials_replaced": replaced,
                **({"host": [old_host, new_host]} if new_host != old_host else {}),
            },
            using_db=conn,
        )
    return store


def _without_secrets(url: str | None) -> str | None:
    """A URL for the audit trail: no user info, query or fragment, where keys can hide."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else host + parts.path


@dataclass(frozen=True)
class StreamStatus:
    """One stream's last sync; ``last_error`` is technical, ``problem`` the sentence for people."""

    stream: str
    last_synced_at: datetime | None
    completed_at: datetime | None
    last_error: str | None
    records_seen: int
    platform: str = ""
    error_code: str | None = None
    error_params: dict[str, Any] | None = None
    syncing: bool = True  # the store is synced on schedule (not paused)

    @property
    def problem(self) -> str | None:
        """The failure in the reader's language (``core.failures``), or None when it synced."""
        if not self.last_error and not self.error_code:
            return None
        return failures.sentence(self.error_code, self.error_params, self.platform)

    @property
    def retried(self) -> bool:
        """The next scheduled sync may well succeed by itself (a paused store has none)."""
        return self.syncing and failures.is_retried(self.error_code)


async def store_status(store: Store) -> list[StreamStatus]:
    states = {s.stream: s for s in await SyncState.filter(store_id=store.id)}
    out: list[StreamStatus] = []
    for stream in Stream:
        state = states.get(stream.value)
        out.append(
            StreamStatus(
                stream=stream.value,
                last_synced_at=state.last_synced_at if state else None,
                completed_at=state.completed_at if state else None,
                last_error=state.last_error if state else None,
                records_seen=state.records_seen if state else 0,
                platform=store.platform,
                error_code=state.error_code if state else None,
                error_params=state.error_params if state else None,
                syncing=store.enabled,
            )
        )
    return out


async def get_store(store_id: int) -> Store:
    store = await Store.get_or_none(id=store_id)
    if store is None:
        raise NotFound(N_("No store with id %(id)s."), id=store_id)
    return store


async def import_orders(store: Store, data: bytes, *, format: str | None = None) -> CsvImport:
    """Import an order export; good rows land, each bad line is reported, not guessed at."""
    from connectors.csvfile import BadRow, read_orders

    result = read_orders(data, format=format, updated_at=clock.now())
    fitting = []
    for record in result.records:
        problem = record_problem(record)
        if problem is None:
            fitting.append(record)
            continue
        result.errors.append(BadRow(0, problem, order_id=record.platform_order_id[:64]))
    result.records = fitting
    async with in_transaction() as conn:
        for start in range(0, len(result.records), 500):
            await upsert_orders(store, result.records[start : start + 500], conn=conn)
        await audit.record(
            "store.csv_imported",
            subject_type="store",
            subject_id=store.id,
            data={"orders": len(result.records), "bad_lines": len(result.errors)},
            using_db=conn,
        )
    return result


async def get_customer(customer_id: int) -> Customer:
    customer = await Customer.get_or_none(id=customer_id)
    if customer is None:
        raise NotFound(N_("No such customer."), id=customer_id)
    return customer


# Tags agents put on buyers (declared with the module's words, shown by ``label``).
CUSTOMER_TAGS = order_words.CUSTOMER_TAGS
MAX_TAGS = 8
MAX_NOTES = 2000


async def update_customer(
    customer: Customer, *, tags: list[str], notes: str, actor: User
) -> Customer:
    """Agents tag a buyer and keep notes; a sync never overwrites either."""
    cleaned: list[str] = []
    for tag in (t.strip() for t in tags):
        if not tag or tag in cleaned:
            continue
        if len(tag) > 20:
            raise InvalidInput(
                N_("A tag is at most %(max)s characters."), obj=customer, max=20, code="too_long"
            )
        cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(N_("At most %(max)s tags."), obj=customer, max=MAX_TAGS)
    if len(notes) > MAX_NOTES:
        raise InvalidInput(
            N_("Notes are at most %(max)s characters."),
            obj=customer,
            max=MAX_NOTES,
            code="too_long",
        )
    before = {"tags": customer.tags, "notes": customer.notes}
    customer.tags = cleaned
    customer.notes = notes.strip()
    async with in_transaction() as conn:
        await customer.save(using_db=conn, update_fields=["tags", "notes"])
        await audit.record(
            "customer.updated",
            subject_type="customer",
            subject_id=customer.id,
            actor=actor,
            data={"before": before, "after": {"tags": cleaned, "notes": customer.notes}},
            using_db=conn,
        )
    return customer


async def customer_orders(customer: Customer) -> list[Order]:
    return await Order.filter(customer=customer).order_by("-placed_at").prefetch_related("items")


async def check_connection(store: Store, secret_key: str) -> str | None:
    """None when the platform accepts the store's credentials, else what it said."""
    from aftersales.orders.sync import connector_for
    from connectors.base import ConnectorError

    if not platform_manifest(store.platform).syncs:  # an import-only store has no one to ask
        return None
    connector = connector_for(store, secret_key, max_attempts=2, timeout=10)
    try:
        await connector.check()
    except (ConnectorError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await connector.aclose()
    return None
