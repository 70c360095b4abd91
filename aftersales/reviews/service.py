"""What an agent does on a negative-review follow-up: triage, contact, reply, remedy, close.

Every step is one transaction through the case kernel (``cases.move``): the
page's ``version`` is checked (a stale page gets a 409, nothing changes),
the step is audited on the case's timeline and ``touched_at`` moves, which
is what the untouched-for-a-day escalation reads. An ``Idempotency-Key``
repeats the first answer instead of acting twice (``action_keys``).

Two rules hold on every path here:

- the guard rail (``guard.py``): no offer and no reply ties anything of
  value to the buyer changing the review; what was offered is kept word
  for word on the case (``Remedy.offer``);
- money is a compensation refund through the refunds service, within the
  agent's cap as its rules say (over it: ``NeedsSupervisor``, and the case
  can be sent to a supervisor).

A reply goes through the outbox where the platform takes replies
(``Capabilities.reply_review``); elsewhere it is kept ready to paste in the
platform's back office until an agent says it was pasted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from aftersales.core import cases, clock, outbox, referrals
from aftersales.core.errors import Conflict, InvalidInput, Msgid, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import OutboxMessage, Referral, Store, User
from aftersales.core.money import parse_amount
from aftersales.core.reasons import ReasonCode
from aftersales.orders.sync import capabilities_of
from aftersales.refunds import service as refunds
from aftersales.refunds.models import RefundKind
from aftersales.reviews import guard
from aftersales.reviews.classify import REVIEW_REASONS, Sentiment
from aftersales.reviews.events import REPLY_STATES, STATUSES
from aftersales.reviews.models import (
    OPEN_STATUSES,
    PEOPLE_OUTCOMES,
    ContactAttempt,
    ContactChannel,
    ContactResult,
    Remedy,
    RemedyKind,
    ReplyState,
    Review,
    ReviewCase,
    ReviewCaseStatus,
    ReviewOutcome,
)

S = ReviewCaseStatus
REPLY_KIND = "reviews.reply"
REPLY_LENGTH = (2, 500)  # the longest explanation a platform we know takes (500 characters)
MAX_NOTE = 2000
MAX_OFFER = 1000
# Replies that are out, or on their way: a second one is refused (a platform keeps one).
REPLIED = frozenset({ReplyState.QUEUED, ReplyState.POSTED, ReplyState.PASTED})


# -- refusals ----------------------------------------------------------------------------------


class CaseIsClosed(Conflict):
    """A step on a follow-up that is over (a new complaint is a new review, so a new case)."""

    code = "review_case_closed"
    msgid = N_("This review follow-up is closed; nothing was changed.")


class WrongStep(Conflict):
    """A step the case's status does not take (triaging a case already worked on)."""

    code = "review_case_wrong_state"
    msgid = N_(
        "This review follow-up is “%(state)s”, so this step does not apply; nothing was changed."
    )


class AlreadyReplied(Conflict):
    """The review already has the shop's reply (or it is on its way): a platform keeps one."""

    code = "review_already_replied"
    msgid = N_("This review already has a reply (%(state)s); a review takes one. Nothing was sent.")


class ReplyWindowClosed(Conflict):
    """Past the platform's explanation window: it would refuse the reply, so we do first."""

    code = "review_reply_window_closed"
    msgid = N_(
        "The window to explain this review closed at %(deadline)s; the platform no longer "
        "takes a reply. Nothing was sent."
    )


class NotPasteable(Conflict):
    """Marking a reply pasted when there is no reply waiting to be pasted."""

    code = "review_reply_not_manual"
    msgid = N_("There is no reply waiting to be pasted on this review (%(state)s).")


# -- reading -----------------------------------------------------------------------------------


async def get_case(case_id: int) -> ReviewCase:
    case = await ReviewCase.get_or_none(id=case_id)
    if case is None:
        raise NotFound(N_("No review follow-up with id %(id)s."), id=case_id)
    return case


