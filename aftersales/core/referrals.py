"""Sending a case to a supervisor: the decision its sender may not take alone.

An agent whose cap a refund is over does not meet a 403 on "Approve": the
page offers "Send to supervisor" with a note, and the case waits in the
supervisors' "waiting for me" list until someone decides it. This is a
kernel concept, usable by any case type: a referral names its case by
``CaseRef`` (module, kind, id) and core never reads the case's table.

Choices, and why:

- **A second send is refused** (409 ``referral_already_open``), not made
  idempotent: a second note would otherwise be dropped in silence, and
  the sender should see who sent it already and when. The database refuses
  it too (``Referral.open_ref`` is unique while open), so two clicks at once
  on two web nodes still leave one referral.
- **The referral closes when the case moves** (``cases.move()`` calls
  ``close_for`` whenever a case changes status), not when one deciding
  service remembers to: every decision of every case type goes through
  ``move()``, so a refund approved by the supervisor, refused, cancelled by
  the buyer on the platform or taken over by a sync all leave the list,
  in the same transaction as the move, with the new status as the outcome.
- **Sending moves the case's version** (a guarded bump, as ``move()``
  does), so a send and a decision racing on one case cannot both pass:
  the second gets 409 ``CaseConflict`` and no referral waits on a case
  someone approved meanwhile.
- **A referral follows the work**: when a refund becomes worked in its
  return case, its open referral is carried there (``carry``), note,
  sender and place in the list kept, so the supervisor sees one item,
  the one they can decide.
- **The list leaves out cases that ended** whatever ended them, closing
  their referral on the way (a backstop: every status change closes it
  already), and the home tile counts the same rows in one query.
- Sending and closing are audited on the case itself (its ``subject_type``),
  so the case's timeline says who sent it, when, with which note, and who
  decided after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from aftersales.core import audit, clock
from aftersales.core.auth import MANAGERS, MAX_TEXT
from aftersales.core.errors import Conflict, InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.models import Referral, Role, User

if TYPE_CHECKING:
    from aftersales.core.cases import Case, CaseRef, ResolvedCase

log = logging.getLogger("aftersales.referrals")

WAITING_LIMIT = 500
"""The most referrals one "waiting for me" list shows: a desk with more has other trouble."""


class ReferralOpen(Conflict):
    """The case already waits for a supervisor; the first referral stands."""

    code = "referral_already_open"
    msgid = N_(
        "%(name)s already sent this to a supervisor; it waits in their list. Nothing was changed."
    )


def _key(module: str, kind: str, case_id: int) -> str:
    return f"{module}:{kind}:{case_id}"


async def open_for(ref: CaseRef, *, conn: BaseDBAsyncClient | None = None) -> Referral | None:
    """The referral of this case still waiting for a supervisor, if any."""
    return await Referral.get_or_none(open_ref=_key(ref.module, ref.kind, ref.id), using_db=conn)


async def send(
    case: Case,
    *,
    actor: User,
    note: str = "",
    amount: Decimal | None = None,
    expected_version: int | None = None,
    conn: BaseDBAsyncClient,
) -> Referral:
    """Send ``case`` to a supervisor with ``note``, in the caller's transaction; audited.

    The case's module checks first that the case is open for a decision;
    ``amount`` is the figure the supervisor is asked to decide on. A case
    sent already answers ``ReferralOpen`` (who sent it) even from a page
    the first send made stale; else ``expected_version`` is the page's.
    """
    note = note.strip()
    if len(note) > MAX_TEXT:
        raise InvalidInput(
            N_("A note is at most %(max)s characters."), max=MAX_TEXT, code="too_long"
        )
    from aftersales.core import cases

    ref = case.ref
    first = await open_for(ref, conn=conn)
    if first is not None:
        raise await _already(first, conn)
    cases.check_version(case, expected_version)
    # A decision that read the case before us now fails its own guard, or we fail ours.
    await cases.bump(case, conn)
    try:
        # A savepoint: on PostgreSQL a failed INSERT aborts the whole transaction.
        async with conn._in_transaction() as inner:
            referral = await Referral.create(
                module=ref.module,
                kind=ref.kind,
                case_id=ref.id,
                open_ref=_key(ref.module, ref.kind, ref.id),
                amount=amount,
                currency=getattr(case, "currency", "") or "",
                from_user_id=actor.id,
                note=note,
                to_role=Role.SUPERVISOR,
                created_at=clock.now(),
                using_db=inner,
            )
    except IntegrityError:
        # Someone sent it between our look and our insert: theirs stands.
        first = await open_for(ref, conn=conn)
        if first is None:
            raise
        raise await _already(first, conn) from None
    await _record_sent(case, referral, actor, conn)
    return referral


async def _record_sent(
    case: Case,
    referral: Referral,
    actor: User | None,
    conn: BaseDBAsyncClient,
    **extra: str,
) -> None:
    """``referral.sent`` on the case's own timeline: what was sent, to whom, the note."""
    await audit.record(
        "referral.sent",
        subject_type=case.case_type.subject,
        subject_id=case.id,
        actor=actor,
        data={
            "referral": referral.id,
            "to_role": Role(referral.to_role).value,
            "note": referral.note,
            "amount": None if referral.amount is None else f"{referral.amount:.2f}",
            **extra,
        },
        using_db=conn,
    )


