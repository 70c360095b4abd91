"""The module registry: built-in modules and entry-point plugins load alike.

A module is a declarative manifest (``Module``). The desk never imports a
module's insides by name: one ``Registry``, built at start-up from the
enabled modules, reads routes, nav, jobs and hooks from the manifests, so a
third-party package that registers an ``aftersales.modules`` entry point is
as much at home as ``refunds``. Nothing else loops over manifest fields:
each hook has one documented ``Registry`` method, which calls the modules in
their declared order (``after``) and keeps one module's failure from
breaking the page (see ``Registry``).
"""

from __future__ import annotations

import copy
import importlib
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from starlette.routing import BaseRoute, Mount

from aftersales.core import shifts
from aftersales.core.cases import (
    CaseBatchResolver,
    CaseRef,
    CaseResolver,
    HandoverItem,
    ResolvedCase,
)
from aftersales.core.errors import ConfigError
from aftersales.core.i18n import N_
from aftersales.core.setting_fields import SettingField
from aftersales.core.shifts import NextShift, ShiftsAt, ShiftSlot

if TYPE_CHECKING:
    from aftersales.core.config import Settings
    from aftersales.core.models import Role, User
    from aftersales.core.phrases import PhraseContext, PhraseContextHook, SeedPhrase

log = logging.getLogger("aftersales.modules")
T = TypeVar("T")

ENTRY_POINT_GROUP = "aftersales.modules"
BUILTIN = (
    "aftersales.core:module",
    "aftersales.orders:module",
    "aftersales.refunds:module",
    "aftersales.returns:module",
    "aftersales.reviews:module",
    "aftersales.handover:module",
)


@dataclass(frozen=True)
class NavEntry:
    """A link in the top bar, shown only to the roles listed."""

    label: str  # an English msgid; translated when rendered
    path: str
    roles: frozenset[Role]


@dataclass(frozen=True)
class Tile:
    """One line of the morning checklist on the home page."""

    label: str
    value: int | str
    href: str | None = None
    level: str = "info"  # info | warn | alert


@dataclass(frozen=True)
class Notice:
    """A line at the very top of the home page, above the tiles: what to read first.

    ``text`` is an English msgid with ``%(name)s`` parameters from ``params``
    (data such as a shift's name is rendered escaped); ``href`` is where it leads.
    """

    text: str
    params: Mapping[str, object] = field(default_factory=dict)
    href: str | None = None
    level: str = "info"  # info | warn | alert


@dataclass(frozen=True)
class HandoverWindow:
    """The shift a handover list is for: items due before ``end`` matter.

    ``morning_check`` is set on the day's first handover (the morning shift's):
    modules then add the checks the team does once a day (orders unpaid for
    over a day, paid orders not shipped within 48 hours, yesterday's ratings),
    one item each, named per local day so a second draft the same morning
    finds the same items.
    """

    start: datetime
    end: datetime
    morning_check: bool = False


@dataclass(frozen=True)
class TimelineEvent:
    """One dated line on an order's timeline; modules add their own (refunds, reviews)."""

    at: datetime
    label: str  # an English msgid; translated when rendered
    detail: str = ""
    href: str | None = None


@dataclass(frozen=True)
class OrderLink:
    """An action a module offers on the order page; ``path`` has ``{order_id}``."""

    label: str  # an English msgid
    path: str
    roles: frozenset[Role] | None = None  # None: everyone


@dataclass(frozen=True)
class StoreLink:
    """A per-store settings page of a module, linked from the store page.

    ``path`` has ``{store_id}``.
    """

    label: str  # an English msgid
    path: str
    roles: frozenset[Role] | None = None  # None: everyone who may open the store page


@dataclass(frozen=True)
class Badge:
    """A mark a module puts on a row of the orders list (an open refund), linking to it."""

    label: str  # an English msgid; translated when rendered
    href: str
    level: str = "warn"  # info | warn | alert


OrderBadges = Callable[[Sequence[int]], Awaitable[Mapping[int, Sequence[Badge]]]]
"""``order_badges(order_ids)`` marks the orders of one list page, in one query.

Given the ids shown on the page, it answers only those with something to
mark: order id -> the module's badges for that order.
"""


