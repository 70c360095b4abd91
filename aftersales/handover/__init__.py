"""Shift handover: the rota, the lists written at each shift end, promises and the diary.

Handover reads every other module only through registry hooks (their
``handover_items``, ``resolve_case``(s) and ``buyer_flags``); nothing here
imports a sibling. It answers the registry's rota hooks (``shifts_at``,
``next_shift``), so reviews' round-robin and escalation ask core who is on.
"""

from aftersales.core.i18n import N_
from aftersales.core.modules import Module
from aftersales.handover import events, rota

module = Module(
    name="handover",
    label=N_("Handover"),
    models="aftersales.handover.models",
    migrations="aftersales.handover.migrations",
    shifts_at=rota.shifts_at,
    next_shift=rota.next_shift,
    labels=events.LABELS,
)