async def _already(first: Referral, conn: BaseDBAsyncClient | None) -> ReferralOpen:
    sender = await User.get_or_none(id=first.from_user_id, using_db=conn)
    return ReferralOpen(obj=first, name=sender.name if sender else "-")


async def close_for(
    case: Case, *, actor: User | None, outcome: str, conn: BaseDBAsyncClient
) -> Referral | None:
    """Close the case's open referral, if it has one: the case was decided; audited.

    Called by ``cases.move()`` whenever a case changes status, in its
    transaction; ``outcome`` is the status the case moved to.
    """
    referral = await open_for(case.ref, conn=conn)
    if referral is None:
        return None
    closed = (
        await Referral.filter(id=referral.id, open_ref__isnull=False)
        .using_db(conn)
        .update(
            open_ref=None,
            closed_at=clock.now(),
            closed_by_id=actor.id if actor else None,
            outcome=outcome[:32],
        )
    )
    if not closed:
        return None
    await audit.record(
        "referral.closed",
        subject_type=case.case_type.subject,
        subject_id=case.id,
        actor=actor,
        data={"referral": referral.id, "outcome": outcome},
        using_db=conn,
    )
    return await Referral.get(id=referral.id, using_db=conn)


async def carry(case: Case, to: Case, *, conn: BaseDBAsyncClient) -> Referral | None:
    """``to`` works ``case`` from now on: its open referral waits on ``to`` instead; audited.

    The referral on ``case`` closes (outcome ``linked``) and one with the
    same note, sender, amount and sending time opens on ``to``, so the
    supervisor's list keeps one item, the one they can decide. When ``to``
    waits already, that referral stands and the carried note is kept in the
    closing event of ``case``. Returns the referral ``to`` waits in, if any.
    """
    referral = await open_for(case.ref, conn=conn)
    if referral is None:
        return None
    closed = (
        await Referral.filter(id=referral.id, open_ref__isnull=False)
        .using_db(conn)
        .update(open_ref=None, closed_at=clock.now(), outcome=LINKED)
    )
    if not closed:
        return None
    waiting = await open_for(to.ref, conn=conn)
    await audit.record(
        "referral.closed",
        subject_type=case.case_type.subject,
        subject_id=case.id,
        actor=None,
        data={
            "referral": referral.id,
            "outcome": LINKED,
            "case": str(to.ref),
            "note": referral.note,
        },
        using_db=conn,
    )
    if waiting is not None:
        return waiting
    ref = to.ref
    carried = await Referral.create(
        module=ref.module,
        kind=ref.kind,
        case_id=ref.id,
        open_ref=_key(ref.module, ref.kind, ref.id),
        amount=referral.amount,
        currency=referral.currency,
        from_user_id=referral.from_user_id,
        note=referral.note,
        to_role=referral.to_role,
        created_at=referral.created_at,  # its place in the oldest-first list
        using_db=conn,
    )
    await _record_sent(to, carried, None, conn, carried_from=str(case.ref))
    return carried


