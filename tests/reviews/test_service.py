"""The steps of a review follow-up: each guarded by the case version, audited, touching the case."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aftersales.core import clock, referrals
from aftersales.core.cases import AssignRefused, CaseConflict
from aftersales.core.errors import InvalidInput
from aftersales.core.models import AuditEvent, Referral, Role
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order
from aftersales.refunds.errors import NeedsSupervisor
from aftersales.refunds.models import Refund, RefundKind, RefundRules, RefundStatus
from aftersales.reviews import service
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import (
    ContactAttempt,
    ContactChannel,
    ContactResult,
    Remedy,
    RemedyKind,
    Review,
    ReviewCase,
    ReviewCaseStatus,
    ReviewOutcome,
)
from tests.factories import create_user
from tests.refunds.test_service import demo_shop
from tests.reviews.factories import create_review_case

pytestmark = pytest.mark.usefixtures("clean_db")


async def events_of(case: ReviewCase) -> list[str]:
    rows = await AuditEvent.filter(subject_type="review_case", subject_id=str(case.id)).order_by(
        "id"
    )
    return [e.action for e in rows]


async def test_a_contact_is_logged_once_touches_the_case_and_moves_it_to_contacting() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    moved = await service.log_contact(
        case.id,
        actor=agent,
        channel=ContactChannel.PHONE,
        result=ContactResult.NO_ANSWER,
        note="打了两次没人接",
        expected_version=case.version,
    )
    assert moved.status is ReviewCaseStatus.CONTACTING
    assert moved.first_contact_at is not None and moved.touched_at is not None
    assert moved.version == case.version + 1
    later = await service.log_contact(
        case.id,
        actor=agent,
        channel=ContactChannel.CHAT,
        result=ContactResult.REACHED,
        expected_version=moved.version,
    )
    assert later.first_contact_at == moved.first_contact_at  # the first one stays first
    contacts = await ContactAttempt.filter(case_id=case.id).order_by("id")
    assert [(c.channel, c.result, c.by_id) for c in contacts] == [
        (ContactChannel.PHONE, ContactResult.NO_ANSWER, agent.id),
        (ContactChannel.CHAT, ContactResult.REACHED, agent.id),
    ]
    assert (await events_of(case)).count("review_case.contact") == 2


async def test_a_stale_page_is_refused_and_nothing_is_written() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    await service.triage(case.id, actor=agent, expected_version=case.version)
    with pytest.raises(CaseConflict) as refused:
        await service.log_contact(
            case.id,
            actor=agent,
            channel=ContactChannel.SMS,
            result=ContactResult.LEFT_MESSAGE,
            expected_version=case.version,  # the version before the triage
        )
    assert refused.value.status == 409
    assert await ContactAttempt.filter(case_id=case.id).count() == 0


async def test_the_same_idempotency_key_answers_again_without_a_second_contact() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    kwargs = {
        "actor": agent,
        "channel": ContactChannel.PHONE,
        "result": ContactResult.REACHED,
        "idempotency_key": "k-1",
    }
    first = await service.log_contact(case.id, **kwargs)  # type: ignore[arg-type]
    again = await service.log_contact(case.id, **kwargs)  # type: ignore[arg-type]
    assert again.version == first.version
    assert await ContactAttempt.filter(case_id=case.id).count() == 1


async def test_a_contact_in_the_future_is_refused() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    with pytest.raises(InvalidInput, match="future"):
        await service.log_contact(
            case.id,
            actor=agent,
            channel=ContactChannel.PHONE,
            result=ContactResult.REACHED,
            contacted_at=clock.now() + timedelta(hours=1),
        )


async def test_a_contact_before_the_review_was_written_is_refused() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    for when in (datetime(1, 1, 2, tzinfo=UTC), clock.now() - timedelta(days=400)):
        with pytest.raises(InvalidInput) as refused:
            await service.log_contact(
                case.id,
                actor=agent,
                channel=ContactChannel.PHONE,
                result=ContactResult.REACHED,
                contacted_at=when,
            )
        assert refused.value.code == "contact_before_review"
    assert await ContactAttempt.filter(case_id=case.id).count() == 0


async def test_triage_only_once_and_only_from_new() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    triaged = await service.triage(case.id, actor=agent, note="值得跟进")
    assert triaged.status is ReviewCaseStatus.TRIAGED
    with pytest.raises(service.WrongStep):
        await service.triage(case.id, actor=agent)


async def test_an_agent_takes_a_case_but_only_a_supervisor_gives_one() -> None:
    agent, colleague = await create_user(role=Role.AGENT), await create_user(role=Role.AGENT)
    boss = await create_user(role=Role.SUPERVISOR)
    case = await create_review_case()
    await service.assign(case.id, agent, expected_version=case.version)
    case = await ReviewCase.get(id=case.id)
    assert case.assignee_id == agent.id
    with pytest.raises(AssignRefused):
        await service.assign(case.id, colleague, expected_version=case.version, actor=agent)
    await service.assign(case.id, colleague, expected_version=case.version, actor=boss)
    assert (await ReviewCase.get(id=case.id)).assignee_id == colleague.id
    assert {"review_case.assigned", "review_case.given"} <= set(await events_of(case))


async def test_closing_records_the_outcome_and_a_closed_case_takes_no_more_steps() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    with pytest.raises(InvalidInput, match="Say why"):
        await service.close(case.id, actor=agent, outcome=ReviewOutcome.UNCHANGED)
    closed = await service.close(
        case.id, actor=agent, outcome=ReviewOutcome.UNCHANGED, note="买家不愿沟通"
    )
    assert (closed.status, closed.outcome, closed.close_note) == (
        ReviewCaseStatus.CLOSED,
        ReviewOutcome.UNCHANGED,
        "买家不愿沟通",
    )
    assert closed.closed_at is not None and closed.due_at is None
    with pytest.raises(service.CaseIsClosed):
        await service.log_contact(
            case.id, actor=agent, channel=ContactChannel.PHONE, result=ContactResult.REACHED
        )
    with pytest.raises(service.CaseIsClosed):
        await service.close(case.id, actor=agent, outcome=ReviewOutcome.POSITIVE_FOLLOW_UP)


async def test_an_agent_cannot_close_as_revised_or_expired_which_the_desk_sees_itself() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case(text="物流太慢了")
    for outcome in (ReviewOutcome.REVISED, ReviewOutcome.WINDOW_EXPIRED):
        with pytest.raises(InvalidInput) as refused:
            await service.close(case.id, actor=agent, outcome=outcome, note="买家说改了")
        assert refused.value.code == "review_outcome_automatic"
    assert (await ReviewCase.get(id=case.id)).status is not ReviewCaseStatus.CLOSED


async def test_a_correction_is_kept_on_the_review_and_exported_as_labelled_data() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case(text="物流太慢了", append_text="不过东西还行")
    fixed = await service.correct(
        case.id,
        actor=agent,
        sentiment=Sentiment.NEUTRAL,
        reasons=[ReasonCode.LOGISTICS],
        expected_version=case.version,
    )
    review = await Review.get(id=case.review_id)
    assert (review.sentiment, review.corrected_by_id) == (Sentiment.NEUTRAL, agent.id)
    assert review.corrected_at is not None
    assert review.reasons == [{"reason": "logistics", "confidence": 1.0}]
    assert fixed.reason is ReasonCode.LOGISTICS
    assert "review_case.corrected" in await events_of(case)
    await create_review_case(text="没被改过的评价")  # not corrected: not exported
    lines = (await service.corrections_jsonl()).splitlines()
    assert [json.loads(line) for line in lines] == [
        {"text": "物流太慢了\n不过东西还行", "sentiment": "neutral", "reasons": ["logistics"]}
    ]


async def test_a_correction_refuses_a_reason_reviews_do_not_give() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    with pytest.raises(InvalidInput):
        await service.correct(
            case.id, actor=agent, sentiment=Sentiment.NEGATIVE, reasons=[ReasonCode.CHANGED_MIND]
        )
    assert (await Review.get(id=case.review_id)).corrected_at is None


async def paid_order() -> Order:
    order = await Order.filter(paid_amount__gt=Decimal("100")).order_by("id").first()
    assert order is not None
    return order


async def test_a_compensation_is_a_refund_within_the_cap_linked_to_the_remedy() -> None:
    store = await demo_shop()
    await RefundRules.create(store=store, ad_hoc_agent_up_to=Decimal("20.00"))
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case(store=store, order=await paid_order())
    moved = await service.offer_remedy(
        case.id,
        actor=agent,
        kind=RemedyKind.COMPENSATION,
        amount="15.00",
        offer="给您带来不便很抱歉，为您补偿15元，已原路退回。",
        why="起球是面料批次问题",
        expected_version=case.version,
    )
    assert moved.status is ReviewCaseStatus.REMEDY_OFFERED
    remedy = await Remedy.get(case_id=case.id)
    refund = await Refund.get(id=remedy.refund_id)
    assert (refund.kind, refund.requested_amount, refund.review_case_id) == (
        RefundKind.COMPENSATION,
        Decimal("15.00"),
        case.id,
    )
    assert refund.status is RefundStatus.APPROVED and refund.decided_by_id == agent.id
    assert remedy.offer == "给您带来不便很抱歉，为您补偿15元，已原路退回。"


async def test_over_the_cap_nothing_is_created_and_the_case_goes_to_a_supervisor() -> None:
    store = await demo_shop()
    await RefundRules.create(store=store, ad_hoc_agent_up_to=Decimal("20.00"))
    agent = await create_user(role=Role.AGENT)
    boss = await create_user(role=Role.SUPERVISOR)
    case = await create_review_case(store=store, order=await paid_order())
    refunds_before = await Refund.all().count()
    with pytest.raises(NeedsSupervisor, match=r"20\.00"):
        await service.offer_remedy(
            case.id, actor=agent, kind=RemedyKind.COMPENSATION, amount="50.00",
            offer="为您补偿50元。", why="质量问题",
        )  # fmt: skip
    assert await Refund.all().count() == refunds_before
    assert await Remedy.filter(case_id=case.id).count() == 0
    assert (await ReviewCase.get(id=case.id)).status is ReviewCaseStatus.NEW
    referral = await service.refer(case.id, actor=agent, note="建议补偿50元")
    assert (await referrals.open_for(case.ref)) is not None
    assert referral.from_user_id == agent.id
    # The supervisor has no cap: the remedy goes through, and the referral closes with the move.
    case = await ReviewCase.get(id=case.id)
    await service.offer_remedy(
        case.id, actor=boss, kind=RemedyKind.COMPENSATION, amount="50.00",
        offer="为您补偿50元。", why="质量问题", expected_version=case.version,
    )  # fmt: skip
    assert (await Referral.get(id=referral.id)).closed_at is not None
    assert await Refund.all().count() == refunds_before + 1


async def test_a_coupon_is_recorded_without_any_refund() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    await service.offer_remedy(
        case.id, actor=agent, kind=RemedyKind.COUPON, amount="10",
        offer="送您一张10元无门槛优惠券，下次购物可用。", why="物流延误致歉",
    )  # fmt: skip
    remedy = await Remedy.get(case_id=case.id)
    assert (remedy.kind, remedy.amount, remedy.refund_id) == (
        RemedyKind.COUPON,
        Decimal("10.00"),
        None,
    )


async def test_a_coupon_worth_more_than_the_agents_cap_waits_for_a_supervisor() -> None:
    store = await demo_shop()
    await RefundRules.create(store=store, ad_hoc_agent_up_to=Decimal("20.00"))
    agent = await create_user(role=Role.AGENT)
    boss = await create_user(role=Role.SUPERVISOR)
    case = await create_review_case(store=store)
    with pytest.raises(NeedsSupervisor, match=r"20\.00"):
        await service.offer_remedy(
            case.id, actor=agent, kind=RemedyKind.COUPON, amount="30",
            offer="送您一张30元无门槛优惠券。", why="物流延误致歉",
        )  # fmt: skip
    assert await Remedy.filter(case_id=case.id).count() == 0
    assert (await ReviewCase.get(id=case.id)).status is ReviewCaseStatus.NEW
    await service.offer_remedy(
        case.id, actor=boss, kind=RemedyKind.COUPON, amount="30",
        offer="送您一张30元无门槛优惠券。", why="物流延误致歉",
    )  # fmt: skip
    assert (await Remedy.get(case_id=case.id)).amount == Decimal("30.00")
