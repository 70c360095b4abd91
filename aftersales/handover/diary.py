"""The diary: every handover ever written, newest first, searched by day, agent or text.

A day is the local date of the shift change in the handover's own time
zone (a night shift in Shanghai handing over at 09:00 on the 2nd is found on
the 2nd, whatever the desk's zone). The text search reads the items'
parameters as drafted (``HandoverEntry.search_text``: order numbers, buyers,
amounts, promise texts) and the notes, with a plain case-insensitive
``LIKE``, which SQLite and PostgreSQL both answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.expressions import Q

from aftersales.core.models import User
from aftersales.core.paging import DuePage
from aftersales.handover import escalation, service
from aftersales.handover.models import Handover, HandoverEntry, HandoverNote

PER_PAGE = 20
MAX_QUERY = 100


@dataclass(frozen=True)
class DiaryFilters:
    day: date | None = None
    agent_id: int | None = None
    text: str = ""
    late: bool = False  # only those the supervisor is told about (not acknowledged in time)
    page: int = 1


@dataclass(frozen=True)
class DiaryRow:
    handover: Handover
    items: int
    urgent: int
    names: dict[int, str] = field(default_factory=dict)  # user id -> name, for this row's people


def _ids(values: Iterable[Any]) -> set[int]:
    return {int(v) for v in values if v is not None}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def _on_day(day: date) -> Q:
    """Handovers whose shift change falls on local ``day`` in their own time zone."""
    zones = (
        await Handover.all().order_by("time_zone").distinct().values_list("time_zone", flat=True)
    )
    found = Q(id=0)  # no handover has id 0: an empty diary finds nothing
    for name in set(zones):
        tz = _zone(str(name))
        start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
        found |= Q(time_zone=name, window_start__gte=start, window_start__lt=end)
    return found


async def _by_agent(user_id: int) -> Q:
    """Handed over, acknowledged, read back or written a note on by ``user_id``."""
    noted = await HandoverNote.filter(author_id=user_id).values_list("handover_id", flat=True)
    read = await HandoverEntry.filter(acknowledged_by_id=user_id).values_list(
        "handover_id", flat=True
    )
    ids = sorted(_ids([*noted, *read]))
    return Q(handed_over_by_id=user_id) | Q(acknowledged_by_id=user_id) | Q(id__in=ids or [0])


async def _by_text(text: str) -> Q:
    needle = text.strip().lower()[:MAX_QUERY]
    items = await HandoverEntry.filter(search_text__icontains=needle).values_list(
        "handover_id", flat=True
    )
    notes = await HandoverNote.filter(text__icontains=needle).values_list("handover_id", flat=True)
    ids = sorted(_ids([*items, *notes]))
    return Q(id__in=ids or [0])


async def search(filters: DiaryFilters) -> DuePage[DiaryRow]:
    """One page of the diary, newest shift change first."""
    query = Handover.all()
    if filters.day is not None:
        query = query.filter(await _on_day(filters.day))
    if filters.agent_id:
        query = query.filter(await _by_agent(filters.agent_id))
    if filters.text.strip():
        query = query.filter(await _by_text(filters.text))
    if filters.late:
        late = await escalation.overdue()
        query = query.filter(id__in=[h.id for h in late.handovers] or [0])
    total = await query.count()
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(max(filters.page, 1), pages)
    handovers = await (
        query.order_by("-window_start", "-id").offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    )
    counts: dict[int, list[int]] = {h.id: [0, 0] for h in handovers}
    rows = await HandoverEntry.filter(handover_id__in=list(counts) or [0]).values_list(
        "handover_id", "urgent"
    )
    for handover_id, urgent in rows:
        counts[int(handover_id)][0] += 1
        counts[int(handover_id)][1] += 1 if urgent else 0
    people = {uid for h in handovers for uid in (h.handed_over_by_id, h.acknowledged_by_id) if uid}
    names = await service.user_names(people)
    return DuePage(
        [DiaryRow(h, counts[h.id][0], counts[h.id][1], names) for h in handovers],
        total,
        page,
        pages,
    )


async def agents() -> list[User]:
    """Everyone who ever handed over, acknowledged, read back or wrote a note: the agent filter."""
    ids: set[int] = set()
    for column in ("handed_over_by_id", "acknowledged_by_id"):
        ids |= _ids(await Handover.all().order_by(column).distinct().values_list(column, flat=True))
    ids |= _ids(
        await HandoverNote.all()
        .order_by("author_id")
        .distinct()
        .values_list("author_id", flat=True)
    )
    ids |= _ids(
        await HandoverEntry.all()
        .order_by("acknowledged_by_id")
        .distinct()
        .values_list("acknowledged_by_id", flat=True)
    )
    return await User.filter(id__in=sorted(ids) or [0]).order_by("username")
