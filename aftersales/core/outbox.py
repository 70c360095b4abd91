"""The outbox: every write to a platform is a row first, a request second.

A service calls ``enqueue`` inside its own transaction, so the state change
and the promise to tell the platform commit together. Workers then
``deliver`` rows by id. A row is claimed with a lease (``locked_until``);
the claim bumps ``attempts``, which also serves as a fencing token so a
worker that outlived its lease cannot overwrite a newer attempt's outcome.
A worker killed mid-send leaves its row ``sending`` with an expiring lease;
``due_ids`` hands it out again with the same idempotency key, so the
platform sees the retry as the same request. Losing Redis loses no work,
because the sweep re-enqueues from the table.

Nobody kicks the worker by hand: ``enqueue`` (and a retry) records the
delivery job with ``aftercommit``, which queues it when the transaction
commits and forgets it when it rolls back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from datetime import timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q

from aftersales.core import aftercommit, clock, failures
from aftersales.core.errors import AfterSalesError
from aftersales.core.models import OutboxMessage, OutboxStatus
from aftersales.core.modules import OutboxContext, OutboxHandler

log = logging.getLogger("aftersales.outbox")

MAX_ATTEMPTS = 12
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
DEFAULT_LEASE = timedelta(seconds=60)
DELIVER_JOB = "outbox_deliver"
JOB_EXPIRES = 3600  # seconds a queued delivery may wait; the sweep re-queues after that


def lease() -> timedelta:
    """How long a claim holds a row (``AFTERSALES_OUTBOX_LEASE_SECONDS``)."""
    return timedelta(seconds=float(os.environ.get("AFTERSALES_OUTBOX_LEASE_SECONDS", "60")))


def delivery_job_id(message_id: int, attempts: int) -> str:
    """The arq job id of one delivery: the row, its attempt and the current lease period.

    A second kick within the period is a no-op, while a row whose job was lost
    with a dead worker (arq keeps that job "in progress" until its timeout)
    gets a fresh job from the next period's sweep. Duplicate jobs are
    harmless: only one of them can claim the row.
    """
    period = int(clock.now().timestamp() // lease().total_seconds())
    return f"outbox:{message_id}:{attempts}:{period}"


def deliver_after_commit(message_id: int, attempts: int) -> None:
    """Have a worker deliver the row as soon as the transaction that wrote it commits."""
    aftercommit.enqueue_job(
        DELIVER_JOB,
        message_id,
        job_id=delivery_job_id(message_id, attempts),
        expires=JOB_EXPIRES,
    )


class PermanentFailure(AfterSalesError):
    """Raised by a handler when retrying cannot help (refused, not found)."""

    code = "outbox_permanent_failure"


async def enqueue(
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    using_db: BaseDBAsyncClient | None = None,
) -> OutboxMessage:
    """Record a write to be made; the same key twice returns the first row.

    A new row is delivered once this transaction commits (see ``aftercommit``);
    the first row of a repeated key was already on its way.
    """
    same_key = OutboxMessage.filter(idempotency_key=idempotency_key)
    existing = await same_key.using_db(using_db).first()
    if existing is not None:
        return existing
    now = clock.now()
    message = await OutboxMessage.create(
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        next_attempt_at=now,
        created_at=now,
        using_db=using_db,
    )
    deliver_after_commit(message.id, message.attempts)
    return message


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter, so many failed rows do not retry in step."""
    rng = rng or random.Random()
    ceiling = min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    jittered: timedelta = ceiling * rng.uniform(0.5, 1.0)
    return jittered


async def due_ids(limit: int = 500) -> list[tuple[int, int]]:
    """``(id, attempts)`` of rows to try now: pending and due, or sending with a dead lease."""
    now = clock.now()
    return await (
        OutboxMessage.filter(
            Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=OutboxStatus.SENDING, locked_until__lt=now)
        )
        .order_by("id")
        .limit(limit)
        .values_list("id", "attempts")
    )


async def claim(message_id: int, *, lease: timedelta = DEFAULT_LEASE) -> OutboxMessage | None:
    """Take the row for one attempt, or return None when someone else has it."""
    now = clock.now()
    taken = await OutboxMessage.filter(
        Q(id=message_id)
        & (
            Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=OutboxStatus.SENDING, locked_until__lt=now)
        )
    ).update(status=OutboxStatus.SENDING, locked_until=now + lease, attempts=F("attempts") + 1)
    if not taken:
        return None
    return await OutboxMessage.get(id=message_id)


async def deliver(
    message_id: int,
    handlers: dict[str, OutboxHandler],
    *,
    lease: timedelta = DEFAULT_LEASE,
    context: OutboxContext | None = None,
) -> OutboxStatus | None:
    """Make one attempt at one row; returns its new status, None if not ours."""
    message = await claim(message_id, lease=lease)
    if message is None:
        return None
    fence = Q(id=message.id, status=OutboxStatus.SENDING, attempts=message.attempts)
    handler = handlers.get(message.kind)
    if handler is None:
        await OutboxMessage.filter(fence).update(
            status=OutboxStatus.FAILED,
            locked_until=None,
            **_failed(failures.no_handler(message.kind)),
        )
        log.error("outbox.no_handler id=%s kind=%s", message.id, message.kind)
        return OutboxStatus.FAILED
    try:
        # Finish inside the lease, or another worker may start the same write.
        timeout = max(lease.total_seconds() - 5, 1)
        result = await asyncio.wait_for(
            handler(message.payload, message.idempotency_key, context or OutboxContext()),
            timeout=timeout,
        )
    except PermanentFailure as exc:
        await OutboxMessage.filter(fence).update(
            status=OutboxStatus.FAILED, locked_until=None, **_failed(failures.of_exception(exc))
        )
        log.warning("outbox.failed id=%s kind=%s error=%s", message.id, message.kind, exc)
        return OutboxStatus.FAILED
    except Exception as exc:  # any transient trouble: retry with the same key
        failure = failures.of_exception(exc)
        error = failure.technical
        if message.attempts >= MAX_ATTEMPTS:
            await OutboxMessage.filter(fence).update(
                status=OutboxStatus.FAILED, locked_until=None, **_failed(failure)
            )
            log.warning("outbox.gave_up id=%s kind=%s error=%s", message.id, message.kind, error)
            return OutboxStatus.FAILED
        await OutboxMessage.filter(fence).update(
            status=OutboxStatus.PENDING,
            locked_until=None,
            next_attempt_at=clock.now() + backoff(message.attempts),
            **_failed(failure),
        )
        log.info("outbox.retry_scheduled id=%s attempts=%s", message.id, message.attempts)
        return OutboxStatus.PENDING
    await OutboxMessage.filter(fence).update(
        status=OutboxStatus.DELIVERED,
        locked_until=None,
        delivered_at=clock.now(),
        result=result,
        last_error=None,
        error_code=None,
        error_params=None,
    )
    return OutboxStatus.DELIVERED


def _failed(failure: failures.Failure) -> dict[str, Any]:
    """The columns a failed attempt writes: the technical text and the code people read."""
    return {
        "last_error": failure.technical,
        "error_code": failure.code,
        "error_params": failure.params,
    }


async def retry_failed(message_id: int) -> bool:
    """Give a failed row a fresh round of attempts, keeping its idempotency key."""
    updated = await OutboxMessage.filter(id=message_id, status=OutboxStatus.FAILED).update(
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=clock.now()
    )
    if updated:
        deliver_after_commit(message_id, 0)
    return bool(updated)
