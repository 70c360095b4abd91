"""The outbox: rows first, delivery with one idempotency key across every retry."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.worker import Worker
from tortoise.transactions import in_transaction

import aftersales
from aftersales.core import aftercommit, clock, jobs, outbox
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus
from aftersales.core.redis import RedisHandle

pytestmark = pytest.mark.usefixtures("clean_db")


class Recorder:
    """A handler that remembers the keys it was called with and fails on demand."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.calls: list[str] = []
        self.failures = list(failures or [])

    async def __call__(self, payload: dict[str, Any], key: str, context: Any) -> dict[str, Any]:
        self.calls.append(key)
        if self.failures:
            raise self.failures.pop(0)
        return {"platform_id": "R-1"}


async def test_enqueue_twice_with_one_key_keeps_one_row() -> None:
    first = await outbox.enqueue("refund.decide", {"refund": 1}, "refund:1:approve")
    second = await outbox.enqueue("refund.decide", {"refund": 1}, "refund:1:approve")
    assert first.id == second.id
    assert await OutboxMessage.all().count() == 1


async def test_a_rolled_back_transaction_leaves_no_row() -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await outbox.enqueue("refund.decide", {}, "k-rollback", using_db=conn)
            raise RuntimeError("the state change failed")
    assert not await OutboxMessage.exists(idempotency_key="k-rollback")


async def test_delivery_marks_the_row_delivered_with_the_result() -> None:
    message = await outbox.enqueue("refund.decide", {"refund": 1}, "k1")
    handler = Recorder()
    status = await outbox.deliver(message.id, {"refund.decide": handler})
    assert status is OutboxStatus.DELIVERED
    row = await OutboxMessage.get(id=message.id)
    assert row.status is OutboxStatus.DELIVERED
    assert row.result == {"platform_id": "R-1"}
    assert row.delivered_at is not None
    assert handler.calls == ["k1"]
    # Delivered rows are not delivered again.
    assert await outbox.deliver(message.id, {"refund.decide": handler}) is None
    assert handler.calls == ["k1"]


async def test_a_failure_keeps_the_row_and_retries_with_the_same_key() -> None:
    message = await outbox.enqueue("refund.decide", {}, "k-retry")
    handler = Recorder(failures=[ConnectionError("platform down")])
    assert await outbox.deliver(message.id, {"refund.decide": handler}) is OutboxStatus.PENDING
    row = await OutboxMessage.get(id=message.id)
    assert row.status is OutboxStatus.PENDING
    assert "platform down" in (row.last_error or "")
    assert row.next_attempt_at > clock.now()
    # Not due yet: nobody may retry before the backoff has passed.
    assert await outbox.deliver(message.id, {"refund.decide": handler}) is None
    clock.travel(timedelta(minutes=5))
    assert (message.id, 1) in await outbox.due_ids()
    assert await outbox.deliver(message.id, {"refund.decide": handler}) is OutboxStatus.DELIVERED
    assert handler.calls == ["k-retry", "k-retry"]


async def test_a_permanent_failure_stops_and_can_be_retried_by_hand() -> None:
    message = await outbox.enqueue("refund.decide", {}, "k-perm")
    handler = Recorder(failures=[outbox.PermanentFailure("refund already closed")])
    assert await outbox.deliver(message.id, {"refund.decide": handler}) is OutboxStatus.FAILED
    assert await outbox.due_ids() == []
    assert await outbox.retry_failed(message.id)
    assert await outbox.deliver(message.id, {"refund.decide": handler}) is OutboxStatus.DELIVERED
    assert handler.calls == ["k-perm", "k-perm"]


async def test_gives_up_after_max_attempts_and_says_why() -> None:
    message = await outbox.enqueue("refund.decide", {}, "k-max")
    handler = Recorder(failures=[TimeoutError("slow")] * outbox.MAX_ATTEMPTS)
    for _ in range(outbox.MAX_ATTEMPTS):
        clock.travel(outbox.MAX_BACKOFF)
        await outbox.deliver(message.id, {"refund.decide": handler})
    row = await OutboxMessage.get(id=message.id)
    assert row.status is OutboxStatus.FAILED
    assert row.attempts == outbox.MAX_ATTEMPTS
    assert "TimeoutError" in (row.last_error or "")


async def test_unknown_kind_fails_visibly() -> None:
    message = await outbox.enqueue("nobody.handles", {}, "k-unknown")
    assert await outbox.deliver(message.id, {}) is OutboxStatus.FAILED
    row = await OutboxMessage.get(id=message.id)
    assert "no handler" in (row.last_error or "")


async def test_a_dead_workers_row_is_handed_out_again_after_its_lease() -> None:
    message = await outbox.enqueue("refund.decide", {}, "k-lease")
    claimed = await outbox.claim(message.id, lease=timedelta(seconds=30))
    assert claimed is not None and claimed.attempts == 1
    # The worker dies here. While the lease runs nobody else may take the row.
    assert await outbox.claim(message.id) is None
    assert await outbox.due_ids() == []
    clock.travel(timedelta(seconds=31))
    assert await outbox.due_ids() == [(message.id, 1)]
    handler = Recorder()
    assert await outbox.deliver(message.id, {"refund.decide": handler}) is OutboxStatus.DELIVERED
    assert handler.calls == ["k-lease"]


