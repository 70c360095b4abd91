"""What the desk does with a complaint, each step one kernel call.

Nothing here checks versions, writes audit rows or grades deadlines: the
kernel (``core.cases``) does that the same way for every case type.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from aftersales.core import cases, clock
from aftersales.core.cases import Escalation
from aftersales.core.errors import Msgid, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import Store, User
from tests.plugins.complaints import states
from tests.plugins.complaints.models import OPEN_STATUSES, Complaint, ComplaintStatus

ANSWER_TIMER = "complaint_answer_hours"
cases.declare_timers({ANSWER_TIMER: 24})  # a store overrides it in settings["timers"]


async def get_complaint(complaint_id: int) -> Complaint:
    complaint = await Complaint.get_or_none(id=complaint_id)
    if complaint is None:
        raise NotFound(
            N_("No %(case)s with id %(id)s."), case=Msgid(N_("complaint")), id=complaint_id
        )
    return complaint


async def open_complaint(
    store: Store, *, topic: str, platform_order_id: str, actor: User | None = None
) -> Complaint:
    """A new complaint, due after the store's answer timer."""
    async with in_transaction() as conn:
        return await cases.open_case(
            Complaint,
            conn=conn,
            actor=actor,
            event="complaint.opened",
            store_id=store.id,
            platform_order_id=platform_order_id,
            topic=topic,
            due_at=clock.now() + timedelta(hours=cases.timer(store, ANSWER_TIMER)),
        )


async def move(
    complaint_id: int,
    new_status: ComplaintStatus,
    *,
    actor: User,
    expected_version: int | None,
    note: str = "",
) -> Complaint:
    """Answer, reopen or close; the kernel refuses an illegal or stale move with a 409."""
    changes: dict[str, Any] = {}
    if new_status is ComplaintStatus.CLOSED:
        changes = {"decided_by_id": actor.id, "decided_at": clock.now(), "decision_note": note}
    complaint = await get_complaint(complaint_id)  # the move is guarded by its version
    async with in_transaction() as conn:
        return await cases.move(
            complaint,
            new_status,
            conn=conn,
            actor=actor,
            event=states.MOVE_EVENTS[new_status],
            expected_version=expected_version,
            data={"note": note} if note else None,
            **changes,
        )


async def assign(complaint_id: int, user: User, *, expected_version: int | None) -> Complaint:
    return await cases.assign(
        Complaint, complaint_id, user, event="complaint.assigned", expected_version=expected_version
    )


async def sweep_overdue_complaints(ctx: dict[str, Any] | None = None) -> Escalation:
    """The cron sweep: open complaints past their deadline are marked escalated."""
    return await cases.escalate_overdue(Complaint, OPEN_STATUSES, event="complaint.escalated")
