"""Shift handover: the rota, the lists written at each shift end, promises and the diary.

Handover reads every other module only through registry hooks (their
``handover_items``, ``resolve_case``(s) and ``buyer_flags``); nothing here
imports a sibling. It answers the registry's rota hooks (``shifts_at``,
``next_shift``), so reviews' round-robin and escalation ask core who is on.
"""

from aftersales.core.auth import MANAGERS
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.modules import Module, Tile
from aftersales.core.setting_fields import SettingField
from aftersales.handover import escalation, events, jobs, promises, rota, service
from aftersales.handover.api import api_routes


async def dashboard_tiles(user: User) -> list[Tile]:
    """Promises due now for the people on shifts; unacknowledged handovers for supervisors."""
    tiles: list[Tile] = []
    if user.role in service.ACTORS:
        due = len(await promises.due())
        if due:
            tiles.append(Tile(N_("Promises due now"), due, "/handover/promises", "alert"))
    if user.role in MANAGERS:
        late = await escalation.overdue()
        if late.handovers:
            tiles.append(
                Tile(N_("Handovers not acknowledged"), len(late.handovers), "/handover/", "alert")
            )
        if late.urgent_items:
            tiles.append(
                Tile(
                    N_("Urgent handover items not read back"),
                    late.urgent_items,
                    "/handover/",
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
    handover_items=promises.handover_items,
    resolve_case=promises.resolve_case,
    resolve_cases=promises.resolve_cases,
    shifts_at=rota.shifts_at,
    next_shift=rota.next_shift,
    labels=events.LABELS,
    api_routes=api_routes,
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
