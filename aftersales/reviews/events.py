"""The reviews module's stored words: audit events, statuses, outcomes, channels.

Beside the enums so a new value is labelled where it is added; pages show
them with ``label(kind, value)``.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.i18n import N_
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import (
    ContactChannel,
    ContactResult,
    RemedyKind,
    ReplyState,
    ReviewCaseStatus,
    ReviewOutcome,
    ReviewResult,
)

EVENTS: dict[str, str] = {
    "review_case.opened": N_("Follow-up opened"),
    "review_case.triaged": N_("Triaged"),
    "review_case.contacting": N_("Contacting the buyer"),
    "review_case.contact": N_("Contact logged"),
    "review_case.remedy_offered": N_("Remedy offered"),
    "review_case.explanation_posted": N_("Explanation posted"),
    "review_case.awaiting_buyer": N_("Waiting for the buyer"),
    "review_case.closed": N_("Closed"),
    "review_case.revised": N_("The buyer revised the rating"),
    "review_case.escalated": N_("Escalated: untouched for a day"),
    "review_case.assigned": N_("Taken by an agent"),
    "review_case.given": N_("Given to a colleague"),
    "review_case.rotated": N_("Given by rotation to an agent on shift"),
    "review_case.corrected": N_("Sentiment or reasons corrected"),
    "review_case.platform_changed": N_("Changed on the platform"),
    "review_case.reply_queued": N_("Reply queued for the platform"),
    "review_case.reply_ready": N_("Reply ready to paste in the back office"),
    "review_case.reply_failed": N_("The platform refused the reply"),
}

STATUSES: dict[str, str] = {
    ReviewCaseStatus.NEW: N_("New"),
    ReviewCaseStatus.TRIAGED: N_("Triaged"),
    ReviewCaseStatus.CONTACTING: N_("Contacting the buyer"),
    ReviewCaseStatus.REMEDY_OFFERED: N_("Remedy offered"),
    ReviewCaseStatus.EXPLANATION_POSTED: N_("Explanation posted"),
    ReviewCaseStatus.AWAITING_BUYER: N_("Waiting for the buyer"),
    ReviewCaseStatus.CLOSED: N_("Closed"),
}

OUTCOMES: dict[str, str] = {
    ReviewOutcome.REVISED: N_("Revised by the buyer"),
    ReviewOutcome.POSITIVE_FOLLOW_UP: N_("Positive follow-up review"),
    ReviewOutcome.UNCHANGED: N_("Unchanged"),
    ReviewOutcome.MALICIOUS: N_("Reported as malicious"),
    ReviewOutcome.WINDOW_EXPIRED: N_("Window expired"),
}

RESULTS: dict[str, str] = {
    ReviewResult.GOOD: N_("Good rating"),
    ReviewResult.NEUTRAL: N_("Neutral rating"),
    ReviewResult.BAD: N_("Bad rating"),
}

SENTIMENTS: dict[str, str] = {
    Sentiment.NEGATIVE: N_("Negative"),
    Sentiment.NEUTRAL: N_("Neutral"),
    Sentiment.POSITIVE: N_("Positive"),
}

CHANNELS: dict[str, str] = {
    ContactChannel.CHAT: N_("Platform chat"),
    ContactChannel.PHONE: N_("Phone"),
    ContactChannel.SMS: N_("Text message"),
    ContactChannel.EMAIL: N_("Email"),
}

CONTACT_RESULTS: dict[str, str] = {
    ContactResult.REACHED: N_("Reached the buyer"),
    ContactResult.NO_ANSWER: N_("No answer"),
    ContactResult.REFUSED: N_("The buyer did not want to talk"),
    ContactResult.LEFT_MESSAGE: N_("Left a message"),
}

REMEDIES: dict[str, str] = {
    RemedyKind.COMPENSATION: N_("Compensation"),
    RemedyKind.RESEND: N_("Resend"),
    RemedyKind.COUPON: N_("Coupon"),
    RemedyKind.OTHER: N_("Other"),
}

REPLY_STATES: dict[str, str] = {
    ReplyState.NONE: N_("No reply yet"),
    ReplyState.QUEUED: N_("Reply queued for the platform"),
    ReplyState.POSTED: N_("Reply posted"),
    ReplyState.MANUAL: N_("Reply ready to paste in the platform's back office"),
    ReplyState.PASTED: N_("Reply pasted in the back office"),
    ReplyState.FAILED: N_("Reply failed"),
}

LABELS: Mapping[str, Mapping[str, str]] = {
    "event": EVENTS,
    "review_case_status": STATUSES,
    "review_outcome": OUTCOMES,
    "review_result": RESULTS,
    "sentiment": SENTIMENTS,
    "contact_channel": CHANNELS,
    "contact_result": CONTACT_RESULTS,
    "remedy_kind": REMEDIES,
    "reply_state": REPLY_STATES,
}
