"""A handover nobody acknowledged reaches the supervisor: after 30 minutes by default.

The threshold is a per-store setting (``handover_escalation_minutes``); a
handover covers the whole desk, so the strictest store's value applies. The
supervisor's home tiles are computed live from the tables; the minute job
only stamps ``escalated_at`` once and writes the audit line, so the diary
says when the supervisor was told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from aftersales.core import audit, clock
from aftersales.core.models import Store
from aftersales.handover.models import Handover, HandoverEntry

SETTING = "handover_escalation_minutes"
DEFAULT_MINUTES = 30


async def threshold() -> timedelta:
    """The strictest store's minutes (the default when no store sets it)."""
    minutes = [
        int((store.settings or {}).get(SETTING) or DEFAULT_MINUTES)
        for store in await Store.all().only("id", "settings")
    ]
    return timedelta(minutes=min(minutes, default=DEFAULT_MINUTES))


@dataclass(frozen=True)
class Overdue:
    """What the supervisor is shown: lists and urgent items unacknowledged too long."""

    handovers: list[Handover]
    urgent_items: int


async def overdue(now: datetime | None = None) -> Overdue:
    """Handovers whose shift change is ``threshold`` past without acknowledgement.

    Only those still current (their incoming shift not yet over): a list
    from last week is history, not an alarm. Urgent items are counted in
    those handovers only: a list can be acknowledged only once every urgent
    item on it has been read back.
    """
    now = now or clock.now()
    cutoff = now - await threshold()
    # From the shift change, or from the incoming shift's start when shifts leave a gap.
    started = Q(incoming_start__lte=cutoff) | Q(incoming_start__isnull=True)
    late = await Handover.filter(
        started, window_start__lte=cutoff, window_end__gt=now, acknowledged_at__isnull=True
    ).order_by("window_start", "id")
    urgent = 0
    if late:
        urgent = await HandoverEntry.filter(
            handover_id__in=[h.id for h in late], urgent=True, acknowledged_at__isnull=True
        ).count()
    return Overdue(handovers=late, urgent_items=urgent)


async def stamp(now: datetime | None = None) -> int:
    """The minute job: mark each newly overdue handover escalated, once, with an audit line."""
    now = now or clock.now()
    found = await overdue(now)
    stamped = 0
    for handover in found.handovers:
        if handover.escalated_at is not None:
            continue
        changed = await Handover.filter(id=handover.id, escalated_at__isnull=True).update(
            escalated_at=now
        )
        if changed:
            stamped += 1
            await audit.record(
                "handover_escalated", subject_type="handover", subject_id=handover.id
            )
    return stamped
