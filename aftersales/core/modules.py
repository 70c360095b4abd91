"""The module registry: built-in modules and entry-point plugins load alike.

A module is a declarative manifest (``Module``). The desk never imports a
module's insides by name: it reads routes, nav, jobs and hooks from here, so
a third-party package that registers ``aftersales.modules`` entry point is
as much at home as ``refunds``.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from aftersales.core.cases import CaseRef, CaseResolver, HandoverItem, ResolvedCase
from aftersales.core.errors import ConfigError

if TYPE_CHECKING:
    from aftersales.core.config import Settings
    from aftersales.core.models import Role, User

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
class HandoverWindow:
    """The shift a handover list is for: items due before ``end`` matter."""

    start: datetime
    end: datetime


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
class ReportLink:
    label: str
    path: str


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


@dataclass
class Module:
    """The manifest of one desk module.

    Hooks, each optional:

    - ``dashboard_tiles(user)``: awaitable list of ``Tile`` for the home page;
      called for every signed-in user, so it must filter by role itself.
    - ``handover_items(window)``: awaitable list of ``HandoverItem`` (``core.cases``)
      that are open or fall due in the window; the handover module gathers them.
    - ``resolve_case(ref)``: the title, link and state of one of its cases
      named by a ``CaseRef``, or None (``resolve_case()`` below asks the owner).
    - ``outbox_handlers``: outbox kind -> ``OutboxHandler``.
    - ``record_handlers``: sync stream (``after_sales``, ``reviews``) -> ``RecordHandler``.
    - ``hooks``: routes mounted under ``/hooks/`` without login (signed webhooks).
    - ``reports``: report pages listed under Reports for owners.
    - ``order_events(order_id)``: awaitable list of ``TimelineEvent`` for the
      order detail page (a refund decided, a review received).
    - ``order_links``: actions offered on the order page (start a refund).
    - ``labels``: kind (``event``, ``refund_status``, ...) -> value -> English
      msgid, the module's stored words as pages show them (see ``core/labels.py``).
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
    hooks: Sequence[BaseRoute] = ()
    dashboard_tiles: Callable[[User], Awaitable[list[Tile]]] | None = None
    handover_items: Callable[[HandoverWindow], Awaitable[list[HandoverItem]]] | None = None
    resolve_case: CaseResolver | None = None
    reports: Sequence[ReportLink] = ()
    order_events: Callable[[int], Awaitable[list[TimelineEvent]]] | None = None
    order_links: Sequence[OrderLink] = ()
    templates: Path | None = None
    can_disable: bool = True
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _load(ref: str) -> Module:
    module_path, _, attr = ref.partition(":")
    obj = getattr(importlib.import_module(module_path), attr or "module")
    if not isinstance(obj, Module):
        raise ConfigError(f"{ref} is not an aftersales Module")
    return obj


def all_modules() -> list[Module]:
    """Built-in modules first, then every installed plugin, each name once."""
    found: dict[str, Module] = {}
    refs = list(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        refs.append(ep.value)
    for ref in refs:
        module = _load(ref)
        if module.name in found and found[module.name] is not module:
            raise ConfigError(f"two modules are named {module.name!r} ({ref})")
        found[module.name] = module
    return list(found.values())


def enabled_modules(settings: Settings) -> list[Module]:
    unknown = settings.disabled_modules - {m.name for m in all_modules()}
    if unknown:
        raise ConfigError(f"AFTERSALES_DISABLED_MODULES names unknown modules: {sorted(unknown)}")
    return [m for m in all_modules() if not (m.can_disable and m.name in settings.disabled_modules)]


async def resolve_case(modules: Sequence[Module], ref: CaseRef) -> ResolvedCase | None:
    """What ``ref`` points at now, asked of the module that owns it; None if gone."""
    for module in modules:
        if module.name == ref.module and module.resolve_case is not None:
            return await module.resolve_case(ref)
    return None


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


def outbox_handlers(modules: Sequence[Module]) -> dict[str, OutboxHandler]:
    handlers: dict[str, OutboxHandler] = {}
    for module in modules:
        handlers.update(module.outbox_handlers)
    return handlers