async def test_a_worker_that_outlived_its_lease_cannot_overwrite_the_newer_attempt() -> None:
    message = await outbox.enqueue("refund.decide", {}, "k-fence")
    slow = await outbox.claim(message.id, lease=timedelta(seconds=10))
    assert slow is not None
    clock.travel(timedelta(seconds=11))
    # A second worker takes over and fails; the first one then reports success late.
    second = Recorder(failures=[ConnectionError("down")])
    assert await outbox.deliver(message.id, {"refund.decide": second}) is OutboxStatus.PENDING
    stale = await OutboxMessage.filter(id=message.id, attempts=slow.attempts).update(
        status=OutboxStatus.DELIVERED
    )
    assert stale == 0


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    first = [outbox.backoff(1, rng=rng) for _ in range(50)]
    assert all(outbox.BASE_BACKOFF / 2 <= d <= outbox.BASE_BACKOFF for d in first)
    assert len(set(first)) > 40
    assert outbox.backoff(4, rng=rng) > outbox.BASE_BACKOFF * 3
    assert outbox.backoff(40, rng=rng) <= outbox.MAX_BACKOFF


# -- after commit: a delivery is queued when its transaction commits, never before ------------


async def queued_deliveries(redis: ArqRedis) -> list[int]:
    """The outbox row ids that have a delivery job waiting in Redis."""
    jobs = [job.decode() for job in await redis.zrange("arq:queue", 0, -1)]
    return sorted(int(job.split(":")[1]) for job in jobs if job.startswith("outbox:"))


async def test_a_committed_row_is_queued_when_the_unit_ends(redis: ArqRedis) -> None:
    async with aftercommit.unit_of_work(redis):
        async with in_transaction() as conn:
            message = await outbox.enqueue("refund.decide", {}, "k-commit", using_db=conn)
        # Committed, but the request (or job) is not over: nothing is queued yet.
        assert await queued_deliveries(redis) == []
    assert await queued_deliveries(redis) == [message.id]


async def test_a_rolled_back_row_is_never_queued(redis: ArqRedis) -> None:
    async with aftercommit.unit_of_work(redis):
        with pytest.raises(RuntimeError):
            async with in_transaction() as conn:
                await outbox.enqueue("refund.decide", {}, "k-rolled-back", using_db=conn)
                raise RuntimeError("the state change failed")
    assert await queued_deliveries(redis) == []


async def test_savepoints_pass_their_rows_up_only_when_released(redis: ArqRedis) -> None:
    async with aftercommit.unit_of_work(redis):
        async with in_transaction():
            kept = await outbox.enqueue("refund.decide", {}, "k-outer")
            with pytest.raises(RuntimeError):
                async with in_transaction():  # a savepoint, rolled back alone
                    await outbox.enqueue("refund.decide", {}, "k-savepoint-undone")
                    raise RuntimeError("one record failed")
            async with in_transaction():
                released = await outbox.enqueue("refund.decide", {}, "k-savepoint-kept")
        with pytest.raises(RuntimeError):
            async with in_transaction():
                async with in_transaction():  # released, then its transaction rolls back
                    await outbox.enqueue("refund.decide", {}, "k-inner-of-undone")
                raise RuntimeError("the whole step failed")
    assert await queued_deliveries(redis) == sorted([kept.id, released.id])
    assert sorted(await OutboxMessage.all().values_list("idempotency_key", flat=True)) == [
        "k-outer",
        "k-savepoint-kept",
    ]


async def test_a_write_outside_a_transaction_is_queued_and_a_repeat_is_not(
    redis: ArqRedis,
) -> None:
    async with aftercommit.unit_of_work(redis) as work:
        message = await outbox.enqueue("refund.decide", {}, "k-autocommit")
        await outbox.enqueue("refund.decide", {}, "k-autocommit")  # the same key: the first row
        assert [job.args for job in work.committed] == [(message.id,)]
    assert await queued_deliveries(redis) == [message.id]


async def test_a_job_is_a_unit_and_the_worker_delivers_what_it_committed(
    redis: ArqRedis, redis_handle: RedisHandle, settings: Settings
) -> None:
    async def decide(ctx: dict[str, Any]) -> int:
        async with in_transaction() as conn:
            message = await outbox.enqueue("refund.decide", {}, "k-from-a-job", using_db=conn)
        return message.id

    message_id = await jobs.after_commit(decide)({"redis": redis})
    assert await queued_deliveries(redis) == [message_id]
    handler = Recorder()

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["outbox_handlers"] = {"refund.decide": handler}

    worker = Worker(
        functions=[jobs.outbox_deliver],
        redis_settings=redis_handle.settings,
        on_startup=startup,
        burst=True,
        handle_signals=False,
        keep_result=0,
    )
    await worker.main()
    await worker.close()
    assert handler.calls == ["k-from-a-job"]
    assert (await OutboxMessage.get(id=message_id)).status is OutboxStatus.DELIVERED


def test_no_route_or_api_handler_kicks_the_outbox_by_hand() -> None:
    """Only the sweep kicks rows; everything else is queued by its commit."""
    package = Path(aftersales.__file__).parent
    kicking = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "kick_outbox" in path.read_text(encoding="utf-8")
    ]
    assert kicking == ["core/jobs.py"]
