"""Core's stored words: its audit events, the roles and the shared reasons, as labels.

Beside the enums they label, so a new role or event is labelled where it is
added; ``core/labels.py`` gathers these with every other module's.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.i18n import N_
from aftersales.core.models import OutboxStatus, PhraseCategory, Role
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
    "phrase.created": N_("Quick reply added"),
    "phrase.changed": N_("Quick reply changed"),
    "phrase.deleted": N_("Quick reply deleted"),
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

# Quick replies: what each is for, and the language the buyer reads it in.
PHRASE_CATEGORIES: dict[str, str] = {
    PhraseCategory.GREETING: N_("Greeting"),
    PhraseCategory.APPROVE: N_("Approval"),
    PhraseCategory.REFUSE: N_("Refusal"),
    PhraseCategory.ASK_PHOTOS: N_("Ask for photos"),
    PhraseCategory.WHERE_IS_PARCEL: N_("Where is my parcel"),
    PhraseCategory.APOLOGY: N_("Apology"),
    PhraseCategory.RETURN_ADDRESS: N_("Return address"),
    PhraseCategory.REVIEW_EXPLANATION: N_("Review explanation"),
}
PHRASE_LANGUAGES: dict[str, str] = {"zh-CN": N_("Chinese"), "en": N_("English")}

LABELS: Mapping[str, Mapping[str, str]] = {
    "event": EVENTS,
    "role": ROLES,
    "reason": {code.value: msgid for code, msgid in REASON_LABELS.items()},
    "outbox_status": OUTBOX_STATUSES,
    "phrase_category": PHRASE_CATEGORIES,
    "phrase_language": PHRASE_LANGUAGES,
}
