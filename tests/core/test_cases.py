"""The case kernel on its own: moves, guards, assign, deadlines, timers and references.

Refunds and returns are the case types at hand; what is tested here is the
kernel's behaviour, which every later case type (reviews, promises) gets too.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from aftersales.core import cases, clock, i18n
from aftersales.core.cases import (
    CaseConflict,
    CaseRef,
    HandoverItem,
    IllegalTransition,
    Severity,
    StateMachine,
)
from aftersales.core.errors import Conflict, InvalidInput, NotFound
from aftersales.core.models import AuditEvent, Role
from aftersales.core.modules import HandoverWindow, all_modules, resolve_case
from aftersales.refunds import states as refund_states
from aftersales.refunds.models import OPEN_STATUSES, Refund, RefundStatus
from aftersales.returns.models import ReturnCase
from tests.factories import create_store, create_user
from tests.refunds.test_service import demo_shop, open_request

pytestmark = pytest.mark.usefixtures("clean_db")


async def _events(refund: Refund, action: str) -> list[AuditEvent]:
    return await AuditEvent.filter(subject_type="refund", subject_id=str(refund.id), action=action)


async def test_a_move_bumps_the_version_and_writes_its_event_in_the_same_transaction() -> None:
    await demo_shop()
    agent = await create_user(role=Role.AGENT)
    refund = await open_request()
    async with in_transaction() as conn:
        moved = await cases.move(
            refund,
            RefundStatus.CANCELLED,
            conn=conn,
            actor=agent,
            event="refund.cancelled",
            expected_version=refund.version,
            data={"note": "买家撤销"},
            due_at=None,
        )
    assert (moved.status, moved.version, moved.due_at) == (
        RefundStatus.CANCELLED,
        refund.version + 1,
        None,
    )
    [event] = await _events(refund, "refund.cancelled")
    assert event.actor_id == agent.id
    assert event.data == {"from": "requested", "to": "cancelled", "note": "买家撤销"}

    # A transaction that fails after the move keeps neither the move nor its event.
    other = await Refund.filter(status=RefundStatus.REQUESTED).exclude(id=refund.id).first()
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await cases.move(
                other, RefundStatus.CANCELLED, conn=conn, actor=agent, event="refund.cancelled"
            )
            raise RuntimeError("the outbox write failed")
    assert (await Refund.get(id=other.id)).status is RefundStatus.REQUESTED
    assert await _events(other, "refund.cancelled") == []


async def test_an_illegal_move_is_a_409_naming_both_statuses_and_changes_nothing() -> None:
    await demo_shop()
    refund = await Refund.filter(status=RefundStatus.REFUNDED).first()
    with pytest.raises(IllegalTransition) as raised:
        async with in_transaction() as conn:
            await cases.move(
                refund, RefundStatus.REQUESTED, conn=conn, actor=None, event="refund.reopened"
            )
    error = raised.value
    assert isinstance(error, Conflict) and error.status == 409
    assert error.code == "refund_illegal_transition"
    assert error.message == "A refund cannot go from Refunded to Requested; nothing was changed."
    token = i18n.set_locale("zh_CN")
    try:
        assert error.message.startswith("退款不能从")
    finally:
        i18n._current.reset(token)
    assert (await Refund.get(id=refund.id)).version == refund.version
    # The module's own check is the same machine.
    with pytest.raises(refund_states.IllegalTransition):
        refund_states.check(RefundStatus.REFUNDED, RefundStatus.REQUESTED)
    assert Refund.machine() is refund_states.MACHINE


def test_a_machine_allows_exactly_its_table() -> None:
    machine = StateMachine({RefundStatus.REQUESTED: frozenset({RefundStatus.APPROVED})})
    assert machine.allows(RefundStatus.REQUESTED, RefundStatus.APPROVED)
    assert not machine.allows(RefundStatus.REQUESTED, RefundStatus.REFUNDED)
    with pytest.raises(IllegalTransition) as raised:
        machine.check(RefundStatus.REQUESTED, RefundStatus.REFUNDED)
    assert raised.value.code == "illegal_transition"


async def test_a_stale_version_is_a_case_conflict_carrying_the_case() -> None:
    await demo_shop()
    refund = await open_request()
    with pytest.raises(CaseConflict) as raised:
        async with in_transaction() as conn:
            await cases.move(
                refund,
                RefundStatus.CANCELLED,
                conn=conn,
                actor=None,
                event="refund.cancelled",
                expected_version=refund.version - 1,
            )
    assert raised.value.status == 409 and raised.value.case is refund
    assert raised.value.code == "refund_already_decided"  # the API's code, as before the kernel
    assert raised.value.details()["object"] == {"type": "refund", "id": refund.id}
    assert "changed since you opened it" in raised.value.message

    # Someone moved the row between our read and our write: the guarded update refuses.
    await Refund.filter(id=refund.id).update(version=refund.version + 1)
    with pytest.raises(CaseConflict):
        async with in_transaction() as conn:
            await cases.move(
                refund, RefundStatus.CANCELLED, conn=conn, actor=None, event="refund.cancelled"
            )
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED
    assert await _events(refund, "refund.cancelled") == []


async def test_assign_is_guarded_like_a_move() -> None:
    await demo_shop()
    first = await create_user(role=Role.AGENT)
    second = await create_user(role=Role.AGENT)
    refund = await open_request()
    taken = await cases.assign(
        Refund, refund.id, first, event="refund.assigned", expected_version=refund.version
    )
    assert (taken.assignee_id, taken.version) == (first.id, refund.version + 1)
    assert len(await _events(refund, "refund.assigned")) == 1
    # The second agent's page still shows the old version: refused, the first keeps it.
    with pytest.raises(CaseConflict):
        await cases.assign(
            Refund, refund.id, second, event="refund.assigned", expected_version=refund.version
        )
    assert (await Refund.get(id=refund.id)).assignee_id == first.id
    with pytest.raises(ValueError):  # a refund's timeline holds only refund events
        await cases.assign(Refund, refund.id, second, event="return.assigned")
    with pytest.raises(NotFound):
        await cases.assign(Refund, 999_999, second, event="refund.assigned")
    # Both modules' assign run on it.
    with pytest.raises(CaseConflict):
        from aftersales.refunds import service

        await service.assign(refund.id, second, expected_version=refund.version)


async def test_a_take_without_a_version_only_takes_a_free_case() -> None:
    """Two agents press "take" on the same list row: one gets it, the other is told."""
    await demo_shop()
    first = await create_user(role=Role.AGENT)
    second = await create_user(role=Role.AGENT)
    refund = await open_request()
    await cases.assign(Refund, refund.id, first, event="refund.assigned")
    with pytest.raises(CaseConflict):
        await cases.assign(Refund, refund.id, second, event="refund.assigned")
    assert (await Refund.get(id=refund.id)).assignee_id == first.id
    assert len(await _events(refund, "refund.assigned")) == 1
    # Taking one's own case again changes nothing but is not an error.
    await cases.assign(Refund, refund.id, first, event="refund.assigned")
    assert (await Refund.get(id=refund.id)).assignee_id == first.id


async def test_due_soon_and_due_counts_agree() -> None:
    await demo_shop()
    await Refund.all().update(due_at=None)
    refund = await open_request()
    now = clock.now()
    await Refund.filter(id=refund.id).update(due_at=now + timedelta(hours=1))
    refund = await Refund.get(id=refund.id)
    assert cases.is_due_soon(refund)
    assert not cases.is_due_soon(refund, now + timedelta(hours=2))  # overdue by then
    assert not cases.is_due_soon(refund, now - timedelta(hours=2))  # not soon yet
    assert await cases.due_counts(Refund, OPEN_STATUSES) == cases.DueCounts(1, 0)
    clock.travel(timedelta(hours=2))
    assert await cases.due_counts(Refund, OPEN_STATUSES) == cases.DueCounts(0, 1)


async def test_overdue_cases_escalate_once_with_an_event() -> None:
    await demo_shop()
    await Refund.all().update(due_at=None)
    refund = await open_request()
    await Refund.filter(id=refund.id).update(due_at=clock.now() - timedelta(minutes=1))
    outcome = await cases.escalate_overdue(
        Refund, [RefundStatus.REQUESTED], event="refund.escalated"
    )
    assert outcome == cases.Escalation(found=1, escalated=1)
    escalated = await Refund.get(id=refund.id)
    assert escalated.escalated and escalated.version == refund.version + 1
    [event] = await _events(refund, "refund.escalated")
    assert event.actor_id is None and event.data["status"] == "requested"
    assert await cases.escalate_overdue(
        Refund, [RefundStatus.REQUESTED], event="refund.escalated"
    ) == cases.Escalation(0, 0)


async def test_timers_have_defaults_and_a_store_may_override_them() -> None:
    store = await create_store()
    assert cases.timer(store, "refund_shipped_days") == 5
    assert cases.timer(store, "return_ship_days") == 7
    store.settings = {"timers": {"refund_shipped_days": 3}}
    assert cases.timer(store, "refund_shipped_days") == 3
    assert cases.timer(store, "return_confirm_days") == 10
    cases.declare_timers({"refund_shipped_days": 5})  # the same default again is fine
    with pytest.raises(ValueError):
        cases.declare_timers({"refund_shipped_days": 6})
    with pytest.raises(KeyError):
        cases.timer(store, "no_such_timer")


async def test_a_case_reference_round_trips_and_resolves_through_its_module() -> None:
    await demo_shop()
    refund = await open_request()
    ref = refund.ref
    assert str(ref) == f"refunds:refund:{refund.id}"
    assert CaseRef.parse(str(ref)) == ref
    for bad in ("refunds", "refunds:refund", "refunds:refund:x", ":refund:1"):
        with pytest.raises(InvalidInput):
            CaseRef.parse(bad)
    modules = all_modules()
    found = await resolve_case(modules, ref)
    assert found is not None
    assert (found.href, found.status) == (f"/refunds/{refund.id}", "requested")
    assert found.text == f"Refund {refund.platform_refund_id}"
    assert await resolve_case(modules, CaseRef("refunds", "refund", 999_999)) is None
    assert await resolve_case(modules, CaseRef("nobody", "refund", refund.id)) is None
    assert await resolve_case(modules, CaseRef("returns", "return", 999_999)) is None
    assert ReturnCase.case_type.page == "/returns/{id}"
    assert ReturnCase.case_type.subject == "return_case" and Refund.case_type.subject == "refund"


def test_severity_is_graded_from_the_deadline_and_the_shift() -> None:
    start = clock.now()
    end = start + timedelta(hours=8)
    assert cases.grade(start - timedelta(minutes=1), start, end) is Severity.OVERDUE
    assert cases.grade(start + timedelta(hours=1), start, end) is Severity.DUE_THIS_SHIFT
    assert cases.grade(end, start, end) is Severity.WATCH
    assert cases.grade(None, start, end) is Severity.WATCH
    assert Severity.DUE_THIS_SHIFT == "due_this_shift"


async def test_a_handover_item_speaks_the_readers_language() -> None:
    await demo_shop()
    refund = await open_request()
    start = clock.now()
    window = HandoverWindow(start=start, end=start + timedelta(days=30))
    item = HandoverItem.for_case(
        refund,
        window.start,
        window.end,
        "Refund of %(amount)s for order %(order)s",
        params={"amount": "12.00 CNY", "order": refund.platform_order_id},
        todo="Answer the request before the platform agrees by itself.",
    )
    assert item.ref == refund.ref and item.module == "refunds"
    assert item.href == f"/refunds/{refund.id}"
    assert item.summary == f"Refund of 12.00 CNY for order {refund.platform_order_id}"
    token = i18n.set_locale("zh_CN")
    try:
        assert item.summary == f"订单 {refund.platform_order_id} 退款 12.00 CNY"
    finally:
        i18n._current.reset(token)
