"""Return jobs: the deadline sweep and the parcel poll. Intake runs inside sync."""

from __future__ import annotations

from typing import Any

from arq import cron

from aftersales.core.config import Settings
from aftersales.returns import deadlines, parcels
from connectors.tracking import Kuaidi100


async def return_deadline_sweep(ctx: dict[str, Any]) -> int:
    """Every minute: escalate, close abandoned cases, follow refund decisions that landed."""
    outcome = await deadlines.sweep()
    return outcome.escalated + outcome.abandoned


async def poll_return_parcels(ctx: dict[str, Any]) -> int:
    """Every ten minutes: ask the carrier about each return parcel in transit."""
    settings: Settings = ctx["settings"]
    if not (settings.tracking_customer and settings.tracking_key):
        return 0  # no tracking account: parcels are received by hand
    provider = Kuaidi100(
        customer=settings.tracking_customer,
        key=settings.tracking_key,
        base_url=settings.tracking_url,
    )
    try:
        return await parcels.poll(provider)
    finally:
        await provider.aclose()


functions = [return_deadline_sweep, poll_return_parcels]
cron_jobs = [
    cron(return_deadline_sweep, second={35}, unique=True, run_at_startup=True),
    cron(poll_return_parcels, minute=set(range(0, 60, 10)), second={20}, unique=True),
]
