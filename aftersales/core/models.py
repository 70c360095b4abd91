"""Core tables: people, their tokens, the audit trail, the outbox and stores."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    AGENT = "agent"
    NIGHT_AGENT = "night_agent"
    SUPERVISOR = "supervisor"
    OWNER = "owner"
    ADMIN = "admin"


class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=128, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16, default=Role.AGENT)
    locale = fields.CharField(max_length=8, null=True)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    # Bumped to end every session of this user at once (auth.end_sessions).
    session_generation = fields.IntField(default=0, db_default=0)

    tokens: fields.ReverseRelation[ApiToken]

    class Meta:
        table = "users"

    @property
    def name(self) -> str:
        return self.display_name or self.username


class ApiToken(Model):
    """Only the SHA-256 of a token is kept — the token itself is shown once."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="tokens", on_delete=fields.CASCADE
    )
    user_id: int
    name = fields.CharField(max_length=64)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"


class AuditEvent(Model):
    """Who did what to which thing, when — never updated, never deleted."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    action = fields.CharField(max_length=64, db_index=True)
    subject_type = fields.CharField(max_length=32)
    subject_id = fields.CharField(max_length=64)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "audit_events"
        indexes = (("subject_type", "subject_id"),)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxMessage(Model):
    """A write to the outside world, recorded before it is attempted.

    The idempotency key is born with the row and reused by every retry, so a
    platform that saw the first attempt recognises the second.
    """

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    idempotency_key = fields.CharField(max_length=128, unique=True)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)  # technical, for managers and logs
    error_code = fields.CharField(max_length=32, null=True)  # core.failures, for people
    error_params: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    result: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_messages"
        indexes = (("status", "next_attempt_at"),)


class Store(Model):
    """A shop on one platform — its credentials are stored encrypted."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128)
    platform = fields.CharField(max_length=32)
    base_url = fields.CharField(max_length=255, null=True)
    credentials_encrypted = fields.TextField(default="")
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    settings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    enabled = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stores"


class Referral(Model):
    """A case sent to a supervisor for a decision its sender may not take alone.

    ``module``/``kind``/``case_id`` are the case's ``CaseRef``, so any case
    type can be sent without core knowing its table. ``open_ref`` holds that
    reference while the referral waits and is cleared when it closes: being
    unique, it lets the database itself refuse a second open referral of one
    case, whichever web node or worker asks. ``amount`` is the figure the
    supervisor is asked about, as it stood when the case was sent.
    """

    id = fields.IntField(primary_key=True)
    module = fields.CharField(max_length=32)
    kind = fields.CharField(max_length=32)
    case_id = fields.IntField()
    open_ref = fields.CharField(max_length=100, null=True, unique=True)
    amount = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    currency = fields.CharField(max_length=3, default="")
    from_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    from_user_id: int | None
    note = fields.TextField(default="")
    to_role = fields.CharEnumField(Role, max_length=16, default=Role.SUPERVISOR)
    created_at = fields.DatetimeField(db_index=True)
    closed_at = fields.DatetimeField(null=True)
    closed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    closed_by_id: int | None
    outcome = fields.CharField(max_length=32, default="")

    class Meta:
        table = "referrals"
        indexes = (("module", "kind", "case_id"),)


class PhraseCategory(StrEnum):
    GREETING = "greeting"
    APPROVE = "approve"
    REFUSE = "refuse"
    ASK_PHOTOS = "ask_photos"
    WHERE_IS_PARCEL = "where_is_parcel"
    APOLOGY = "apology"
    RETURN_ADDRESS = "return_address"
    REVIEW_EXPLANATION = "review_explanation"


class Phrase(Model):
    """A quick reply an agent inserts into a reply or note (the team's, or one agent's own).

    ``owner`` empty: a team phrase, edited by managers only. ``assumes`` holds
    the facts the text takes for granted (``{"shipped": true}``), so a phrase
    that contradicts a case warns before it is sent. ``seed_key`` names a
    phrase the desk ships, so seeding again finds it instead of adding a copy.
    A deleted phrase keeps its row (``deleted_at``) so a later seed does not bring it back.
    """

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=128)
    body = fields.TextField()
    category = fields.CharEnumField(PhraseCategory, max_length=24, db_index=True)
    language = fields.CharField(max_length=8, default="zh-CN")
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.CASCADE
    )
    owner_id: int | None
    assumes: fields.JSONField[dict[str, bool]] = fields.JSONField(default=dict)
    usage_count = fields.IntField(default=0)
    seed_key = fields.CharField(max_length=64, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "phrases"
