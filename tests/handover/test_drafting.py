"""The handover the desk writes at each shift end: once, with the right items, carried over.

Time is moved, never waited for: the drafting job is called with the
moment it would run at, over a day and a night in Asia/Shanghai and over a
night in New York that crosses the end of daylight saving time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftersales.core import clock, i18n
from aftersales.core.cases import CaseRef, HandoverItem, Severity, grade
from aftersales.core.config import Settings
from aftersales.core.i18n import N_
from aftersales.core.models import AuditEvent, Role
from aftersales.core.modules import HandoverWindow, Module, Notice, Registry
from aftersales.handover import drafting, escalation, promises, service
from aftersales.handover import module as handover_module
from aftersales.handover.models import (
    Handover,
    HandoverEntry,
    ItemState,
    PromiseStatus,
    Shift,
)
from aftersales.orders.models import Customer, Order
from aftersales.orders.sync import record_handlers, sync_stream
from aftersales.refunds.models import OPEN_STATUSES, Refund
from aftersales.returns.models import ReturnCase
from connectors.base import Stream
from connectors.demo import DemoConnector
from tests.factories import create_store, create_user

pytestmark = pytest.mark.usefixtures("clean_db")

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2026, 11, 23)


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


# A plugin module's hook: tickets of a third-party module, due at set times.
TICKETS: dict[int, datetime] = {}


async def ticket_items(window: HandoverWindow) -> list[HandoverItem]:
    return [
        HandoverItem(
            ref=CaseRef("tickets", "ticket", ticket),
            msgid=N_("Refund of %(amount)s for order %(order)s"),
            params={"amount": "1.00 CNY", "order": f"T{ticket}"},
            due_at=due,
            severity=grade(due, window.start, window.end),
        )
        for ticket, due in sorted(TICKETS.items())
        if due < window.end
    ]


TICKETS_MODULE = Module(name="tickets", label="Tickets", handover_items=ticket_items)


@pytest.fixture
def registry(settings: Settings) -> Registry:
    TICKETS.clear()
    built = Registry.build(settings)
    return Registry([*built.modules, TICKETS_MODULE])


async def day_and_night(tz: str = "Asia/Shanghai", *, day=(9, 18), night=(18, 9)) -> list[Shift]:
    return [
        await Shift.create(
            name="白班", start_minute=day[0] * 60, end_minute=day[1] * 60, time_zone=tz, position=0
        ),
        await Shift.create(
            name="夜班",
            start_minute=night[0] * 60,
            end_minute=night[1] * 60,
            time_zone=tz,
            position=1,
        ),
    ]


async def shop_with_due_refunds(registry: Registry, now: datetime) -> dict[str, Refund]:
    """The demo shop synced, every case far from due but three refunds at chosen times."""
    clock.travel(now - clock.now())
    store = await create_store()
    connector = DemoConnector(now=now)
    handlers = record_handlers(registry)
    await sync_stream(store, Stream.ORDERS, connector)
    await sync_stream(store, Stream.AFTER_SALES, connector, handlers=handlers)
    far = now + timedelta(days=30)
    await Refund.all().update(due_at=far, intercept_parcel=False)
    await ReturnCase.all().update(due_at=far)
    open_refunds = (
        await Refund.filter(status__in=OPEN_STATUSES, worked_in__isnull=True)
        .order_by("id")
        .limit(3)
    )
    assert len(open_refunds) == 3, "the demo shop has open refunds"
    tonight, overdue, tomorrow = open_refunds
    await Refund.filter(id=tonight.id).update(due_at=local(DAY, 21))
    await Refund.filter(id=overdue.id).update(due_at=local(DAY, 8))
    await Refund.filter(id=tomorrow.id).update(due_at=local(DAY + timedelta(days=1), 12))
    return {"tonight": tonight, "overdue": overdue, "tomorrow": tomorrow}


def ref(refund: Refund) -> str:
    return f"refunds:refund:{refund.id}"


async def refs_of(handover: Handover) -> set[str]:
    return set(await HandoverEntry.filter(handover_id=handover.id).values_list("ref", flat=True))


async def test_one_handover_per_shift_end_over_a_shanghai_day_and_night(registry) -> None:
    shifts = await day_and_night()
    start = local(DAY, 8)
    for step in range(0, 26 * 60, 5):  # every five minutes for 26 hours
        await drafting.draft_due(registry, start + timedelta(minutes=step))
    handovers = await Handover.all().order_by("window_start")
    assert [(h.key, h.from_name, h.to_name) for h in handovers] == [
        (f"{shifts[1].id}:{DAY - timedelta(days=1)}", "夜班", "白班"),
        (f"{shifts[0].id}:{DAY}", "白班", "夜班"),
        (f"{shifts[1].id}:{DAY}", "夜班", "白班"),
    ]
    day_to_night = handovers[1]
    assert day_to_night.window_start == local(DAY, 18)
    assert day_to_night.window_end == local(DAY + timedelta(days=1), 9)
    assert day_to_night.drafted_at == local(DAY, 17, 45)  # 15 minutes ahead, to check it
    assert day_to_night.handed_over_at == local(DAY, 18)  # frozen at the shift change
    # The day's first shift gets the morning check; the night does not.
    assert [h.morning_check for h in handovers] == [True, False, True]


async def test_two_workers_and_a_rerun_write_one_handover(registry) -> None:
    await day_and_night()

    async def written(action: str) -> list[str]:
        return sorted(await AuditEvent.filter(action=action).values_list("subject_id", flat=True))

    at = local(DAY, 17, 50)
    await asyncio.gather(drafting.draft_due(registry, at), drafting.draft_due(registry, at))
    assert await drafting.draft_due(registry, at) == []  # a rerun finds nothing to do
    # This morning's list (caught up late) and tonight's draft, each drafted once.
    handovers = await Handover.all().order_by("window_start")
    assert [h.window_start for h in handovers] == [local(DAY, 9), local(DAY, 18)]
    assert await written("handover_drafted") == sorted(str(h.id) for h in handovers)
    at_end = local(DAY, 18, 1)
    await asyncio.gather(drafting.draft_due(registry, at_end), drafting.draft_due(registry, at_end))
    assert await written("handover_handed_over") == sorted(str(h.id) for h in handovers)


async def test_the_night_list_holds_what_falls_due_tonight_and_what_is_overdue(registry) -> None:
    await day_and_night()
    refunds = await shop_with_due_refunds(registry, local(DAY, 17))
    TICKETS.update({1: local(DAY, 23), 2: local(DAY + timedelta(days=1), 10), 3: local(DAY, 1)})
    await drafting.draft_due(registry, local(DAY, 17, 46))
    handover = await Handover.get(window_start=local(DAY, 18))
    # (The morning's order checks, left open by the day shift, are carried too: not counted.)
    assert {r for r in await refs_of(handover) if not r.startswith("orders:")} == {
        ref(refunds["tonight"]),
        ref(refunds["overdue"]),
        "tickets:ticket:1",
        "tickets:ticket:3",
    }
    entries = {e.ref: e for e in await HandoverEntry.filter(handover_id=handover.id)}
    assert entries[ref(refunds["tonight"])].severity == Severity.DUE_THIS_SHIFT
    assert entries[ref(refunds["overdue"])].severity == Severity.OVERDUE
    assert entries[ref(refunds["overdue"])].urgent
    assert not entries[ref(refunds["tonight"])].urgent
    assert entries[ref(refunds["tonight"])].href == f"/refunds/{refunds['tonight'].id}"


async def test_a_late_job_drafts_and_freezes_the_missed_shift_end(registry) -> None:
    await day_and_night()
    refunds = await shop_with_due_refunds(registry, local(DAY, 17))
    done = await drafting.draft_due(registry, local(DAY, 19, 30))  # the worker was down
    [handover] = [h for h in done if h.window_start == local(DAY, 18)]
    assert handover.handed_over_at == local(DAY, 18)
    assert handover.handed_over_by_id is None
    assert ref(refunds["tonight"]) in await refs_of(handover)


async def test_a_night_crossing_the_end_of_daylight_saving_is_one_handover_each_way(
    registry,
) -> None:
    shifts = await day_and_night("America/New_York", day=(6, 22), night=(22, 6))
    sat = date(2026, 10, 31)  # DST ends in New York at 02:00 on Sunday 1 November
    start = local(sat, 12, tz=NEW_YORK)
    for step in range(0, 36 * 60, 10):
        await drafting.draft_due(registry, start + timedelta(minutes=step))
    handovers = await Handover.all().order_by("window_start")
    assert [h.key for h in handovers] == [
        f"{shifts[1].id}:{sat - timedelta(days=1)}",  # this morning's, caught up at noon
        f"{shifts[0].id}:{sat}",
        f"{shifts[1].id}:{sat}",
        f"{shifts[0].id}:{sat + timedelta(days=1)}",
    ]
    _, into_night, out_of_night, _ = handovers
    assert into_night.window_start == datetime(2026, 11, 1, 2, tzinfo=UTC)  # 22:00 EDT
    assert into_night.window_end == datetime(2026, 11, 1, 11, tzinfo=UTC)  # 06:00 EST
    assert into_night.window_end - into_night.window_start == timedelta(hours=9)
    assert out_of_night.window_start == into_night.window_end
    assert out_of_night.morning_check


async def test_what_the_night_left_open_is_carried_into_the_morning_saying_since_when(
    registry,
) -> None:
    await day_and_night()
    refunds = await shop_with_due_refunds(registry, local(DAY, 17))
    tomorrow = DAY + timedelta(days=1)
    for at in (local(DAY, 17, 46), local(DAY, 18, 1), local(tomorrow, 8, 46), local(tomorrow, 9)):
        await drafting.draft_due(registry, at)
    night, morning = await Handover.filter(window_start__gte=local(DAY, 18)).order_by(
        "window_start"
    )
    # The refund due at 21:00 was not answered in the night: overdue now, listed since 17:46.
    carried = await HandoverEntry.get(handover_id=morning.id, ref=ref(refunds["tonight"]))
    assert carried.first_listed_at == local(DAY, 17, 46)
    assert carried.severity == Severity.OVERDUE and carried.urgent
    before = await HandoverEntry.get(handover_id=night.id, ref=ref(refunds["tonight"]))
    assert before.state is ItemState.CARRIED
    # Tomorrow's noon refund is due in the day shift now: listed for the first time.
    fresh = await HandoverEntry.get(handover_id=morning.id, ref=ref(refunds["tomorrow"]))
    assert fresh.first_listed_at == local(tomorrow, 8, 46)


async def test_a_case_closed_during_the_night_leaves_the_list(registry) -> None:
    await day_and_night()
    refunds = await shop_with_due_refunds(registry, local(DAY, 17))
    await drafting.draft_due(registry, local(DAY, 18, 1))
    tonight = refunds["tonight"]
    await Refund.filter(id=tonight.id).update(status="rejected", due_at=None)
    tomorrow = DAY + timedelta(days=1)
    await drafting.draft_due(registry, local(tomorrow, 9))
    morning = await Handover.get(window_start=local(tomorrow, 9))
    assert ref(tonight) not in await refs_of(morning)
    night = await Handover.get(window_start=local(DAY, 18))
    assert (await HandoverEntry.get(handover_id=night.id, ref=ref(tonight))).state is ItemState.DONE


async def test_a_promise_for_21_00_is_handed_to_the_night_shows_at_21_00_and_breaks(
    registry,
) -> None:
    await day_and_night()
    agent = await create_user(username="day-agent", role=Role.AGENT)
    night_agent = await create_user(username="night-agent", role=Role.NIGHT_AGENT)
    await drafting.draft_due(registry, local(DAY, 17, 46))
    promise = await promises.make(
        agent, "21:00 后给买家回电话说明退款进度", local(DAY, 21), now=local(DAY, 17, 50)
    )
    await drafting.draft_due(registry, local(DAY, 18))
    night = await Handover.get(window_start=local(DAY, 18))
    entry = await HandoverEntry.get(handover_id=night.id, ref=f"handover:promise:{promise.id}")
    assert entry.urgent and entry.params["text"] == promise.text

    def promise_notices(notices: list[Notice]) -> list[tuple[str, object]]:
        return [(n.text, n.params["count"]) for n in notices if "romises" in n.text]

    clock.travel(local(DAY, 20, 59) - clock.now())
    assert promise_notices(await registry.home_notices(night_agent)) == []
    clock.travel(local(DAY, 21) - clock.now())
    assert promise_notices(await registry.home_notices(night_agent)) == [
        ("Promises to buyers due now: %(count)s", 1)
    ]

    tomorrow = DAY + timedelta(days=1)
    await drafting.draft_due(registry, local(tomorrow, 9))
    assert (await promises.get(promise.id)).status is PromiseStatus.BROKEN
    morning = await Handover.get(window_start=local(tomorrow, 9))
    broken = await HandoverEntry.get(handover_id=morning.id, ref=f"handover:promise:{promise.id}")
    assert broken.msgid == "Promise not kept: %(text)s" and broken.urgent


async def test_a_kept_promise_is_not_broken_at_the_shift_change(registry) -> None:
    await day_and_night()
    agent = await create_user(username="day-agent", role=Role.AGENT)
    promise = await promises.make(agent, "回电", local(DAY, 21), now=local(DAY, 17, 50))
    await drafting.draft_due(registry, local(DAY, 18))
    clock.travel(local(DAY, 21, 5) - clock.now())
    await promises.close(promise, agent, kept=True)
    await drafting.draft_due(registry, local(DAY + timedelta(days=1), 9))
    assert (await promises.get(promise.id)).status is PromiseStatus.KEPT


async def test_an_unacknowledged_handover_reaches_the_supervisor_after_30_minutes(
    registry,
) -> None:
    await day_and_night()
    await shop_with_due_refunds(registry, local(DAY, 17))
    supervisor = await create_user(username="lead", role=Role.SUPERVISOR)
    night_agent = await create_user(username="night", role=Role.NIGHT_AGENT)
    await drafting.draft_due(registry, local(DAY, 18))
    night = await Handover.get(window_start=local(DAY, 18))

    clock.travel(local(DAY, 18, 29) - clock.now())
    assert not await handover_module.dashboard_tiles(supervisor)
    assert await escalation.stamp() == 0
    clock.travel(local(DAY, 18, 31) - clock.now())
    urgent = await HandoverEntry.filter(handover_id=night.id, urgent=True).order_by("id")
    assert urgent, "the overdue refund is urgent"
    tiles = {t.label: t.value for t in await handover_module.dashboard_tiles(supervisor)}
    assert tiles == {"Handovers not acknowledged": 1}

    async def alarms() -> list[Notice]:
        return [n for n in await registry.home_notices(supervisor) if "not ackn" in n.text]

    [alarm] = await alarms()
    assert alarm.params == {"shift": "白班", "urgent": len(urgent)}
    assert alarm.href == f"/handover/{night.id}"
    assert not await handover_module.dashboard_tiles(night_agent)  # not an agent's alarm
    assert await escalation.stamp() == 1
    assert await escalation.stamp() == 0  # stamped once
    escalated_at = (await Handover.get(id=night.id)).escalated_at
    assert escalated_at is not None and escalated_at >= local(DAY, 18, 31)

    # Read back the urgent items, then the list: the alarm goes.
    with pytest.raises(service.UrgentNotAcknowledged):
        await service.acknowledge(night, night_agent)
    with pytest.raises(service.ReadBackMissing):
        await service.acknowledge_item(night, urgent[0], night_agent, "  ")
    for entry in urgent:
        await service.acknowledge_item(night, entry, night_agent, "我会在 21:00 前处理")
    [alarm] = await alarms()
    assert alarm.params["urgent"] == 0  # read back, but the list is still not taken over
    await service.acknowledge(night, night_agent)
    assert not await handover_module.dashboard_tiles(supervisor)
    assert not await alarms()


async def test_the_strictest_store_setting_sets_the_escalation_time(registry) -> None:
    store = await create_store()
    store.settings = {escalation.SETTING: 10}
    await store.save()
    await create_store(name="另一家店")
    assert await escalation.threshold() == timedelta(minutes=10)


async def test_a_return_items_next_step_reads_in_chinese_on_the_list(registry) -> None:
    await day_and_night()
    await shop_with_due_refunds(registry, local(DAY, 17))
    returned = await ReturnCase.filter(status="requested").first()
    assert returned is not None, "the demo shop has a return waiting for an answer"
    await ReturnCase.filter(id=returned.id).update(due_at=local(DAY, 20))
    await drafting.draft_due(registry, local(DAY, 18))
    entry = await HandoverEntry.get(ref=f"returns:return:{returned.id}")
    with i18n.speaking("zh_CN"):
        shown = drafting.summary(entry)
    assert "answer" not in shown and "退货" in shown, shown


async def test_an_angry_buyers_case_is_urgent_even_when_not_yet_overdue(registry) -> None:
    await day_and_night()
    refunds = await shop_with_due_refunds(registry, local(DAY, 17))
    order = await Order.get(id=refunds["tonight"].order_id)
    await Customer.filter(id=order.customer_id).update(tags=["angry"])
    await drafting.draft_due(registry, local(DAY, 18))
    entry = await HandoverEntry.get(ref=ref(refunds["tonight"]))
    assert entry.severity == Severity.DUE_THIS_SHIFT
    assert entry.urgent and entry.customer_id == order.customer_id
