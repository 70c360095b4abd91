"""Writing the handover at each shift end: once per shift run, whatever the jobs do.

The job runs every minute. For every shift run ending within ``DRAFT_AHEAD``
(or ended within ``CATCH_UP``, so a worker that was down catches up) it
makes sure that run's handover exists, keyed by the run (``Handover.key``):
a second worker or a rerun finds the row and writes nothing. The draft is
there before the end so the outgoing agents can check it, add notes and
hand it over; at the end (or when they hand over, whichever is first) the
list is gathered once more and frozen, so what the incoming shift reads is
what stood at the shift change.

Items come only from the registry's ``handover_items`` hooks (this module's
own answers with promises); items the previous handover left open are
carried over with the time they were first listed.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, ValidationError
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock, db
from aftersales.core.cases import URGENT_BUYER_FLAGS, CaseRef, HandoverItem, Severity, grade
from aftersales.core.errors import Msgid, render
from aftersales.core.models import User
from aftersales.core.modules import HandoverWindow, Registry
from aftersales.handover import promises, rota
from aftersales.handover.models import Handover, HandoverEntry, ItemState, Shift

DRAFT_AHEAD = timedelta(minutes=15)
"""How long before a shift ends its handover is drafted: time to check it and add notes."""

CATCH_UP = timedelta(hours=12)
"""How far back a late job still drafts a missed shift end (a worker down for the evening)."""

SEVERITY_ORDER = {
    Severity.OVERDUE.value: 0,
    Severity.DUE_THIS_SHIFT.value: 1,
    Severity.WATCH.value: 2,
}


@dataclass(frozen=True)
class ShiftChange:
    """One shift run handing over to the next: the handover's identity and window."""

    outgoing: rota.ShiftInstance
    incoming: rota.ShiftInstance
    morning_check: bool

    @property
    def window(self) -> HandoverWindow:
        return _window(self.outgoing.end, self.incoming.end, self.morning_check)


def _window(start: datetime, end: datetime, morning_check: bool) -> HandoverWindow:
    return HandoverWindow(start, end, morning_check=morning_check)


def first_of_its_day(shifts: Sequence[Shift], run: rota.ShiftInstance) -> bool:
    """Whether ``run`` is the first shift to start on its local day: it gets the morning check."""
    tz = ZoneInfo(run.time_zone)
    day = run.start.astimezone(tz).date()
    runs = rota.instances(shifts, run.start - timedelta(days=1), run.start)
    return not any(r.start < run.start and r.start.astimezone(tz).date() == day for r in runs)


def shift_changes(shifts: Sequence[Shift], since: datetime, until: datetime) -> list[ShiftChange]:
    """The shift changes whose outgoing run ends in ``(since, until]``, by time."""
    changes = []
    for run in rota.ended_between(shifts, since, until):
        incoming = rota.successor(shifts, run)
        if incoming is not None:
            changes.append(ShiftChange(run, incoming, first_of_its_day(shifts, incoming)))
    return changes


async def next_draft_at(now: datetime | None = None) -> datetime | None:
    """When the next handover will be drafted (``DRAFT_AHEAD`` before the next shift end).

    None when no rota is set (no active shift). The end is that of the run
    going on now, or else of the next run to start.
    """
    now = now or clock.now()
    shifts = await rota.active_shifts()
    if not shifts:
        return None
    ends = [r.end for r in rota.running_at(shifts, now)]
    if not ends:
        upcoming = rota.next_starting(shifts, now)
        if upcoming is None:
            return None
        ends = [upcoming.end]
    return max(min(ends) - DRAFT_AHEAD, now)


async def draft_due(registry: Registry, now: datetime | None = None) -> list[Handover]:
    """The minute job's work: draft what is owed, freeze what has reached its shift end.

    Returns the handovers it drafted or froze this time (empty when another
    worker or an earlier run already had).
    """
    now = now or clock.now()
    shifts = await rota.active_shifts()
    touched: list[Handover] = []
    for change in shift_changes(shifts, now - CATCH_UP, now + DRAFT_AHEAD):
        handover, created = await ensure_drafted(registry, change, now)
        if change.outgoing.end <= now:
            # Also when an agent handed over early: what the shift owed is broken at its end.
            await promises.break_overdue(change.outgoing.end)
        frozen = (
            change.outgoing.end <= now
            and handover.handed_over_at is None
            and await hand_over(registry, handover, None, at=change.outgoing.end)
        )
        if created or frozen:
            touched.append(handover)
    return touched


