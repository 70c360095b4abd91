"""Refund jobs: the deadline sweep. Intake runs inside sync; write-backs in the outbox."""

from __future__ import annotations

from typing import Any

from arq import cron

from aftersales.refunds import service


async def refund_deadline_sweep(ctx: dict[str, Any]) -> int:
    """Every minute: escalate open requests whose platform timer is about to hurt."""
    return await service.sweep_deadlines()


functions = [refund_deadline_sweep]
cron_jobs = [cron(refund_deadline_sweep, second={5}, unique=True, run_at_startup=True)]
