"""Complaints: a third-party case module written only against the case kernel.

The worked example of ``docs/modules.md``. Installed by entry point from
``tests/plugins/complaints_site`` (as ``pip install`` would), it declares one
case model and gets from core what refunds and returns get: guarded moves
with audit, assign, escalation, due-soon, handover items, case references
and the shared timeline card. It imports nothing from refunds or returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arq import cron

from aftersales.core import cases
from aftersales.core.auth import EVERYONE
from aftersales.core.cases import CaseRef, HandoverItem, ResolvedCase
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.modules import HandoverWindow, Module, NavEntry, Tile
from tests.plugins.complaints import events, service
from tests.plugins.complaints.models import OPEN_STATUSES, Complaint, ComplaintStatus
from tests.plugins.complaints.routes import routes


async def dashboard_tiles(user: User) -> list[Tile]:
    """Due soon and overdue, counted by the kernel exactly as the linked lists select."""
    return await cases.due_tiles(
        Complaint,
        OPEN_STATUSES,
        due_soon=N_("Complaints due within 2 hours"),
        overdue=N_("Complaints overdue"),
        href="/complaints/",
    )


@dataclass(frozen=True, slots=True)
class DueComplaint(cases.DueCase):
    """What a handover line reads; ``customer_id`` (from ``DueCase``) is read through the order."""

    status: ComplaintStatus
    platform_order_id: str


async def handover_items(window: HandoverWindow) -> list[HandoverItem]:
    """Open complaints falling due before the shift ends, selected in SQL, graded by core."""
    due = await cases.due_by(Complaint, window.end, OPEN_STATUSES, DueComplaint)
    return [
        HandoverItem.for_case(
            complaint,
            window.start,
            window.end,
            N_("Complaint about order %(order)s"),
            params={"order": complaint.platform_order_id},
            todo=N_("Answer the buyer before the deadline."),
            if_fails=N_("If you cannot answer in time, hand it to a supervisor."),
        )
        for complaint in due
    ]


async def resolve_case(ref: CaseRef) -> ResolvedCase | None:
    return await cases.resolve(
        Complaint,
        ref,
        lambda c: (N_("Complaint about order %(order)s"), {"order": c.platform_order_id}),
    )


module = Module(
    name="complaints",
    label=N_("Complaints"),
    models="tests.plugins.complaints.models",
    migrations="tests.plugins.complaints.migrations",
    routes=routes,
    nav=[NavEntry(N_("Complaints"), "/complaints/", EVERYONE)],
    functions=[service.sweep_overdue_complaints],
    cron_jobs=[cron(service.sweep_overdue_complaints, minute=set(range(0, 60, 5)))],
    templates=Path(__file__).parent / "templates",
    dashboard_tiles=dashboard_tiles,
    handover_items=handover_items,
    resolve_case=resolve_case,
    labels=events.LABELS,
)
