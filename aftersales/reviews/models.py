"""Reviews as the platforms gave them, and the follow-up cases the negative ones open.

A review row is the platform's record plus what the desk concluded of it
(sentiment, reasons, which model said so, whether an agent corrected it).
It is kept for every review, good ones included, because the owner's rating
report counts all of them. A review case exists only for a negative or
flagged review, one per review.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from aftersales.core.cases import Case, CaseType
from aftersales.core.i18n import N_
from aftersales.reviews.classify import Sentiment

if TYPE_CHECKING:  # Tortoise resolves relations by name; these are for the type checker
    from aftersales.core.models import Store, User
    from aftersales.orders.models import Order
    from aftersales.refunds.models import Refund


class ReviewResult(StrEnum):
    """A platform's good/neutral/bad (好评/中评/差评). Star platforms map by the threshold."""

    GOOD = "good"
    NEUTRAL = "neutral"
    BAD = "bad"


class Review(Model):
    """One buyer review. ``platform_updated_at`` orders updates: an older one never wins."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    platform_review_id = fields.CharField(max_length=64)
    order: fields.ForeignKeyNullableRelation[Order] = fields.ForeignKeyField(
        "orders.Order", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    order_id: int | None
    platform_order_id = fields.CharField(max_length=64, default="")
    platform_item_id = fields.CharField(max_length=64, default="", db_index=True)
    product_title = fields.CharField(max_length=255, default="")
    reviewer_nick = fields.CharField(max_length=128, default="")
    rating = fields.SmallIntField(null=True)  # 1-5 where the platform gives stars
    result = fields.CharEnumField(ReviewResult, max_length=8, null=True)
    text = fields.TextField(default="")
    append_text = fields.TextField(null=True)  # 追评, the buyer's follow-up review
    appended_at = fields.DatetimeField(null=True)
    seller_reply = fields.TextField(null=True)  # as the platform shows it
    created_at = fields.DatetimeField(db_index=True)  # when the buyer rated
    platform_updated_at = fields.DatetimeField()
    synced_at = fields.DatetimeField()
    # What the desk concluded; ``negative`` is what opens a case.
    negative = fields.BooleanField(default=False, db_index=True)
    sentiment = fields.CharEnumField(Sentiment, max_length=8)
    confidence = fields.FloatField(default=0.0)
    reasons: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    model_version = fields.CharField(max_length=32, default="")
    corrected_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    corrected_by_id: int | None
    corrected_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reviews"
        unique_together = (("store", "platform_review_id"),)
        # The rating report reads a period of one store's reviews.
        indexes = (("store_id", "created_at"),)


class ReviewCaseStatus(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    CONTACTING = "contacting"
    REMEDY_OFFERED = "remedy_offered"
    EXPLANATION_POSTED = "explanation_posted"
    AWAITING_BUYER = "awaiting_buyer"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(set(ReviewCaseStatus) - {ReviewCaseStatus.CLOSED})


class ReviewOutcome(StrEnum):
    REVISED = "revised"  # the buyer changed the rating to good
    POSITIVE_FOLLOW_UP = "positive_follow_up"  # a kind 追评 after our contact
    UNCHANGED = "unchanged"
    MALICIOUS = "malicious"  # reported to the platform as 恶意差评
    WINDOW_EXPIRED = "window_expired"  # nothing more can be done on the platform


# Outcomes the report counts as turned around.
RECOVERED = frozenset({ReviewOutcome.REVISED, ReviewOutcome.POSITIVE_FOLLOW_UP})
# What a person may close a case with. "Revised" and "window expired" are facts the
# desk sees for itself (the synced rating, the clock): an agent choosing them would
# count a turnaround the buyer never made in the owner's report.
PEOPLE_OUTCOMES = (
    ReviewOutcome.POSITIVE_FOLLOW_UP,
    ReviewOutcome.UNCHANGED,
    ReviewOutcome.MALICIOUS,
)


class ReplyState(StrEnum):
    NONE = "none"
    QUEUED = "queued"  # in the outbox, the platform not yet told
    POSTED = "posted"  # the platform has it
    MANUAL = "manual"  # no API for it: the text waits to be pasted in the back office
    PASTED = "pasted"  # an agent says it was pasted
    FAILED = "failed"


class ReviewCase(Case):
    """The follow-up of one negative review, until the buyer revises or the windows close.

    ``explain_by`` and ``revise_by`` are the platform windows (per-store
    timers), and ``due_at`` is the nearer one still open. ``touched_at`` is the
    last thing an agent did, for the untouched-for-a-day escalation.
    """

    case_type = CaseType(
        "reviews",
        "review_case",
        N_("review follow-up"),
        states="aftersales.reviews.states",
        audit_subject="review_case",
        conflict_code="review_case_conflict",
        path="/reviews/cases/{id}",
    )

    review: fields.OneToOneRelation[Review] = fields.OneToOneField(
        "reviews.Review", related_name="case", on_delete=fields.CASCADE
    )
    review_id: int
    status = fields.CharEnumField(ReviewCaseStatus, max_length=24, db_index=True)
    outcome = fields.CharEnumField(ReviewOutcome, max_length=24, null=True)
    buyer_nick = fields.CharField(max_length=128, default="")
    explain_by = fields.DatetimeField(null=True)
    revise_by = fields.DatetimeField(null=True)
    first_contact_at = fields.DatetimeField(null=True)
    touched_at = fields.DatetimeField(null=True)
    reply_text = fields.TextField(default="")
    reply_state = fields.CharEnumField(ReplyState, max_length=8, default=ReplyState.NONE)
    reply_posted_at = fields.DatetimeField(null=True)
    action_keys = fields.JSONField(default=dict)  # Idempotency-Key -> the action it answered
    close_note = fields.TextField(default="")
    closed_at = fields.DatetimeField(null=True)

    contacts: fields.ReverseRelation[ContactAttempt]
    remedies: fields.ReverseRelation[Remedy]

    class Meta:
        table = "review_cases"
        # The rating report reads cases by when they were closed and first contacted.
        indexes = (("closed_at",), ("first_contact_at",))


class ContactChannel(StrEnum):
    CHAT = "chat"  # the platform's buyer chat (旺旺/千牛, 京麦, 飞鸽)
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"


class ContactResult(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    REFUSED = "refused"  # the buyer did not want to talk
    LEFT_MESSAGE = "left_message"


class ContactAttempt(Model):
    """One try to reach the buyer: when, how, what came of it."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[ReviewCase] = fields.ForeignKeyField(
        "reviews.ReviewCase", related_name="contacts", on_delete=fields.CASCADE
    )
    case_id: int
    channel = fields.CharEnumField(ContactChannel, max_length=8)
    result = fields.CharEnumField(ContactResult, max_length=16)
    note = fields.TextField(default="")
    contacted_at = fields.DatetimeField()
    by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    by_id: int | None

    class Meta:
        table = "review_contacts"


