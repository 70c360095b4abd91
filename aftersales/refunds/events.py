"""The refunds module's stored words: its audit events, statuses and kinds, as labels.

Beside the enums so a new status or event is labelled where it is added;
``core/labels.py`` gathers these maps and pages show them with
``label(kind, value)``, so core's shared macros never name a refund word.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.i18n import N_
from aftersales.refunds.models import EvidenceKind, RefundKind, RefundStatus

EVENTS: dict[str, str] = {
    "refund.received": N_("Request received from the platform"),
    "refund.started": N_("Refund started by the shop"),
    "refund.approved": N_("Approved"),
    "refund.rejected": N_("Refused"),
    "refund.written_back": N_("Platform told"),
    "refund.writeback_failed": N_("Write-back failed"),
    "refund.writeback_retried": N_("Write-back retried"),
    "refund.platform_changed": N_("Changed on the platform"),
    "refund.escalated": N_("Escalated: past its deadline"),
    "refund.assigned": N_("Taken by an agent"),
    "refund.given": N_("Given to a colleague"),
    "refund.linked": N_("Worked in its return case"),
    "refund.unlinked": N_("Back to the refund queue: its return case ended"),
    "refund.evidence_added": N_("Evidence added"),
    "refund.rules_changed": N_("Refund rules changed"),
}

STATUSES: dict[str, str] = {
    RefundStatus.REQUESTED: N_("Requested"),
    RefundStatus.APPROVED: N_("Approved"),
    RefundStatus.WAITING_RETURN: N_("Waiting for the return"),
    RefundStatus.REFUNDING: N_("Refunding"),
    RefundStatus.REFUNDED: N_("Refunded"),
    RefundStatus.WRITEBACK_FAILED: N_("Write-back failed"),
    RefundStatus.REJECTED: N_("Refused"),
    RefundStatus.CANCELLED: N_("Cancelled"),
    RefundStatus.DISPUTED: N_("Platform stepped in"),
}

KINDS: dict[str, str] = {
    RefundKind.REFUND_ONLY: N_("Refund only"),
    RefundKind.RETURN_AND_REFUND: N_("Return and refund"),
    RefundKind.SHIPPING: N_("Shipping refund"),
    RefundKind.PRICE_DIFFERENCE: N_("Price difference"),
    RefundKind.COMPENSATION: N_("Compensation"),
}

EVIDENCE_KINDS: dict[str, str] = {
    EvidenceKind.PHOTO: N_("Photo"),
    EvidenceKind.CHAT: N_("Chat excerpt"),
    EvidenceKind.NOTE: N_("Note"),
}

LABELS: Mapping[str, Mapping[str, str]] = {
    "event": EVENTS,
    "refund_status": STATUSES,
    "refund_kind": KINDS,
    "evidence_kind": EVIDENCE_KINDS,
}
