"""Who gets a new review case: round-robin among the agents on the current shift.

"Round-robin" is kept fair across syncs, restarts and web nodes without a
counter of its own: the next case goes to the agent on shift with the
fewest open review cases, ties to the one whose last review case is the
oldest (never given one: first), then by user id. Everything it reads is in
the case table, so the rotation persists with the cases and an agent back
from a day off is not buried under a day's worth at once, only caught up
to the others. Nobody on shift (no rota, a gap between shifts): the case
stays unassigned and the queue's "unassigned" filter finds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Count, Max

from aftersales.core import audit, clock, modules
from aftersales.core.models import User
from aftersales.reviews.models import OPEN_STATUSES, ReviewCase

# The roles the round-robin gives cases to; a supervisor or an owner on the rota
# hands work out rather than getting it by rotation.
ROTATION_ROLES = ("agent", "night_agent")


async def on_shift() -> list[int]:
    """The rota's people on shift now (``Registry.agents_on_shift``), by id."""
    return await modules.current().agents_on_shift(clock.now())


async def pick(on_shift_ids: Sequence[int], conn: BaseDBAsyncClient) -> User | None:
    """The agent the next case goes to (see the module's docstring), or None."""
    if not on_shift_ids:
        return None
    agents = await User.filter(
        id__in=list(on_shift_ids), is_active=True, role__in=list(ROTATION_ROLES)
    ).using_db(conn)
    if not agents:
        return None
    ids = [a.id for a in agents]
    open_counts = dict(
        await ReviewCase.filter(assignee_id__in=ids, status__in=list(OPEN_STATUSES))
        .using_db(conn)
        .annotate(n=Count("id"))
        .group_by("assignee_id")
        .values_list("assignee_id", "n")
    )
    last = dict(
        await ReviewCase.filter(assignee_id__in=ids)
        .using_db(conn)
        .annotate(last=Max("id"))
        .group_by("assignee_id")
        .values_list("assignee_id", "last")
    )
    return min(agents, key=lambda a: (open_counts.get(a.id, 0), last.get(a.id, 0), a.id))


async def record(case: ReviewCase, agent: User, conn: BaseDBAsyncClient) -> None:
    """The assignment on the case's timeline: by the rotation, not by a person."""
    await audit.record(
        "review_case.rotated",
        subject_type=ReviewCase.case_type.subject,
        subject_id=case.id,
        actor=None,
        data={"assignee": agent.username, "assignee_name": agent.name, "by": "round_robin"},
        using_db=conn,
    )
