"""Promises an agent made to a buyer ("call back after 21:00"), kept or broken.

A promise is owed by whichever shift is on when it falls due: it is listed
on the handover to that shift, shows on the home page once due, and, if
the shift that owed it ends without anyone keeping it, it is marked broken
at that shift change and the next handover says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from aftersales.core import api, audit, clock
from aftersales.core.auth import MAX_TEXT
from aftersales.core.cases import CaseRef, HandoverItem, ResolvedCase, Severity, grade
from aftersales.core.errors import Conflict, InvalidInput, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.modules import HandoverWindow, Registry
from aftersales.handover import events
from aftersales.handover.models import Promise, PromiseStatus

KIND = "promise"
MAX_PROMISE_TEXT = 500
PAST_GRACE = timedelta(minutes=5)
"""A promise may be written a few minutes after the time it names (typed during the call)."""


def ref_of(promise: Promise) -> CaseRef:
    return CaseRef("handover", KIND, promise.id)


class PromiseClosed(Conflict):
    code = "promise_closed"
    msgid = N_("This promise is already closed.")


async def make(
    user: User,
    text: str,
    due_at: datetime,
    *,
    ref: str = "",
    customer_id: int | None = None,
    now: datetime | None = None,
    registry: Registry | None = None,
) -> Promise:
    """Record what ``user`` told a buyer would happen by ``due_at``, on a case or a buyer.

    With ``registry`` (every page and API call passes it) the case must
    exist: a promise on a mistyped case number would be listed on the
    handover without anyone able to open it.
    """
    now = now or clock.now()
    text = text.strip()
    if not text:
        raise InvalidInput(N_("Say what was promised."))
    if len(text) > MAX_PROMISE_TEXT:
        raise InvalidInput(N_("A promise is at most %(limit)s characters."), limit=MAX_PROMISE_TEXT)
    if due_at.tzinfo is None:
        raise InvalidInput(N_("Give the time the promise is due."))
    if due_at < now - PAST_GRACE:
        raise InvalidInput(N_("A promise cannot be due in the past."))
    if ref:
        parsed = CaseRef.parse(ref)  # a bad reference is a 400, not a stored string
        if registry is not None and await registry.resolve_case(parsed) is None:
            raise InvalidInput(N_("No case %(ref)s on the desk."), ref=str(parsed))
        ref = str(parsed)
    if customer_id is not None and not 0 < customer_id <= api.MAX_ID:
        raise InvalidInput(N_("No such buyer."))
    async with in_transaction() as conn:
        promise = await Promise.create(
            ref=ref,
            customer_id=customer_id,
            text=text,
            due_at=due_at,
            made_by_id=user.id,
            made_at=now,
            using_db=conn,
        )
        await audit.record(
            "promise_made",
            subject_type="promise",
            subject_id=promise.id,
            actor=user,
            data={"ref": ref, "due_at": due_at.isoformat()},
            using_db=conn,
        )
    return promise


async def get(promise_id: int) -> Promise:
    if not 0 < promise_id <= api.MAX_ID:
        raise NotFound()
    promise = await Promise.get_or_none(id=promise_id)
    if promise is None:
        raise NotFound()
    return promise


async def close(
    promise: Promise, user: User, *, kept: bool, note: str = "", at: datetime | None = None
) -> Promise:
    """Mark a promise kept (or, by hand, broken); a closed one stays as it is (409)."""
    if len(note) > MAX_TEXT:
        raise InvalidInput(N_("The note is too long."))
    now = at or clock.now()
    status = PromiseStatus.KEPT if kept else PromiseStatus.BROKEN
    async with in_transaction() as conn:
        changed = (
            await Promise.filter(id=promise.id, status=PromiseStatus.OPEN)
            .using_db(conn)
            .update(status=status, closed_by_id=user.id, closed_at=now, note=note.strip())
        )
        if not changed:
            raise PromiseClosed(obj=promise)
        await audit.record(
            "promise_kept" if kept else "promise_broken",
            subject_type="promise",
            subject_id=promise.id,
            actor=user,
            data={"note": note.strip()},
            using_db=conn,
        )
    return await get(promise.id)


async def break_overdue(shift_end: datetime) -> int:
    """At a shift change: every promise due before it and still open is broken, once.

    ``closed_at`` is the shift change itself, so the handover written at
    that change finds exactly the promises broken there.
    """
    rows = await Promise.filter(
        status=PromiseStatus.OPEN, due_at__lt=shift_end, made_at__lt=shift_end
    ).only("id")
    overdue = [p.id for p in rows]
    if not overdue:
        return 0
    async with in_transaction() as conn:
        changed = (
            await Promise.filter(id__in=overdue, status=PromiseStatus.OPEN)
            .using_db(conn)
            .update(status=PromiseStatus.BROKEN, closed_at=shift_end)
        )
        for promise_id in overdue:
            await audit.record(
                "promise_broken",
                subject_type="promise",
                subject_id=promise_id,
                data={"shift_end": shift_end.isoformat()},
                using_db=conn,
            )
    return int(changed)


async def due(now: datetime | None = None) -> list[Promise]:
    """Open promises whose time has come (the home page's list), oldest first."""
    now = now or clock.now()
    query = Promise.filter(status=PromiseStatus.OPEN, due_at__lte=now)
    return await query.order_by("due_at", "id")


def _filtered(status: PromiseStatus | None, ref: str) -> QuerySet[Promise]:
    """Promises with ``status`` on the case ``ref`` (a bad ref is a 400), either left out."""
    query = Promise.all()
    if status is not None:
        query = query.filter(status=status)
    if ref:
        query = query.filter(ref=str(CaseRef.parse(ref)))
    return query


async def listing(
    *, status: PromiseStatus | None = None, ref: str = "", limit: int = 100, offset: int = 0
) -> list[Promise]:
    query = _filtered(status, ref)
    return await query.order_by("due_at", "id").offset(offset).limit(limit)


# -- the registry hooks -----------------------------------------------------------------------


def _item(promise: Promise, window: HandoverWindow) -> HandoverItem:
    params: dict[str, object] = {"text": promise.text}
    href = "/handover/promises"
    if promise.status is PromiseStatus.BROKEN:
        return HandoverItem(
            ref=ref_of(promise),
            msgid=N_("Promise not kept: %(text)s"),
            params=params,
            due_at=promise.due_at,
            severity=Severity.OVERDUE,
            todo=N_("Contact the buyer, apologise and say when it will be done."),
            if_fails=N_("Tell a supervisor."),
            href=href,
            customer_id=promise.customer_id,
        )
    return HandoverItem(
        ref=ref_of(promise),
        msgid=N_("Promise to a buyer: %(text)s"),
        params=params,
        due_at=promise.due_at,
        severity=grade(promise.due_at, window.start, window.end),
        todo=N_("Do what was promised at the time given, then mark it kept."),
        if_fails=N_("Tell the buyer before the time passes and make a new promise."),
        href=href,
        customer_id=promise.customer_id,
    )


async def handover_items(window: HandoverWindow) -> list[HandoverItem]:
    """Promises falling due before the incoming shift ends, and those broken at this change."""
    due = Q(status=PromiseStatus.OPEN, due_at__lt=window.end)
    broken = Q(status=PromiseStatus.BROKEN, closed_at=window.start)
    found = await Promise.filter(due | broken).order_by("due_at", "id").only(*ITEM_COLUMNS)
    return [_item(p, window) for p in found]


ITEM_COLUMNS = ("id", "status", "due_at", "customer_id", "text")
"""What a promise's handover line reads (``_item``): a handover lists thousands."""


def _resolved(promise: Promise) -> ResolvedCase:
    return ResolvedCase(
        ref=ref_of(promise),
        title=N_("Promise: %(text)s"),
        title_params={"text": promise.text},
        href="/handover/promises",
        status=promise.status.value,
        status_label=events.PROMISE_STATUSES[promise.status],
        due_at=promise.due_at,
        open=promise.status is PromiseStatus.OPEN,
    )


async def resolve_cases(refs: Sequence[CaseRef]) -> dict[CaseRef, ResolvedCase]:
    ids = {ref.id for ref in refs if ref.module == "handover" and ref.kind == KIND}
    if not ids:
        return {}
    return {ref_of(p): _resolved(p) for p in await Promise.filter(id__in=ids)}


async def resolve_case(ref: CaseRef) -> ResolvedCase | None:
    return (await resolve_cases([ref])).get(ref)


async def count(*, status: PromiseStatus | None = None, ref: str = "") -> int:
    """How many promises ``listing`` pages through with the same filters."""
    return await _filtered(status, ref).count()
