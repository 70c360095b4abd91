"""Sending a case to a supervisor: the rule in words, the referral, its close, the list."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from aftersales.core import referrals, waiting
from aftersales.core.models import AuditEvent, Referral, Role
from aftersales.core.reasons import ReasonCode
from aftersales.refunds import service
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from aftersales.refunds.rules import DEFAULT_RULES, Decider, Rules, explain
from tests.factories import create_user
from tests.refunds.test_service import demo_shop

pytestmark = pytest.mark.usefixtures("app")


async def over_night_cap() -> Refund:
    """An open refund-only request above the night agents' 100.00 and within an agent's 300.00."""
    refund = (
        await Refund.filter(
            status=RefundStatus.REQUESTED,
            requested_amount__gt=Decimal("100.00"),
            requested_amount__lte=Decimal("300.00"),
        )
        .order_by("id")
        .first()
    )
    assert refund is not None, "the demo shop has a request between the two caps"
    return refund


def test_the_rule_names_the_readers_own_cap_in_words() -> None:
    kw = {"kind": RefundKind.REFUND_ONLY, "reason": ReasonCode.OTHER, "shipped": True}
    night = explain(DEFAULT_RULES, Role.NIGHT_AGENT, amount=Decimal("129.00"), **kw)
    assert night.decider is Decider.SUPERVISOR and not night.yours
    assert night.msgid % night.params == "Over your 100.00 night cap: a supervisor decides."
    agent = explain(DEFAULT_RULES, Role.AGENT, amount=Decimal("129.00"), **kw)
    assert agent.yours and agent.msgid % agent.params == "Within your 300.00 cap: you decide."
    over = explain(DEFAULT_RULES, Role.AGENT, amount=Decimal("300.01"), **kw)
    assert over.msgid % over.params == "Over your 300.00 cap: a supervisor decides."
    boss = explain(DEFAULT_RULES, Role.SUPERVISOR, amount=Decimal("9999.00"), **kw)
    assert boss.yours and boss.msgid == "Your role has no cap: you decide."
    auto = explain(
        Rules(auto_approve_unshipped_up_to=Decimal("50.00"), supervisor_above=Decimal("300")),
        Role.AGENT,
        amount=Decimal("20.00"),
        **{**kw, "shipped": False},
    )
    assert auto.yours and auto.msgid.startswith("Auto-approval would apply")
    assert auto.params == {"auto": "50.00"}


async def test_a_night_agent_sends_and_the_supervisors_approval_closes_it() -> None:
    await demo_shop()
    night = await create_user(role=Role.NIGHT_AGENT)
    boss = await create_user(role=Role.SUPERVISOR)
    refund = await over_night_cap()
    view = await service.decision_view(refund, night, shipped=True)
    assert view.explanation is not None and not view.explanation.yours
    referral = await service.refer(
        refund.id, actor=night, note="买家说少发了一件", expected_version=refund.version
    )
    assert referral.amount == refund.requested_amount and referral.from_user_id == night.id
    listed = await referrals.waiting_for(boss)
    assert [w.referral.id for w in listed] == [referral.id]
    assert listed[0].case is not None and listed[0].case.href == f"/refunds/{refund.id}"
    assert listed[0].due_at == refund.due_at and listed[0].sender.id == night.id
    tiles = await waiting.dashboard_tiles(boss)
    assert [(t.value, t.href) for t in tiles] == [(1, "/waiting/")]
    # The supervisor decides as usual, on the case as sending left it (the send moved
    # its version); the referral closes with the decision.
    sent = await Refund.get(id=refund.id)
    assert sent.version == refund.version + 1
    await service.approve(refund.id, actor=boss, expected_version=sent.version)
    closed = await Referral.get(id=referral.id)
    assert closed.open_ref is None and closed.closed_by_id == boss.id
    assert closed.outcome == RefundStatus.APPROVED.value and closed.closed_at is not None
    assert await referrals.waiting_for(boss) == []
    assert [t.value for t in await waiting.dashboard_tiles(boss)] == [0]
    actions = await AuditEvent.filter(subject_type="refund", subject_id=str(refund.id)).values_list(
        "action", flat=True
    )
    assert "referral.sent" in actions and "referral.closed" in actions


async def test_a_second_send_is_refused_and_names_who_sent_it() -> None:
    await demo_shop()
    night = await create_user(role=Role.NIGHT_AGENT, display_name="夜班小王")
    other = await create_user(role=Role.AGENT)
    refund = await over_night_cap()
    await service.refer(refund.id, actor=night, note="first")
    with pytest.raises(referrals.ReferralOpen) as refused:
        await service.refer(refund.id, actor=other, note="second")
    assert refused.value.status == 409 and "夜班小王" in refused.value.english
    assert await Referral.filter(case_id=refund.id).count() == 1


async def test_a_decided_refund_cannot_be_sent_and_a_refusal_closes_the_referral() -> None:
    await demo_shop()
    night = await create_user(role=Role.NIGHT_AGENT)
    refund = await over_night_cap()
    referral = await service.refer(refund.id, actor=night)
    await service.reject(refund.id, actor=night, reason="商品已签收且无质量问题")
    closed = await Referral.get(id=referral.id)
    assert closed.outcome == RefundStatus.REJECTED.value and closed.closed_by_id == night.id
    with pytest.raises(service.AlreadyDecided):
        await service.refer(refund.id, actor=night)


async def test_only_managers_have_a_waiting_list() -> None:
    await demo_shop()
    night = await create_user(role=Role.NIGHT_AGENT)
    await service.refer((await over_night_cap()).id, actor=night)
    for role in (Role.AGENT, Role.NIGHT_AGENT):
        user = await create_user(role=role)
        assert await referrals.waiting_for(user) == [] and await waiting.dashboard_tiles(user) == []
    for role in (Role.SUPERVISOR, Role.OWNER, Role.ADMIN):
        assert len(await referrals.waiting_for(await create_user(role=role))) == 1


async def test_two_sends_at_once_leave_one_referral() -> None:
    await demo_shop()
    night = await create_user(role=Role.NIGHT_AGENT)
    other = await create_user(role=Role.NIGHT_AGENT)
    refund = await over_night_cap()
    outcomes = await asyncio.gather(
        service.refer(refund.id, actor=night, note="a"),
        service.refer(refund.id, actor=other, note="b"),
        return_exceptions=True,
    )
    sent = [o for o in outcomes if isinstance(o, Referral)]
    refused = [o for o in outcomes if isinstance(o, referrals.ReferralOpen)]
    assert (len(sent), len(refused)) == (1, 1), outcomes
    assert await Referral.filter(case_id=refund.id, open_ref__isnull=False).count() == 1
