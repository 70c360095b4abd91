"""The returns clock: escalations, abandoned cases, and cases whose platform's word landed.

Runs every minute. Each case moves in its own transaction, so one case a
person changed meanwhile is skipped (its version moved) and the rest still
move.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from aftersales.core import cases, clock
from aftersales.core.errors import AfterSalesError
from aftersales.core.models import Store
from aftersales.refunds.models import Refund, RefundStatus
from aftersales.returns import service
from aftersales.returns.models import INBOUND_STATUSES, OPEN_STATUSES, ReturnCase, ReturnStatus

log = logging.getLogger("aftersales.returns")

# The platform heard the approval once the refund left these.
STILL_TELLING = frozenset({RefundStatus.REQUESTED, RefundStatus.APPROVED, RefundStatus.REFUNDING})


@dataclass
class SweepOutcome:
    escalated: int = 0
    abandoned: int = 0
    approved_on_platform: int = 0


async def sweep() -> SweepOutcome:
    now = clock.now()
    outcome = SweepOutcome()
    outcome.escalated = (
        await cases.escalate_overdue(ReturnCase, OPEN_STATUSES, event="return.escalated")
    ).escalated
    # Desk cases only: a platform closes its own request when the buyer never ships,
    # and its sync then cancels the case; a late parcel can still be received till then.
    for case in await ReturnCase.filter(
        status=ReturnStatus.AWAITING_SHIPMENT, buyer_ship_by__lt=now, refund_id__isnull=True
    ):
        if await _quietly(
            service.close(
                case.id,
                actor=None,
                note="buyer_did_not_ship",  # a code: returns.events.NOTES
                expected_version=case.version,
            )
        ):
            outcome.abandoned += 1
    for case in await ReturnCase.filter(
        status__in=[ReturnStatus.REQUESTED, ReturnStatus.APPROVED], refund_id__not_isnull=True
    ):
        if await _follow_refund_decision(case):
            outcome.approved_on_platform += 1
    # Cases waiting for their refund's money close on ``refund_settled`` (settlement.py).
    if outcome.escalated or outcome.abandoned:
        log.info("returns.sweep %s", outcome)
    return outcome


async def _follow_refund_decision(case: ReturnCase) -> bool:
    """The return's refund was decided (here, on the refund page, or on the platform):
    the case follows, agreed or refused, once the platform has heard it."""
    refund = await Refund.get_or_none(id=case.refund_id)  # type: ignore[attr-defined]
    if refund is None or refund.status in STILL_TELLING:
        return False
    if refund.status is RefundStatus.REJECTED and case.status is ReturnStatus.REQUESTED:
        target, action = ReturnStatus.REJECTED, "platform_changed"
    elif refund.status is RefundStatus.WAITING_RETURN or (
        refund.status is RefundStatus.REFUNDED and case.status is ReturnStatus.APPROVED
    ):
        target, action = ReturnStatus.AWAITING_SHIPMENT, "platform_agreed"
    else:
        return False  # a failing write-back shows on the refund page and is retried there
    changes = {}
    if target is ReturnStatus.AWAITING_SHIPMENT:
        store = await Store.get(id=case.store_id)  # type: ignore[attr-defined]
        changes = {
            "due_at": None,
            "buyer_ship_by": case.buyer_ship_by
            or clock.now() + timedelta(days=cases.timer(store, "return_ship_days")),
        }
    async with in_transaction() as conn:
        try:
            await service.move(
                case, target, conn, action=action, actor=None,
                data={"refund_status": refund.status.value}, **changes,
            )  # fmt: skip
        except AfterSalesError:
            return False
    return True


async def _quietly(action: object) -> bool:
    """Run one case's move; a case changed meanwhile is left for the next sweep."""
    try:
        await action  # type: ignore[misc]
    except AfterSalesError:
        return False
    return True


@dataclass(frozen=True)
class Counts:
    awaiting_receipt: int
    inspection_backlog: int
    due_soon: int
    overdue: int


async def counts() -> Counts:
    due = await cases.due_counts(ReturnCase, OPEN_STATUSES)
    return Counts(
        awaiting_receipt=await ReturnCase.filter(status__in=list(INBOUND_STATUSES)).count(),
        inspection_backlog=await ReturnCase.filter(status=ReturnStatus.RECEIVED).count(),
        due_soon=due.due_soon,
        overdue=due.overdue,
    )
