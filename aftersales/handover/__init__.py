"""Shift handover: the rota, the lists written at each shift end, promises and the diary.

Handover reads every other module only through registry hooks (their
``handover_items``, ``resolve_case``(s) and ``buyer_flags``); nothing here
imports a sibling. It answers the registry's rota hooks (``shifts_at``,
``next_shift``), so reviews' round-robin and escalation ask core who is on.
"""

from aftersales.core.auth import EVERYONE, MANAGERS
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.modules import Module, NavEntry, Notice, Tile
from aftersales.core.setting_fields import SettingField
from aftersales.handover import (
    escalation,
    events,
    jobs,
    promises,
    rota,
    rota_api,
    rota_routes,
    routes,
    service,
)
from aftersales.handover.api import api_routes
from aftersales.handover.models import HandoverEntry


async def home_notices(user: User) -> list[Notice]:
    """For the people on shifts: the handover to read first, and promises due now.

    For supervisors, owners and admins also every handover not acknowledged
    in time (``escalation``), with how many urgent items nobody read back.

    The incoming handover shows until someone acknowledges it, so the night
    agent signing in reads it before anything else.
    """
    notices: list[Notice] = []
    if user.role in MANAGERS:
        # The supervisor's alarm: each list nobody took over in time, with its unread items.
        for late in (await escalation.overdue()).handovers:
            unread = await HandoverEntry.filter(
                handover_id=late.id, urgent=True, acknowledged_at__isnull=True
            ).count()
            notices.append(
                Notice(
                    N_(
                        "Handover from %(shift)s not acknowledged: "
                        "%(urgent)s urgent items not read back"
                    ),
                    {"shift": late.from_name, "urgent": unread},
                    f"/handover/{late.id}",
                    "alert",
                )
            )
    if user.role not in service.ACTORS:
        return notices
    handover = await service.incoming()
    # Not for the agent who handed it over: the next shift takes it over.
    if (
        handover is not None
        and handover.acknowledged_at is None
        and handover.handed_over_by_id != user.id
    ):
        entries = HandoverEntry.filter(handover_id=handover.id)
        notices.append(
            Notice(
                N_("Handover from %(shift)s: %(count)s items, %(urgent)s urgent"),
                {
                    "shift": handover.from_name,
                    "count": await entries.count(),
                    "urgent": await entries.filter(urgent=True).count(),
                },
                f"/handover/{handover.id}",
                "alert",
            )
        )
    due = len(await promises.due())
    if due:
        notices.append(
            Notice(
                N_("Promises to buyers due now: %(count)s"),
                {"count": due},
                "/handover/promises",
                "warn",
            )
        )
    return notices


async def dashboard_tiles(user: User) -> list[Tile]:
    """Unacknowledged handovers for supervisors (promises due are a notice, at the top)."""
    tiles: list[Tile] = []
    if user.role in MANAGERS:
        late = await escalation.overdue()
        if late.handovers:
            tiles.append(
                Tile(
                    N_("Handovers not acknowledged"),
                    len(late.handovers),
                    "/handover/diary?late=1",
                    "alert",
                )
            )
    return tiles


module = Module(
    name="handover",
    label=N_("Handover"),
    models="aftersales.handover.models",
    migrations="aftersales.handover.migrations",
    functions=jobs.functions,
    cron_jobs=jobs.cron_jobs,
    dashboard_tiles=dashboard_tiles,
    home_notices=home_notices,
    routes=[*routes.routes, *rota_routes.routes],
    nav=[
        NavEntry(N_("Handover"), "/handover/", EVERYONE),
        NavEntry(N_("Rota"), "/handover/rota", EVERYONE),  # shifts: linked from the rota
    ],
    handover_items=promises.handover_items,
    resolve_case=promises.resolve_case,
    resolve_cases=promises.resolve_cases,
    shifts_at=rota.shifts_at,
    next_shift=rota.next_shift,
    labels=events.LABELS,
    api_routes=[*api_routes, *rota_api.api_routes],
    store_settings={escalation.SETTING: escalation.DEFAULT_MINUTES},
    store_setting_fields=[
        SettingField(
            escalation.SETTING,
            N_("Tell the supervisor about an unacknowledged handover after"),
            N_(
                "A handover nobody has acknowledged, or an urgent item nobody has read back, "
                "shows on the supervisor's home page this long after the shift change."
            ),
            minimum=5,
            maximum=240,
            unit=N_("minutes"),
        )
    ],
)
