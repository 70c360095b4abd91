"""Refund requests, approval rules, platform write-back, the refund ledger and reports."""

from __future__ import annotations

from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.modules import Module, Tile
from aftersales.refunds import jobs, service, writeback


async def dashboard_tiles(user: User) -> list[Tile]:
    """The refund timers: due in two hours, late, or not reaching the platform."""
    counts = await service.counts()
    tiles = [
        Tile(
            N_("Refunds due within 2 hours"),
            counts.due_soon,
            "/refunds/?due=soon",
            "warn" if counts.due_soon else "info",
        ),
        Tile(
            N_("Refunds overdue"),
            counts.overdue,
            "/refunds/?due=overdue",
            "alert" if counts.overdue else "info",
        ),
    ]
    if counts.writeback_failed:
        tiles.append(
            Tile(
                N_("Refund write-backs failing"),
                counts.writeback_failed,
                "/refunds/?status=writeback_failed",
                "alert",
            )
        )
    if counts.intercepts:
        tiles.append(
            Tile(N_("Parcels to intercept"), counts.intercepts, "/refunds/?intercept=1", "warn")
        )
    return tiles


module = Module(
    name="refunds",
    label=N_("Refunds"),
    models="aftersales.refunds.models",
    migrations="aftersales.refunds.migrations",
    functions=jobs.functions,
    cron_jobs=jobs.cron_jobs,
    outbox_handlers={service.WRITEBACK_KIND: writeback.deliver},
    record_handlers={"after_sales": service.intake},
    dashboard_tiles=dashboard_tiles,
)