@dataclass(frozen=True)
class BuyerFlag:
    """A mark a module puts on a buyer wherever their tags show (frequent refunds).

    Computed from the module's own records, never stored on the buyer, so it
    comes and goes with what the buyer does. ``hint`` says the rule in words
    with ``params`` (the queue's tooltip, the case page's legend).

    ``hand_set`` marks a flag that only repeats a tag agents set by hand
    (orders' VIP and angry), for readers that see buyers only through the
    registry (the handover's urgent items); pages that show the tags show
    the tag and leave such a flag out, so the buyer's mark appears once.
    """

    key: str  # stable name; a hand-set tag of the same name is not shown twice
    label: str  # an English msgid; translated when rendered
    hint: str = ""  # an English msgid with %(name)s parameters from ``params``
    params: Mapping[str, int | str] = field(default_factory=dict)
    level: str = "warn"  # info | warn | alert
    hand_set: bool = False  # repeats the hand-set tag ``key``: pages show the tag instead


BuyerFlags = Callable[[Sequence[int]], Awaitable[Mapping[int, Sequence[BuyerFlag]]]]
"""``buyer_flags(customer_ids)`` marks the buyers of one page (a queue, a case), in one query.

Given the customer ids shown, it answers only those with something to mark:
customer id -> the module's flags for that buyer.
"""


@dataclass(frozen=True)
class ReportLink:
    """A report page listed on the Reports page; ``roles`` None: the report readers."""

    label: str  # an English msgid
    path: str
    roles: frozenset[Role] | None = None


@dataclass(frozen=True)
class OutboxContext:
    """What an outbox handler may use besides its payload and key."""

    settings: Settings | None = None


RecordHandler = Callable[[Any, list[Any], Any], Awaitable[None]]
"""``handler(store, records, conn)`` takes synced after-sale or review records.

Called inside the sync's page transaction (``conn``), so what it writes
commits with the page and its cursor, or not at all.
"""

OutboxHandler = Callable[[dict[str, Any], str, "OutboxContext"], Awaitable[dict[str, Any] | None]]
"""``handler(payload, idempotency_key, context)`` performs one outside write.

``context.settings`` gives what the write needs from the running desk (the
secret key that opens a store's credentials).

It must pass the key on to the platform (header or field) so that a retry of
a write the platform already saw is recognised there, and it raises to ask
for a retry; ``PermanentFailure`` stops retrying.
"""


Subscriber = Callable[..., Awaitable[None]]
"""``handler(**payload)`` reacts to a domain event another module emitted.

It runs inside the emitter's transaction, in a savepoint of its own: what it
writes commits with the change that caused the event, and a subscriber that
fails is rolled back alone and logged, never the emitter's change.
"""

DOMAIN_EVENTS: dict[str, str] = {
    "refund_settled": (
        "The money of a refund went back to the buyer (its ledger rows are written), "
        "once per refund. Payload: ``refund_id`` (int) and ``source`` (``desk`` when "
        "our write-back settled it, ``platform`` when a sync brought the platform's word)."
    ),
}
"""The domain events core knows, with their payload; a module may declare more (``emits``)."""


