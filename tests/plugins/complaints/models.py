"""A buyer's complaint: one case type on the kernel, with nothing but its own words.

Every case column (store, order, assignee, ``due_at``, ``escalated``,
``version``, ...) comes from ``core.cases.Case``; the module adds its status
enum and what the buyer complained about.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from tortoise import fields

from aftersales.core.cases import Case, CaseType
from aftersales.core.i18n import N_


class ComplaintStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN_STATUSES = (ComplaintStatus.OPEN, ComplaintStatus.ANSWERED)


class Complaint(Case):
    """A complaint the shop must answer before ``due_at`` (a per-store timer)."""

    case_type: ClassVar[CaseType] = CaseType(
        module="complaints",
        kind="complaint",
        noun=N_("complaint"),
        states="tests.plugins.complaints.states",
    )

    status = fields.CharEnumField(ComplaintStatus, max_length=16, default=ComplaintStatus.OPEN)
    topic = fields.CharField(max_length=200)

    class Meta:
        table = "complaints"
