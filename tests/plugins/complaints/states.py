"""Which complaint status may follow which: the kernel checks every move against it."""

from __future__ import annotations

from aftersales.core.cases import StateMachine
from tests.plugins.complaints.events import STATUSES
from tests.plugins.complaints.models import Complaint, ComplaintStatus

OPEN, ANSWERED, CLOSED = ComplaintStatus

MACHINE: StateMachine[ComplaintStatus] = StateMachine(
    {
        OPEN: frozenset({ANSWERED, CLOSED}),
        ANSWERED: frozenset({OPEN, CLOSED}),  # the buyer writes back: open again
        CLOSED: frozenset(),
    },
    model=Complaint,
    labels=STATUSES,
)

# The audit event of each move, written out so the label test finds it.
MOVE_EVENTS: dict[ComplaintStatus, str] = {
    ANSWERED: "complaint.answered",
    OPEN: "complaint.reopened",
    CLOSED: "complaint.closed",
}
