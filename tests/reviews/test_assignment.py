"""New review cases go round the agents on shift, fairly across syncs; nobody on: unassigned."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.core import clock, modules
from aftersales.core.models import AuditEvent, Role
from aftersales.reviews.models import ReviewCase, ReviewCaseStatus
from tests.factories import create_store, create_user
from tests.reviews.intake_helpers import record, take, with_rota

pytestmark = pytest.mark.usefixtures("clean_db")


def _negatives(n: int) -> list:
    rated = clock.now() - timedelta(hours=5)
    return [record(created_at=rated, rating=1, text="差") for _ in range(n)]


async def _assignees() -> list[int | None]:
    return [c.assignee_id for c in await ReviewCase.all().order_by("id")]


async def test_new_cases_go_round_the_two_agents_on_shift_across_syncs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = await create_store()
    wang = await create_user(username="wang", role=Role.AGENT)
    li = await create_user(username="li", role=Role.NIGHT_AGENT)
    off = await create_user(username="zhao", role=Role.AGENT)  # not on the rota today
    boss = await create_user(username="boss", role=Role.SUPERVISOR)
    monkeypatch.setattr(modules, "_current", with_rota([wang.id, li.id, boss.id]))

    await take(store, _negatives(3))  # one page
    await take(store, _negatives(3))  # the next sync
    given = await _assignees()
    assert given.count(wang.id) == 3 and given.count(li.id) == 3
    assert off.id not in given and boss.id not in given
    assert given[0] != given[1]  # alternating, not in blocks
    (first,) = await AuditEvent.filter(
        subject_type="review_case", subject_id=str((await ReviewCase.first()).id),
        action="review_case.rotated",
    )  # fmt: skip
    assert first.actor_id is None and first.data["by"] == "round_robin"

    # Li closed two of theirs: the next two new cases go to Li, who has less open work.
    mine = await ReviewCase.filter(assignee_id=li.id).order_by("id").limit(2)
    for case in mine:
        await ReviewCase.filter(id=case.id).update(status=ReviewCaseStatus.CLOSED)
    await take(store, _negatives(2))
    assert (await _assignees())[-2:] == [li.id, li.id]


async def test_a_deactivated_agent_and_an_empty_rota_get_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = await create_store()
    wang = await create_user(username="wang", role=Role.AGENT)
    gone = await create_user(username="gone", role=Role.AGENT)
    await type(gone).filter(id=gone.id).update(is_active=False)
    monkeypatch.setattr(modules, "_current", with_rota([wang.id, gone.id]))
    await take(store, _negatives(2))
    assert await _assignees() == [wang.id, wang.id]

    monkeypatch.setattr(modules, "_current", with_rota([]))
    await take(store, _negatives(1))
    assert (await _assignees())[-1] is None
