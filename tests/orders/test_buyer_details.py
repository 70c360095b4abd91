"""A buyer's details follow the newest order the desk writes, never a stale one.

The sync inserts a new buyer whole and updates a known one only when an
order of theirs is written: this is what the customer page and the handover
show as the buyer's name, phone and address.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from aftersales.core.models import Store
from aftersales.orders.models import Customer, Order
from aftersales.orders.service import upsert_orders
from connectors.base import BuyerRecord, OrderItemRecord, OrderRecord, OrderStatus
from tests.factories import create_store

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def record(order_id: str, buyer_id: str, phone: str, *, minutes: int) -> OrderRecord:
    return OrderRecord(
        platform_order_id=order_id,
        status=OrderStatus.AWAITING_SHIPMENT,
        platform_status="PAID",
        buyer=BuyerRecord(
            platform_buyer_id=buyer_id,
            nick=f"买家{buyer_id}",
            name="王小明",
            phone=phone,
            address="上海市浦东新区",
            contact_ciphertext={"phone": f"#{phone}#"},
        ),
        total_amount=Decimal("10.00"),
        paid_amount=Decimal("10.00"),
        created_at=AT,
        updated_at=AT + timedelta(minutes=minutes),
        items=[
            OrderItemRecord(
                platform_item_id=order_id + "-1", title="杯子", quantity=1,
                unit_price=Decimal("10.00"), amount=Decimal("10.00"),
            )
        ],
    )  # fmt: skip


async def page(store_id: int, *records: OrderRecord) -> set[str]:
    """One sync page's orders, committed in one transaction as the sync commits it."""
    async with in_transaction() as conn:
        return await upsert_orders(await Store.get(id=store_id), list(records), conn=conn)


async def phone_of(buyer_id: str) -> tuple[str | None, dict[str, str] | None]:
    customer = await Customer.get(platform_buyer_id=buyer_id)
    return customer.phone, customer.contact_ciphertext


async def test_new_buyers_land_whole_and_known_ones_change_only_with_a_written_order(
    clean_db,
) -> None:
    store = await create_store(platform="demo")
    assert await page(store.id, record("A", "b1", "138****0001", minutes=0)) == {"A"}
    assert await phone_of("b1") == ("138****0001", {"phone": "#138****0001#"})

    # The buyer changed their phone: a newer version of the order carries it.
    assert await page(store.id, record("A", "b1", "138****0002", minutes=5)) == {"A"}
    assert await phone_of("b1") == ("138****0002", {"phone": "#138****0002#"})

    # A stale page (an older version of the order) neither rolls the order nor the buyer back;
    # a new buyer in the same page is stored whole beside it.
    written = await page(
        store.id,
        record("A", "b1", "138****0000", minutes=1),
        record("B", "b2", "139****0003", minutes=0),
    )
    assert written == {"B"}
    assert await phone_of("b1") == ("138****0002", {"phone": "#138****0002#"})
    assert await phone_of("b2") == ("139****0003", {"phone": "#139****0003#"})
    assert await Customer.filter(store_id=store.id).count() == 2
    order_b = await Order.get(platform_order_id="B").prefetch_related("customer")
    assert order_b.customer.platform_buyer_id == "b2"
