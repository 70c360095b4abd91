"""Return and exchange cases: the goods' way back, their inspection and what follows."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from aftersales.core.cases import Case, CaseType
from aftersales.core.i18n import N_
from aftersales.returns.policy import ReturnKind

if TYPE_CHECKING:  # Tortoise resolves relations by name; these are for the type checker
    from aftersales.core.models import User
    from aftersales.orders.models import OrderItem, Shipment
    from aftersales.refunds.models import Refund


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"  # decided, the platform is being told
    REJECTED = "rejected"
    AWAITING_SHIPMENT = "awaiting_shipment"  # the buyer has to send the goods
    IN_TRANSIT = "in_transit"  # a tracking number is known
    DELIVERED = "delivered"  # the carrier says it reached the warehouse
    RECEIVED = "received"  # the warehouse scanned it
    INSPECTED = "inspected"
    REFUND_TRIGGERED = "refund_triggered"
    REPLACEMENT_SHIPPED = "replacement_shipped"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {
        ReturnStatus.REQUESTED,
        ReturnStatus.APPROVED,
        ReturnStatus.AWAITING_SHIPMENT,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.DELIVERED,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
    }
)
# Not over yet: the open statuses and those waiting for the money or the replacement to
# land. A case in these works its refund (``Refund.worked_in``), marks its order in
# the orders list and may be taken or handed to a colleague.
RUNNING_STATUSES = OPEN_STATUSES | {ReturnStatus.REFUND_TRIGGERED, ReturnStatus.REPLACEMENT_SHIPPED}
# The goods are on their way to us: the seller's confirm-receipt timer runs.
INBOUND_STATUSES = frozenset({ReturnStatus.IN_TRANSIT, ReturnStatus.DELIVERED})


class ShippingPayer(StrEnum):
    BUYER = "buyer"
    SHOP = "shop"
    INSURANCE = "insurance"  # 运费险, freight insurance bought with the order


class InspectionResult(StrEnum):
    ACCEPTED = "accepted"
    DAMAGED = "damaged"
    MISSING = "missing"
    WRONG_ITEM = "wrong_item"


class ReturnCase(Case):
    """One return or exchange. ``version`` moves on every change, so a decision on a
    stale page, or a second inspection of the same parcel, is refused rather than repeated.
    """

    case_type = CaseType(
        "returns",
        "return",
        N_("return case"),
        states="aftersales.returns.states",
        audit_subject="return_case",
        conflict_code="return_already_done",  # the API's code for a stale step
    )

    platform_return_id = fields.CharField(max_length=64, null=True)
    kind = fields.CharEnumField(ReturnKind, max_length=16)
    status = fields.CharEnumField(ReturnStatus, max_length=24, db_index=True)
    policy_allowed = fields.BooleanField(null=True)
    policy_rules = fields.JSONField(default=list)
    policy_explanation = fields.TextField(default="")
    return_address = fields.TextField(default="")
    shipping_payer = fields.CharEnumField(ShippingPayer, max_length=16, null=True)
    shipping_cost = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    price_difference = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    price_difference_note = fields.TextField(default="")
    buyer_ship_by = fields.DatetimeField(null=True)
    confirm_receipt_by = fields.DatetimeField(null=True)
    buyer_shipped_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField(null=True)
    received_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    received_by_id: int | None
    inspected_at = fields.DatetimeField(null=True)
    inspected_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    inspected_by_id: int | None
    refund: fields.ForeignKeyNullableRelation[Refund] = fields.ForeignKeyField(
        "refunds.Refund", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    refund_id: int | None
    replacement: fields.ForeignKeyNullableRelation[Shipment] = fields.ForeignKeyField(
        "orders.Shipment", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    replacement_id: int | None
    action_keys = fields.JSONField(default=dict)  # Idempotency-Key -> the action it answered
    close_reason = fields.CharField(max_length=255, default="")
    closed_at = fields.DatetimeField(null=True)

    lines: fields.ReverseRelation[ReturnLine]
    trackings: fields.ReverseRelation[ReturnTracking]

    class Meta:
        table = "return_cases"
        unique_together = (("store", "platform_return_id"),)


class ReturnLine(Model):
    """One item coming back: how many, what arrived, what the warehouse found.

    An exchange line names the variant the buyer gets instead, which may be
    another SKU at another price.
    """

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[ReturnCase] = fields.ForeignKeyField(
        "returns.ReturnCase", related_name="lines", on_delete=fields.CASCADE
    )
    case_id: int
    order_item: fields.ForeignKeyNullableRelation[OrderItem] = fields.ForeignKeyField(
        "orders.OrderItem", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    order_item_id: int | None
    platform_item_id = fields.CharField(max_length=64, default="")
    title = fields.CharField(max_length=255, default="")
    quantity = fields.IntField()
    unit_price = fields.DecimalField(max_digits=12, decimal_places=2)
    received_good = fields.IntField(default=0)
    received_damaged = fields.IntField(default=0)
    result = fields.CharEnumField(InspectionResult, max_length=16, null=True)
    note = fields.TextField(default="")
    restock = fields.BooleanField(null=True)
    replacement_sku = fields.CharField(max_length=128, default="")
    replacement_title = fields.CharField(max_length=255, default="")
    replacement_price = fields.DecimalField(max_digits=12, decimal_places=2, null=True)

    class Meta:
        table = "return_lines"


class TrackingSource(StrEnum):
    PLATFORM = "platform"  # the buyer filled it in on the platform
    DESK = "desk"  # an agent or the warehouse typed it


class ReturnTracking(Model):
    """A tracking number the buyer shipped the return with, and what the carrier said.

    Never deleted: a corrected number is a new row and the old one is kept
    inactive, because the carrier's history of a wrong parcel is evidence too.
    """

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[ReturnCase] = fields.ForeignKeyField(
        "returns.ReturnCase", related_name="trackings", on_delete=fields.RESTRICT
    )
    case_id: int
    carrier = fields.CharField(max_length=32)
    tracking_no = fields.CharField(max_length=64, db_index=True)
    source = fields.CharEnumField(TrackingSource, max_length=16)
    active = fields.BooleanField(default=True)
    state = fields.CharField(max_length=24, default="")
    events = fields.JSONField(default=list)
    delivered_at = fields.DatetimeField(null=True)
    checked_at = fields.DatetimeField(null=True)
    check_error = fields.TextField(default="")
    added_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    added_by_id: int | None
    added_at = fields.DatetimeField()

    class Meta:
        table = "return_trackings"


class ReturnAttachment(Model):
    """A photo the warehouse took at inspection. Files live under the data dir."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[ReturnCase] = fields.ForeignKeyField(
        "returns.ReturnCase", related_name="attachments", on_delete=fields.CASCADE
    )
    case_id: int
    line: fields.ForeignKeyNullableRelation[ReturnLine] = fields.ForeignKeyField(
        "returns.ReturnLine", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    line_id: int | None
    file_name = fields.CharField(max_length=255)
    stored_as = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=64)
    size = fields.IntField()
    added_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    added_by_id: int | None
    added_at = fields.DatetimeField()

    class Meta:
        table = "return_attachments"
