"""Following return parcels: ask the carrier about each one in transit.

A parcel is asked about at most every ``RECHECK``; a number the carrier does
not know yet is kept with the error and asked again later. A refused account
stops the round, since every other parcel would be refused the same way.
"""

from __future__ import annotations

import logging
from datetime import timedelta

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