def _text(value: str, *, most: int, what: str, least: int = 0) -> str:
    """``value`` stripped and within bounds; ``what`` is the field's msgid for the refusal."""
    value = (value or "").strip()
    if len(value) < least:
        raise InvalidInput(
            N_("%(what)s: write at least %(least)s characters."),
            what=Msgid(what),
            least=least,
            code="too_short",
        )
    if len(value) > most:
        raise InvalidInput(
            N_("%(what)s: at most %(most)s characters."),
            what=Msgid(what),
            most=most,
            code="too_long",
        )
    return value


async def _load(
    case_id: int, conn: BaseDBAsyncClient, action: str, idempotency_key: str | None
) -> tuple[ReviewCase, bool]:
    """The case, and whether ``idempotency_key`` already answered this ``action``."""
    case = await ReviewCase.get_or_none(id=case_id, using_db=conn)
    if case is None:
        raise NotFound(N_("No review follow-up with id %(id)s."), id=case_id)
    if idempotency_key and case.action_keys.get(idempotency_key) == action:
        return case, True
    if idempotency_key and idempotency_key in case.action_keys:
        raise InvalidInput(
            N_("This Idempotency-Key was already used for another action."),
            obj=case,
            code="idempotency_key_reused",
        )
    return case, False


def _check_open(case: ReviewCase, expected_version: int | None) -> None:
    if case.status is S.CLOSED:
        raise CaseIsClosed(obj=case)
    cases.check_version(case, expected_version)


