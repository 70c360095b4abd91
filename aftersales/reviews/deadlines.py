"""The review clock: the platform's windows, escalation when untouched, expiry.

Two per-store timers, counted from when the buyer rated: the shop may post
an explanation within ``review_explain_days`` and the buyer may revise the
rating within ``review_revise_days``. DOMAIN.md says the exact day counts
are not confirmed for any platform, so both are settings marked unverified.
A case's ``due_at`` is the nearer window still open (the explanation's
stops counting once one is posted). The sweep, every minute:

- escalates open cases nobody touched for a day (``touched_at``, else when
  the case opened): marked escalated, audited ``review_case.escalated``,
  listed under the queue's "escalated" filter for the supervisors;
- moves ``due_at`` to the revision window once the explanation's passed, or
  once an explanation was posted (the case page's step leaves it to the sweep);
- closes cases whose windows both passed as ``window_expired``.

Each case moves in its own transaction and only if its version did not
move meanwhile, so one an agent just changed is left for the next sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from aftersales.core import audit, cases, clock
from aftersales.core.cases import CaseConflict
from aftersales.core.i18n import N_
from aftersales.core.models import Store
from aftersales.reviews.models import (
    OPEN_STATUSES,
    ReplyState,
    ReviewCase,
    ReviewCaseStatus,
    ReviewOutcome,
)

log = logging.getLogger("aftersales.reviews")

TIMERS = {"review_explain_days": 30, "review_revise_days": 30}
UNTOUCHED = timedelta(days=1)

cases.declare_timers(
    TIMERS,
    {
        "review_explain_days": (
            N_("Explain a neutral or negative review within (unverified)"),
            N_(
                "Days after the buyer rated during which the shop may post an explanation. "
                "Not confirmed for each platform: check the platform's current rules."
            ),
        ),
        "review_revise_days": (
            N_("The buyer may revise a neutral or negative review within (unverified)"),
            N_(
                "Days after the buyer rated during which the buyer may change the rating. "
                "Not confirmed for each platform: check the platform's current rules."
            ),
        ),
    },
)


@dataclass(frozen=True)
class Windows:
    explain_by: datetime
    revise_by: datetime


def windows(store: Store, rated_at: datetime) -> Windows:
    """The store's two windows for a review rated at ``rated_at``."""
    return Windows(
        explain_by=rated_at + timedelta(days=cases.timer(store, "review_explain_days")),
        revise_by=rated_at + timedelta(days=cases.timer(store, "review_revise_days")),
    )


def both_passed(w: Windows, now: datetime) -> bool:
    return w.explain_by <= now and w.revise_by <= now


def due_at(w: Windows, now: datetime, *, explained: bool = False) -> datetime:
    """The nearer window still open; with both passed, the later one (it is overdue)."""
    candidates = [w.revise_by] if explained else [w.explain_by, w.revise_by]
    still_open = [t for t in candidates if t > now]
    return min(still_open) if still_open else max(candidates)


def due_of(case: ReviewCase, now: datetime | None = None) -> datetime | None:
    """``due_at`` for a case as it is now: what a step that posts an explanation re-sets."""
    if case.explain_by is None or case.revise_by is None:
        return case.due_at
    explained = case.reply_state in (ReplyState.POSTED, ReplyState.PASTED) or (
        case.status is ReviewCaseStatus.EXPLANATION_POSTED
    )
    return due_at(Windows(case.explain_by, case.revise_by), now or clock.now(), explained=explained)


@dataclass
class SweepOutcome:
    escalated: int = 0
    moved: int = 0
    expired: int = 0


async def sweep() -> SweepOutcome:
    """One pass of the clock (see the module's docstring)."""
    now = clock.now()
    outcome = SweepOutcome(escalated=await escalate_untouched(now))
    open_ = list(OPEN_STATUSES)
    explained = Q(reply_state__in=[ReplyState.POSTED, ReplyState.PASTED]) | Q(
        status=ReviewCaseStatus.EXPLANATION_POSTED
    )
    # Windows that passed, and cases explained since: their due time is the revision's now.
    candidates = await ReviewCase.filter(status__in=open_, due_at__lte=now)
    seen = {c.id for c in candidates}
    candidates += [
        c
        for c in await ReviewCase.filter(explained, status__in=open_, revise_by__gt=now)
        if c.id not in seen and c.due_at != c.revise_by
    ]
    for case in candidates:
        try:
            async with in_transaction() as conn:
                if (
                    case.revise_by is not None
                    and case.revise_by <= now
                    and (case.explain_by is None or case.explain_by <= now)
                ):
                    await cases.move(
                        case,
                        ReviewCaseStatus.CLOSED,
                        conn=conn,
                        actor=None,
                        event="review_case.closed",
                        data={"outcome": ReviewOutcome.WINDOW_EXPIRED.value},
                        outcome=ReviewOutcome.WINDOW_EXPIRED,
                        closed_at=now,
                        due_at=None,
                    )
                    outcome.expired += 1
                    continue
                due = due_of(case, now)
                if due != case.due_at:
                    moved = (
                        await ReviewCase.filter(id=case.id, version=case.version)
                        .using_db(conn)
                        .update(due_at=due, version=case.version + 1, updated_at=now)
                    )
                    outcome.moved += moved
        except CaseConflict:
            continue
    if outcome.escalated or outcome.expired:
        log.info("reviews.sweep %s", outcome)
    return outcome


def untouched_filter(now: datetime) -> Q:
    """Open, not escalated, and nobody did anything on it for ``UNTOUCHED``."""
    cut = now - UNTOUCHED
    return Q(status__in=list(OPEN_STATUSES), escalated=False) & (
        Q(touched_at__lt=cut) | Q(touched_at__isnull=True, requested_at__lt=cut)
    )


async def escalate_untouched(now: datetime | None = None) -> int:
    """Mark open cases untouched for a day as escalated, each audited on its timeline."""
    now = now or clock.now()
    escalated = 0
    for case in await ReviewCase.filter(untouched_filter(now)):
        async with in_transaction() as conn:
            moved = (
                await ReviewCase.filter(id=case.id, version=case.version)
                .using_db(conn)
                .update(escalated=True, version=case.version + 1, updated_at=now)
            )
            if not moved:
                continue  # someone changed it meanwhile: the next sweep looks again
            await audit.record(
                "review_case.escalated",
                subject_type=ReviewCase.case_type.subject,
                subject_id=case.id,
                data={
                    "status": case.status.value,
                    "untouched_since": (case.touched_at or case.requested_at).isoformat(),
                },
                using_db=conn,
            )
            escalated += 1
    return escalated


@dataclass(frozen=True)
class Counts:
    due_soon: int
    overdue: int


async def counts() -> Counts:
    due = await cases.due_counts(ReviewCase, OPEN_STATUSES)
    return Counts(due_soon=due.due_soon, overdue=due.overdue)