@dataclass
class Module:
    """The manifest of one desk module; only ``Registry`` reads it.

    Hooks, each optional, each called through the ``Registry`` method of the
    same name (which documents when and how):

    - ``dashboard_tiles(user)``: awaitable list of ``Tile`` for the home page;
      called for every signed-in user, so it must filter by role itself.
    - ``home_notices(user)``: awaitable list of ``Notice``, shown above the tiles
      (the handover the incoming shift must read first); filters by role itself.
    - ``handover_items(window)``: awaitable list of ``HandoverItem`` (``core.cases``)
      that are open or fall due in the window (``HandoverWindow``; with
      ``morning_check`` also the day's checks); the handover module gathers them.
    - ``resolve_case(ref)``: the title, link and state of one of its cases
      named by a ``CaseRef``, or None (``resolve_case()`` below asks the owner).
    - ``resolve_cases(refs)``: the same for a list of its refs in one query,
      ``{ref: ResolvedCase}`` (``resolve_cases()`` below; optional beside
      ``resolve_case``, which answers when it is missing).
    - ``outbox_handlers``: outbox kind -> ``OutboxHandler``.
    - ``record_handlers``: sync stream (``after_sales``, ``reviews``) -> ``RecordHandler``;
      they run in module order, so a module whose handler reads what another
      one's wrote names it in ``after``.
    - ``webhooks``: routes mounted under ``/hooks/`` without login (signed webhooks).
    - ``reports``: report pages listed on the Reports page for the roles that read them.
    - ``order_events(order_id)``: awaitable list of ``TimelineEvent`` for the
      order detail page (a refund decided, a review received).
    - ``order_links``: actions offered on the order page (start a refund).
    - ``store_links``: the module's per-store settings pages (refund rules, return
      policy), linked from the store page so an owner finds them from the store.
    - ``order_badges(order_ids)``: awaitable order id -> list of ``Badge`` for the
      rows of one orders-list page (an open refund or return), one query a page.
    - ``buyer_flags(customer_ids)``: awaitable customer id -> list of ``BuyerFlag``
      for the buyers a queue page or a case shows (frequent refunds), one query a call.
      ``buyer_flag_keys`` names the keys it may answer, so a reader asking for
      some keys only (the handover's ``URGENT_BUYER_FLAGS``) skips a module
      that has none of them; left None, the module is asked every time.
    - ``on_startup()``: awaited once when the desk or a worker starts (load a
      model, warm a cache).
    - ``subscribers``: domain event name -> ``Subscriber`` (see ``DOMAIN_EVENTS``).
    - ``labels``: kind (``event``, ``refund_status``, ...) -> value -> English
      msgid, the module's stored words as pages show them (see ``core/labels.py``).
    - ``phrase_context(ref)``: awaitable ``PhraseContext`` (``core/phrases.py``) of
      one of its cases: the values of the quick replies' placeholders and the
      facts a reply may contradict (shipped or not), or None when not its own.
    - ``phrases``: ``SeedPhrase`` team quick replies the module ships (its refusal
      texts), added once by ``phrases.seed``.
    - ``shifts_at(at)`` / ``next_shift(at)``: the rota (the handover module
      answers): the ``ShiftSlot`` runs going on at ``at`` with who works them,
      and the first run starting after ``at``. Asked through the registry's
      ``shifts_at``, ``agents_on_shift``, ``next_shift`` and ``shift_end``.

    ``after`` names modules whose hooks must run before this one's (returns
    intake reads the refund that refunds intake just wrote). ``store_settings``
    declares the per-store settings this module owns, with their defaults,
    read through ``Registry.store_setting``; ``store_setting_fields`` gives
    those the store's settings page edits a label, help text and what a valid
    value is (``Registry.store_setting_fields``).
    """

    name: str
    label: str
    models: str | None = None
    migrations: str | None = None
    routes: Sequence[BaseRoute] = ()
    api_routes: Sequence[BaseRoute] = ()
    nav: Sequence[NavEntry] = ()
    functions: Sequence[Callable[..., Any]] = ()
    cron_jobs: Sequence[Any] = ()
    outbox_handlers: dict[str, OutboxHandler] = field(default_factory=dict)
    record_handlers: dict[str, RecordHandler] = field(default_factory=dict)
    webhooks: Sequence[BaseRoute] = ()
    dashboard_tiles: Callable[[User], Awaitable[list[Tile]]] | None = None
    home_notices: Callable[[User], Awaitable[list[Notice]]] | None = None
    handover_items: Callable[[HandoverWindow], Awaitable[list[HandoverItem]]] | None = None
    resolve_case: CaseResolver | None = None
    resolve_cases: CaseBatchResolver | None = None
    reports: Sequence[ReportLink] = ()
    order_events: Callable[[int], Awaitable[list[TimelineEvent]]] | None = None
    order_links: Sequence[OrderLink] = ()
    order_badges: OrderBadges | None = None
    buyer_flags: BuyerFlags | None = None
    buyer_flag_keys: frozenset[str] | None = None  # the keys buyer_flags may answer; None: any
    store_links: Sequence[StoreLink] = ()
    on_startup: Callable[[], Awaitable[None]] | None = None
    subscribers: Mapping[str, Subscriber] = field(default_factory=dict)
    emits: Sequence[str] = ()
    store_settings: Mapping[str, Any] = field(default_factory=dict)
    store_setting_fields: Sequence[SettingField] = ()
    after: Sequence[str] = ()
    templates: Path | None = None
    can_disable: bool = True
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    phrase_context: PhraseContextHook | None = None
    phrases: Sequence[SeedPhrase] = ()
    shifts_at: ShiftsAt | None = None
    next_shift: NextShift | None = None