async def ensure_drafted(
    registry: Registry, change: ShiftChange, now: datetime
) -> tuple[Handover, bool]:
    """The handover of ``change``, drafted now if nobody has: (handover, whether drafted here)."""
    key = change.outgoing.key
    existing = await Handover.get_or_none(key=key)
    if existing is not None:
        return existing, False
    items = await gather(registry, change.window)
    try:
        async with in_transaction() as conn:
            handover = await Handover.create(
                key=key,
                from_shift_id=change.outgoing.shift_id,
                from_day=change.outgoing.day,
                from_name=change.outgoing.name,
                to_shift_id=change.incoming.shift_id,
                to_day=change.incoming.day,
                to_name=change.incoming.name,
                time_zone=change.outgoing.time_zone,
                window_start=change.outgoing.end,
                window_end=change.incoming.end,
                incoming_start=change.incoming.start,
                morning_check=change.morning_check,
                drafted_at=min(now, change.outgoing.end),  # a late job: as of the shift end
                using_db=conn,
            )
            await _write_items(registry, handover, items, now, conn, first=True)
            await audit.record(
                "handover_drafted",
                subject_type="handover",
                subject_id=handover.id,
                data={"key": key, "items": len(items)},
                using_db=conn,
            )
    except IntegrityError:
        # Another worker drafted it between our look and our insert: theirs stands.
        return await Handover.get(key=key), False
    return handover, True


async def hand_over(
    registry: Registry, handover: Handover, user: User | None, *, at: datetime | None = None
) -> bool:
    """Gather the list a last time and freeze it: by an agent, or by the job at the shift end.

    Only the first call counts (a conditional update claims the handover),
    so an agent's click racing the job writes one list. Returns whether
    this call froze it.
    """
    at = at or clock.now()
    window = _window(handover.window_start, handover.window_end, handover.morning_check)
    if at >= handover.window_start:
        await promises.break_overdue(handover.window_start)
    items = await gather(registry, window)
    async with in_transaction() as conn:
        claimed = (
            await Handover.filter(id=handover.id, handed_over_at__isnull=True)
            .using_db(conn)
            .update(handed_over_at=at, handed_over_by_id=user.id if user else None)
        )
        if not claimed:
            return False
        await _write_items(registry, handover, items, at, conn)
        await audit.record(
            "handover_handed_over",
            subject_type="handover",
            subject_id=handover.id,
            actor=user,
            data={"items": len(items)},
            using_db=conn,
        )
    handover.handed_over_at = at
    handover.handed_over_by_id = user.id if user else None
    return True


async def gather(registry: Registry, window: HandoverWindow) -> list[HandoverItem]:
    """Every module's items for ``window``, one per case (the first module to name it wins)."""
    seen: dict[str, HandoverItem] = {}
    for item in await registry.handover_items(window):
        seen.setdefault(str(item.ref), item)
    return list(seen.values())


async def _urgent_buyers(registry: Registry, items: Iterable[HandoverItem]) -> set[int]:
    customer_ids = {cid for item in items if (cid := item.customer_id)}
    flags = await registry.buyer_flags(sorted(customer_ids), keys=URGENT_BUYER_FLAGS)
    return {cid for cid, marks in flags.items() if marks}


def is_urgent(item: HandoverItem, urgent_buyers: set[int]) -> bool:
    """Read back one by one: overdue, a promise to a buyer, or an angry or VIP buyer's case."""
    return (
        item.severity is Severity.OVERDUE
        or item.ref.module == "handover"
        or item.customer_id in urgent_buyers
    )


async def _previous(handover: Handover, conn: BaseDBAsyncClient) -> Handover | None:
    return (
        await Handover.filter(window_start__lt=handover.window_start)
        .using_db(conn)
        .order_by("-window_start", "-id")
        .first()
    )


