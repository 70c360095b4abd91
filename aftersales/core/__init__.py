"""The desk's core: config, database, auth, jobs, outbox and the module registry.

Everything here is shared by the domain modules and imports none of them.
"""

from aftersales.core import waiting as _waiting
from aftersales.core import writebacks as _writebacks
from aftersales.core.api import api_routes as _api_routes
from aftersales.core.auth import EVERYONE, MANAGERS
from aftersales.core.events import LABELS as _labels
from aftersales.core.i18n import N_
from aftersales.core.models import Role
from aftersales.core.modules import Module, NavEntry
from aftersales.core.phrase_api import api_routes as _phrase_api
from aftersales.core.phrase_routes import routes as _phrase_routes
from aftersales.core.routes import routes as _routes

module = Module(
    name="core",
    label=N_("Desk"),
    models="aftersales.core.models",
    migrations="aftersales.core.migrations",
    routes=[*_routes, *_waiting.routes, *_phrase_routes],
    api_routes=[*_api_routes, *_waiting.api_routes, *_phrase_api],
    nav=[
        NavEntry(_waiting.TILE, _waiting.PATH, MANAGERS),
        NavEntry(N_("Quick replies"), "/phrases/", EVERYONE),
        NavEntry(N_("Users"), "/users/", frozenset({Role.ADMIN})),
    ],
    dashboard_tiles=_waiting.dashboard_tiles,
    # Write-backs that failed for good, until delivered (``core:outbox:<id>``).
    handover_items=_writebacks.handover_items,
    resolve_case=_writebacks.resolve_case,
    resolve_cases=_writebacks.resolve_cases,
    can_disable=False,
    # The kernel's deadline timers a store overrides (``cases.timer``), written whole
    # by the store's settings page, which shows every declared timer.
    store_settings={"timers": {}},
    labels=_labels,
)