class RemedyKind(StrEnum):
    COMPENSATION = "compensation"  # money back through the refunds service
    RESEND = "resend"
    COUPON = "coupon"
    OTHER = "other"


class Remedy(Model):
    """What the shop offered, exactly, and why: never conditioned on the review.

    ``offer`` is the words the buyer was given. A compensation links the
    refund that pays it, which went through the agent's cap.
    """

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[ReviewCase] = fields.ForeignKeyField(
        "reviews.ReviewCase", related_name="remedies", on_delete=fields.CASCADE
    )
    case_id: int
    kind = fields.CharEnumField(RemedyKind, max_length=16)
    amount = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    offer = fields.TextField()
    refund: fields.ForeignKeyNullableRelation[Refund] = fields.ForeignKeyField(
        "refunds.Refund", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    refund_id: int | None
    offered_at = fields.DatetimeField()
    by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    by_id: int | None

    class Meta:
        table = "review_remedies"


class ShopScore(Model):
    """A store's shop rating scores (DSR) on one day, as the platform showed them.

    The Chinese marketplaces score a shop 1-5 on three things over the last
    180 days: description match (描述相符), service attitude (服务态度) and
    logistics (物流服务). A snapshot a day lets the rating report show the
    latest score of a period against the one before. No connector fills it
    yet (see docs/reviews.md, "Rating report"): the report shows the scores
    where a snapshot exists and says the platform gives none otherwise.
    """

    id = fields.IntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name=False, on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField()  # the store's local day the scores were read
    description = fields.DecimalField(max_digits=4, decimal_places=2, null=True)
    service = fields.DecimalField(max_digits=4, decimal_places=2, null=True)
    logistics = fields.DecimalField(max_digits=4, decimal_places=2, null=True)
    captured_at = fields.DatetimeField()

    class Meta:
        table = "review_shop_scores"
        unique_together = (("store", "day"),)
