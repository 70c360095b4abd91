"""Review jobs: the clock's sweep and the backlog take-in. Intake itself runs inside sync."""

from __future__ import annotations

from typing import Any

from arq import cron

from aftersales.reviews import deadlines, intake


async def review_deadline_sweep(ctx: dict[str, Any]) -> int:
    """Every minute: escalate untouched cases, move due dates, close expired windows."""
    outcome = await deadlines.sweep()
    return outcome.escalated + outcome.expired


async def review_backlog(ctx: dict[str, Any]) -> int:
    """Every ten minutes and at start: reviews stored while the module was off, taken in."""
    return await intake.take_backlog()


functions = [review_deadline_sweep, review_backlog]
cron_jobs = [
    cron(review_deadline_sweep, second={45}, unique=True, run_at_startup=True),
    cron(
        review_backlog, minute=set(range(5, 60, 10)), second={10}, unique=True, run_at_startup=True
    ),
]
