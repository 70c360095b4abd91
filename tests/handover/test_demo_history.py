"""The demo desk's shift diary: what a new user finds on the handover pages."""

from __future__ import annotations

from datetime import timedelta

from aftersales import demo
from aftersales.core import clock
from aftersales.core.config import Settings
from aftersales.core.models import Role, User
from aftersales.handover import service
from aftersales.handover.models import Handover, Promise, PromiseStatus, RotaEntry, Shift


async def test_the_demo_has_three_shifts_a_rota_and_two_weeks_of_handovers(
    clean_db: Settings,
) -> None:
    await demo.load("demo", "demo-desk-2026", clean_db)
    assert [s.name for s in await Shift.all()] == ["早班", "晚班", "夜班"]
    now = clock.now()
    # Someone is on every shift today and next week.
    for days in (0, 7):
        for shift in await Shift.all():
            local_day = (now + timedelta(days=days)).date()
            assert await RotaEntry.filter(shift=shift, day=local_day).exists()
    handovers = await Handover.all().order_by("window_start")
    assert len(handovers) >= 14 * 3
    assert handovers[0].window_start <= now - timedelta(days=13)
    # Every list but the one just handed over was acknowledged by the incoming shift.
    assert [h.acknowledged_at is None for h in handovers].count(True) == 1
    assert await service.incoming(now) == handovers[-1]
    statuses = set(await Promise.all().values_list("status", flat=True))
    assert {PromiseStatus.KEPT, PromiseStatus.BROKEN} <= statuses
    night_agent = await User.get(username="chen.night")
    assert night_agent.role is Role.NIGHT_AGENT
    await demo.load("demo", "demo-desk-2026", clean_db)  # a second load adds nothing
    assert await Handover.all().count() == len(handovers)