async def _write_items(
    registry: Registry,
    handover: Handover,
    items: Sequence[HandoverItem],
    now: datetime,
    conn: BaseDBAsyncClient,
    *,
    first: bool = False,
) -> None:
    """Make the handover's entries match ``items`` plus what the last shift left open.

    New refs get a row; refs already on it are brought up to date unless
    someone has marked them done; rows are never deleted (the list a
    person saw stays readable). Open rows of the previous handover are
    carried over here, with their ``first_listed_at``.

    A handover lists thousands of items, so this reads only the columns it
    needs (the previous list's refs and first listings; whole rows only for
    what it carries as it was), writes new rows in one statement without
    model instances, and updates only rows whose values changed. ``first``:
    the handover was created in this transaction, so it has no rows to read.
    """
    urgent_buyers = await _urgent_buyers(registry, items)
    current: dict[str, HandoverEntry] = {}
    if not first:
        current = {
            e.ref: e
            for e in await HandoverEntry.filter(handover_id=handover.id)
            .using_db(conn)
            .only(*ENTRY_FIELDS, "id", "ref", "state")
        }
    previous = await _previous(handover, conn)
    left_open: dict[str, datetime] = {}
    if previous is not None:
        left_open = dict(
            await HandoverEntry.filter(handover_id=previous.id, state=ItemState.OPEN)
            .using_db(conn)
            .values_list("ref", "first_listed_at")
        )
    wanted: dict[str, dict[str, Any]] = {}
    for item in items:
        ref = str(item.ref)
        values = _entry_fields(item, is_urgent(item, urgent_buyers))
        values["first_listed_at"] = left_open.get(ref, now)
        wanted[ref] = values
    # What the previous shift left open and no hook names now (not yet due
    # again, or from a module since switched off) is carried as it was: only
    # a case closed in the meantime leaves the list.
    still_open = await _live_open(registry, [r for r in left_open if r not in wanted])
    if previous is not None and still_open:
        for earlier in await HandoverEntry.filter(
            handover_id=previous.id, ref__in=sorted(still_open), state=ItemState.OPEN
        ).using_db(conn):
            wanted[earlier.ref] = _carried_fields(earlier, handover)
    new: list[tuple[str, dict[str, Any]]] = []
    for ref, values in sorted(wanted.items(), key=_order):
        row = current.get(ref)
        if row is None:
            new.append((ref, values))
        elif row.state is ItemState.OPEN:
            values.pop("first_listed_at")
            if any(getattr(row, name) != value for name, value in values.items()):
                await HandoverEntry.filter(id=row.id).using_db(conn).update(**values)
    rows = _insert_rows(handover.id, len(current), new)
    await db.bulk_insert(conn, HandoverEntry._meta.db_table, INSERT_COLUMNS, rows)
    if previous is not None and left_open:
        carried = [ref for ref in left_open if ref in wanted]
        closed = [ref for ref in left_open if ref not in wanted]
        if carried:
            await (
                HandoverEntry.filter(handover_id=previous.id, ref__in=carried, state=ItemState.OPEN)
                .using_db(conn)
                .update(state=ItemState.CARRIED)
            )
        if closed:
            await (
                HandoverEntry.filter(handover_id=previous.id, ref__in=closed, state=ItemState.OPEN)
                .using_db(conn)
                .update(state=ItemState.DONE, done_at=now)
            )


ENTRY_FIELDS = (
    "module",
    "severity",
    "urgent",
    "msgid",
    "params",
    "todo",
    "if_fails",
    "href",
    "due_at",
    "assignee_id",
    "customer_id",
    "search_text",
)
"""What a hook's item sets on its entry (``_entry_fields``); ``first_listed_at`` besides."""

INSERT_COLUMNS = (
    "handover_id",
    "ref",
    "position",
    *ENTRY_FIELDS,
    "first_listed_at",
    "state",
    "readback",
)


_ENTRY_VALUES = operator.itemgetter(*ENTRY_FIELDS)
_PARAMS = ENTRY_FIELDS.index("params")


