"""Work queues sorted the way platform timers bite: nearest ``due_at`` first.

Refunds and return cases both list timed rows by due time, then the rows
with no timer, newest request first, one page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.queryset import QuerySet


@dataclass
class DuePage:
    rows: list[Any]
    total: int
    page: int
    pages: int


async def due_first(query: QuerySet[Any], *, page: int, per_page: int) -> DuePage:
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
