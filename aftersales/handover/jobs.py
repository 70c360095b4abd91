"""Handover jobs, every minute: draft and freeze at shift ends, escalate what nobody took over.

Both are safe to run twice, late or on two workers: drafting is keyed by
the shift run and freezing claims the row with a conditional update.
"""

from __future__ import annotations

from typing import Any

from arq import cron

from aftersales.handover import drafting, escalation


async def handover_draft(ctx: dict[str, Any]) -> int:
    """Draft the handovers owed (15 minutes before each shift end) and freeze them at the end."""
    return len(await drafting.draft_due(ctx["registry"]))


async def handover_escalate(ctx: dict[str, Any]) -> int:
    """Mark handovers left unacknowledged past the stores' threshold as escalated."""
    return await escalation.stamp()


functions = [handover_draft, handover_escalate]
cron_jobs = [
    cron(handover_draft, second={20}, unique=True, run_at_startup=True),
    cron(handover_escalate, second={40}, unique=True),
]
