"""The complaints module's stored words, beside its enums: audit events and statuses."""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.i18n import N_
from tests.plugins.complaints.models import ComplaintStatus

EVENTS: dict[str, str] = {
    "complaint.opened": N_("Complaint received"),
    "complaint.answered": N_("Complaint answered"),
    "complaint.reopened": N_("Complaint reopened"),
    "complaint.closed": N_("Complaint closed"),
    "complaint.assigned": N_("Taken by an agent"),
    "complaint.escalated": N_("Escalated: past its deadline"),
}

STATUSES: dict[str, str] = {
    ComplaintStatus.OPEN: N_("Open"),
    ComplaintStatus.ANSWERED: N_("Answered"),
    ComplaintStatus.CLOSED: N_("Closed"),
}

LABELS: Mapping[str, Mapping[str, str]] = {"event": EVENTS, "complaint_status": STATUSES}
