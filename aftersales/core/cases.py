"""The case kernel: what every kind of work item on the desk shares.

Refunds, returns, and later review follow-ups, handover promises and
complaints are all cases: a row with a store, an order, a status, an
assignee, a deadline and a ``version``. A module declares its model on
``Case``, its states in a ``StateMachine`` and keeps only what differs (its
fields, its platform mapping, its decisions). This module owns the rest:

- ``move()``: the one way a case changes status. It checks the transition,
  moves the row only if its ``version`` is still the one read (else
  ``CaseConflict``, 409), and writes the audit event, which is the case's
  timeline, in the caller's transaction, so a change and its history commit
  together or not at all;
- ``assign()``, guarded the same way;
- closing the case's referral to a supervisor (``core/referrals.py``) when
  ``move()`` changes its status: the decision it waited for was taken;
- due-soon and overdue escalation, selected in SQL;
- per-store platform timers with declared defaults;
- ``CaseRef``: a stable ``module:kind:id`` reference that outlives a page
  and that any module resolves to a title, a link and a state, for handover
  items and promises;
- ``HandoverItem`` and its ``Severity``, computed here from ``due_at`` so
  every module grades the same deadline the same way.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar
from zoneinfo import ZoneInfo

from tortoise import Tortoise, fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock, referrals, shifts
from aftersales.core.errors import (
    Conflict,
    InvalidInput,
    Msgid,
    NotFound,
    PermissionDenied,
    render,
)
from aftersales.core.i18n import N_
from aftersales.core.reasons import ReasonCode
from aftersales.core.setting_fields import SettingField

if TYPE_CHECKING:
    from aftersales.core.models import AuditEvent, Store, User
    from aftersales.core.modules import Tile

log = logging.getLogger("aftersales.cases")

S = TypeVar("S", bound=Enum)

# A deadline this close is "due soon": a home tile, a queue filter, a bold date.
DUE_SOON = timedelta(hours=2)


# -- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseType:
    """Who a case type belongs to and how the kernel names, audits and links it.

    ``states`` is the module that declares its ``StateMachine(model=...)``;
    it imports the model, so the model names it rather than importing it.
    """

    module: str  # the owning module ("refunds")
    kind: str  # the kind within it ("refund"), in CaseRef and errors; events are "<kind>.<x>"
    noun: str  # a msgid naming one case in a sentence
    states: str
    audit_subject: str = ""  # AuditEvent.subject_type; default: the kind
    conflict_code: str = ""  # CaseConflict's API code for this type; default "case_conflict"
    path: str = ""  # its page; default "/<module>/{id}"

    @property
    def subject(self) -> str:
        return self.audit_subject or self.kind

    @property
    def page(self) -> str:
        return self.path or f"/{self.module}/{{id}}"


class Case(Model):
    """The columns every case has. Abstract: each module's table keeps its own name.

    A subclass declares ``status`` (with its own enum) and its ``case_type``,
    which tells the kernel how to audit and link it.
    ``requested_at`` is when the case opened; ``version`` moves on every
    change, so a decision on a stale page is refused rather than applied twice.
    """

    case_type: ClassVar[CaseType]

    status: Any  # each case type declares its own status enum field

    id = fields.IntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    order: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "orders.Order", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    order_id: int | None
    platform_order_id = fields.CharField(max_length=64)
    platform_status = fields.CharField(max_length=64, default="")
    currency = fields.CharField(max_length=3, default="CNY")
    reason = fields.CharEnumField(ReasonCode, max_length=24, default=ReasonCode.OTHER)
    buyer_text = fields.TextField(default="")
    due_at = fields.DatetimeField(null=True, db_index=True)
    platform_deadline = fields.DatetimeField(null=True)
    escalated = fields.BooleanField(default=False)
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    assignee_id: int | None
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")
    version = fields.IntField(default=1)
    requested_at = fields.DatetimeField(db_index=True)  # opened
    updated_at = fields.DatetimeField()

    class Meta:
        abstract = True

    @property
    def ref(self) -> CaseRef:
        return CaseRef(self.case_type.module, self.case_type.kind, self.id)

    @property
    def case_kind(self) -> str:
        return self.case_type.kind

    @property
    def href(self) -> str:
        return self.case_type.page.format(id=self.id)

    @classmethod
    def machine(cls) -> StateMachine[Any]:
        """The state machine its module declared (``StateMachine(model=...)``)."""
        if cls not in _MACHINES:
            importlib.import_module(cls.case_type.states)
        try:
            return _MACHINES[cls]
        except KeyError:
            raise TypeError(f"{cls.__name__} has no declared StateMachine") from None


C = TypeVar("C", bound=Case)
_MACHINES: dict[type[Case], StateMachine[Any]] = {}


# -- errors ------------------------------------------------------------------------------------


class IllegalTransition(Conflict):
    """The desk asked for a move its state machine does not allow: a bug or a stale page."""

    code = "illegal_transition"
    msgid = N_("A %(case)s cannot go from %(current)s to %(new)s; nothing was changed.")


class CaseConflict(Conflict):
    """Someone moved the case first (another agent, a sync, a job): reload and decide again."""

    code = "case_conflict"
    msgid = N_(
        "This %(case)s changed since you opened it (another agent or a sync); "
        "reload and try again. Nothing was changed."
    )

    def __init__(self, case: Case) -> None:
        code = case.case_type.conflict_code
        super().__init__(
            obj=case,
            code=code if isinstance(code, str) and code else None,
            case=Msgid(case.case_type.noun),
        )
        self.case = case


# -- the state machine -------------------------------------------------------------------------


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    """Which status may follow which, declared once per case type.

    ``labels`` maps a status to its msgid, so an illegal move is explained
    in the reader's language; ``code`` is the error code the API answers.
    """

    transitions: Mapping[S, frozenset[S]]
    model: type[Case] | None = None
    noun: str = ""  # a msgid; default: the model's noun
    code: str = IllegalTransition.code
    labels: Mapping[S, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.model is not None:
            _MACHINES[self.model] = self

    def allows(self, current: S, new: S) -> bool:
        return new in self.transitions[current]

    def check(self, current: S, new: S) -> None:
        """Raise ``IllegalTransition`` (409) unless ``current`` may move to ``new``."""
        if not self.allows(current, new):
            raise IllegalTransition(
                code=self.code,
                case=Msgid(self.noun or (self.model.case_type.noun if self.model else N_("case"))),
                current=Msgid(self.labels.get(current, str(current.value))),
                new=Msgid(self.labels.get(new, str(new.value))),
            )


# -- moves -------------------------------------------------------------------------------------


def _check_event(model: type[Case], event: str) -> None:
    """Events are named ``<kind>.<what>``: a case's timeline reads only its own kind's."""
    if not event.startswith(f"{model.case_type.kind}."):
        raise ValueError(f"{model.__name__} events start with {model.case_type.kind!r}: {event}")


def check_version(case: Case, expected_version: int | None) -> None:
    """Refuse with ``CaseConflict`` when the page's version is not the case's any more."""
    if expected_version is not None and case.version != expected_version:
        raise CaseConflict(case)


async def _guarded_update(case: Case, conn: BaseDBAsyncClient, **changes: Any) -> None:
    moved = (
        await type(case)
        .filter(id=case.id, version=case.version)
        .using_db(conn)
        .update(version=case.version + 1, updated_at=clock.now(), **changes)
    )
    if not moved:
        raise CaseConflict(case)


async def bump(case: Case, conn: BaseDBAsyncClient) -> None:
    """Move the case's ``version`` for a change that is not a move (a send to a supervisor).

    Guarded like ``move()``: refused with ``CaseConflict`` when someone moved
    the case since it was read, so a decision racing it gets a 409 too rather
    than both going through. ``case.version`` is the new one afterwards.
    """
    await _guarded_update(case, conn)
    case.version += 1


async def move(
    case: C,
    new_status: Enum,
    *,
    conn: BaseDBAsyncClient,
    actor: User | None,
    event: str,
    expected_version: int | None = None,
    data: Mapping[str, Any] | None = None,
    platform: bool = False,
    **changes: Any,
) -> C:
    """Move ``case`` to ``new_status`` with ``changes`` if nobody moved it first; audit it.

    ``platform=True`` is the platform's own word from a sync, which wins
    over our order of states; a move to the same status (a step that changes
    a case without moving it) is not checked against the machine either.
    The audit ``event`` (``"refund.approved"``, written out so the label test
    finds it in the source) carries ``from`` and ``to``, so
    the timeline shows every move the same way. A move to another status
    closes the case's open referral to a supervisor. Returns the fresh row.
    """
    _check_event(type(case), event)
    check_version(case, expected_version)
    if new_status != case.status and not platform:
        type(case).machine().check(case.status, new_status)
    await _guarded_update(case, conn, status=new_status, **changes)
    await audit.record(
        event,
        subject_type=case.case_type.subject,
        subject_id=case.id,
        actor=actor,
        data={"from": case.status.value, "to": new_status.value, **(data or {})},
        using_db=conn,
    )
    if new_status != case.status:
        # Whatever moved it (a supervisor, the buyer on the platform, a sync), the
        # decision a referral waited for is taken: it leaves "waiting for me".
        await referrals.close_for(case, actor=actor, outcome=str(new_status.value), conn=conn)
    return await type(case).get(id=case.id, using_db=conn)


async def open_case(
    model: type[C],
    *,
    conn: BaseDBAsyncClient,
    actor: User | None,
    event: str,
    data: Mapping[str, Any] | None = None,
    opened_at: datetime | None = None,
    **columns: Any,
) -> C:
    """Create a case and the first event of its timeline, in the caller's transaction.

    ``opened_at`` is when the buyer asked (a sync's record time); default now.
    """
    _check_event(model, event)
    now = clock.now()
    case = await model.create(
        requested_at=opened_at or now, updated_at=now, using_db=conn, **columns
    )
    await audit.record(
        event,
        subject_type=model.case_type.subject,
        subject_id=case.id,
        actor=actor,
        data=dict(data or {}),
        using_db=conn,
    )
    return case


# Who works cases, and so may be given one; managers give cases to them, everyone
# else only takes a case for themselves (a night agent cannot hand work to a colleague).
CASE_WORKER_ROLES = frozenset({"agent", "night_agent", "supervisor", "owner"})
ASSIGNER_ROLES = frozenset({"supervisor", "owner", "admin"})


def may_assign_others(user: User) -> bool:
    """Whether ``user`` may give a case to someone else (else only take it themselves)."""
    return str(user.role) in ASSIGNER_ROLES


async def case_workers() -> list[User]:
    """The active users a case may be given to, by name: the assign select's choices."""
    from aftersales.core.models import User

    found = await User.filter(is_active=True, role__in=sorted(CASE_WORKER_ROLES))
    return sorted(found, key=lambda u: (u.name.lower(), u.id))


async def assignee(user_id: int | None, actor: User) -> User:
    """The user a form or a body names to get a case (none: the actor, a take)."""
    from aftersales.core.models import User

    if user_id is None or user_id == actor.id:
        return actor
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound(N_("No user with id %(id)s."), id=user_id)
    return user


class Assign(Protocol):
    """A module's assign service: ``user`` gets the case, ``actor`` is who gave it."""

    def __call__(
        self, case_id: int, user: User, /, *, expected_version: int | None, actor: User
    ) -> Awaitable[object]: ...


class CaseClosed(Conflict):
    """A take or an assignment on a case that is over: nobody has anything left to do on it."""

    code = "case_closed"
    msgid = N_("This %(case)s is closed; there is nothing to take or hand over.")


class AssignRefused(PermissionDenied):
    """An agent giving a case to a colleague: only supervisors and owners hand out work."""

    code = "assign_refused"
    msgid = N_(
        "Only a supervisor or an owner gives a case to a colleague; you can take it yourself."
    )


class NotACaseWorker(InvalidInput):
    """The chosen colleague is deactivated or has a role that does not work cases."""

    code = "assignee_not_a_case_worker"
    msgid = N_("%(name)s cannot be given cases (deactivated, or not a case-working role).")


async def assign(
    model: type[C],
    case_id: int,
    user: User,
    *,
    event: str,
    expected_version: int | None = None,
    actor: User | None = None,
    open_statuses: Collection[Enum] | None = None,
    check: Callable[[C], Awaitable[None]] | None = None,
) -> C:
    """``user`` gets the case; the queue's "mine" filter and the handover read it.

    ``actor`` is who did it: by default ``user`` (a take); someone else is a
    manager handing the case to ``user`` (``may_assign_others``), who must be
    an active case worker. Guarded like a move: a take on a stale page, or two
    agents taking the same case at once, leaves one assignee and refuses the
    other. ``open_statuses`` refuses a case that is over (``CaseClosed``);
    ``check`` is the module's own refusal, run on the row read (refunds
    refuses a refund its return case works). Already ``user``'s: nothing changes.
    """
    _check_event(model, event)
    actor = actor or user
    if actor.id != user.id:
        if not may_assign_others(actor):
            raise AssignRefused()
        if not user.is_active or str(user.role) not in CASE_WORKER_ROLES:
            raise NotACaseWorker(obj=user, name=user.name)
    async with in_transaction() as conn:
        case = await model.get_or_none(id=case_id, using_db=conn)
        if case is None:
            raise NotFound(
                N_("No %(case)s with id %(id)s."), case=Msgid(model.case_type.noun), id=case_id
            )
        check_version(case, expected_version)
        if open_statuses is not None and case.status not in open_statuses:
            raise CaseClosed(obj=case, case=Msgid(model.case_type.noun))
        if check is not None:
            await check(case)
        if case.assignee_id == user.id:
            return case
        if expected_version is None and case.assignee_id is not None:
            # A take that names no version (a button on a list) only takes a
            # free case: someone else's is taken over from its own page, where
            # the version shows who had it when the page was read.
            raise CaseConflict(case)
        await _guarded_update(case, conn, assignee_id=user.id)
        data: dict[str, Any] = {"assignee": user.username}
        if actor.id != user.id:
            data |= {"by": actor.username, "assignee_name": user.name}
        await audit.record(
            event,
            subject_type=model.case_type.subject,
            subject_id=case_id,
            actor=actor,
            data=data,
            using_db=conn,
        )
        return await model.get(id=case_id, using_db=conn)


REFUSAL_REASON = (2, 200)
"""A refusal's reason, in characters: the buyer needs a word, the platforms take 200."""


def refusal_reason(reason: str, *, short: InvalidInput, long: InvalidInput | None = None) -> str:
    """``reason`` stripped, ready to refuse a case with; ``short`` (or ``long``) when it is not.

    A refusal is read by the buyer and, in a dispute, by the platform's
    arbitrator, so it is refused before anything moves. Each case type says
    what is wrong in its own words (and API code); the bounds are shared.
    """
    reason = reason.strip()
    least, most = REFUSAL_REASON
    if len(reason) < least:
        raise short
    if len(reason) > most:
        raise long or short
    return reason


@dataclass(frozen=True)
class History:
    """A case's timeline as the shared ``_case.html`` ``timeline`` macro takes it.

    ``events`` are the case's own audit events, newest first (as the refund
    and return pages list them); ``actors`` the users who wrote them, by id.
    Any case page gets its history from here instead of querying the audit
    table itself, so a new case type needs no timeline code of its own.
    """

    events: list[AuditEvent]
    actors: dict[int, User]


async def history(case: Case, *, also: Collection[int | None] = ()) -> History:
    """``case``'s timeline; ``also`` names more users the page shows (an assignee)."""
    from aftersales.core.models import AuditEvent, User

    events = await AuditEvent.filter(
        subject_type=case.case_type.subject, subject_id=str(case.id)
    ).order_by("-at", "-id")
    ids = {e.actor_id for e in events if e.actor_id} | {i for i in also if i}
    actors = {u.id: u for u in await User.filter(id__in=list(ids))} if ids else {}
    return History(events=list(events), actors=actors)


# -- deadlines ---------------------------------------------------------------------------------


def is_due_soon(case: Case, now: datetime | None = None) -> bool:
    """Due within ``DUE_SOON`` from now (not yet overdue)."""
    now = now or clock.now()
    return case.due_at is not None and now <= case.due_at < now + DUE_SOON


def due_soon_filter(now: datetime) -> dict[str, datetime]:
    """The ``filter()`` arguments of "due soon", as the tiles and queues select it."""
    return {"due_at__gte": now, "due_at__lt": now + DUE_SOON}


# The due filters every queue and the API accept ("" is no filter). "today" and
# "shift" count only what is still ahead: an overdue case has its own filter.
DUE_FILTERS = ("soon", "overdue", "today", "shift")


def due_filter(
    due: str, now: datetime, zone: ZoneInfo, *, shift_end: datetime | None = None
) -> dict[str, datetime]:
    """The ``filter()`` arguments of one due filter, the same for every module and the API.

    "today" ends at the store's local midnight, "shift" at ``shift_end``:
    where the rota says the current shift ends (``Registry.shift_end``,
    asked by whoever builds the filters, since this is not async), else
    where ``shifts.current_shift_end``'s default day and night end. An
    unknown value is no filter.
    """
    if due == "soon":
        return due_soon_filter(now)
    if due == "overdue":
        return {"due_at__lt": now}
    if due == "today":
        return {"due_at__gte": now, "due_at__lt": shifts.end_of_day(now, zone)}
    if due == "shift":
        end = shift_end if shift_end is not None else shifts.current_shift_end(now, zone)
        return {"due_at__gte": now, "due_at__lt": end}
    return {}


@dataclass(frozen=True)
class DueCounts:
    due_soon: int
    overdue: int


async def due_counts(model: type[Case], open_statuses: Collection[Enum]) -> DueCounts:
    """Open cases due soon and overdue: the numbers of the home tiles."""
    now = clock.now()
    open_ = list(open_statuses)
    return DueCounts(
        due_soon=await model.filter(status__in=open_, **due_soon_filter(now)).count(),
        overdue=await model.filter(status__in=open_, due_at__lt=now).count(),
    )


class TimerCounts(Protocol):
    """Anything counting a case type's timers (``DueCounts``, a module's own counts)."""

    @property
    def due_soon(self) -> int: ...

    @property
    def overdue(self) -> int: ...


def timer_tiles(counts: TimerCounts, *, due_soon: str, overdue: str, href: str) -> list[Tile]:
    """The two timer tiles from counts a module already has: due soon (warn), overdue (alert).

    ``due_soon`` and ``overdue`` are the tiles' msgids; each links to
    ``href`` with ``?due=soon`` or ``?due=overdue``, a list that selects
    with ``due_soon_filter`` (and ``due_at__lt=now``), so the number on a
    tile is the length of the list it opens.
    """
    from aftersales.core.modules import Tile  # the registry imports the kernel, not back

    return [
        Tile(due_soon, counts.due_soon, f"{href}?due=soon", "warn" if counts.due_soon else "info"),
        Tile(overdue, counts.overdue, f"{href}?due=overdue", "alert" if counts.overdue else "info"),
    ]


async def due_tiles(
    model: type[Case], open_statuses: Collection[Enum], *, due_soon: str, overdue: str, href: str
) -> list[Tile]:
    """A case type's two home tiles, counted here (``due_counts``): see ``timer_tiles``."""
    counts = await due_counts(model, open_statuses)
    return timer_tiles(counts, due_soon=due_soon, overdue=overdue, href=href)


@dataclass(frozen=True)
class Escalation:
    found: int  # overdue and not escalated when the sweep looked
    escalated: int  # of those, the ones it marked (a case changed meanwhile is skipped)


async def escalate_overdue(
    model: type[Case], statuses: Collection[Enum], *, event: str
) -> Escalation:
    """Mark cases in ``statuses`` past their ``due_at`` as escalated, each audited.

    Each case moves in its own transaction and only if its version did not
    move meanwhile, so one case a person just changed is skipped and the
    next sweep looks again.
    """
    overdue = await model.filter(status__in=list(statuses), due_at__lt=clock.now(), escalated=False)
    escalated = 0
    for case in overdue:
        try:
            async with in_transaction() as conn:
                await _guarded_update(case, conn, escalated=True)
                await audit.record(
                    event,
                    subject_type=model.case_type.subject,
                    subject_id=case.id,
                    data={
                        "status": case.status.value,
                        "due_at": case.due_at.isoformat() if case.due_at else None,
                    },
                    using_db=conn,
                )
            escalated += 1
        except CaseConflict:
            continue
    if overdue:
        log.info("%s.escalated count=%s", model.case_type.kind, escalated)
    return Escalation(found=len(overdue), escalated=escalated)


# -- per-store timers --------------------------------------------------------------------------

# DOMAIN.md platform timers: what a platform does if the shop stays silent.
# A store overrides any of them in ``store.settings["timers"]``; a module
# adds its own with ``declare_timers``.
TIMER_DEFAULTS: dict[str, int] = {
    "refund_unshipped_hours": 48,  # refund-only on an unshipped order: auto-refund after
    "refund_shipped_days": 5,  # refund/return on a shipped order: auto-agree after
    "return_ship_days": 7,  # the buyer ships after we agree, or the request closes
    "return_confirm_days": 10,  # the seller confirms receipt of the return, or it refunds
    "replacement_ship_hours": 48,  # our own promise for an exchange's replacement
}


# The settings page's words for each timer: a label, and what the number means.
TIMER_WORDS: dict[str, tuple[str, str]] = {
    "refund_unshipped_hours": (
        N_("Refund on an unshipped order: the platform refunds after"),
        N_("How long the platform waits for an answer to a refund on an order not yet "
           "shipped before it refunds by itself."),
    ),
    "refund_shipped_days": (
        N_("Request on a shipped order: the platform agrees after"),
        N_("How long the platform waits for an answer to a refund or return on a shipped "
           "order before it agrees by itself."),
    ),
    "return_ship_days": (
        N_("The buyer ships the return within"),
        N_("After the shop agrees to a return, the buyer has this long to send the goods, "
           "or the request closes."),
    ),
    "return_confirm_days": (
        N_("Confirm receipt of a return within"),
        N_("After the parcel arrives, the shop has this long to confirm receipt, or the "
           "platform refunds."),
    ),
    "replacement_ship_hours": (
        N_("Ship an exchange's replacement within"),
        N_("The shop's own promise for sending the replacement of an exchange."),
    ),
}  # fmt: skip
# A timer longer than this is a typo (a month of hours, a quarter of days).
MAX_TIMER = {"hours": 720, "days": 90}


def declare_timers(
    defaults: Mapping[str, int], words: Mapping[str, tuple[str, str]] | None = None
) -> None:
    """Add a module's timers; a name already declared must keep its default.

    ``words`` gives each timer a label and help text (msgids) for the store's
    settings page; a timer without them shows its name there.
    """
    for name, value in defaults.items():
        if TIMER_DEFAULTS.setdefault(name, value) != value:
            raise ValueError(f"timer {name!r} is already declared as {TIMER_DEFAULTS[name]}")
    TIMER_WORDS.update(words or {})


def timer_fields() -> list[SettingField]:
    """Every declared timer as a field of the store's settings page.

    The unit is the name's last word (``_hours`` or ``_days``), as every timer is named.
    """
    fields_ = []
    for name in TIMER_DEFAULTS:
        unit = "hours" if name.endswith("_hours") else "days"
        label, help_ = TIMER_WORDS.get(name, (name, ""))
        fields_.append(
            SettingField(
                name,
                label,
                help_,
                minimum=1,
                maximum=MAX_TIMER[unit],
                unit=N_("hours") if unit == "hours" else N_("days"),
            )
        )
    return fields_


def timer(store: Store, name: str) -> int:
    """The store's value for timer ``name``, else its declared default."""
    timers = store.settings.get("timers") or {}
    return int(timers.get(name, TIMER_DEFAULTS[name]))


# -- references --------------------------------------------------------------------------------


MAX_CASE_ID = 2**31 - 1
"""The largest row id (``api.MAX_ID``): a reference past it names no case."""


@dataclass(frozen=True)
class CaseRef:
    """A stable name for one case, ``refunds:refund:12``, kept in handovers and promises."""

    module: str
    kind: str
    id: int

    def __str__(self) -> str:
        return f"{self.module}:{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Self:
        module, sep, rest = text.partition(":")
        kind, sep2, ident = rest.partition(":")
        # ASCII digits only ("²" is a digit to str.isdigit but not to int), and no more
        # of them than a row id has: a 5,000-digit id is bad input, not a crash.
        if (
            not (sep and sep2 and module and kind and ident.isascii() and ident.isdigit())
            or len(ident) > len(str(MAX_CASE_ID))
            or int(ident) > MAX_CASE_ID
        ):
            raise InvalidInput(N_("%(ref)s is not a case reference."), ref=text[:80])
        return cls(module, kind, int(ident))


@dataclass(frozen=True)
class ResolvedCase:
    """What a reference points at now: enough to list it and link to it."""

    ref: CaseRef
    title: str  # a msgid
    href: str
    status: str  # the status value
    title_params: Mapping[str, object] = field(default_factory=dict)
    status_label: str = ""  # a msgid; empty: show the value
    due_at: datetime | None = None  # its deadline now, for lists that show the time left
    open: bool = True  # still in one of its type's open statuses (not closed or decided for good)

    @property
    def text(self) -> str:
        """The title in the reader's language."""
        return render(self.title, self.title_params)


CaseResolver = Callable[[CaseRef], Awaitable[ResolvedCase | None]]
"""``resolve_case(ref)`` on a module's manifest: None when the case is gone or not its own."""

CaseBatchResolver = Callable[[Sequence[CaseRef]], Awaitable[Mapping[CaseRef, ResolvedCase]]]
"""``resolve_cases(refs)`` on a module's manifest: the refs it found, the rest left out."""


async def resolve(
    model: type[C],
    ref: CaseRef,
    title: Callable[[C], tuple[str, Mapping[str, object]]],
    *,
    open_statuses: Collection[Enum] | None = None,
) -> ResolvedCase | None:
    """Resolve ``ref`` if it names a ``model`` row; ``title(case)`` gives its msgid and params.

    A module's ``resolve_case`` hook is this with its model and title, one
    line per case type it owns; ``open_statuses`` (default: every status)
    say whether the case is still open, so a list of references can leave
    out the ones that ended.
    """
    if (ref.module, ref.kind) != (model.case_type.module, model.case_type.kind):
        return None
    case = await model.get_or_none(id=ref.id)
    return None if case is None else _resolved(ref, case, title, open_statuses)


def _resolved(
    ref: CaseRef,
    case: C,
    title: Callable[[C], tuple[str, Mapping[str, object]]],
    open_statuses: Collection[Enum] | None,
) -> ResolvedCase:
    msgid, params = title(case)
    return ResolvedCase(
        ref,
        msgid,
        case.href,
        case.status.value,
        params,
        due_at=case.due_at,
        open=open_statuses is None or case.status in open_statuses,
    )


def case_model(ref: CaseRef) -> type[Case] | None:
    """The model of the case type ``ref`` names, among the registered ones (None: none).

    Lets the kernel load a case another module names by reference (a
    referral carried to the case that works a refund) without importing it.
    """
    models: list[type[Model]] = [m for app in Tortoise.apps.values() for m in app.values()]
    for model in models:
        if not issubclass(model, Case):
            continue
        if (model.case_type.module, model.case_type.kind) == (ref.module, ref.kind):
            return model
    return None


async def resolve_many(
    model: type[C],
    refs: Sequence[CaseRef],
    title: Callable[[C], tuple[str, Mapping[str, object]]],
    *,
    open_statuses: Collection[Enum] | None = None,
) -> dict[CaseRef, ResolvedCase]:
    """``resolve`` for a page of refs in one query: a list of N links costs one, not N.

    A module's ``resolve_cases`` hook is this with its model and title; refs
    naming another model, or a case that is gone, are left out.
    """
    mine = [r for r in refs if (r.module, r.kind) == (model.case_type.module, model.case_type.kind)]
    if not mine:
        return {}
    found = {c.id: c for c in await model.filter(id__in={r.id for r in mine})}
    return {
        ref: _resolved(ref, found[ref.id], title, open_statuses) for ref in mine if ref.id in found
    }


# -- handover ----------------------------------------------------------------------------------


class Severity(StrEnum):
    OVERDUE = "overdue"
    DUE_THIS_SHIFT = "due_this_shift"
    WATCH = "watch"


def grade(due_at: datetime | None, start: datetime, end: datetime) -> Severity:
    """How a deadline looks from a shift running ``start`` to ``end``."""
    if due_at is None or due_at >= end:
        return Severity.WATCH
    if due_at < start:
        return Severity.OVERDUE
    return Severity.DUE_THIS_SHIFT


URGENT_BUYER_FLAGS = frozenset({"vip", "angry"})
"""``BuyerFlag`` keys that make a handover item urgent: the handover marks an item urgent
when its buyer (``HandoverItem.customer_id``) carries one of these flags, from whichever
module flags them (orders flags buyers an agent tagged VIP or angry)."""


@dataclass(frozen=True)
class HandoverItem:
    """One case the next shift must know about, in words rendered for its reader.

    ``msgid``/``params`` say what the case is; ``todo`` what to do and
    ``if_fails`` what to do if that does not work (both msgids). ``ref``
    stays valid across shifts, so a handover can carry an item over, mark it
    done or have it acknowledged one by one. ``customer_id`` is the buyer the
    item is about (None: none, a store or a write-back), so the handover can
    ask ``Registry.buyer_flags`` once for all its items and mark those whose
    buyer carries one of ``URGENT_BUYER_FLAGS``.
    """

    ref: CaseRef
    msgid: str
    due_at: datetime | None
    severity: Severity
    params: Mapping[str, object] = field(default_factory=dict)
    assignee_id: int | None = None
    todo: str = ""
    if_fails: str = ""
    href: str | None = None
    customer_id: int | None = None

    @property
    def module(self) -> str:
        return self.ref.module

    @property
    def summary(self) -> str:
        """What the case is, in the reader's language."""
        return render(self.msgid, self.params)

    @classmethod
    def for_case(
        cls,
        case: Case | DueCase,
        start: datetime,
        end: datetime,
        msgid: str,
        *,
        params: Mapping[str, object] | None = None,
        todo: str = "",
        if_fails: str = "",
        href: str | None = None,
        severity: Severity | None = None,
        customer_id: int | None = None,
    ) -> HandoverItem:
        """An item for ``case``, its severity graded by the kernel unless given.

        The buyer is the case's order's customer when the case is a ``DueCase``
        (``due_by`` reads it), unless ``customer_id`` is given.
        """
        if customer_id is None:
            customer_id = getattr(case, "customer_id", None)
        return cls(
            ref=case.ref,
            msgid=msgid,
            params=params or {},
            due_at=case.due_at,
            severity=severity or grade(case.due_at, start, end),
            assignee_id=case.assignee_id,
            todo=todo,
            if_fails=if_fails,
            href=href or case.href,
            customer_id=customer_id,
        )


@dataclass(frozen=True, slots=True)
class DueCase:
    """A case as a handover reads it: plain column values, not a model instance.

    ``due_by`` makes one per row; a module subclasses it with the further
    columns its item shows (an amount, an order number), each named as the
    model's field and typed as the model gives it (``status`` as its enum).
    ``customer_id`` is the buyer of the case's order (cases have no column
    of their own for it), so the handover can mark the item urgent when the
    buyer is flagged. A handover lists thousands of cases: building a model
    per row cost more than the query did.
    """

    case_type: CaseType
    id: int
    status: Any  # the case type's status enum; a subclass names it
    due_at: datetime | None
    assignee_id: int | None
    customer_id: int | None

    @property
    def ref(self) -> CaseRef:
        return CaseRef(self.case_type.module, self.case_type.kind, self.id)

    @property
    def href(self) -> str:
        return self.case_type.page.format(id=self.id)


D = TypeVar("D", bound=DueCase)


async def due_by(
    model: type[Case],
    end: datetime,
    open_statuses: Collection[Enum],
    row: type[D],
    *,
    also: Q | None = None,
    only: Q | None = None,
) -> list[D]:
    """Open cases falling due before ``end`` (a shift's end), nearest first: the handover's pick.

    ``also`` adds the open cases that cannot wait for their deadline (a
    parcel still to stop); ``only`` keeps those that are the module's own
    work (a refund its return case works is that case's item). Only the
    columns ``row`` declares are read, into one ``row`` per case; its
    ``customer_id`` is read through the case's order, in the same query
    (unless the model has a column of that name).
    """
    due = Q(due_at__lt=end) if also is None else Q(due_at__lt=end) | also
    query = model.filter(due, status__in=list(open_statuses))
    if only is not None:
        query = query.filter(only)
    names = [f.name for f in dataclass_fields(row) if f.name != "case_type"]
    own = model._meta.fields_map
    columns = [_BUYER_PATH if name == BUYER_COLUMN and name not in own else name for name in names]
    case_type = model.case_type
    # Sorted here, not in SQL: ORDER BY due_at makes SQLite walk the whole due_at
    # index of a large table instead of the status index, for a few thousand rows.
    found = [row(case_type, *values) for values in await query.values_list(*columns)]
    return sorted(found, key=_nearest_first)


def _nearest_first(case: DueCase) -> tuple[bool, datetime, int]:
    """``due_at`` ascending, no deadline last (as PostgreSQL and SQLite order NULLs differ)."""
    due = case.due_at
    return (due is None, due or datetime.min.replace(tzinfo=UTC), case.id)


BUYER_COLUMN = "customer_id"
"""The pseudo-column ``due_by`` reads through a case's order: its buyer (``DueCase``)."""
_BUYER_PATH = "order__customer_id"
