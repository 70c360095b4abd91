"""Customers, orders and their items, as synced from the store platforms."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from connectors.base import OrderStatus

if TYPE_CHECKING:  # Tortoise resolves relations by name; these are for the type checker
    from aftersales.core.models import Store


class Customer(Model):
    """A buyer of one store — phone and address are shown masked to most roles.

    Where the platform encrypts contact details, ``name``, ``phone`` and
    ``address`` hold its masked values and ``contact_ciphertext`` what the
    connector decrypts on request (field -> the connector's own string, null
    where the platform sends contact details in plain words): the plaintext is
    never stored.
    """

    id = fields.IntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    platform_buyer_id = fields.CharField(max_length=64)
    nick = fields.CharField(max_length=128)
    name = fields.CharField(max_length=128, null=True)
    phone = fields.CharField(max_length=32, null=True)
    address = fields.TextField(null=True)
    contact_ciphertext: fields.JSONField[dict[str, str] | None] = fields.JSONField(null=True)
    tags = fields.JSONField(default=list)
    notes = fields.TextField(default="")

    orders: fields.ReverseRelation[Order]

    class Meta:
        table = "customers"
        unique_together = (("store", "platform_buyer_id"),)


class Order(Model):
    id = fields.IntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    platform_order_id = fields.CharField(max_length=64)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "orders.Customer", related_name="orders", on_delete=fields.RESTRICT
    )
    customer_id: int
    status = fields.CharEnumField(OrderStatus, max_length=24, db_index=True)
    platform_status = fields.CharField(max_length=64)
    currency = fields.CharField(max_length=3, default="CNY")
    total_amount = fields.DecimalField(max_digits=12, decimal_places=2)
    paid_amount = fields.DecimalField(max_digits=12, decimal_places=2)
    placed_at = fields.DatetimeField(db_index=True)
    paid_at = fields.DatetimeField(null=True)
    shipped_at = fields.DatetimeField(null=True)
    platform_updated_at = fields.DatetimeField()
    synced_at = fields.DatetimeField()

    items: fields.ReverseRelation[OrderItem]
    shipments: fields.ReverseRelation[Shipment]

    class Meta:
        table = "orders"
        unique_together = (("store", "platform_order_id"),)
        indexes = (("paid_at",),)  # the refund report's denominator: orders paid in a period


class OrderItem(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "orders.Order", related_name="items", on_delete=fields.CASCADE
    )
    order_id: int
    platform_item_id = fields.CharField(max_length=64)
    title = fields.CharField(max_length=255)
    sku = fields.CharField(max_length=128, null=True)
    quantity = fields.IntField()
    unit_price = fields.DecimalField(max_digits=12, decimal_places=2)
    amount = fields.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        table = "order_items"
        unique_together = (("order", "platform_item_id"),)


class SyncState(Model):
    """Where each (store, stream) sync stopped — saved with the page it follows."""

    id = fields.IntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    stream = fields.CharField(max_length=16)
    cursor = fields.TextField(null=True)
    last_synced_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)  # technical, for managers and logs
    error_code = fields.CharField(max_length=32, null=True)  # core.failures, for people
    error_params: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    records_seen = fields.BigIntField(default=0)

    class Meta:
        table = "sync_states"
        unique_together = (("store", "stream"),)


class ShipmentDirection(StrEnum):
    OUTBOUND = "outbound"
    RETURN = "return"


class Shipment(Model):
    """A parcel to or from the buyer. Tracking numbers are never deleted."""

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "orders.Order", related_name="shipments", on_delete=fields.RESTRICT
    )
    order_id: int
    direction = fields.CharEnumField(ShipmentDirection, max_length=16)
    carrier = fields.CharField(max_length=64)
    tracking_no = fields.CharField(max_length=64, db_index=True)
    shipped_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "shipments"
        unique_together = (("order", "direction", "tracking_no"),)


class PlatformRecord(Model):
    """An after-sale or review record as synced, kept until a module handles it.

    Streams other than orders land here first, so nothing a platform sent is
    dropped while the module that understands it is switched off or not yet
    written. ``handled`` counts how many module handlers took it.
    """

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    stream = fields.CharField(max_length=16)
    platform_id = fields.CharField(max_length=64)
    data = fields.JSONField()
    handled = fields.IntField(default=0)
    received_at = fields.DatetimeField()

    class Meta:
        table = "platform_records"
        unique_together = (("store", "stream", "platform_id"),)


class SyncError(Model):
    """A record the platform sent that we could not read, with its id and why."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    stream = fields.CharField(max_length=16)
    record_id = fields.CharField(max_length=64, null=True)
    message = fields.TextField()  # technical, for managers and logs
    error_code = fields.CharField(max_length=32, null=True)  # core.failures, for people
    error_params: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "sync_errors"
