"""The rota, the handover lists written at each shift end, their items, promises and notes.

A handover is keyed by the shift instance that hands over (``key``), so the
job that drafts it may run twice, late or on two workers and still write
one. Items are copies of what the modules' ``handover_items`` hooks said at
drafting time (the words the outgoing shift handed over), each naming its
case by ``CaseRef`` so a page can show the case's live state beside them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from aftersales.core.models import User

ALL_WEEKDAYS = 0b1111111
"""``Shift.weekdays`` bit per weekday, Monday = 1 (bit 0) ... Sunday = 64 (bit 6)."""


class Shift(Model):
    """A stretch of the day a team works, in its own time zone, which may cross midnight.

    ``start_minute``/``end_minute`` are minutes after local midnight. An end
    at or before the start ends the next day (night 18:00-09:00). An
    instance starts on a weekday ``weekdays`` allows and is named by that
    local date.
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    start_minute = fields.IntField()
    end_minute = fields.IntField()
    weekdays = fields.IntField(default=ALL_WEEKDAYS)
    time_zone = fields.CharField(max_length=64, default="Asia/Shanghai")
    active = fields.BooleanField(default=True)
    position = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "shifts"
        ordering = ["position", "start_minute", "id"]


class RotaEntry(Model):
    """``user`` works ``shift`` on the instance starting on local date ``day``."""

    id = fields.IntField(primary_key=True)
    shift: fields.ForeignKeyRelation[Shift] = fields.ForeignKeyField(
        "handover.Shift", related_name="rota", on_delete=fields.CASCADE
    )
    shift_id: int
    day = fields.DateField(db_index=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "rota_entries"
        unique_together = (("shift", "day", "user"),)


class Handover(Model):
    """What one shift instance hands to the next: drafted once, handed over, acknowledged.

    ``window_start`` is the outgoing shift's end (the handover moment) and
    ``window_end`` the incoming shift's end: items due before it, or overdue
    already, are on the list.
    """

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)  # "<from shift id>:<from day>"
    from_shift: fields.ForeignKeyNullableRelation[Shift] = fields.ForeignKeyField(
        "handover.Shift", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    from_shift_id: int | None
    from_day = fields.DateField(null=True)
    from_name = fields.CharField(max_length=64, default="")  # kept if the shift is deleted
    to_shift: fields.ForeignKeyNullableRelation[Shift] = fields.ForeignKeyField(
        "handover.Shift", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    to_shift_id: int | None
    to_day = fields.DateField(null=True)
    to_name = fields.CharField(max_length=64, default="")
    time_zone = fields.CharField(max_length=64, default="Asia/Shanghai")
    window_start = fields.DatetimeField(db_index=True)
    window_end = fields.DatetimeField()
    # When the incoming shift starts: the shift change itself unless shifts leave a gap or overlap
    incoming_start = fields.DatetimeField(null=True)
    morning_check = fields.BooleanField(default=False)  # the day's first handover adds it
    drafted_at = fields.DatetimeField()
    handed_over_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    handed_over_by_id: int | None
    handed_over_at = fields.DatetimeField(null=True)
    acknowledged_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    acknowledged_by_id: int | None
    acknowledged_at = fields.DatetimeField(null=True)
    escalated_at = fields.DatetimeField(null=True)

    items: fields.ReverseRelation[HandoverEntry]
    notes: fields.ReverseRelation[HandoverNote]

    class Meta:
        table = "handovers"
        ordering = ["-window_start", "-id"]


class ItemState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CARRIED = "carried"  # still open when the next handover was drafted: listed there again


class HandoverEntry(Model):
    """One item of one handover (``core.cases.HandoverItem`` as it was handed over).

    ``first_listed_at`` is when the item first appeared on any handover: an
    item carried over shift after shift says since when. ``urgent`` items
    are acknowledged one by one with a read-back line.
    """

    id = fields.IntField(primary_key=True)
    handover: fields.ForeignKeyRelation[Handover] = fields.ForeignKeyField(
        "handover.Handover", related_name="items", on_delete=fields.CASCADE
    )
    handover_id: int
    ref = fields.CharField(max_length=100)  # str(CaseRef)
    module = fields.CharField(max_length=32)
    severity = fields.CharField(max_length=16)  # core.cases.Severity
    urgent = fields.BooleanField(default=False)
    msgid = fields.TextField()
    params: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    todo = fields.TextField(default="")
    if_fails = fields.TextField(default="")
    href = fields.CharField(max_length=255, default="")
    due_at = fields.DatetimeField(null=True)
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    assignee_id: int | None
    customer_id = fields.IntField(null=True)
    state = fields.CharEnumField(ItemState, max_length=16, default=ItemState.OPEN)
    first_listed_at = fields.DatetimeField()
    done_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    done_by_id: int | None
    done_at = fields.DatetimeField(null=True)
    acknowledged_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    acknowledged_by_id: int | None
    acknowledged_at = fields.DatetimeField(null=True)
    readback = fields.TextField(default="")
    position = fields.IntField(default=0)
    # The parameters' values in lower case (order number, buyer, promise text): the diary's search.
    search_text = fields.TextField(default="")

    class Meta:
        table = "handover_items"
        unique_together = (("handover", "ref"),)
        ordering = ["position", "id"]


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"  # its time passed and the shift that owed it ended without keeping it


class Promise(Model):
    """What an agent told a buyer the desk would do, and by when ("call back after 21:00").

    On a case (``ref``) or on a buyer (``customer_id``) or both. A promise
    is its own small record, not a case: it has no order, platform or
    decision of its own. It is listed on the handover as
    ``handover:promise:<id>`` and on the home page when it falls due.
    """

    id = fields.IntField(primary_key=True)
    ref = fields.CharField(max_length=100, default="", db_index=True)  # str(CaseRef) or ""
    customer_id = fields.IntField(null=True, db_index=True)
    text = fields.TextField()
    due_at = fields.DatetimeField(db_index=True)
    status = fields.CharEnumField(PromiseStatus, max_length=16, default=PromiseStatus.OPEN)
    made_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    made_by_id: int | None
    made_at = fields.DatetimeField()
    closed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    closed_by_id: int | None
    closed_at = fields.DatetimeField(null=True)
    note = fields.TextField(default="")

    class Meta:
        table = "promises"
        ordering = ["due_at", "id"]


class HandoverNote(Model):
    """What only the outgoing agents know, added to the handover before it is handed over."""

    id = fields.IntField(primary_key=True)
    handover: fields.ForeignKeyRelation[Handover] = fields.ForeignKeyField(
        "handover.Handover", related_name="notes", on_delete=fields.CASCADE
    )
    handover_id: int
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    text = fields.TextField()
    ref = fields.CharField(max_length=100, default="")  # a case it is about, or ""
    created_at = fields.DatetimeField()

    class Meta:
        table = "handover_notes"
        ordering = ["created_at", "id"]
