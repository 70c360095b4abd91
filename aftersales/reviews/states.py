"""Which review-case status may follow which.

The follow-up is not a straight line: an agent may explain before or after
reaching the buyer, offer a remedy at any point, and try again after an
unanswered contact. What the machine forbids is moving a closed case (a new
complaint from the same buyer is a new review, so a new case) and going
back to "new" once anyone has looked at it.
"""

from __future__ import annotations

from aftersales.core.cases import IllegalTransition, StateMachine
from aftersales.reviews import events
from aftersales.reviews.models import ReviewCase
from aftersales.reviews.models import ReviewCaseStatus as S

__all__ = ["MACHINE", "TRANSITIONS", "IllegalTransition", "check"]

_WORKING = frozenset(
    {S.CONTACTING, S.REMEDY_OFFERED, S.EXPLANATION_POSTED, S.AWAITING_BUYER, S.CLOSED}
)

TRANSITIONS: dict[S, frozenset[S]] = {
    S.NEW: _WORKING | {S.TRIAGED},
    S.TRIAGED: _WORKING,
    S.CONTACTING: _WORKING - {S.CONTACTING},
    S.REMEDY_OFFERED: _WORKING - {S.REMEDY_OFFERED},
    S.EXPLANATION_POSTED: _WORKING - {S.EXPLANATION_POSTED},
    S.AWAITING_BUYER: _WORKING - {S.AWAITING_BUYER},
    S.CLOSED: frozenset(),
}

MACHINE = StateMachine(
    TRANSITIONS, model=ReviewCase, code="review_case_illegal_transition", labels=events.STATUSES
)
check = MACHINE.check  # raises IllegalTransition (409) unless a case may move current -> new
