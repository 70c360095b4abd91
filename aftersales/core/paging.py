"""Work queues sorted the way platform timers bite: nearest ``due_at`` first.

Refunds and return cases both list timed rows by due time, then the rows
with no timer, newest request first, one page at a time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from tortoise.queryset import QuerySet

from aftersales.core import clock
from aftersales.core.cases import DUE_SOON, due_filter

R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class QueueFilters:
    """What every work queue filters on; a module's own filters extend it."""

    store_id: int | None = None
    status: Enum | None = None
    kind: Enum | None = None
    reason: Enum | None = None
    due: str = ""  # "" or one of ``cases.DUE_FILTERS``
    assignee_id: int | None = None
    unassigned: bool = False
    open_only: bool = False
    page: int = 1
    # The store's time zone, where "today" and "this shift" end.
    zone: ZoneInfo = field(default=ZoneInfo("Asia/Shanghai"), compare=False)
    # When the shift running now ends, as the rota says (``Registry.shift_end``):
    # read by the "shift" due filter; None falls back to the default day and night.
    shift_end: datetime | None = field(default=None, compare=False)


def narrow(
    query: QuerySet[Any],
    filters: QueueFilters,
    *,
    open_statuses: Collection[Enum],
    now: datetime | None = None,
    due_soon: timedelta = DUE_SOON,
) -> QuerySet[Any]:
    """``query`` cut down by the filters every queue shares ("due soon" as the kernel says)."""
    now = now or clock.now()
    if filters.store_id:
        query = query.filter(store_id=filters.store_id)
    if filters.status:
        query = query.filter(status=filters.status)
    elif filters.open_only:
        query = query.filter(status__in=[s.value for s in open_statuses])
    if filters.kind:
        query = query.filter(kind=filters.kind)
    if filters.reason:
        query = query.filter(reason=filters.reason)
    if filters.due == "soon":
        query = query.filter(due_at__gte=now, due_at__lt=now + due_soon)
    elif filters.due:
        query = query.filter(
            **due_filter(filters.due, now, filters.zone, shift_end=filters.shift_end)
        )
    if filters.unassigned:
        query = query.filter(assignee_id=None)
    elif filters.assignee_id:
        query = query.filter(assignee_id=filters.assignee_id)
    return query


@dataclass
class DuePage(Generic[R]):
    rows: list[R]
    total: int
    page: int
    pages: int

    def with_rows(self, rows: list[T]) -> DuePage[T]:
        """The same page with each row turned into what a queue shows for it."""
        return DuePage(rows, self.total, self.page, self.pages)


async def due_first(query: QuerySet[Any], *, page: int, per_page: int) -> DuePage[Any]:
    """One page of ``query``: by ``due_at``, then untimed rows by ``requested_at`` desc."""
    total = await query.count()
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    timed = query.filter(due_at__not_isnull=True)
    timed_total = await timed.count()
    start = (page - 1) * per_page
    chosen = list(await timed.order_by("due_at", "id").offset(start).limit(per_page))
    if len(chosen) < per_page:
        chosen += await (
            query.filter(due_at__isnull=True)
            .order_by("-requested_at", "-id")
            .offset(max(start - timed_total, 0))
            .limit(per_page - len(chosen))
        )
    return DuePage(chosen, total, page, pages)
