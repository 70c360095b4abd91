"""Refunds: the buyer's request or the shop's own refund, its lines, its money and its rules."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from aftersales.core.cases import Case, CaseType
from aftersales.core.i18n import N_

if TYPE_CHECKING:  # Tortoise resolves relations by name; these are for the type checker
    from aftersales.core.models import OutboxMessage, Store, User
    from aftersales.orders.models import Order, OrderItem


class RefundKind(StrEnum):
    REFUND_ONLY = "refund_only"
    RETURN_AND_REFUND = "return_and_refund"
    # Refunds an agent starts on the desk (no buyer request on the platform):
    SHIPPING = "shipping"
    PRICE_DIFFERENCE = "price_difference"  # 补差价
    COMPENSATION = "compensation"


AD_HOC_KINDS = frozenset(
    {RefundKind.SHIPPING, RefundKind.PRICE_DIFFERENCE, RefundKind.COMPENSATION}
)


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"  # decided on the desk, write-back queued
    WAITING_RETURN = "waiting_return"  # return-and-refund: money after the goods come back
    REFUNDING = "refunding"  # the platform was told to pay
    REFUNDED = "refunded"
    WRITEBACK_FAILED = "writeback_failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # by the buyer, or closed on the platform
    DISPUTED = "disputed"  # the platform stepped in (平台介入)


OPEN_STATUSES = frozenset(
    {
        RefundStatus.REQUESTED,
        RefundStatus.APPROVED,
        RefundStatus.WAITING_RETURN,
        RefundStatus.REFUNDING,
        RefundStatus.WRITEBACK_FAILED,
        RefundStatus.DISPUTED,
    }
)


class Refund(Case):
    """One refund case. ``version`` moves on every change, so a decision made on a
    stale page (or by a second agent at the same moment) is refused, not applied twice.
    """

    case_type = CaseType(
        "refunds",
        "refund",
        N_("refund"),
        states="aftersales.refunds.states",
        conflict_code="refund_already_decided",  # the API's code for a stale decision
    )

    platform_refund_id = fields.CharField(max_length=64, null=True)
    platform_item_id = fields.CharField(max_length=64, null=True)
    kind = fields.CharEnumField(RefundKind, max_length=24)
    status = fields.CharEnumField(RefundStatus, max_length=24, db_index=True)
    requested_amount = fields.DecimalField(max_digits=12, decimal_places=2)
    approved_amount = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    platform_reason = fields.TextField(default="")
    platform_updated_at = fields.DatetimeField(null=True)
    auto_agreed = fields.BooleanField(default=False)  # the platform's timer ran out on us
    disputed = fields.BooleanField(default=False)  # the platform stepped in at some point
    decision_key = fields.CharField(max_length=128, null=True)
    rule = fields.CharField(max_length=255, default="")
    writeback: fields.ForeignKeyNullableRelation[OutboxMessage] = fields.ForeignKeyField(
        "core.OutboxMessage", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    writeback_id: int | None
    writeback_error = fields.TextField(default="")
    intercept_parcel = fields.BooleanField(default=False)
    review_case_id = fields.IntField(null=True)
    # The case that works this refund now (a ``CaseRef``, "returns:return:12"): a
    # return-and-refund is decided in its return case, not a second time here.
    # Written by the owning module through ``service.work_in``, cleared when it ends.
    worked_in = fields.CharField(max_length=64, null=True, db_index=True)
    refunded_at = fields.DatetimeField(null=True)

    lines: fields.ReverseRelation[RefundLine]

    class Meta:
        table = "refunds"
        unique_together = (("store", "platform_refund_id"),)
        # The report reads refunds by when they were decided and paid.
        indexes = (("decided_at",), ("refunded_at",))


class RefundLine(Model):
    """What the money is for: an order item, or the shipping (item null)."""

    id = fields.IntField(primary_key=True)
    refund: fields.ForeignKeyRelation[Refund] = fields.ForeignKeyField(
        "refunds.Refund", related_name="lines", on_delete=fields.CASCADE
    )
    refund_id: int
    order_item: fields.ForeignKeyNullableRelation[OrderItem] = fields.ForeignKeyField(
        "orders.OrderItem", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    order_item_id: int | None
    is_shipping = fields.BooleanField(default=False)
    amount = fields.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        table = "refund_lines"


class LedgerSource(StrEnum):
    DESK = "desk"  # our write-back made the platform pay
    PLATFORM = "platform"  # paid on the platform (its back office, its timer, a dispute)


class LedgerEntry(Model):
    """Money that went back to a buyer, one row per movement, never edited.

    Refundable remainders and the owner's report read this table, so money
    paid outside the desk counts the same as money paid through it.
    """

    id = fields.BigIntField(primary_key=True)
    refund: fields.ForeignKeyRelation[Refund] = fields.ForeignKeyField(
        "refunds.Refund", related_name=False, on_delete=fields.RESTRICT
    )
    refund_id: int
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    order: fields.ForeignKeyNullableRelation[Order] = fields.ForeignKeyField(
        "orders.Order", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    order_id: int | None
    order_item: fields.ForeignKeyNullableRelation[OrderItem] = fields.ForeignKeyField(
        "orders.OrderItem", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    order_item_id: int | None
    amount = fields.DecimalField(max_digits=12, decimal_places=2)
    currency = fields.CharField(max_length=3)
    source = fields.CharEnumField(LedgerSource, max_length=16)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "refund_ledger"


class RefundRules(Model):
    """A store's approval rules, edited by owners and supervisors.

    Empty limits mean "no such rule". Amounts are in the store's currency.
    """

    id = fields.IntField(primary_key=True)
    store: fields.OneToOneRelation[Store] = fields.OneToOneField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    auto_approve_unshipped_up_to = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    supervisor_above = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    night_agent_up_to = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    human_reasons = fields.JSONField(default=list)
    ad_hoc_agent_up_to = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "refund_rules"


class EvidenceKind(StrEnum):
    PHOTO = "photo"
    CHAT = "chat"  # an excerpt of the conversation with the buyer
    NOTE = "note"


class RefundEvidence(Model):
    """What the shop shows the platform's arbitrator (平台介入): photos, chat, notes.

    Files live under the data dir (``evidence/<refund id>/``), never in the
    database, and are served only to signed-in users. Evidence is kept with
    the refund and never edited: a wrong item is answered with a new note.
    """

    id = fields.IntField(primary_key=True)
    refund: fields.ForeignKeyRelation[Refund] = fields.ForeignKeyField(
        "refunds.Refund", related_name="evidence", on_delete=fields.CASCADE
    )
    refund_id: int
    kind = fields.CharEnumField(EvidenceKind, max_length=16)
    text = fields.TextField(default="")
    file_name = fields.CharField(max_length=255, default="")
    stored_as = fields.CharField(max_length=255, default="")
    content_type = fields.CharField(max_length=64, default="")
    size = fields.IntField(default=0)
    added_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    added_by_id: int | None
    added_at = fields.DatetimeField()

    class Meta:
        table = "refund_evidence"
