"""Which return-case status may follow which.

The desk moves a case along ``TRANSITIONS``; an illegal move raises, because
it means a bug or a stale page. Cancelling is possible until the warehouse
has the goods; after that the case ends in a refund, a replacement or a
closing note, never in nothing.
"""

from __future__ import annotations

from aftersales.core.cases import IllegalTransition, StateMachine
from aftersales.returns import events
from aftersales.returns.models import ReturnCase
from aftersales.returns.models import ReturnStatus as S

__all__ = ["MACHINE", "TRANSITIONS", "IllegalTransition", "check"]

TRANSITIONS: dict[S, frozenset[S]] = {
    # Straight to awaiting shipment: approved on the platform, or a platform
    # the desk cannot write the decision to.
    S.REQUESTED: frozenset({S.APPROVED, S.AWAITING_SHIPMENT, S.REJECTED, S.CANCELLED}),
    # The buyer may ship (or the parcel arrive) before the platform confirms our approval.
    S.APPROVED: frozenset({S.AWAITING_SHIPMENT, S.IN_TRANSIT, S.RECEIVED, S.CANCELLED}),
    S.REJECTED: frozenset({S.REQUESTED, S.CLOSED}),  # reopened by the buyer or the platform
    # A parcel may arrive before anyone typed its tracking number; a buyer who never
    # ships within the platform's window abandons the case.
    S.AWAITING_SHIPMENT: frozenset({S.IN_TRANSIT, S.RECEIVED, S.CANCELLED, S.CLOSED}),
    S.IN_TRANSIT: frozenset({S.DELIVERED, S.RECEIVED, S.CANCELLED}),
    S.DELIVERED: frozenset({S.RECEIVED, S.CANCELLED}),
    # Closed with a note when there is nothing to inspect for (the request was
    # withdrawn or paid on the platform meanwhile).
    S.RECEIVED: frozenset({S.INSPECTED, S.CLOSED}),
    S.INSPECTED: frozenset({S.REFUND_TRIGGERED, S.REPLACEMENT_SHIPPED, S.CLOSED}),
    S.REFUND_TRIGGERED: frozenset({S.CLOSED}),
    S.REPLACEMENT_SHIPPED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}


MACHINE = StateMachine(
    TRANSITIONS, model=ReturnCase, code="return_illegal_transition", labels=events.STATUSES
)
check = MACHINE.check  # raises IllegalTransition (409) unless a case may move current -> new
