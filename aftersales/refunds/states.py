"""Which refund status may follow which, on the desk and from the platform.

Two sources move a refund. The desk moves it along ``TRANSITIONS`` and an
illegal move raises, because it means a bug or a stale page. The platform
moves it by what each sync reports (``from_platform``): the platform is
where money moves, so its word wins, with one exception: a decision the desk
made and is still writing back is not undone by a sync that ran before the
platform heard of it.
"""

from __future__ import annotations

from aftersales.core.cases import IllegalTransition, StateMachine
from aftersales.refunds import events
from aftersales.refunds.models import Refund
from aftersales.refunds.models import RefundStatus as S
from connectors.base import AfterSaleStatus

__all__ = [
    "FROM_PLATFORM",
    "MACHINE",
    "PENDING_WRITEBACK",
    "TRANSITIONS",
    "IllegalTransition",
    "check",
    "from_platform",
]

TRANSITIONS: dict[S, frozenset[S]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED, S.DISPUTED}),
    S.APPROVED: frozenset({S.REFUNDING, S.CANCELLED}),
    S.REFUNDING: frozenset({S.REFUNDED, S.WAITING_RETURN, S.WRITEBACK_FAILED}),
    # Goods back and inspected: the desk approves the money (returns.service).
    S.WAITING_RETURN: frozenset({S.APPROVED, S.REFUNDING, S.CANCELLED, S.DISPUTED}),
    S.WRITEBACK_FAILED: frozenset({S.APPROVED, S.CANCELLED}),
    S.REJECTED: frozenset({S.DISPUTED, S.REQUESTED, S.CANCELLED}),
    S.DISPUTED: frozenset({S.REFUNDED, S.REJECTED, S.CANCELLED}),
    S.REFUNDED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Statuses that carry a desk decision the platform may not have heard yet.
PENDING_WRITEBACK = frozenset({S.APPROVED, S.REFUNDING, S.WRITEBACK_FAILED})

MACHINE = StateMachine(
    TRANSITIONS, model=Refund, code="refund_illegal_transition", labels=events.STATUSES
)
check = MACHINE.check  # raises IllegalTransition (409) unless the desk may move current -> new


# What the connectors report (each maps its platform's own words) in our terms.
FROM_PLATFORM: dict[AfterSaleStatus, S] = {
    AfterSaleStatus.REQUESTED: S.REQUESTED,
    AfterSaleStatus.WAITING_RETURN: S.WAITING_RETURN,
    AfterSaleStatus.REJECTED: S.REJECTED,
    AfterSaleStatus.CANCELLED: S.CANCELLED,
    AfterSaleStatus.REFUNDED: S.REFUNDED,
}


def from_platform(current: S | None, reported: AfterSaleStatus) -> S:
    """Our status after a sync reported ``reported``.

    A status the connector did not know keeps the refund where it is (new ones
    start as requested), so a platform adding a word never closes a case by accident.
    """
    mapped = FROM_PLATFORM.get(reported)
    if current is None:
        return mapped or S.REQUESTED
    if mapped is None or current is S.REFUNDED:
        return current
    if current in PENDING_WRITEBACK and mapped is S.REQUESTED:
        return current
    return mapped
