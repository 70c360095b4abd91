"""Reading and working a handover: the incoming list, read-backs, notes, what changed since.

The list itself is written by ``drafting``; here people act on it. The
incoming shift reads items in order of urgency (severity, then due time)
grouped by module, each beside its case's live state; it acknowledges each
urgent item with a read-back line ("I will call the buyer back at 21:00")
and then the list as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from aftersales.core import api, audit, clock
from aftersales.core.auth import MAX_TEXT
from aftersales.core.cases import CaseRef, HandoverItem, ResolvedCase
from aftersales.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aftersales.core.i18n import N_
from aftersales.core.models import Role, User
from aftersales.core.modules import HandoverWindow, Registry
from aftersales.handover.drafting import SEVERITY_ORDER, gather
from aftersales.handover.models import Handover, HandoverEntry, HandoverNote, ItemState

ACTORS = frozenset({Role.AGENT, Role.NIGHT_AGENT, Role.SUPERVISOR})
"""Who works a handover (hands over, marks done, acknowledges): the people on shifts."""

MAX_READBACK = 500
MAX_ID = api.MAX_ID


class ReadBackMissing(InvalidInput):
    code = "readback_missing"
    msgid = N_("Say in your own words what you will do about this item.")


class UrgentNotAcknowledged(Conflict):
    code = "urgent_not_acknowledged"
    msgid = N_("Acknowledge each urgent item first: %(count)s left.")


class AlreadyAcknowledged(Conflict):
    code = "already_acknowledged"
    msgid = N_("This handover was already acknowledged.")


class NotYetHandedOver(Conflict):
    code = "not_handed_over"
    msgid = N_("This handover has not been handed over yet.")


class OwnHandover(PermissionDenied):
    code = "own_handover"
    msgid = N_("You handed this list over: someone on the next shift acknowledges it.")


class HandoverFrozen(Conflict):
    code = "handover_frozen"
    msgid = N_("This list was handed over: it can no longer be changed.")


def may_take_over(handover: Handover, user: User) -> None:
    """The incoming shift acknowledges a frozen list, never the agent who handed it over.

    A list is read back once it is frozen (handed over, or the shift change
    came): items still join a draft, and they must not join a list that
    was already taken over.
    """
    may_work(user)
    if handover.handed_over_at is None:
        raise NotYetHandedOver()
    if handover.handed_over_by_id is not None and handover.handed_over_by_id == user.id:
        raise OwnHandover()


def still_a_draft(handover: Handover) -> None:
    if handover.handed_over_at is not None:
        raise HandoverFrozen()


async def user_names(ids: Iterable[int | None]) -> dict[int, str]:
    """The names of the people a page shows (who handed over, read back, wrote), one query."""
    wanted = sorted({i for i in ids if i})
    return {u.id: u.name for u in await User.filter(id__in=wanted)} if wanted else {}


def may_work(user: User) -> None:
    if user.role not in ACTORS:
        raise PermissionDenied()


@dataclass(frozen=True)
class EntryView:
    """One item as a page shows it: the words handed over, and its case now."""

    entry: HandoverEntry
    live: ResolvedCase | None

    @property
    def closed_since(self) -> bool:
        return self.live is not None and not self.live.open


@dataclass(frozen=True)
class ModuleGroup:
    module: str
    items: list[EntryView]


@dataclass
class HandoverView:
    handover: Handover
    groups: list[ModuleGroup]
    notes: list[HandoverNote]
    total: int = 0
    urgent: int = 0
    urgent_open: int = 0  # urgent items not yet read back
    entries: list[EntryView] = field(default_factory=list)


async def get(handover_id: int) -> Handover:
    if not 0 < handover_id <= MAX_ID:
        raise NotFound()
    handover = await Handover.get_or_none(id=handover_id)
    if handover is None:
        raise NotFound()
    return handover


async def get_entry(handover: Handover, item_id: int) -> HandoverEntry:
    if not 0 < item_id <= MAX_ID:
        raise NotFound()
    entry = await HandoverEntry.get_or_none(id=item_id, handover_id=handover.id)
    if entry is None:
        raise NotFound()
    return entry


async def incoming(now: datetime | None = None) -> Handover | None:
    """The handover the shift on now received: the one to the shift that started last.

    Its incoming shift has started (with overlapping shifts, the middle
    shift's list to tomorrow's early shift is not tonight's) and not yet
    ended, and its shift change has come or it was handed over early.
    """
    now = now or clock.now()
    started = Q(incoming_start__lte=now) | Q(incoming_start__isnull=True, window_start__lte=now)
    came = Q(window_start__lte=now) | Q(handed_over_at__lte=now)
    return await (
        Handover.filter(started, came, window_end__gt=now)
        .order_by("-incoming_start", "-window_start", "-id")
        .first()
    )


async def handed_over_early(now: datetime | None = None) -> Handover | None:
    """The list of the shift on now, when it was handed over before its shift change."""
    now = now or clock.now()
    return await (
        Handover.filter(handed_over_at__lte=now, window_start__gt=now)
        .order_by("window_start", "id")
        .first()
    )


async def outgoing(now: datetime | None = None) -> Handover | None:
    """The draft the shift on now is preparing: drafted, its shift change still to come."""
    now = now or clock.now()
    return await (
        Handover.filter(window_start__gt=now, handed_over_at__isnull=True)
        .order_by("window_start", "id")
        .first()
    )


def _sort_key(view: EntryView) -> tuple[int, int, datetime, int]:
    entry = view.entry
    due = entry.due_at or datetime.max.replace(tzinfo=clock.now().tzinfo)
    return (0 if entry.urgent else 1, SEVERITY_ORDER.get(entry.severity, 9), due, entry.id)


async def view(registry: Registry, handover: Handover) -> HandoverView:
    """The list in reading order: urgent first, then by severity and due time, by module.

    Live states come from one ``resolve_cases`` call for the whole list.
    """
    entries = await HandoverEntry.filter(handover_id=handover.id)
    refs = {e.id: _parse(e.ref) for e in entries}
    live = await registry.resolve_cases([r for r in refs.values() if r is not None])
    views = sorted(
        (EntryView(e, _live(live, refs[e.id])) for e in entries),
        key=_sort_key,
    )
    order = [m.name for m in registry.modules]
    groups: dict[str, list[EntryView]] = {}
    for v in views:
        groups.setdefault(v.entry.module, []).append(v)
    ranked = sorted(
        groups.items(),
        key=lambda kv: (min(_sort_key(v)[:2] for v in kv[1]), _rank(order, kv[0])),
    )
    notes = await HandoverNote.filter(handover_id=handover.id)
    urgent = [v for v in views if v.entry.urgent]
    return HandoverView(
        handover=handover,
        groups=[ModuleGroup(name, items) for name, items in ranked],
        notes=notes,
        total=len(views),
        urgent=len(urgent),
        urgent_open=sum(1 for v in urgent if v.entry.acknowledged_at is None),
        entries=views,
    )


def _live(live: Mapping[CaseRef, ResolvedCase], ref: CaseRef | None) -> ResolvedCase | None:
    return None if ref is None else live.get(ref)


def _rank(order: Sequence[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _parse(ref: str) -> CaseRef | None:
    try:
        return CaseRef.parse(ref)
    except InvalidInput:
        return None


async def mark_done(handover: Handover, entry: HandoverEntry, user: User) -> HandoverEntry:
    """The outgoing shift dealt with it before handing over: it stays listed as done."""
    may_work(user)
    still_a_draft(handover)
    now = clock.now()
    async with in_transaction() as conn:
        changed = (
            await HandoverEntry.filter(id=entry.id, state__in=[ItemState.OPEN])
            .using_db(conn)
            .update(state=ItemState.DONE, done_by_id=user.id, done_at=now)
        )
        if changed:
            await audit.record(
                "handover_item_done",
                subject_type="handover",
                subject_id=handover.id,
                actor=user,
                data={"item": entry.id, "ref": entry.ref},
                using_db=conn,
            )
    return await get_entry(handover, entry.id)


async def acknowledge_item(
    handover: Handover,
    entry: HandoverEntry,
    user: User,
    readback: str,
    *,
    at: datetime | None = None,
) -> HandoverEntry:
    """The incoming agent reads an item back; urgent items need the read-back line."""
    may_take_over(handover, user)
    readback = readback.strip()
    if entry.urgent and not readback:
        raise ReadBackMissing()
    if len(readback) > MAX_READBACK:
        raise InvalidInput(N_("A read-back is at most %(limit)s characters."), limit=MAX_READBACK)
    now = at or clock.now()
    async with in_transaction() as conn:
        changed = (
            await HandoverEntry.filter(id=entry.id, acknowledged_at__isnull=True)
            .using_db(conn)
            .update(acknowledged_by_id=user.id, acknowledged_at=now, readback=readback)
        )
        if not changed:
            raise Conflict(N_("This item was already acknowledged."))
        await audit.record(
            "handover_item_acknowledged",
            subject_type="handover",
            subject_id=handover.id,
            actor=user,
            data={"item": entry.id, "ref": entry.ref, "readback": readback},
            using_db=conn,
        )
    return await get_entry(handover, entry.id)


async def acknowledge(handover: Handover, user: User, *, at: datetime | None = None) -> Handover:
    """The incoming shift takes the list over; every urgent item must be read back first."""
    may_take_over(handover, user)
    now = at or clock.now()
    left = await HandoverEntry.filter(
        handover_id=handover.id, urgent=True, acknowledged_at__isnull=True
    ).count()
    if left:
        raise UrgentNotAcknowledged(count=left)
    async with in_transaction() as conn:
        changed = (
            await Handover.filter(id=handover.id, acknowledged_at__isnull=True)
            .using_db(conn)
            .update(acknowledged_by_id=user.id, acknowledged_at=now)
        )
        if not changed:
            raise AlreadyAcknowledged()
        await audit.record(
            "handover_acknowledged",
            subject_type="handover",
            subject_id=handover.id,
            actor=user,
            using_db=conn,
        )
    return await get(handover.id)


async def add_note(
    handover: Handover, user: User, text: str, *, ref: str = "", at: datetime | None = None
) -> HandoverNote:
    """What only the outgoing agents know ("the buyer of 4100 calls back at 21:00")."""
    may_work(user)
    still_a_draft(handover)
    text = text.strip()
    if not text:
        raise InvalidInput(N_("Write the note first."))
    if len(text) > MAX_TEXT:
        raise InvalidInput(N_("The note is too long."))
    if ref:
        ref = str(CaseRef.parse(ref))
    async with in_transaction() as conn:
        note = await HandoverNote.create(
            handover_id=handover.id,
            author_id=user.id,
            text=text,
            ref=ref,
            created_at=at or clock.now(),
            using_db=conn,
        )
        await audit.record(
            "handover_note_added",
            subject_type="handover",
            subject_id=handover.id,
            actor=user,
            data={"note": note.id},
            using_db=conn,
        )
    return note


async def hand_over(registry: Registry, handover: Handover, user: User) -> Handover:
    """An outgoing agent hands the list over before the shift end (or at it)."""
    from aftersales.handover import drafting

    may_work(user)
    if not await drafting.hand_over(registry, handover, user):
        raise Conflict(N_("This handover was already handed over."))
    return await get(handover.id)


@dataclass(frozen=True)
class Changes:
    """Since the handover: items whose case closed, and cases newly due in the shift."""

    closed: list[EntryView]
    new: list[HandoverItem]


async def changes_since(
    registry: Registry, handover: Handover, now: datetime | None = None
) -> Changes:
    now = now or clock.now()
    listed = await view(registry, handover)
    refs = {v.entry.ref for v in listed.entries}
    window = HandoverWindow(max(now, handover.window_start), handover.window_end)
    new = [item for item in await gather(registry, window) if str(item.ref) not in refs]
    return Changes(closed=[v for v in listed.entries if v.closed_since], new=new)


@dataclass(frozen=True)
class History:
    """One page of the shift diary: handovers newest first, with their counts."""

    handovers: list[Handover]
    counts: dict[int, dict[str, int]]  # handover id: total, urgent, urgent_open
    total: int


async def history(*, limit: int = 50, offset: int = 0) -> History:
    """Handovers newest first (``limit`` from ``offset``), item counts in one query."""
    handovers = await Handover.all().order_by("-window_start", "-id").offset(offset).limit(limit)
    counts = {h.id: {"total": 0, "urgent": 0, "urgent_open": 0} for h in handovers}
    if handovers:
        rows = await HandoverEntry.filter(handover_id__in=list(counts)).values_list(
            "handover_id", "urgent", "acknowledged_at"
        )
        for handover_id, urgent, acknowledged_at in rows:
            row = counts[int(handover_id)]
            row["total"] += 1
            if urgent:
                row["urgent"] += 1
                row["urgent_open"] += acknowledged_at is None
    return History(handovers, counts, await Handover.all().count())