def _load(ref: str) -> Module:
    module_path, _, attr = ref.partition(":")
    obj = getattr(importlib.import_module(module_path), attr or "module")
    if not isinstance(obj, Module):
        raise ConfigError(N_("%(ref)s is not an aftersales Module."), ref=ref)
    return obj


def all_modules() -> list[Module]:
    """Built-in modules first, then every installed plugin, each name once.

    Scans the entry points: call it at start-up (``Registry.build``), not per job.
    """
    found: dict[str, Module] = {}
    refs = list(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        refs.append(ep.value)
    for ref in refs:
        module = _load(ref)
        if module.name in found and found[module.name] is not module:
            raise ConfigError(
                N_("Two modules are named %(name)s (%(ref)s)."), name=module.name, ref=ref
            )
        found[module.name] = module
    return list(found.values())


def enabled_modules(settings: Settings, installed: Sequence[Module] | None = None) -> list[Module]:
    """The installed modules less those ``AFTERSALES_DISABLED_MODULES`` switches off."""
    installed = all_modules() if installed is None else installed
    unknown = settings.disabled_modules - {m.name for m in installed}
    if unknown:
        raise ConfigError(
            N_("%(setting)s names unknown modules: %(names)s."),
            setting="AFTERSALES_DISABLED_MODULES",
            names=", ".join(sorted(unknown)),
        )
    return [m for m in installed if not (m.can_disable and m.name in settings.disabled_modules)]


async def resolve_case(modules: Sequence[Module], ref: CaseRef) -> ResolvedCase | None:
    """What ``ref`` points at now, asked of the module that owns it; None if gone.

    For callers holding a list of modules; the desk asks ``Registry.resolve_case``.
    """
    resolved: ResolvedCase | None = await Registry(modules).resolve_case(ref)
    return resolved


def module_labels(modules: Sequence[Module]) -> dict[str, dict[str, str]]:
    """Every module's labels merged by kind; two modules naming one value differently fail."""
    merged: dict[str, dict[str, str]] = {}
    for module in modules:
        for kind, labels in module.labels.items():
            into = merged.setdefault(kind, {})
            for value, msgid in labels.items():
                if into.get(value, msgid) != msgid:
                    raise ConfigError(f"{module.name} relabels {kind} {value!r}")
                into[str(value)] = msgid
    return merged


def ordered(modules: Sequence[Module], installed: Sequence[Module] | None = None) -> list[Module]:
    """``modules`` sorted so that each runs after the modules its ``after`` names.

    Stable: modules keep their listed order (built-ins first) unless an
    ``after`` moves them. A name in ``after`` that is installed but switched
    off is ignored; one that no installed module has, or a cycle, is a
    ``ConfigError`` at start-up rather than a silent order.
    """
    known = {m.name for m in (installed if installed is not None else modules)}
    known |= {m.name for m in modules}
    present = {m.name for m in modules}
    for module in modules:
        for name in module.after:
            if name not in known:
                raise ConfigError(
                    N_("Module %(module)s runs after %(name)s, which is not installed."),
                    module=module.name,
                    name=name,
                )
    waiting = {m.name: {n for n in m.after if n in present and n != m.name} for m in modules}
    result: list[Module] = []
    placed: set[str] = set()
    pending = list(modules)
    while pending:
        ready = next((m for m in pending if waiting[m.name] <= placed), None)
        if ready is None:
            raise ConfigError(
                N_("The modules' run order has a cycle: %(names)s."),
                names=", ".join(m.name for m in pending),
            )
        result.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return result


class Registry:
    """The enabled modules, read at start-up; the only reader of ``Module`` manifests.

    Every hook has one method here. Hooks that only read for a page or a list
    (nav, tiles, handover items, order events, case references, start-up,
    domain events) are isolated per module: one that raises is logged with
    the module's name and skipped, so a broken plugin costs its own tile and
    not the page. Hooks whose failure must stop the work (record handlers,
    which run inside a sync page's transaction; outbox handlers, whose
    failure asks for a retry) are handed out in order and raise as they are.
    """

    def __init__(self, modules: Sequence[Module], *, installed: Sequence[Module] | None = None):
        self.modules: tuple[Module, ...] = tuple(ordered(modules, installed))
        self._by_name = {m.name: m for m in self.modules}
        self._setting_owner: dict[str, str] = {}
        for module in self.modules:
            for key in module.store_settings:
                owner = self._setting_owner.setdefault(key, module.name)
                if owner != module.name:
                    raise ConfigError(
                        N_("The store setting %(key)s is declared by %(first)s and %(second)s."),
                        key=key,
                        first=owner,
                        second=module.name,
                    )
            for setting in module.store_setting_fields:
                if setting.key not in module.store_settings:
                    raise ConfigError(
                        N_(
                            "Module %(module)s describes a store setting %(key)s it does not "
                            "declare."
                        ),
                        module=module.name,
                        key=setting.key,
                    )
        declared = set(DOMAIN_EVENTS)
        for module in installed or self.modules:
            declared |= set(module.emits)
        for module in self.modules:
            for event in module.subscribers:
                if event not in declared:
                    raise ConfigError(
                        N_("Module %(module)s subscribes to %(event)s, which nothing emits."),
                        module=module.name,
                        event=event,
                    )

    @classmethod
    def build(cls, settings: Settings) -> Registry:
        """Scan the entry points once and keep the modules the settings enable."""
        installed = all_modules()
        return cls(enabled_modules(settings, installed), installed=installed)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def module(self, name: str) -> Module:
        """The enabled module called ``name``; KeyError when it is not enabled."""
        return self._by_name[name]

    # -- what is mounted and scheduled -------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """Page routes: core's at the root, every other module's under ``/<name>/``."""
        pages: list[BaseRoute] = []
        for module in self.modules:
            if module.name == "core":
                pages.extend(module.routes)
            elif module.routes:
                pages.append(Mount(f"/{module.name}", routes=list(module.routes)))
        return pages

    def api_routes(self) -> list[BaseRoute]:
        """JSON API routes, mounted by the app under ``/api/v1``."""
        return [route for module in self.modules for route in module.api_routes]

    def webhooks(self) -> list[BaseRoute]:
        """Signed webhook routes, mounted by the app under ``/hooks`` without login."""
        return [route for module in self.modules for route in module.webhooks]

    def jobs(self) -> list[Callable[..., Any]]:
        """The arq functions every module registers on the worker."""
        return [fn for module in self.modules for fn in module.functions]

    def cron(self) -> list[Any]:
        """The arq cron jobs every module schedules."""
        return [job for module in self.modules for job in module.cron_jobs]

    def template_dirs(self) -> list[Path]:
        """Plugins' own ``templates/`` folders, searched after the desk's."""
        return [module.templates for module in self.modules if module.templates]

    def labels(self) -> dict[str, dict[str, str]]:
        """Every enabled module's stored words by kind, for ``core/labels.LabelBook``."""
        return module_labels(self.modules)

    def tortoise_apps(self) -> dict[str, dict[str, Any]]:
        """One Tortoise app per module with models, named after the module."""
        return {
            module.name: {
                "models": [module.models],
                "migrations": module.migrations,
                "default_connection": "default",
            }
            for module in self.modules
            if module.models is not None
        }

    # -- what sync and the outbox call -------------------------------------------------------

    def record_handlers(self, stream: str) -> list[RecordHandler]:
        """The handlers of one sync stream, in declared order (``after``).

        Not isolated: they run inside the page's transaction, and a failing
        one must fail the page (kept as the sync's error, retried) rather
        than mark its records handled.
        """
        return [m.record_handlers[stream] for m in self.modules if stream in m.record_handlers]

    def outbox_handlers(self) -> dict[str, OutboxHandler]:
        """Outbox kind -> handler; the outbox retries what raises, so no isolation here."""
        handlers: dict[str, OutboxHandler] = {}
        for module in self.modules:
            handlers.update(module.outbox_handlers)
        return handlers

    # -- what pages show ---------------------------------------------------------------------

    def nav(self, user: User | None) -> list[NavEntry]:
        """The top bar for ``user``: each module's entries their role may see, then Reports.

        Reports appears when the user may read at least one report; it opens
        the page that lists them (``reports``).
        """
        if user is None:
            return []
        entries = [e for m in self.modules for e in m.nav if user.role in e.roles]
        if self.reports(user):
            entries.append(NavEntry(N_("Reports"), REPORTS_PATH, frozenset({user.role})))
        return entries

    def reports(self, user: User | None) -> list[tuple[Module, list[ReportLink]]]:
        """Each module's report links the user's role reads, grouped by module.

        A link without roles is for the report readers (supervisors, owners, admins).
        """
        if user is None:
            return []
        from aftersales.core.auth import MANAGERS

        found = []
        for module in self.modules:
            links = [r for r in module.reports if user.role in (r.roles or MANAGERS)]
            if links:
                found.append((module, links))
        return found

    def order_links(self, user: User | None = None) -> list[OrderLink]:
        """The actions every module offers on an order page, those ``user`` may take."""
        return [
            link
            for module in self.modules
            for link in module.order_links
            if link.roles is None or (user is not None and user.role in link.roles)
        ]

    def store_links(self, user: User | None = None) -> list[StoreLink]:
        """Every module's per-store settings pages for a store page, those ``user`` may open."""
        return [
            link
            for module in self.modules
            for link in module.store_links
            if link.roles is None or (user is not None and user.role in link.roles)
        ]

    async def dashboard_tiles(self, user: User) -> list[tuple[Module, list[Tile]]]:
        """The home page's sections: each module's tiles for ``user``, empty ones left out."""
        sections = []
        for module in self.modules:
            if module.dashboard_tiles is not None:
                tiles = await self._isolated(
                    module, "dashboard_tiles", module.dashboard_tiles(user)
                )
                if tiles:
                    sections.append((module, list(tiles)))
        return sections

    async def home_notices(self, user: User) -> list[Notice]:
        """What ``user`` must read before anything else, every module's, in module order.

        Shown at the top of the home page above the tiles; a module whose hook
        fails is logged and left out, the page still shows.
        """
        notices: list[Notice] = []
        for module in self.modules:
            if module.home_notices is not None:
                found = await self._isolated(module, "home_notices", module.home_notices(user))
                notices.extend(found or ())
        return notices

    async def handover_items(self, window: HandoverWindow) -> list[HandoverItem]:
        """Every module's open items for a shift window, in module order."""
        items: list[HandoverItem] = []
        for module in self.modules:
            if module.handover_items is not None:
                found = await self._isolated(
                    module, "handover_items", module.handover_items(window)
                )
                items.extend(found or ())
        return items

    async def order_events(self, order_id: int) -> list[TimelineEvent]:
        """Every module's lines for an order's timeline (unsorted: the page sorts by time)."""
        events: list[TimelineEvent] = []
        for module in self.modules:
            if module.order_events is not None:
                found = await self._isolated(module, "order_events", module.order_events(order_id))
                events.extend(found or ())
        return events

    async def order_badges(self, order_ids: Sequence[int]) -> dict[int, list[Badge]]:
        """Every module's marks for the orders of one list page, in module order.

        Asked once per page with the page's ids (no query per row); a module
        whose hook fails is logged and its badges left out, the list still shows.
        """
        badges: dict[int, list[Badge]] = {}
        if not order_ids:
            return badges
        for module in self.modules:
            if module.order_badges is not None:
                found = await self._isolated(
                    module, "order_badges", module.order_badges(list(order_ids))
                )
                for order_id, marks in (found or {}).items():
                    badges.setdefault(order_id, []).extend(marks)
        return badges

    async def buyer_flags(
        self, customer_ids: Sequence[int], *, keys: Collection[str] | None = None
    ) -> dict[int, list[BuyerFlag]]:
        """Every module's flags for the buyers one page shows, in module order.

        Asked once per page (a queue's rows, a case's buyer) with the page's
        customer ids, so a queue costs one query per module, not one per row.
        A module whose hook fails is logged and its flags left out; the tags
        and the page still show. ``keys`` keeps only flags of those keys and
        does not ask a module whose ``buyer_flag_keys`` has none of them
        (the handover, which only wants to know who is VIP or angry).
        """
        flags: dict[int, list[BuyerFlag]] = {}
        if not customer_ids:
            return flags
        wanted = None if keys is None else frozenset(keys)
        for module in self.modules:
            if module.buyer_flags is None:
                continue
            declared = module.buyer_flag_keys
            if wanted is not None and declared is not None and not wanted & declared:
                continue
            found = await self._isolated(
                module, "buyer_flags", module.buyer_flags(list(customer_ids))
            )
            for customer_id, marks in (found or {}).items():
                kept = [m for m in marks if wanted is None or m.key in wanted]
                if kept:
                    flags.setdefault(customer_id, []).extend(kept)
        return flags

    async def resolve_case(self, ref: CaseRef) -> ResolvedCase | None:
        """Title, link and live state of the case ``ref`` names, from the module owning it.

        ``ref.module`` picks the module; None when it is not enabled, has no
        resolver, or its resolver failed (logged): a handover item pointing at
        a switched-off module still shows, without a link.
        """
        module = self._by_name.get(getattr(ref, "module", ""))
        if module is None or module.resolve_case is None:
            return None
        return await self._isolated(module, "resolve_case", module.resolve_case(ref))

    async def resolve_cases(self, refs: Iterable[CaseRef]) -> dict[CaseRef, ResolvedCase]:
        """``resolve_case`` for every ref of a list page, one query per module, not per row.

        Refs are grouped by the module owning them; a module with a
        ``resolve_cases`` hook answers its group at once, one with only
        ``resolve_case`` ref by ref. Refs that resolve to nothing (gone,
        switched-off module, failed hook, logged) are left out of the answer.
        """
        groups: dict[str, list[CaseRef]] = {}
        for ref in refs:
            groups.setdefault(ref.module, []).append(ref)
        resolved: dict[CaseRef, ResolvedCase] = {}
        for name, group in groups.items():
            module = self._by_name.get(name)
            if module is None:
                continue
            if module.resolve_cases is not None:
                batch = await self._isolated(module, "resolve_cases", module.resolve_cases(group))
                resolved.update(batch or {})
                continue
            for ref in dict.fromkeys(group):
                one = await self.resolve_case(ref)
                if one is not None:
                    resolved[ref] = one
        return resolved

    async def phrase_context(self, ref: CaseRef) -> PhraseContext | None:
        """What the case ``ref`` tells a quick reply, from the module owning it.

        The placeholders' values (buyer nick, order number, amount, ...) and
        the facts of the case (shipped or not) that a reply may contradict.
        None when the module is not enabled, answers nothing for it, or
        failed (logged): the picker then shows the phrases with markers.
        """
        module = self._by_name.get(getattr(ref, "module", ""))
        if module is None or module.phrase_context is None:
            return None
        return await self._isolated(module, "phrase_context", module.phrase_context(ref))

    # -- the rota ----------------------------------------------------------------------------

    async def shifts_at(self, at: datetime) -> list[ShiftSlot]:
        """The shift runs going on at ``at``, from the module keeping the rota, by start.

        Empty when no module keeps one, none is defined, or its hook failed
        (logged): callers then fall back to ``shifts.current_shift_end``.
        """
        slots: list[ShiftSlot] = []
        for module in self.modules:
            if module.shifts_at is not None:
                found = await self._isolated(module, "shifts_at", module.shifts_at(at))
                slots.extend(found or ())
        return sorted(slots, key=lambda s: (s.start, s.end, s.key))

    async def agents_on_shift(self, at: datetime) -> list[int]:
        """The ids of the people the rota has on shift at ``at`` (round-robin, escalation)."""
        return sorted({uid for slot in await self.shifts_at(at) for uid in slot.user_ids})

    async def next_shift(self, at: datetime) -> ShiftSlot | None:
        """The first shift run starting after ``at`` (None: no rota, or nothing planned)."""
        found: list[ShiftSlot] = []
        for module in self.modules:
            if module.next_shift is not None:
                slot = await self._isolated(module, "next_shift", module.next_shift(at))
                if slot is not None:
                    found.append(slot)
        return min(found, key=lambda s: (s.start, s.key), default=None)

    async def shift_end(self, at: datetime, tz: ZoneInfo) -> datetime:
        """When the shift running at ``at`` ends: the "this shift" due filter's bound.

        The earliest end among the rota's runs at ``at``; without a rota (or
        between shifts) the default day and night shifts in ``tz``.
        """
        running = await self.shifts_at(at)
        if running:
            return min(slot.end for slot in running).astimezone(at.tzinfo)
        return shifts.current_shift_end(at, tz)

    def seed_phrases(self) -> list[SeedPhrase]:
        """Every enabled module's shipped team quick replies, in module order (for seeding)."""
        return [phrase for module in self.modules for phrase in module.phrases]

    # -- start-up and domain events ----------------------------------------------------------

    async def on_startup(self) -> None:
        """Await every module's ``on_startup`` once; one that fails is logged, the desk starts."""
        for module in self.modules:
            if module.on_startup is not None:
                await self._isolated(module, "on_startup", module.on_startup())

    async def emit(self, event: str, /, **payload: Any) -> None:
        """Tell every module subscribed to ``event``; the emitter never waits on a sibling's error.

        Each subscriber runs in a savepoint of the caller's transaction (or a
        transaction of its own outside one): its writes commit together with
        the change that caused the event, and one that raises is rolled back
        alone and logged with its module's name.
        """
        assert event in DOMAIN_EVENTS or any(event in m.emits for m in self.modules), event
        from tortoise.transactions import in_transaction

        for module in self.modules:
            handler = module.subscribers.get(event)
            if handler is None:
                continue
            try:
                async with in_transaction():
                    await handler(**payload)
            except Exception:
                log.exception("modules.subscriber_failed module=%s event=%s", module.name, event)

    # -- per-store settings ------------------------------------------------------------------

    def store_setting(self, store: Any, module: str, key: str) -> Any:
        """A store's value of a setting ``module`` declares, else the declared default.

        A key the module does not declare is a programmer error (KeyError):
        every per-store setting has a default and an owner.
        """
        defaults = self._by_name[module].store_settings
        if key not in defaults:
            raise KeyError(f"module {module!r} declares no store setting {key!r}")
        value = (store.settings or {}).get(key)
        return copy.deepcopy(defaults[key]) if value is None else value

    def store_setting_fields(self) -> list[tuple[Module, list[SettingField]]]:
        """Each module's settings the store's settings page edits, in module order.

        Only modules that describe at least one setting (``store_setting_fields``)
        are listed; a setting without a field (a policy with its own page) is not.
        """
        return [(m, list(m.store_setting_fields)) for m in self.modules if m.store_setting_fields]

    async def update_store_settings(
        self, store: Any, module: str, changes: Mapping[str, Any], conn: Any
    ) -> dict[str, Any]:
        """Write ``module``'s own keys of a store's settings, leaving every other key alone.

        Re-reads the row inside ``conn``'s transaction (locked on PostgreSQL),
        so a key another module or page wrote since ``store`` was loaded is
        kept rather than overwritten with a stale copy. Returns the new
        settings and updates ``store`` in place.
        """
        from aftersales.core.models import Store

        defaults = self._by_name[module].store_settings
        unknown = set(changes) - set(defaults)
        if unknown:
            raise KeyError(f"module {module!r} declares no store settings {sorted(unknown)}")
        query = Store.filter(id=store.id).using_db(conn)
        if conn.capabilities.dialect == "postgres":
            query = query.select_for_update()
        fresh = await query.first()  # a model, not values_list: that drops FOR UPDATE
        merged: dict[str, Any] = {**(fresh.settings if fresh else {}), **changes}
        await Store.filter(id=store.id).using_db(conn).update(settings=merged)
        store.settings = merged
        return merged

    async def _isolated(self, module: Module, hook: str, call: Awaitable[T]) -> T | None:
        try:
            return await call
        except Exception:
            log.exception("modules.hook_failed module=%s hook=%s", module.name, hook)
            return None


REPORTS_PATH = "/reports/"

_current: Registry | None = None


def install(registry: Registry) -> Registry:
    """Make ``registry`` the process's own, the one services emit domain events through.

    The app factory, the worker and the CLI each install the registry they
    built at start-up.
    """
    global _current
    _current = registry
    return registry


def current() -> Registry:
    """The installed registry; without one (a script, a test), every installed module."""
    global _current
    if _current is None:
        _current = Registry(all_modules())
    return _current


async def emit(event: str, /, **payload: Any) -> None:
    """Emit a domain event through the process's registry (``Registry.emit``)."""
    await current().emit(event, **payload)
