"""Who may take a list over and when, and which list the shift on now reads.

Each case here was found by review: a list acknowledged before it was
frozen, an agent acknowledging their own list, an alarm before the next
shift had started, and overlapping shifts reading another shift's list.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.core import clock
from aftersales.core.config import Settings
from aftersales.core.models import Role
from aftersales.core.modules import Registry
from aftersales.handover import drafting, escalation, promises, service
from aftersales.handover.models import Handover, RotaEntry, Shift
from tests.factories import create_user
from tests.handover.test_drafting import DAY, local

pytestmark = pytest.mark.usefixtures("clean_db")


@pytest.fixture
def registry(settings: Settings) -> Registry:
    return Registry.build(settings)


async def shifts(*spans: tuple[int, int]) -> list[Shift]:
    return [
        await Shift.create(name=f"班{n}", start_minute=a * 60, end_minute=b * 60, position=n)
        for n, (a, b) in enumerate(spans)
    ]


async def test_a_draft_cannot_be_taken_over_before_it_is_frozen(registry) -> None:
    await shifts((9, 18), (18, 9))
    night_agent = await create_user(role=Role.NIGHT_AGENT)
    await drafting.draft_due(registry, local(DAY, 17, 50))
    draft = await Handover.get(window_start=local(DAY, 18))
    # The shift change came, the job has not run yet.
    clock.travel(local(DAY, 18) + timedelta(seconds=5) - clock.now())
    with pytest.raises(service.NotYetHandedOver):
        await service.acknowledge(draft, night_agent)
    await drafting.draft_due(registry, local(DAY, 18, 1))
    frozen = await Handover.get(id=draft.id)
    assert (await service.acknowledge(frozen, night_agent)).acknowledged_by_id == night_agent.id


async def test_the_agent_who_handed_over_does_not_acknowledge_it(registry) -> None:
    await shifts((9, 18), (18, 9))
    day_agent = await create_user(role=Role.AGENT)
    colleague = await create_user(role=Role.AGENT)
    await drafting.draft_due(registry, local(DAY, 17, 50))
    draft = await Handover.get(window_start=local(DAY, 18))
    clock.travel(local(DAY, 17, 55) - clock.now())
    await service.hand_over(registry, draft, day_agent)
    frozen = await Handover.get(id=draft.id)
    with pytest.raises(service.OwnHandover):
        await service.acknowledge(frozen, day_agent)
    # Frozen: nothing more is marked done or noted on it.
    with pytest.raises(service.HandoverFrozen):
        await service.add_note(frozen, day_agent, "忘了说")
    clock.travel(local(DAY, 18, 5) - clock.now())

    async def told(user) -> list[str]:
        return [n.href for n in await registry.home_notices(user) if n.href]

    assert f"/handover/{frozen.id}" not in await told(day_agent)
    assert f"/handover/{frozen.id}" in await told(colleague)
    assert (await service.acknowledge(frozen, colleague)).acknowledged_by_id == colleague.id


async def test_with_a_gap_the_alarm_counts_from_the_next_shifts_start(registry) -> None:
    await shifts((9, 17), (18, 9))  # nobody on between 17:00 and 18:00
    await drafting.draft_due(registry, local(DAY, 17))
    assert not (await escalation.overdue(local(DAY, 17, 45))).handovers
    late = await escalation.overdue(local(DAY, 18, 31))
    assert [h.window_start for h in late.handovers] == [local(DAY, 17)]


async def test_with_overlapping_shifts_the_shift_on_now_reads_its_own_list(registry) -> None:
    await shifts((7, 15), (11, 19), (15, 23))
    for minute in range(6 * 60, 20 * 60, 15):
        await drafting.draft_due(registry, local(DAY, 0) + timedelta(minutes=minute))
    at = local(DAY, 19, 1)
    current = await service.incoming(at)
    assert current is not None
    assert (current.from_name, current.to_name) == ("班0", "班2")  # early → late, not mid → early
    # The alarm: the late shift's list, not the one tomorrow's early shift will read.
    late = (await escalation.overdue(local(DAY, 19, 40))).handovers
    assert [(h.from_name, h.to_name) for h in late] == [("班0", "班2")]


async def test_a_deactivated_agent_on_the_rota_is_not_on_shift(registry) -> None:
    day, _ = await shifts((9, 18), (18, 9))
    gone = await create_user(role=Role.AGENT)
    await RotaEntry.create(shift=day, day=DAY, user=gone)
    assert await registry.agents_on_shift(local(DAY, 12)) == [gone.id]
    gone.is_active = False
    await gone.save()
    assert await registry.agents_on_shift(local(DAY, 12)) == []


async def test_a_promise_is_not_broken_at_a_change_before_it_was_made(registry) -> None:
    await shifts((9, 18), (18, 9))
    agent = await create_user(role=Role.AGENT)
    promise = await promises.make(agent, "回电", local(DAY, 17, 58), now=local(DAY, 18, 2))
    await drafting.draft_due(registry, local(DAY, 18, 3))
    assert (await promises.get(promise.id)).status.value == "open"
