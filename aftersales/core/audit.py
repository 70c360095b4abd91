"""The audit trail: one function writes every event, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from aftersales.core import clock
from aftersales.core.models import AuditEvent, User


async def record(
    action: str,
    *,
    subject_type: str,
    subject_id: str | int,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> AuditEvent:
    """Write one event; ``actor=None`` means the desk itself (a job or a sync)."""
    return await AuditEvent.create(
        at=clock.now(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data=data or {},
        using_db=using_db,
    )