async def _act_on(
    case: ReviewCase,
    status: ReviewCaseStatus,
    conn: BaseDBAsyncClient,
    *,
    event: str,
    actor: User | None,
    action: str,
    idempotency_key: str | None = None,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> ReviewCase:
    """One audited step through the kernel, recording the key and the touch."""
    keys = dict(case.action_keys)
    if idempotency_key:
        keys[idempotency_key] = action
    if actor is not None:
        changes.setdefault("touched_at", clock.now())
    return await cases.move(
        case,
        status,
        conn=conn,
        actor=actor,
        event=event,
        data=data,
        action_keys=keys,
        escalated=False if actor is not None else case.escalated,
        **changes,
    )


def _working(case: ReviewCase, wanted: ReviewCaseStatus) -> ReviewCaseStatus:
    """``wanted`` where the machine allows it from here, else where the case stands.

    A second contact on a case already "contacting" leaves it there (the
    machine has no move to the same status), as does an explanation on a case
    that already shows one.
    """
    current: ReviewCaseStatus = case.status
    if ReviewCase.machine().allows(current, wanted):
        return wanted
    return current


# -- steps -------------------------------------------------------------------------------------


async def triage(
    case_id: int,
    *,
    actor: User,
    note: str = "",
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReviewCase:
    """An agent looked at a new case and it is worth following up (or it is not: close it)."""
    note = _text(note, most=MAX_NOTE, what=N_("Note"))
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "triaged", idempotency_key)
        if repeated:
            return case
        _check_open(case, expected_version)
        if case.status is not S.NEW:
            raise WrongStep(obj=case, state=Msgid(STATUSES[case.status]))
        return await _act_on(
            case, S.TRIAGED, conn, event="review_case.triaged", actor=actor, action="triaged",
            idempotency_key=idempotency_key, data={"note": note},
        )  # fmt: skip


async def assign(
    case_id: int,
    user: User,
    *,
    expected_version: int | None = None,
    actor: User | None = None,
) -> None:
    """``user`` takes the case, or a manager (``actor``) gives it to them; refused once closed."""
    await cases.assign(
        ReviewCase,
        case_id,
        user,
        event="review_case.assigned"
        if actor is None or actor.id == user.id
        else "review_case.given",
        expected_version=expected_version,
        actor=actor,
        open_statuses=OPEN_STATUSES,
    )


async def log_contact(
    case_id: int,
    *,
    actor: User,
    channel: ContactChannel,
    result: ContactResult,
    note: str = "",
    contacted_at: datetime | None = None,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReviewCase:
    """One try to reach the buyer: channel, time (default now), what came of it, a note.

    The first one sets ``first_contact_at`` (the report's time to first
    contact); a time in the future is refused, a past one is the agent
    logging a call made earlier.
    """
    note = _text(note, most=MAX_NOTE, what=N_("Note"))
    now = clock.now()
    at = contacted_at or now
    if at > now:
        raise InvalidInput(
            N_("A contact cannot be logged in the future."), code="contact_in_future"
        )
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "contact", idempotency_key)
        if repeated:
            return case
        _check_open(case, expected_version)
        written = (
            await Review.get(id=case.review_id).using_db(conn).values_list("created_at", flat=True)
        )
        if at < written:
            # Before the review existed: a mistyped year, and a negative time to
            # first contact in the owner's report.
            raise InvalidInput(
                N_("A contact cannot be logged before the review was written."),
                code="contact_before_review",
            )
        contact = await ContactAttempt.create(
            case_id=case.id, channel=channel, result=result, note=note, contacted_at=at,
            by_id=actor.id, using_db=conn,
        )  # fmt: skip
        first = (
            case.first_contact_at if case.first_contact_at and case.first_contact_at <= at else at
        )
        return await _act_on(
            case,
            _working(case, S.CONTACTING),
            conn,
            event="review_case.contact",
            actor=actor,
            action="contact",
            idempotency_key=idempotency_key,
            data={
                "contact": contact.id,
                "channel": channel.value,
                "result": result.value,
                "note": note,
                "at": at.isoformat(),
            },
            first_contact_at=first,
        )


def reply_window_open(case: ReviewCase, now: datetime | None = None) -> bool:
    """Whether the platform still takes an explanation (no window known: it may)."""
    return case.explain_by is None or (now or clock.now()) < case.explain_by


async def platform_takes_replies(case: ReviewCase) -> bool:
    """Whether the case's store's platform takes a reply through its API."""
    store = await Store.get(id=case.store_id)
    return capabilities_of(store.platform).reply_review


async def post_reply(
    case_id: int,
    *,
    actor: User,
    text: str,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReviewCase:
    """The shop's public explanation under the review, from a team phrase or typed.

    Where the platform takes replies the outbox carries it (``QUEUED``, then
    ``POSTED`` and the case "explanation posted" when delivered); elsewhere
    it waits to be pasted (``MANUAL``). Refused past the explanation window,
    when a reply is already out, and when it ties value to the rating.
    """
    low, high = REPLY_LENGTH
    text = _text(text, most=high, least=low, what=N_("Reply"))
    guard.check(text)
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "reply", idempotency_key)
        if repeated:
            return case
        _check_open(case, expected_version)
        if case.reply_state in REPLIED:
            raise AlreadyReplied(obj=case, state=Msgid(REPLY_STATES[case.reply_state]))
        store = await Store.get(id=case.store_id, using_db=conn)
        if not reply_window_open(case):
            assert case.explain_by is not None
            # In the store's time, as its pages show deadlines, not a raw UTC timestamp.
            closed_at = case.explain_by.astimezone(ZoneInfo(store.timezone))
            raise ReplyWindowClosed(obj=case, deadline=closed_at.strftime("%Y-%m-%d %H:%M"))
        if not capabilities_of(store.platform).reply_review:
            return await _act_on(
                case, case.status, conn, event="review_case.reply_ready", actor=actor,
                action="reply", idempotency_key=idempotency_key, data={"note": text},
                reply_text=text, reply_state=ReplyState.MANUAL,
            )  # fmt: skip
        key = f"review_case:{case.id}:reply:v{case.version}"
        # ``review_case_id``: a failed reply's handover item links back to this case
        # (core/writebacks.py reads ``<kind>_id`` beside the module prefix).
        await outbox.enqueue(REPLY_KIND, {"review_case_id": case.id}, key, using_db=conn)
        return await _act_on(
            case, case.status, conn, event="review_case.reply_queued", actor=actor,
            action="reply", idempotency_key=idempotency_key,
            data={"note": text, "outbox_key": key},
            reply_text=text, reply_state=ReplyState.QUEUED,
        )  # fmt: skip


async def mark_pasted(
    case_id: int,
    *,
    actor: User,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReviewCase:
    """The agent pasted the waiting reply in the platform's back office: it is posted."""
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "pasted", idempotency_key)
        if repeated:
            return case
        _check_open(case, expected_version)
        if case.reply_state is not ReplyState.MANUAL:
            raise NotPasteable(obj=case, state=Msgid(REPLY_STATES[case.reply_state]))
        await Review.filter(id=case.review_id).using_db(conn).update(seller_reply=case.reply_text)
        return await _act_on(
            case, _working(case, S.EXPLANATION_POSTED), conn,
            event="review_case.explanation_posted", actor=actor, action="pasted",
            idempotency_key=idempotency_key, data={"pasted": True},
            reply_state=ReplyState.PASTED, reply_posted_at=clock.now(),
        )  # fmt: skip


# -- the reply's write-back (called by the outbox handler) -------------------------------------


async def reply_to_send(case_id: int) -> tuple[ReviewCase, Review, Store] | None:
    """The case, its review and store for a queued reply; None when it is gone."""
    case = await ReviewCase.get_or_none(id=case_id)
    if case is None:
        return None
    review = await Review.get(id=case.review_id)
    store = await Store.get(id=case.store_id)
    return case, review, store


async def finish_reply(case_id: int, shown: str, *, already_done: bool) -> None:
    """The platform has the reply: ``POSTED``, and the case "explanation posted" if open."""
    async with in_transaction() as conn:
        case = await ReviewCase.get(id=case_id, using_db=conn)
        if case.reply_state is ReplyState.POSTED:
            return
        await Review.filter(id=case.review_id).using_db(conn).update(seller_reply=shown)
        status = case.status if case.status is S.CLOSED else _working(case, S.EXPLANATION_POSTED)
        await _act_on(
            case, status, conn, event="review_case.explanation_posted", actor=None,
            action="posted", data={"already_done": already_done},
            reply_state=ReplyState.POSTED, reply_posted_at=clock.now(),
        )  # fmt: skip


async def fail_reply(case_id: int, message: str) -> None:
    """The platform refused the reply for good: ``FAILED``, visible, and a new one may go."""
    async with in_transaction() as conn:
        case = await ReviewCase.get(id=case_id, using_db=conn)
        await _act_on(
            case, case.status, conn, event="review_case.reply_failed", actor=None,
            action="reply_failed", data={"error": message[:500]}, reply_state=ReplyState.FAILED,
        )  # fmt: skip


async def reply_message(case: ReviewCase, events: Iterable[Any]) -> OutboxMessage | None:
    """The outbox row of the case's latest queued reply, found through its timeline."""
    for event in events:  # newest first
        if event.action == "review_case.reply_queued" and event.data.get("outbox_key"):
            return await OutboxMessage.get_or_none(idempotency_key=event.data["outbox_key"])
    return None


# -- remedies ----------------------------------------------------------------------------------


REMEDY_OVER_CAP = N_(
    "A remedy worth %(amount)s is over your limit of %(limit)s: send it to a supervisor."
)


async def offer_remedy(
    case_id: int,
    *,
    actor: User,
    kind: RemedyKind,
    offer: str,
    why: str,
    amount: Decimal | str | None = None,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReviewCase:
    """Offer the buyer a remedy for the problem, recorded word for word on the case.

    ``offer`` is what the buyer is told, ``why`` what the team reads. A
    compensation is a compensation refund on the case's order through the
    refunds service: the agent's cap applies (``NeedsSupervisor`` over it),
    and the refund is linked on the remedy; a coupon's face value is held to
    the same cap. Nothing here may hang on the
    review changing (``guard.check``), and nothing is created when refused.
    """
    offer = _text(offer, most=MAX_OFFER, least=2, what=N_("What the buyer is offered"))
    why = _text(why, most=MAX_NOTE, least=2, what=N_("Why"))
    guard.check(offer)
    guard.check(why)
    value: Decimal | None = None
    if kind is RemedyKind.COMPENSATION:
        if amount is None or str(amount).strip() == "":
            raise InvalidInput(
                N_("Say how much the compensation is."), code="remedy_amount_missing"
            )
        value = parse_amount(amount, name=Msgid(N_("The amount")))
    elif amount not in (None, ""):
        value = parse_amount(amount, name=Msgid(N_("The amount")))  # a coupon's face value
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "remedy", idempotency_key)
        if repeated:
            return case
        _check_open(case, expected_version)
        refund_id = None
        if kind is RemedyKind.COMPENSATION:
            assert value is not None
            if case.order_id is None:
                raise InvalidInput(
                    N_("This review has no synced order to compensate on."),
                    obj=case,
                    code="review_no_order",
                )
            # In our transaction (a savepoint): refused, neither the refund nor the remedy exists.
            decision = await refunds.start_refund(
                case.order_id, kind=RefundKind.COMPENSATION, amount=value,
                reason=case.reason, actor=actor, note=offer[:200], review_case_id=case.id,
            )  # fmt: skip
            refund_id = decision.refund.id
        elif value is not None:
            # A coupon's face value costs the shop as a refund does: the same cap holds.
            await refunds.check_cap(
                actor, case.store_id, value, ad_hoc=True, message=REMEDY_OVER_CAP,
                subject=case, conn=conn,
            )  # fmt: skip
        remedy = await Remedy.create(
            case_id=case.id, kind=kind, amount=value, offer=offer, refund_id=refund_id,
            offered_at=clock.now(), by_id=actor.id, using_db=conn,
        )  # fmt: skip
        return await _act_on(
            case,
            _working(case, S.REMEDY_OFFERED),
            conn,
            event="review_case.remedy_offered",
            actor=actor,
            action="remedy",
            idempotency_key=idempotency_key,
            data={
                "remedy": remedy.id,
                "kind": kind.value,
                "amount": None if value is None else f"{value:.2f}",
                "offer": offer,
                "note": why,
                "refund_id": refund_id,
            },
        )


async def refer(
    case_id: int, *, actor: User, note: str = "", expected_version: int | None = None
) -> Referral:
    """Send the case to a supervisor (a compensation over the agent's cap), with ``note``.

    It waits in their list until the case next moves (a supervisor offering
    the remedy, or closing it).
    """
    async with in_transaction() as conn:
        case = await ReviewCase.get_or_none(id=case_id, using_db=conn)
        if case is None:
            raise NotFound(N_("No review follow-up with id %(id)s."), id=case_id)
        if case.status is S.CLOSED:
            raise CaseIsClosed(obj=case)
        return await referrals.send(
            case, actor=actor, note=note, expected_version=expected_version, conn=conn
        )


async def referral_view(case: ReviewCase) -> referrals.DecisionView[None]:
    """The case's open referral to a supervisor and who sent it, for its page."""
    return await referrals.view_for(case.ref, None)


async def cap_for(case: ReviewCase, actor: User) -> Decimal | None:
    """The most ``actor`` may compensate on this case's store (None: no cap)."""
    from aftersales.refunds.rules import approval_limit

    return approval_limit(await refunds.rules_for(case.store_id), actor.role, ad_hoc=True)


# -- closing -----------------------------------------------------------------------------------


async def close(
    case_id: int,
    *,
    actor: User | None,
    outcome: ReviewOutcome,
    note: str = "",
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReviewCase:
    """End the follow-up with its outcome; the report counts revised and positive
    follow-ups as turned around. "Unchanged" and "reported as malicious" need a
    note: the next agent and the owner read why."""
    note = _text(note, most=MAX_NOTE, what=N_("Note"))
    if actor is not None and outcome not in PEOPLE_OUTCOMES:
        raise InvalidInput(
            N_("The desk closes a follow-up this way by itself, when the platform shows it."),
            code="review_outcome_automatic",
        )
    if outcome in (ReviewOutcome.UNCHANGED, ReviewOutcome.MALICIOUS) and len(note) < 2:
        raise InvalidInput(
            N_("Say why the follow-up closes this way; the owner reads it."),
            code="review_close_note_missing",
        )
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "closed", idempotency_key)
        if repeated:
            return case
        _check_open(case, expected_version)
        return await _act_on(
            case, S.CLOSED, conn, event="review_case.closed", actor=actor, action="closed",
            idempotency_key=idempotency_key, data={"outcome": outcome.value, "note": note},
            outcome=outcome, close_note=note, closed_at=clock.now(), due_at=None,
        )  # fmt: skip


# -- corrections -------------------------------------------------------------------------------


async def correct(
    case_id: int,
    *,
    actor: User,
    sentiment: Sentiment,
    reasons: Sequence[ReasonCode],
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReviewCase:
    """An agent says what the review really says: sentiment and reasons, audited.

    The review keeps who corrected it and when; the corrections are the
    labelled data the classifier is retrained on (``corrections_jsonl``).
    Allowed on a closed case too: a label is right or wrong whatever the
    follow-up did.
    """
    wanted = list(dict.fromkeys(reasons))
    bad = [r for r in wanted if r not in REVIEW_REASONS and r is not ReasonCode.OTHER]
    if bad:
        raise InvalidInput(
            N_("%(reason)s is not a reason a review gives."),
            reason=bad[0].value,
            code="invalid_reason",
        )
    wanted = [r for r in wanted if r is not ReasonCode.OTHER]
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "corrected", idempotency_key)
        if repeated:
            return case
        cases.check_version(case, expected_version)
        review = await Review.get(id=case.review_id, using_db=conn)
        now = clock.now()
        await (
            Review.filter(id=review.id)
            .using_db(conn)
            .update(
                sentiment=sentiment,
                negative=sentiment is not Sentiment.POSITIVE,
                confidence=1.0,
                reasons=[{"reason": r.value, "confidence": 1.0} for r in wanted],
                corrected_by_id=actor.id,
                corrected_at=now,
            )
        )
        return await _act_on(
            case, case.status, conn, event="review_case.corrected", actor=actor,
            action="corrected", idempotency_key=idempotency_key,
            data={
                "from": {"sentiment": review.sentiment.value, "reasons": review.reasons},
                "sentiment": sentiment.value,
                "reasons": [r.value for r in wanted],
            },
            reason=wanted[0] if wanted else ReasonCode.OTHER,
        )  # fmt: skip


def review_body(review: Review) -> str:
    """The text the classifier reads for a review: the text and its 追评 (``classify``)."""
    return review.text if not review.append_text else f"{review.text}\n{review.append_text}"


async def corrections_jsonl() -> str:
    """Every corrected review as a line of labelled data, oldest correction first.

    ``{"text", "sentiment", "reasons"}``: the format ``aftersales reviews
    train --corrections FILE`` reads.
    """
    rows = await Review.filter(corrected_at__isnull=False).order_by("corrected_at", "id")
    lines = [
        json.dumps(
            {
                "text": review_body(r),
                "sentiment": r.sentiment.value,
                "reasons": [str(x["reason"]) for x in r.reasons if isinstance(x, dict)],
            },
            ensure_ascii=False,
        )
        for r in rows
    ]
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class Windows:
    """The platform windows of a case as its page shows them."""

    explain_by: datetime | None
    revise_by: datetime | None
    explain_open: bool
    revise_open: bool


def windows(case: ReviewCase, now: datetime | None = None) -> Windows:
    now = now or clock.now()
    return Windows(
        case.explain_by,
        case.revise_by,
        reply_window_open(case, now),
        case.revise_by is None or now < case.revise_by,
    )