LINKED = "linked"
"""The outcome of a referral carried to the case that works its case now."""

ENDED = "ended"
"""The outcome of a referral whose case ended without a move closing it (the backstop)."""


async def _close_ended(referral: Referral) -> None:
    """The list's backstop: the case is no longer open, so nobody can decide it."""
    from aftersales.core.cases import CaseRef, case_model

    closed = await Referral.filter(id=referral.id, open_ref__isnull=False).update(
        open_ref=None, closed_at=clock.now(), outcome=ENDED
    )
    if not closed:
        return
    log.warning(
        "referral %s closed: its case %s:%s:%s ended",
        referral.id,
        referral.module,
        referral.kind,
        referral.case_id,
    )
    model = case_model(CaseRef(referral.module, referral.kind, referral.case_id))
    await audit.record(
        "referral.closed",
        subject_type=model.case_type.subject if model else referral.kind,
        subject_id=referral.case_id,
        actor=None,
        data={"referral": referral.id, "outcome": ENDED},
    )


def sees_waiting(user: User) -> bool:
    """Who has a "waiting for me" list: the roles a referral goes to (managers)."""
    return user.role in MANAGERS


@dataclass(frozen=True)
class Waiting:
    """One line of "waiting for me": the referral, who sent it, and the case as it is now."""

    referral: Referral
    sender: User | None
    case: ResolvedCase | None

    @property
    def due_at(self) -> datetime | None:
        return self.case.due_at if self.case else None


async def waiting_for(user: User) -> list[Waiting]:
    """The open referrals ``user`` decides, oldest first; empty for anyone but a manager.

    Each case is resolved through its module's ``resolve_case`` hook, so the
    list shows its title, link and deadline without core knowing the case.
    A referral whose case is no longer open is closed, not listed: nobody
    can decide it any more. The home tile counts the same rows
    (``count_waiting``), so its number is the list's length.
    """
    if not sees_waiting(user):
        return []
    from aftersales.core import modules
    from aftersales.core.cases import CaseRef

    referrals = await _waiting().order_by("created_at", "id").limit(WAITING_LIMIT)
    ids = {r.from_user_id for r in referrals if r.from_user_id}
    senders = {u.id: u for u in await User.filter(id__in=list(ids))} if ids else {}
    registry = modules.current()
    out = []
    for r in referrals:
        case = await registry.resolve_case(CaseRef(r.module, r.kind, r.case_id))
        if case is not None and not case.open:
            await _close_ended(r)
            continue
        out.append(Waiting(r, senders.get(r.from_user_id or 0), case))
    return out


def _waiting() -> QuerySet[Referral]:
    return Referral.filter(open_ref__isnull=False, to_role=Role.SUPERVISOR)


async def count_waiting(user: User) -> int:
    """How many lines ``waiting_for(user)`` lists, in one query (the home tile's number)."""
    if not sees_waiting(user):
        return 0
    return min(await _waiting().count(), WAITING_LIMIT)


E = TypeVar("E")


@dataclass(frozen=True)
class DecisionView(Generic[E]):
    """What a case page shows above its decision buttons: whose decision it is for the
    reader, in words (``explanation``, the module's own), and the referral the case
    waits in (with its sender), if it was sent to a supervisor."""

    explanation: E | None
    referral: Referral | None = None
    sender: User | None = None


async def view_for(ref: CaseRef, explanation: E | None) -> DecisionView[E]:
    """The decision area of a case page: ``explanation`` and the case's open referral."""
    referral = await open_for(ref)
    sender = (
        await User.get_or_none(id=referral.from_user_id)
        if referral and referral.from_user_id
        else None
    )
    return DecisionView(explanation, referral, sender)
