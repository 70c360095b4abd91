"""Core's stored words: its audit events, the roles and the shared reasons, as labels.

Beside the enums they label, so a new role or event is labelled where it is
added; ``core/labels.py`` gathers these with every other module's.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.i18n import N_
from aftersales.core.models import OutboxStatus, Role
from aftersales.core.reasons import LABELS as REASON_LABELS

EVENTS: dict[str, str] = {
    "user.created": N_("User created"),
    "user.activated": N_("User reactivated"),
    "user.deactivated": N_("User deactivated"),
    "user.password_changed": N_("Password changed"),
    "user.password_reset": N_("Password reset by an administrator"),
    "user.role_changed": N_("Role changed"),
    "user.display_name_changed": N_("Display name changed"),
    "token.created": N_("API token created"),
    "token.revoked": N_("API token revoked"),
    # On a case's own timeline (core/referrals.py), whichever module the case is of.
    "referral.sent": N_("Sent to a supervisor"),
    "referral.closed": N_("Decided after it was sent to a supervisor"),
}

ROLES: dict[str, str] = {
    Role.AGENT: N_("Agent"),
    Role.NIGHT_AGENT: N_("Night-shift agent"),
    Role.SUPERVISOR: N_("Supervisor"),
    Role.OWNER: N_("Owner"),
    Role.ADMIN: N_("Administrator"),
}

# Where an outside write stands (a refund's write-back card shows it).
OUTBOX_STATUSES: dict[str, str] = {
    OutboxStatus.PENDING: N_("Waiting to be sent"),
    OutboxStatus.SENDING: N_("Being sent"),
    OutboxStatus.DELIVERED: N_("Delivered to the platform"),
    OutboxStatus.FAILED: N_("Sending failed"),
}

LABELS: Mapping[str, Mapping[str, str]] = {
    "event": EVENTS,
    "role": ROLES,
    "reason": {code.value: msgid for code, msgid in REASON_LABELS.items()},
    "outbox_status": OUTBOX_STATUSES,
}
