"""Orders: upsert from connector records, search, and the morning checklist counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock
from aftersales.core.db import bulk_upsert, check_lengths, too_long
from aftersales.core.errors import InvalidInput, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import Store, User
from aftersales.core.modules import Module, TimelineEvent
from aftersales.core.security import decrypt_credentials, encrypt_credentials
from aftersales.orders.models import (
    Customer,
    Order,
    OrderItem,
    Shipment,
    ShipmentDirection,
    SyncState,
)
from connectors.base import OrderRecord, OrderStatus, Stream

if TYPE_CHECKING:
    from connectors.csvfile import CsvImport

UNPAID_AFTER = timedelta(days=1)
SHIP_PROMISE = timedelta(hours=48)
PAGE_SIZE = 50


async def upsert_orders(
    store: Store, records: list[OrderRecord], *, conn: BaseDBAsyncClient
) -> None:
    """Insert or update a page of orders by (store, platform id) in a few statements.

    One page is a handful of bulk upserts instead of queries per order: the
    sync benchmark depends on it. Later records for the same order win.
    """
    if not records:
        return
    latest = {r.platform_order_id: r for r in records}
    now = clock.now()
    buyers = {r.buyer.platform_buyer_id: r.buyer for r in latest.values()}
    customer_ids = await bulk_upsert(
        conn,
        "customers",
        ["store_id", "platform_buyer_id", "nick", "name", "phone", "address", "tags", "notes"],
        [
            [store.id, b.platform_buyer_id, b.nick, b.name, b.phone, b.address, "[]", ""]
            for b in buyers.values()
        ],
        conflict=["store_id", "platform_buyer_id"],
        update=["nick", "name", "phone", "address"],
        returning="id",
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
            for r in latest.values()
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
            for r in latest.values()
            for s in r.shipments
        ],
        conflict=["order_id", "direction", "tracking_no"],
        update=["carrier", "shipped_at"],
    )


def order_too_long(record: OrderRecord) -> tuple[str, int, int] | None:
    """The first value of an order record longer than its column, as the upsert writes it.

    ``bulk_upsert`` is raw SQL: PostgreSQL would refuse such a value (and the
    whole page with it) while SQLite stores it whole, so both refuse it here.
    """
    buyer = record.buyer
    rows: list[tuple[type[Model], dict[str, Any]]] = [
        (
            Order,
            {
                "platform_order_id": record.platform_order_id,
                "platform_status": record.platform_status,
                "currency": record.currency,
            },
        ),
        (
            Customer,
            {
                "platform_buyer_id": buyer.platform_buyer_id,
                "nick": buyer.nick,
                "name": buyer.name,
                "phone": buyer.phone,
            },
        ),
        *(
            (OrderItem, {"platform_item_id": i.platform_item_id, "title": i.title, "sku": i.sku})
            for i in record.items
        ),
        *(
            (Shipment, {"tracking_no": s.tracking_no, "carrier": s.carrier})
            for s in record.shipments
        ),
    ]
    return next((p for model, values in rows if (p := too_long(model, values))), None)


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


@dataclass(frozen=True)
class OrderFilters:
    store_id: int | None = None
    status: OrderStatus | None = None
    text: str = ""
    placed_from: datetime | None = None
    placed_to: datetime | None = None
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


async def search_orders(filters: OrderFilters, *, per_page: int = PAGE_SIZE) -> OrderPage:
    query = Order.all()
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
        query = query.filter(condition).distinct()
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


async def get_order(order_id: int) -> Order:
    order = await Order.get_or_none(id=order_id).prefetch_related("customer", "items", "shipments")
    if order is None:
        raise NotFound("No such order.")
    return order


async def order_timeline(order: Order, modules: Sequence[Module]) -> list[TimelineEvent]:
    """Everything that happened to an order, newest first, from every module.

    The platform's own times come from the order and its parcels; refunds,
    returns and reviews add theirs through ``Module.order_events``, labelled
    in words an agent reads rather than audit action names.
    """
    events = [
        TimelineEvent(at=order.placed_at, label=N_("Order placed")),
        *([TimelineEvent(at=order.paid_at, label=N_("Paid"))] if order.paid_at else []),
        *(
            TimelineEvent(
                at=s.shipped_at or s.created_at,
                label=N_("Parcel sent"),
                detail=f"{s.carrier} {s.tracking_no}".strip(),
            )
            for s in order.shipments
            if s.direction == ShipmentDirection.OUTBOUND
        ),
        *(
            TimelineEvent(
                at=s.shipped_at or s.created_at,
                label=N_("Return parcel"),
                detail=f"{s.carrier} {s.tracking_no}".strip(),
            )
            for s in order.shipments
            if s.direction == ShipmentDirection.RETURN
        ),
    ]
    if order.shipped_at and not order.shipments:
        events.append(TimelineEvent(at=order.shipped_at, label=N_("Shipped")))
    for module in modules:
        if module.order_events is not None:
            events.extend(await module.order_events(order.id))
    return sorted(events, key=lambda e: e.at, reverse=True)


@dataclass(frozen=True)
class MorningCounts:
    unpaid_over_a_day: int
    late_shipments: int
    placed_today: int
    failing_streams: int


async def morning_counts() -> MorningCounts:
    now = clock.now()
    return MorningCounts(
        unpaid_over_a_day=await Order.filter(
            status=OrderStatus.AWAITING_PAYMENT, placed_at__lt=now - UNPAID_AFTER
        ).count(),
        late_shipments=await Order.filter(
            status=OrderStatus.AWAITING_SHIPMENT, paid_at__lt=now - SHIP_PROMISE
        ).count(),
        placed_today=await Order.filter(placed_at__gte=now - timedelta(days=1)).count(),
        failing_streams=await SyncState.filter(last_error__isnull=False).count(),
    )


PLATFORM_CREDENTIALS = {
    "woocommerce": ("key", "secret"),
    "shopify": ("shop", "token"),
    "taobao": ("app_key", "app_secret", "session"),
    "csv": (),
    "demo": (),
}


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
    if platform not in PLATFORM_CREDENTIALS:
        raise InvalidInput(f"Unknown platform {platform!r}.")
    credentials = {k: v for k, v in (credentials or {}).items() if v}
    missing = [k for k in PLATFORM_CREDENTIALS[platform] if not credentials.get(k)]
    if missing:
        raise InvalidInput(f"A {platform} store needs: {', '.join(missing)}.")
    if platform == "woocommerce" and not base_url:
        raise InvalidInput("A WooCommerce store needs its site URL.")
    if not name.strip():
        raise InvalidInput("A store needs a name.")
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


async def update_store(
    store: Store, changes: StoreChanges, *, secret_key: str, actor: User | None = None
) -> Store:
    """Edit a connected store; the audit row names what changed, never a secret."""
    if not changes.name.strip():
        raise InvalidInput("A store needs a name.")
    check_lengths(Store, {"name": changes.name.strip(), "base_url": changes.base_url}, STORE_LABELS)
    if not 1 <= changes.sync_interval_minutes <= MAX_INTERVAL_MINUTES:
        raise InvalidInput(
            f"The sync interval must be between 1 and {MAX_INTERVAL_MINUTES} minutes."
        )
    if store.platform == "woocommerce" and not changes.base_url:
        raise InvalidInput("A WooCommerce store needs its site URL.")
    credentials = decrypt_credentials(secret_key, store.credentials_encrypted)
    replaced = sorted(k for k, v in changes.credentials.items() if v and credentials.get(k) != v)
    credentials.update({k: v for k, v in changes.credentials.items() if v})
    before = {
        "name": store.name,
        "base_url": store.base_url,
        "enabled": store.enabled,
        "sync_interval_minutes": store.settings.get("sync_interval_minutes"),
    }
    store.name = changes.name.strip()
    store.base_url = changes.base_url or None
    store.enabled = changes.enabled
    store.settings = {**store.settings, "sync_interval_minutes": changes.sync_interval_minutes}
    store.credentials_encrypted = encrypt_credentials(secret_key, credentials)
    after = {
        "name": store.name,
        "base_url": store.base_url,
        "enabled": store.enabled,
        "sync_interval_minutes": changes.sync_interval_minutes,
    }
    changed = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    async with in_transaction() as conn:
        await store.save(using_db=conn)
        await audit.record(
            "store.updated",
            subject_type="store",
            subject_id=store.id,
            actor=actor,
            data={"changed": changed, "credentials_replaced": replaced},
            using_db=conn,
        )
    return store


@dataclass(frozen=True)
class StreamStatus:
    stream: str
    last_synced_at: datetime | None
    completed_at: datetime | None
    last_error: str | None
    records_seen: int


async def store_status(store: Store) -> list[StreamStatus]:
    states = {s.stream: s for s in await SyncState.filter(store_id=store.id)}
    return [
        StreamStatus(
            stream=stream.value,
            last_synced_at=states[stream.value].last_synced_at if stream.value in states else None,
            completed_at=states[stream.value].completed_at if stream.value in states else None,
            last_error=states[stream.value].last_error if stream.value in states else None,
            records_seen=states[stream.value].records_seen if stream.value in states else 0,
        )
        for stream in Stream
    ]


async def get_store(store_id: int) -> Store:
    store = await Store.get_or_none(id=store_id)
    if store is None:
        raise NotFound(f"No store with id {store_id}.")
    return store


async def import_orders(store: Store, data: bytes, *, format: str | None = None) -> CsvImport:
    """Import an order export; good rows land, each bad line is reported, not guessed at."""
    from connectors.csvfile import BadRow, read_orders

    result = read_orders(data, format=format, updated_at=clock.now())
    fitting = []
    for record in result.records:
        problem = order_too_long(record)
        if problem is None:
            fitting.append(record)
            continue
        name, limit, length = problem
        result.errors.append(
            BadRow(
                0,
                f"order {record.platform_order_id[:64]}: {name} is {length} characters, "
                f"more than the {limit} this desk keeps",
                order_id=record.platform_order_id[:64],
            )
        )
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
        raise NotFound("No such customer.")
    return customer


# Tags agents put on buyers; the handover and the refund page show them.
CUSTOMER_TAGS = {
    "vip": N_("VIP"),
    "angry": N_("Angry"),
    "difficult": N_("Difficult"),
    "frequent_refunds": N_("Frequent refunds"),
}
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
            raise InvalidInput("A tag is at most 20 characters.")
        cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags.")
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"Notes are at most {MAX_NOTES} characters.")
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

    if store.platform == "csv":
        return None
    connector = connector_for(store, secret_key, max_attempts=2, timeout=10)
    try:
        await connector.check()
    except (ConnectorError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await connector.aclose()
    return None
