"""Refund decisions of the desk: approve, refuse, start, write-back outcomes, deadlines.

Every state change happens here, inside one transaction that also writes
its audit event and, for a decision, the outbox message that carries it to
the platform. Routes, the API and jobs only call these functions, and kick
the outbox after the commit (the sweep does it anyway within seconds).

Concurrency: a decision locks the refund's order (``SELECT ... FOR UPDATE``
on PostgreSQL; SQLite serialises writers) and moves the refund only if its
``version`` is still the one read, so two agents clicking at once, or an
agent and the auto-approval job, produce one decision and one write-back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from aftersales.core import audit, cases, clock, outbox, referrals
from aftersales.core.cases import CaseRef
from aftersales.core.errors import AfterSalesError, InvalidInput, Msgid, NotFound, render
from aftersales.core.i18n import N_
from aftersales.core.models import OutboxMessage, Referral, Store, User
from aftersales.core.money import parse_amount
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, OrderItem
from aftersales.orders.sync import capabilities_of
from aftersales.refunds import ledger, links, states
from aftersales.refunds.errors import (
    REFUND_OVER_CAP,
    AmountExceedsRefundable,
    AmountExceedsRequested,
    NeedsSupervisor,
    NotForBulk,
    OrderNotSynced,
    PlatformCannotRefuse,
    PlatformCannotStart,
    WritebackNotFailed,
    already_decided,
)
from aftersales.refunds.errors import (
    AlreadyDecided as AlreadyDecided,  # callers catch it from here
)
from aftersales.refunds.models import (
    AD_HOC_KINDS,
    OPEN_STATUSES,
    LedgerSource,
    Refund,
    RefundKind,
    RefundLine,
    RefundRules,
    RefundStatus,
)
from aftersales.refunds.rules import (
    CAP_RULE,
    DEFAULT_RULES,
    NO_CAP_RULE,
    REMAINDER_RULE,
    Explanation,
    Rules,
    Verdict,
    approval_limit,
    assess,
    explain,
)
from connectors import registry
from connectors.base import RefundDecision, RefundWriteResult

log = logging.getLogger("aftersales.refunds")

WRITEBACK_KIND = "refunds.writeback"
CENT = Decimal("0.01")


async def check_cap(
    actor: User,
    store_id: int,
    amount: Decimal,
    *,
    ad_hoc: bool = False,
    message: str = REFUND_OVER_CAP,
    subject: object | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> Decimal | None:
    """Refuse (403 ``refund_needs_supervisor``) an amount above ``actor``'s cap.

    The one cap check of the desk: approving a request, starting a refund,
    approving a return and the inspection that pays it all call it with the
    store's rules in force (``rules_for``, defaults included), at the decision
    that commits the money. ``message`` is a msgid with ``%(limit)s`` and
    ``%(amount)s``, shown in the reader's language; ``subject`` is the refund or
    case the refusal is about. Returns the limit (None: no cap) so the decision
    can name the rule it passed.
    """
    rules = await rules_for(store_id, conn=conn)
    limit = approval_limit(rules, actor.role, ad_hoc=ad_hoc)
    if limit is not None and amount > limit:
        raise NeedsSupervisor(subject, cap=limit, amount=amount, message=message)
    return limit


# -- reading ----------------------------------------------------------------------------------


async def get_refund(refund_id: int) -> Refund:
    refund = await Refund.get_or_none(id=refund_id).prefetch_related("lines")
    if refund is None:
        raise NotFound(N_("No refund with id %(id)s."), id=refund_id)
    return refund


async def rules_for(store_id: int, *, conn: BaseDBAsyncClient | None = None) -> Rules:
    """The rules in force for a store: its saved rules, else ``DEFAULT_RULES``.

    The one place every money path (approve, bulk approve, auto-approve,
    refunds the shop starts, returns through ``check_cap``) reads its limits,
    so a store nobody configured is capped exactly like the rules page says.
    """
    row = await RefundRules.get_or_none(store_id=store_id).using_db(conn)
    if row is None:
        return DEFAULT_RULES
    return Rules(
        auto_approve_unshipped_up_to=row.auto_approve_unshipped_up_to,
        supervisor_above=row.supervisor_above,
        night_agent_up_to=row.night_agent_up_to,
        human_reasons=frozenset(ReasonCode(r) for r in row.human_reasons),
        ad_hoc_agent_up_to=row.ad_hoc_agent_up_to,
    )


async def save_rules(store: Store, rules: Rules, *, actor: User) -> None:
    """Owners and supervisors edit a store's rules; the old and new values are audited."""
    for name in (
        "auto_approve_unshipped_up_to",
        "supervisor_above",
        "night_agent_up_to",
        "ad_hoc_agent_up_to",
    ):
        value = getattr(rules, name)
        if value is not None and value < 0:
            raise InvalidInput(N_("Rule amounts cannot be negative."), obj=store, rule=name)
    before = await rules_for(store.id)
    values = {
        "auto_approve_unshipped_up_to": rules.auto_approve_unshipped_up_to,
        "supervisor_above": rules.supervisor_above,
        "night_agent_up_to": rules.night_agent_up_to,
        "ad_hoc_agent_up_to": rules.ad_hoc_agent_up_to,
        "human_reasons": sorted(r.value for r in rules.human_reasons),
    }
    async with in_transaction() as conn:
        await RefundRules.update_or_create(store_id=store.id, defaults=values, using_db=conn)
        await audit.record(
            "refund.rules_changed",
            subject_type="store",
            subject_id=store.id,
            actor=actor,
            data={"before": _rules_json(before), "after": _rules_json(rules)},
            using_db=conn,
        )


