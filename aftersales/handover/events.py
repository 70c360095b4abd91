"""The handover module's stored words: its audit events, item states and promise statuses.

Beside the enums so a new state is labelled where it is added; pages show
them with ``label(kind, value)``.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.i18n import N_
from aftersales.handover.models import ItemState, PromiseStatus

EVENTS: dict[str, str] = {
    "handover_drafted": N_("Handover drafted"),
    "handover_handed_over": N_("Handed over"),
    "handover_acknowledged": N_("Handover acknowledged"),
    "handover_item_acknowledged": N_("Item read back"),
    "handover_item_done": N_("Item marked done"),
    "handover_note_added": N_("Note added to the handover"),
    "handover_escalated": N_("Supervisor told: handover not acknowledged"),
    "promise_made": N_("Promise made"),
    "promise_kept": N_("Promise kept"),
    "promise_broken": N_("Promise not kept"),
    "shift.created": N_("Shift added"),
    "shift.changed": N_("Shift changed"),
    "shift.deactivated": N_("Shift switched off"),
    "rota.changed": N_("Rota changed"),
    "rota.copied": N_("Rota copied from the week before"),
}

ITEM_STATES: dict[str, str] = {
    ItemState.OPEN: N_("Open"),
    ItemState.DONE: N_("Done"),
    ItemState.CARRIED: N_("Carried over"),
}

PROMISE_STATUSES: dict[str, str] = {
    PromiseStatus.OPEN: N_("To keep"),
    PromiseStatus.KEPT: N_("Kept"),
    PromiseStatus.BROKEN: N_("Broken"),
}

LABELS: Mapping[str, Mapping[str, str]] = {
    "event": EVENTS,
    "handover_item_state": ITEM_STATES,
    "promise_status": PROMISE_STATUSES,
}
