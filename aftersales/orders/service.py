"""Orders: upsert from connector records, search, and the morning checklist counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from aftersales.core import clock
from aftersales.core.errors import NotFound
from aftersales.core.models import Store
from aftersales.orders.models import Customer, Order, OrderItem, SyncState
from connectors.base import OrderRecord, OrderStatus, Page

UNPAID_AFTER = timedelta(days=1)
SHIP_PROMISE = timedelta(hours=48)
PAGE_SIZE = 50


async def upsert_order(store: Store, record: OrderRecord, *, conn: BaseDBAsyncClient) -> Order:
    """Insert or update one order by (store, platform order id); items likewise."""
    buyer = record.buyer
    customer, _ = await Customer.get_or_create(
        store=store,
        platform_buyer_id=buyer.platform_buyer_id,
        defaults={"nick": buyer.nick},
        using_db=conn,
    )
    customer.nick = buyer.nick
    customer.name = buyer.name or customer.name
    customer.phone = buyer.phone or customer.phone
    customer.address = buyer.address or customer.address
    await customer.save(using_db=conn)
    values = {
        "customer": customer,
        "status": record.status,
        "platform_status": record.platform_status,
        "currency": record.currency,
        "total_amount": record.total_amount,
        "paid_amount": record.paid_amount,
        "placed_at": record.created_at,
        "paid_at": record.paid_at,
        "shipped_at": record.shipped_at,
        "platform_updated_at": record.updated_at,
        "synced_at": clock.now(),
    }
    order, _ = await Order.update_or_create(
        defaults=values, store=store, platform_order_id=record.platform_order_id, using_db=conn
    )
    for item in record.items:
        await OrderItem.update_or_create(
            defaults={
                "title": item.title,
                "sku": item.sku,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "amount": item.amount,
            },
            order=order,
            platform_item_id=item.platform_item_id,
            using_db=conn,
        )
    return order


async def commit_page(store: Store, stream: str, page: Page[OrderRecord]) -> int:
    """Records and the cursor after them land together, so a crash resumes cleanly."""
    async with in_transaction() as conn:
        for record in page.records:
            await upsert_order(store, record, conn=conn)
        state, _ = await SyncState.get_or_create(store=store, stream=stream, using_db=conn)
        state.cursor = page.cursor
        state.last_synced_at = clock.now()
        state.records_seen += len(page.records)
        await state.save(using_db=conn)
    return len(page.records)


@dataclass(frozen=True)
class OrderFilters:
    store_id: int | None = None
    status: OrderStatus | None = None
    text: str = ""
    page: int = 1


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
        await query.order_by("-placed_at", "-id")
        .offset((page - 1) * per_page)
        .limit(per_page)
        .prefetch_related("customer", "items")
    )
    return OrderPage(orders=orders, total=total, page=page, pages=pages)


async def get_order(order_id: int) -> Order:
    order = await Order.get_or_none(id=order_id).prefetch_related("customer", "items")
    if order is None:
        raise NotFound("No such order.")
    return order


@dataclass(frozen=True)
class MorningCounts:
    unpaid_over_a_day: int
    late_shipments: int
    placed_today: int


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
    )