def _insert_rows(
    handover_id: int, position: int, new: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[tuple[Any, ...]]:
    """New entries as ``INSERT_COLUMNS`` from ``position`` on, stored as ``HandoverEntry`` would.

    Lengths are checked on each column's longest value, once for all rows.
    """
    if not new:
        return []
    longest = {
        "ref": max((ref for ref, _ in new), key=len),
        "module": max((values["module"] for _, values in new), key=len),
        "href": max((values["href"] for _, values in new), key=len),
    }
    if (problem := db.too_long(HandoverEntry, longest)) is not None:
        name, limit, length = problem
        raise ValidationError(f"{name}: at most {limit} characters, this one has {length}")
    encode = HandoverEntry._meta.fields_map["params"].to_db_value
    rows = []
    for at, (ref, values) in enumerate(new, start=position):
        cells = list(_ENTRY_VALUES(values))
        cells[_PARAMS] = encode(cells[_PARAMS], HandoverEntry)
        rows.append(
            (handover_id, ref, at, *cells, values["first_listed_at"], ItemState.OPEN.value, "")
        )
    return rows


def _entry_fields(item: HandoverItem, urgent: bool) -> dict[str, Any]:
    return {
        "module": item.ref.module,
        "severity": item.severity.value,
        "urgent": urgent,
        "msgid": item.msgid,
        "params": _plain_params(item.params),
        "todo": item.todo,
        "if_fails": item.if_fails,
        "href": item.href or "",
        "due_at": item.due_at,
        "assignee_id": item.assignee_id,
        "customer_id": item.customer_id,
        "search_text": search_text(item.params),
    }


def search_text(params: Mapping[str, object]) -> str:
    """What the diary's text search reads: every parameter's value, lower case, one line."""
    return " ".join(str(v).lower() for v in params.values() if v is not None and v != "")


def _carried_fields(earlier: HandoverEntry, handover: Handover) -> dict[str, Any]:
    severity = grade(earlier.due_at, handover.window_start, handover.window_end)
    return {
        "module": earlier.module,
        "severity": severity.value,
        "urgent": earlier.urgent or severity is Severity.OVERDUE,
        "msgid": earlier.msgid,
        "params": earlier.params,
        "todo": earlier.todo,
        "if_fails": earlier.if_fails,
        "href": earlier.href,
        "due_at": earlier.due_at,
        "assignee_id": earlier.assignee_id,
        "customer_id": earlier.customer_id,
        "search_text": earlier.search_text or search_text(earlier.params),
        "first_listed_at": earlier.first_listed_at,
    }


_NO_DEADLINE = datetime.max.replace(tzinfo=UTC)  # last among its severity


def _order(entry: tuple[str, Mapping[str, Any]]) -> tuple[int, datetime, str]:
    values = entry[1]
    return (
        SEVERITY_ORDER.get(values["severity"], 9),
        values["due_at"] or _NO_DEADLINE,
        values["module"],
    )


def _plain_params(params: Mapping[str, object]) -> dict[str, Any]:
    """Parameters as JSON keeps them, a msgid parameter marked so it is translated when read.

    Strings and numbers stay as they are; a ``Msgid`` (a return's next step,
    "answer the request") becomes ``{"msgid": ...}``, which ``shown_params``
    turns back, so a zh-CN reader gets it in Chinese.
    """
    return {k: _stored(v) for k, v in params.items()}


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _stored(value: object) -> Any:
    if type(value) in _PLAIN:  # most are (a Msgid is a str of its own type)
        return value
    if isinstance(value, Msgid):
        return {"msgid": str(value)}
    if isinstance(value, (list, tuple)):
        return [_stored(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def shown_params(stored: Mapping[str, Any] | None) -> dict[str, object]:
    """An entry's parameters ready for ``render``: marked msgids are msgids again."""
    return {k: _shown(v) for k, v in (stored or {}).items()}


def _shown(value: Any) -> object:
    if isinstance(value, dict) and set(value) == {"msgid"}:
        return Msgid(str(value["msgid"]))
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def summary(entry: HandoverEntry) -> str:
    """What an item is, in the reader's language."""
    return render(entry.msgid, shown_params(entry.params))


async def _live_open(registry: Registry, refs: Sequence[str]) -> set[str]:
    """The refs among ``refs`` whose case is still open now (unknown ones count as open)."""
    if not refs:
        return set()
    parsed = {ref: CaseRef.parse(ref) for ref in refs}
    resolved = await registry.resolve_cases(parsed.values())
    return {
        ref
        for ref, case_ref in parsed.items()
        if resolved.get(case_ref) is None or resolved[case_ref].open
    }
