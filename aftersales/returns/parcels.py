"""Following return parcels: ask the carrier about each one in transit, and list
those the carrier delivered that the warehouse has not scanned yet.

A parcel is asked about at most every ``RECHECK``; a number the carrier does
not know yet is kept with the error and asked again later. A refused account
stops the round, since every other parcel would be refused the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from aftersales.core import clock, failures
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnStatus, ReturnTracking
from connectors.base import AuthFailed, ConnectorError
from connectors.tracking import TrackingProvider

log = logging.getLogger("aftersales.returns")

RECHECK = timedelta(minutes=30)
BATCH = 200


async def poll(provider: TrackingProvider, *, limit: int = BATCH) -> int:
    """One round; returns how many cases moved (to delivered)."""
    now = clock.now()
    in_transit = await ReturnCase.filter(status=ReturnStatus.IN_TRANSIT).values_list(
        "id", flat=True
    )
    due = (
        await ReturnTracking.filter(case_id__in=list(in_transit), active=True)
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=now - RECHECK))
        .order_by("checked_at")
        .limit(limit)
    )
    moved = 0
    for tracking in due:
        try:
            result = await provider.track(tracking.carrier, tracking.tracking_no)
        except AuthFailed as exc:
            log.error("returns.tracking_refused %s", exc)
            await service.record_tracking_error(tracking.id, failures.technical(exc))
            break
        except ConnectorError as exc:
            await service.record_tracking_error(tracking.id, failures.technical(exc))
            continue
        case = await service.record_tracking(tracking.id, result)
        if case is not None and case.status is ReturnStatus.DELIVERED:
            moved += 1
    return moved


@dataclass(frozen=True)
class Waiting:
    """A parcel at the shop by the carrier's word, not yet received at the warehouse."""

    case: ReturnCase
    tracking: ReturnTracking | None  # the active number; None for a case delivered by hand
    delivered_at: datetime | None
    days_waiting: int


async def delivered_not_received() -> list[Waiting]:
    """Every delivered, unscanned return parcel, the longest waiting first.

    A parcel left lying at the gate still runs the confirm-receipt timer, so the
    oldest is the one to find first. The home tile counts this same list.
    """
    now = clock.now()
    found = await ReturnCase.filter(status=ReturnStatus.DELIVERED).order_by("delivered_at", "id")
    trackings: dict[int, ReturnTracking] = {}
    for row in await ReturnTracking.filter(case_id__in=[c.id for c in found], active=True).order_by(
        "id"
    ):
        trackings[row.case_id] = row  # the newest active number wins
    rows = []
    for case in found:
        tracking = trackings.get(case.id)
        at = case.delivered_at or (tracking.delivered_at if tracking else None)
        days = max(0, (now - at).days) if at else 0
        rows.append(Waiting(case, tracking, at, days))
    # A case without a delivery time (moved by hand) goes after the dated ones.
    return sorted(rows, key=lambda w: (w.delivered_at is None, w.delivered_at or now, w.case.id))


async def delivered_count() -> int:
    """How many parcels ``delivered_not_received`` lists, for the home tile."""
    return await ReturnCase.filter(status=ReturnStatus.DELIVERED).count()