def _rules_json(rules: Rules) -> dict[str, Any]:
    return {
        "auto_approve_unshipped_up_to": _str(rules.auto_approve_unshipped_up_to),
        "supervisor_above": _str(rules.supervisor_above),
        "night_agent_up_to": _str(rules.night_agent_up_to),
        "ad_hoc_agent_up_to": _str(rules.ad_hoc_agent_up_to),
        "human_reasons": sorted(r.value for r in rules.human_reasons),
    }


def _str(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# -- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    refund: Refund
    writeback: OutboxMessage | None
    repeated: bool = False  # the same Idempotency-Key again: the first answer, unchanged


def _amount(value: Decimal | str | None, default: Decimal) -> Decimal:
    if value is None or value == "":
        return default
    # One parser for every amount: 1e999999 used to overflow quantize (a 500).
    return parse_amount(value, name=Msgid(N_("The amount")))


async def _load_for_decision(
    refund_id: int, conn: BaseDBAsyncClient, idempotency_key: str | None
) -> tuple[Refund, bool]:
    refund = await Refund.get_or_none(id=refund_id).using_db(conn)
    if refund is None:
        raise NotFound(N_("No refund with id %(id)s."), id=refund_id)
    await ledger.lock_order(refund.order_id, conn)
    refund = await Refund.get(id=refund_id).using_db(conn)
    repeated = idempotency_key is not None and refund.decision_key == idempotency_key
    return refund, repeated


def _undecided(refund: Refund, allowed: set[RefundStatus]) -> None:
    """A decision needs the refund still open for it; the version is the kernel's guard."""
    if refund.status not in allowed:
        raise already_decided(refund)


async def approve(
    refund_id: int,
    *,
    actor: User | None,
    amount: Decimal | str | None = None,
    note: str = "",
    expected_version: int | None = None,
    idempotency_key: str | None = None,
    rule: str = "",
    case: CaseRef | None = None,
) -> Decision:
    """Approve (all or part of) a request; the platform hears of it through the outbox.

    ``actor=None`` is the auto-approval rule, which passes ``rule``. A refund
    another case works (``links``) is approved only on behalf of that ``case``.
    """
    async with in_transaction() as conn:
        refund, repeated = await _load_for_decision(refund_id, conn, idempotency_key)
        if repeated:
            writeback = await OutboxMessage.get_or_none(id=refund.writeback_id).using_db(conn)
            return Decision(refund, writeback, repeated=True)
        _undecided(refund, {RefundStatus.REQUESTED})
        cases.check_version(refund, expected_version)
        await links.check_free(refund, case=case)
        return await _approve_checked(
            refund,
            actor=actor,
            amount=amount,
            note=note,
            idempotency_key=idempotency_key,
            rule=rule,
            conn=conn,
        )


async def _approve_checked(
    refund: Refund,
    *,
    actor: User | None,
    amount: Decimal | str | None,
    note: str,
    idempotency_key: str | None,
    rule: str,
    conn: BaseDBAsyncClient,
    cap_message: str = REFUND_OVER_CAP,
) -> Decision:
    """The approval's checks (amount, role cap, remainder) and the decision, in ``conn``.

    ``cap_message`` is the msgid a caller's own refusal reads (an inspection's).
    """
    value = _amount(amount, refund.requested_amount)
    if value > refund.requested_amount:
        raise AmountExceedsRequested(refund, requested=refund.requested_amount, asked=value)
    if actor is not None:
        limit = await check_cap(
            actor,
            refund.store_id,
            value,
            ad_hoc=refund.kind in AD_HOC_KINDS,
            message=cap_message,
            subject=refund,
            conn=conn,
        )
        rule = rule or (
            CAP_RULE % {"value": actor.role.value, "limit": f"{limit:.2f}"}
            if limit is not None
            else NO_CAP_RULE % {"value": actor.role.value}
        )
    left = await ledger.refundable(refund, conn=conn)
    if left is None:
        raise OrderNotSynced(refund)
    if value > left.limit:
        raise AmountExceedsRefundable(
            refund,
            asked=value,
            limit=left.limit,
            item=left.item is not None and left.item < left.order,
        )
    return await _decide(
        refund,
        RefundStatus.APPROVED,
        RefundDecision.APPROVE,
        actor=actor,
        amount=value,
        note=note,
        idempotency_key=idempotency_key,
        rule=rule,
        conn=conn,
    )


async def start_refund(
    order_id: int,
    *,
    kind: RefundKind,
    amount: Decimal | str,
    reason: ReasonCode,
    actor: User,
    note: str = "",
    platform_item_id: str | None = None,
    review_case_id: int | None = None,
) -> Decision:
    """A refund the shop starts: shipping, a price difference (补差价) or compensation.

    It is created and approved by the agent in one step, within the
    agent's own cap (``ad_hoc_agent_up_to``; supervisors have none), and
    carried to the platform like any approval. Compensation offered to win
    back a negative review is linked to that review case; it is never
    conditioned on the review changing (DOMAIN.md).
    """
    if kind not in AD_HOC_KINDS:
        raise InvalidInput(
            N_("Only shipping, price difference and compensation refunds start here."),
            code="refund_kind_not_started_here",
        )
    if not note.strip():
        raise InvalidInput(
            N_("Say what the refund is for; the buyer and the report read it."),
            code="refund_note_missing",
        )
    value = _amount(amount, Decimal(0))
    order = await Order.get_or_none(id=order_id)
    if order is None:
        raise NotFound(N_("No order with id %(id)s."), id=order_id)
    store = await Store.get(id=order.store_id)  # type: ignore[attr-defined]
    if not capabilities_of(store.platform).start_refund:
        raise PlatformCannotStart(store, platform=platform_label(store.platform))
    item = None
    if platform_item_id:
        item = await OrderItem.get_or_none(order_id=order.id, platform_item_id=platform_item_id)
        if item is None:
            raise InvalidInput(
                N_("That item is not on this order."), obj=order, item=platform_item_id
            )
    return await _open_desk_refund(
        order,
        store,
        kind=kind,
        lines=[(item.id if item else None, value)],
        reason=reason,
        note=note.strip(),
        actor=actor,
        rule="",
        review_case_id=review_case_id,
        platform_item_id=platform_item_id,
    )


def platform_label(platform: str) -> Msgid:
    """The platform as a message names it to a person: its manifest's label, not its id."""
    manifest = registry.find(platform)
    return Msgid(manifest.label if manifest is not None else platform)


async def refund_returned_goods(
    order_id: int,
    *,
    lines: list[tuple[int, Decimal]],
    reason: ReasonCode,
    note: str,
    rule: str,
    actor: User | None = None,
    cap_message: str = REFUND_OVER_CAP,
) -> Decision:
    """Pay for goods a return case received and accepted, on a platform where the shop
    starts refunds itself (no buyer request to agree to).

    ``lines`` are ``(order item id, amount)``. ``actor`` is the inspector, who
    decides the payment: their cap applies and they are the refund's decider.
    Called inside the case's transaction: one case, one refund.
    """
    order = await Order.get_or_none(id=order_id)
    if order is None:
        raise NotFound(N_("No order with id %(id)s."), id=order_id)
    store = await Store.get(id=order.store_id)  # type: ignore[attr-defined]
    if not capabilities_of(store.platform).start_refund:
        raise InvalidInput(
            N_(
                "A %(platform)s store pays returns on the buyer's request; this case has "
                "none, so pay it on the platform and it will sync here."
            ),
            obj=order,
            platform=platform_label(store.platform),
            code="refund_platform_pays_on_request",
        )
    return await _open_desk_refund(
        order,
        store,
        kind=RefundKind.RETURN_AND_REFUND,
        lines=[(item_id, _amount(amount, Decimal(0))) for item_id, amount in lines],
        reason=reason,
        note=note,
        actor=actor,
        rule=rule,
        cap_message=cap_message,
    )


async def _open_desk_refund(
    order: Order,
    store: Store,
    *,
    kind: RefundKind,
    lines: list[tuple[int | None, Decimal]],
    reason: ReasonCode,
    note: str,
    actor: User | None,
    rule: str,
    review_case_id: int | None = None,
    platform_item_id: str | None = None,
    cap_message: str = REFUND_OVER_CAP,
) -> Decision:
    """Create a refund the shop starts and approve it, in one transaction."""
    value = sum((amount for _, amount in lines), Decimal("0.00"))
    async with in_transaction() as conn:
        # One transaction: over the cap or the remainder, the refund never existed.
        await ledger.lock_order(order.id, conn)
        refund = await cases.open_case(
            Refund,
            conn=conn,
            actor=actor,
            event="refund.started",
            data={"kind": kind.value, "amount": _str(value), "note": note, "rule": rule},
            store_id=store.id,
            order_id=order.id,
            platform_order_id=order.platform_order_id,
            platform_item_id=platform_item_id,
            kind=kind,
            status=RefundStatus.REQUESTED,
            currency=order.currency,
            requested_amount=value,
            reason=reason,
            platform_reason=note,
            review_case_id=review_case_id,
        )
        for item_id, amount in lines:
            await RefundLine.create(
                refund=refund,
                order_item_id=item_id,
                is_shipping=kind is RefundKind.SHIPPING,
                amount=amount,
                using_db=conn,
            )
        return await _approve_checked(
            refund,
            actor=actor,
            amount=value,
            note=note,
            idempotency_key=None,
            rule=rule,
            conn=conn,
            cap_message=cap_message,
        )


async def pay_for_return(
    refund_id: int,
    *,
    amount: Decimal,
    note: str,
    rule: str,
    actor: User | None = None,
    cap_message: str = REFUND_OVER_CAP,
) -> Decision:
    """Approve the buyer's return-and-refund request once the goods passed inspection.

    The request may still be open (the platform never heard our return
    approval) or waiting for the goods; either way the money is what the
    warehouse accepted, at most what the buyer asked. ``actor`` is the
    inspector: their cap applies and they are the refund's decider.
    """
    async with in_transaction() as conn:
        refund, _ = await _load_for_decision(refund_id, conn, None)
        _undecided(refund, {RefundStatus.REQUESTED, RefundStatus.WAITING_RETURN})
        return await _approve_checked(
            refund,
            actor=actor,
            amount=amount,
            note=note,
            idempotency_key=None,
            rule=rule,
            conn=conn,
            cap_message=cap_message,
        )


async def reject(
    refund_id: int,
    *,
    actor: User,
    reason: str,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
    case: CaseRef | None = None,
) -> Decision:
    """Refuse a request with a reason the buyer (and an arbitrator) will read.

    A refund another case works is refused only on behalf of that ``case``.
    """
    reason = cases.refusal_reason(
        reason,
        short=InvalidInput(
            N_("Say why the refund is refused: the buyer and the platform read it."),
            code="refund_reason_missing",
        ),
        long=InvalidInput(
            N_("A refusal reason is at most %(max)s characters (the platform's limit)."),
            max=cases.REFUSAL_REASON[1],
            code="too_long",
        ),
    )
    async with in_transaction() as conn:
        refund, repeated = await _load_for_decision(refund_id, conn, idempotency_key)
        if repeated:
            writeback = await OutboxMessage.get_or_none(id=refund.writeback_id).using_db(conn)
            return Decision(refund, writeback, repeated=True)
        _undecided(refund, {RefundStatus.REQUESTED})
        cases.check_version(refund, expected_version)
        await links.check_free(refund, case=case)
        store = await Store.get(id=refund.store_id).using_db(conn)
        if not capabilities_of(store.platform).refuse_refund:
            # No outbox item: it could only fail. The person refuses it on the platform.
            raise PlatformCannotRefuse(refund, platform=platform_label(store.platform))
        return await _decide(
            refund,
            RefundStatus.REJECTED,
            RefundDecision.REJECT,
            actor=actor,
            amount=None,
            note=reason,
            idempotency_key=idempotency_key,
            rule="",
            conn=conn,
        )


async def _decide(
    refund: Refund,
    status: RefundStatus,
    decision: RefundDecision,
    *,
    actor: User | None,
    amount: Decimal | None,
    note: str,
    idempotency_key: str | None,
    rule: str,
    conn: BaseDBAsyncClient,
) -> Decision:
    version = refund.version
    outbox_key = f"refund:{refund.id}:{decision.value}:v{version}"
    approved = decision is RefundDecision.APPROVE
    await cases.move(
        refund,
        status,
        conn=conn,
        actor=actor,
        event="refund.approved" if approved else "refund.rejected",
        data={
            "amount": _str(amount),
            "note": note,
            "rule": rule,
            "order_id": refund.order_id,
            "outbox_key": outbox_key,
        },
        approved_amount=amount,
        decided_by_id=actor.id if actor else None,
        decided_at=clock.now(),
        decision_note=note,
        decision_key=idempotency_key,
        rule=rule,
        escalated=False,
        due_at=None,
    )
    writeback = await outbox.enqueue(
        WRITEBACK_KIND,
        {"refund_id": refund.id, "decision": decision.value},
        outbox_key,
        using_db=conn,
    )
    await Refund.filter(id=refund.id).using_db(conn).update(writeback_id=writeback.id)
    fresh = await Refund.get(id=refund.id).using_db(conn)
    return Decision(fresh, writeback)


async def auto_approve(
    refund: Refund, rules: Rules, order: Order | None, conn: BaseDBAsyncClient
) -> None:
    """Approve a new request the store's rules allow, inside the intake transaction."""
    if order is None:
        return
    verdict = assess(
        rules,
        kind=refund.kind,
        amount=refund.requested_amount,
        reason=refund.reason,
        shipped=order.shipped_at is not None,
    )
    if verdict.verdict is not Verdict.AUTO_APPROVE:
        await Refund.filter(id=refund.id).using_db(conn).update(rule=verdict.rule)
        return
    left = await ledger.refundable(refund, conn=conn)
    if left is None or refund.requested_amount > left.limit:
        await Refund.filter(id=refund.id).using_db(conn).update(rule=REMAINDER_RULE)
        return
    refund = await Refund.get(id=refund.id).using_db(conn)
    await _decide(
        refund,
        RefundStatus.APPROVED,
        RefundDecision.APPROVE,
        actor=None,
        amount=refund.requested_amount,
        note="",
        idempotency_key=None,
        rule=verdict.rule,
        conn=conn,
    )
    log.info("refunds.auto_approved refund=%s amount=%s", refund.id, refund.requested_amount)


async def explain_for(refund: Refund, actor: User, *, shipped: bool) -> Explanation:
    """The rule that applies to ``refund`` for ``actor``, in words: page and API alike."""
    return explain(
        await rules_for(refund.store_id),
        actor.role,
        kind=refund.kind,
        amount=refund.requested_amount,
        reason=refund.reason,
        shipped=shipped,
        ad_hoc=refund.kind in AD_HOC_KINDS,
    )


async def explain_amount(store_id: int, actor: User, amount: Decimal) -> Explanation:
    """The rule for a decision that commits ``amount`` outside a buyer's refund-only
    request (approving a return case): the same caps as ``check_cap``, in words."""
    return explain(
        await rules_for(store_id),
        actor.role,
        kind=RefundKind.RETURN_AND_REFUND,  # goods come back first: never auto-approved
        amount=amount,
        reason=ReasonCode.OTHER,
        shipped=True,
    )


def takes_refusals(store: Store) -> bool:
    """Whether the store's platform refuses by API; where not, refusing is a back-office step."""
    return capabilities_of(store.platform).refuse_refund


async def decision_view(
    refund: Refund, actor: User, *, shipped: bool
) -> referrals.DecisionView[Explanation]:
    """The decision area of the refund page for ``actor``: the rule, and its referral."""
    explanation = (
        await explain_for(refund, actor, shipped=shipped)
        if refund.status is RefundStatus.REQUESTED
        else None
    )
    return await referrals.view_for(refund.ref, explanation)


async def refer(
    refund_id: int, *, actor: User, note: str = "", expected_version: int | None = None
) -> Referral:
    """Send an undecided request to a supervisor with ``note``: it waits in their list.

    Only a request still waiting for a decision is sent (``AlreadyDecided``
    otherwise); a second send while the first waits is refused
    (``ReferralOpen``, 409). The referral closes when the refund is decided.
    """
    async with in_transaction() as conn:
        refund, _ = await _load_for_decision(refund_id, conn, None)
        _undecided(refund, {RefundStatus.REQUESTED})
        await links.check_free(refund)  # its return case is sent instead
        return await referrals.send(
            refund,
            actor=actor,
            note=note,
            amount=refund.requested_amount,
            expected_version=expected_version,
            conn=conn,
        )


async def assign(
    refund_id: int,
    user: User,
    *,
    expected_version: int | None = None,
    actor: User | None = None,
) -> None:
    """``user`` takes the refund, or a manager (``actor``) gives it to them.

    The queue's "mine" filter and the handover read it. Refused on a refund
    that is over, and on one its return case works (take that case instead).
    """
    await cases.assign(
        Refund,
        refund_id,
        user,
        event="refund.assigned" if actor is None or actor.id == user.id else "refund.given",
        expected_version=expected_version,
        actor=actor,
        open_statuses=OPEN_STATUSES,
        check=links.check_free,
    )


@dataclass
class BulkOutcome:
    approved: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (refund id, message)


# Why a ticked row is not for the bulk approval, each a msgid the refusal names.
NOT_OPEN = N_("it is no longer waiting for a decision")
LINKED = N_("it is worked in its return case")
NOT_ELIGIBLE = N_("the rules leave it to a person")
OVER_CAP = N_("it is above your cap")
SOMEONE_ELSES = N_("a colleague has taken it")


def bulk_refusal(
    refund: Refund, verdict: Verdict | None, actor: User, limit: Decimal | None
) -> str | None:
    """Why ``refund`` may not be approved in bulk by ``actor`` (a msgid), None when it may.

    The queue ticks only rows this passes, and the bulk approval asks it
    again for each posted id, so a forged or stale post decides nothing
    more than the page offered: a request still open, worked here (not in a
    return case), that the store's rules would approve by themselves
    (``assess``), within the actor's cap, and free or the actor's own.
    """
    if refund.status is not RefundStatus.REQUESTED:
        return NOT_OPEN
    if links.is_linked(refund):
        return LINKED
    if verdict is not Verdict.AUTO_APPROVE:
        return NOT_ELIGIBLE
    if limit is not None and refund.requested_amount > limit:
        return OVER_CAP
    if refund.assignee_id not in (None, actor.id):
        return SOMEONE_ELSES
    return None


async def bulk_approve(refund_ids: list[int], *, actor: User) -> BulkOutcome:
    """Approve each ticked refund ``bulk_refusal`` lets through, each in its own transaction.

    A refund failing a check (decided meanwhile, worked in its return case,
    over the remainder, over the agent's limit, a colleague's) is skipped with
    a message naming it and why; the others still land.
    """
    outcome = BulkOutcome()
    for refund_id in refund_ids:
        refund = await Refund.get_or_none(id=refund_id)
        if refund is None:
            outcome.skipped.append(
                (refund_id, render(N_("No refund with id %(id)s."), {"id": refund_id}))
            )
            continue
        order = await Order.get_or_none(id=refund.order_id) if refund.order_id else None
        rules = await rules_for(refund.store_id)
        verdict = assess(
            rules,
            kind=refund.kind,
            amount=refund.requested_amount,
            reason=refund.reason,
            shipped=bool(order and order.shipped_at),
        )
        limit = approval_limit(rules, actor.role, ad_hoc=refund.kind in AD_HOC_KINDS)
        why = bulk_refusal(refund, verdict.verdict, actor, limit)
        if why is not None:
            outcome.skipped.append((refund_id, NotForBulk(refund, why=why).message))
            continue
        try:
            await approve(
                refund_id, actor=actor, expected_version=refund.version, rule=verdict.rule
            )
        except AfterSalesError as exc:
            outcome.skipped.append((refund_id, exc.message))
            continue
        outcome.approved += 1
    return outcome


# -- write-back outcomes (called by the outbox handler) ----------------------------------------


async def start_writeback(refund_id: int) -> Refund | None:
    """The worker is about to tell the platform: APPROVED -> REFUNDING (a retry finds it there)."""
    async with in_transaction() as conn:
        refund = await Refund.get_or_none(id=refund_id).using_db(conn)
        if refund is None:
            return None
        if refund.status is RefundStatus.APPROVED:
            states.check(refund.status, RefundStatus.REFUNDING)
            await (
                Refund.filter(id=refund.id)
                .using_db(conn)
                .update(
                    status=RefundStatus.REFUNDING, version=F("version") + 1, updated_at=clock.now()
                )
            )
            refund = await Refund.get(id=refund.id).using_db(conn)
        return refund


async def finish_writeback(
    refund_id: int, decision: RefundDecision, result: RefundWriteResult
) -> None:
    """The platform accepted (now or before): record what it says and the money."""
    async with in_transaction() as conn:
        refund = await Refund.get(id=refund_id).using_db(conn)
        after, refunded_at = refund.status, refund.refunded_at
        if decision is RefundDecision.APPROVE and refund.status is RefundStatus.REFUNDING:
            after = states.from_platform(RefundStatus.REFUNDING, result.status)
            if after is RefundStatus.REFUNDING or not states.MACHINE.allows(refund.status, after):
                after = RefundStatus.REFUNDED
            if after is RefundStatus.REFUNDED:
                refunded_at = clock.now()
        refund = await cases.move(
            refund,
            after,
            conn=conn,
            actor=None,
            event="refund.written_back",
            data={
                "decision": decision.value,
                "platform_status": result.platform_status,
                "already_done": result.already_done,
            },
            platform_status=result.platform_status,
            platform_refund_id=refund.platform_refund_id or result.platform_refund_id,
            writeback_error="",
            refunded_at=refunded_at,
        )
        if refund.status is RefundStatus.REFUNDED:
            await ledger.pay_out(refund, LedgerSource.DESK, conn)


async def fail_writeback(refund_id: int, decision: RefundDecision, message: str) -> None:
    """The platform refused for good: the row stays, visible, with its key, for a retry."""
    async with in_transaction() as conn:
        refund = await Refund.get(id=refund_id).using_db(conn)
        after = refund.status
        if decision is RefundDecision.APPROVE and refund.status in (
            RefundStatus.APPROVED,
            RefundStatus.REFUNDING,
        ):
            after = RefundStatus.WRITEBACK_FAILED
        await cases.move(
            refund,
            after,
            conn=conn,
            actor=None,
            event="refund.writeback_failed",
            data={"decision": decision.value, "error": message[:500]},
            # An approval that failed before it reached REFUNDING passes through it
            # (APPROVED -> REFUNDING -> WRITEBACK_FAILED), which the table allows.
            platform=refund.status is RefundStatus.APPROVED,
            writeback_error=message[:2000],
        )
    log.warning("refunds.writeback_failed refund=%s error=%s", refund_id, message)


async def retry_writeback(refund_id: int, *, actor: User) -> Decision:
    """Try a failed write-back again with its original idempotency key, never a new one.

    Deleting the failed row and writing a fresh one is how shops elsewhere
    refunded twice: the platform cannot tell the second try from a new refund.
    """
    async with in_transaction() as conn:
        refund = await Refund.get_or_none(id=refund_id).using_db(conn)
        if refund is None or refund.writeback_id is None:
            raise NotFound(N_("This refund has no write-back to retry."), obj=refund)
        message = await OutboxMessage.get(id=refund.writeback_id).using_db(conn)
        if message.status != outbox.OutboxStatus.FAILED:
            raise WritebackNotFailed(refund)
        refund = await cases.move(
            refund,
            RefundStatus.APPROVED
            if refund.status is RefundStatus.WRITEBACK_FAILED
            else refund.status,
            conn=conn,
            actor=actor,
            event="refund.writeback_retried",
            data={"outbox_key": message.idempotency_key},
            writeback_error="",
        )
        await (
            OutboxMessage.filter(id=message.id, status=outbox.OutboxStatus.FAILED)
            .using_db(conn)
            .update(status=outbox.OutboxStatus.PENDING, attempts=0, next_attempt_at=clock.now())
        )
        message = await OutboxMessage.get(id=message.id).using_db(conn)
        outbox.deliver_after_commit(message.id, message.attempts)
    return Decision(refund, message)


# -- deadlines --------------------------------------------------------------------------------


async def sweep_deadlines() -> int:
    """Escalate open requests past their due time; returns how many were overdue."""
    found = await cases.escalate_overdue(
        Refund, [RefundStatus.REQUESTED, RefundStatus.WAITING_RETURN], event="refund.escalated"
    )
    return found.found


@dataclass(frozen=True)
class Counts:
    due_soon: int
    overdue: int
    writeback_failed: int
    intercepts: int


async def counts() -> Counts:
    """The home tiles' numbers, each selected as the queue selects the tile's link.

    ``?due=soon`` and ``?due=overdue`` list open refunds worked here (one its
    return case works counts on the returns tiles, not twice),
    ``?writeback=failed&status=any&linked=any`` every refund whose write-back
    failed (a refusal the platform never heard too, linked or not: only this
    page retries it).
    """
    now = clock.now()
    work = Refund.filter(status__in=list(OPEN_STATUSES)).filter(links.worked_here())
    return Counts(
        due_soon=await work.filter(**cases.due_soon_filter(now)).count(),
        overdue=await work.filter(due_at__lt=now).count(),
        writeback_failed=await Refund.filter(writeback__status=outbox.OutboxStatus.FAILED).count(),
        intercepts=await work.filter(intercept_parcel=True).count(),
    )
