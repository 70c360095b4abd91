"""Sync jobs: one per (store, stream) at a time, scheduled every few minutes per store.

Single flight has two locks. The arq job id names the store, stream and
scheduling period, so a second request in the same period is a no-op; a
Redis lease (``orders/lease.py``, refreshed after every page) stops two
periods' jobs, or a job and ``aftersales sync``, from overlapping. A
worker killed mid-sync loses its lease within
``AFTERSALES_SYNC_LEASE_SECONDS`` and the next scheduled job resumes from
the committed cursor.

A push that names a record (``sync_pushed``) fetches just that record at
once, through the same intake as a sync page. It leaves the cursor alone, so
the regular sync still covers the record: a push whose fetch keeps failing
is retried ``PUSH_TRIES`` times and then left to it.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry, cron
from arq.connections import ArqRedis

from aftersales.core import clock, modules
from aftersales.core.models import Store
from aftersales.orders.lease import StreamLease
from aftersales.orders.models import SyncState
from aftersales.orders.sync import connector_for, record_handlers, sync_stream, take_pushed
from connectors.base import ConnectorError, RateLimited, RecordRef, Stream

log = logging.getLogger("aftersales.sync")
DEFAULT_INTERVAL_MINUTES = 5


def interval_minutes(store: Store) -> int:
    minutes = modules.current().store_setting(store, "orders", "sync_interval_minutes")
    return max(int(minutes), 1)


async def enqueue_sync(redis: ArqRedis, store: Store, stream: Stream, *, progress: int = 0) -> bool:
    """Ask for a sync; False when one for this period and progress is already queued.

    ``progress`` (records committed so far) is part of the job id: a sync
    whose worker died has moved it on, so its resumption is not mistaken for
    the dead job, which arq keeps "in progress" until its timeout.
    """
    period = int(clock.now().timestamp() // (interval_minutes(store) * 60))
    job = await redis.enqueue_job(
        "sync_store_stream",
        store.id,
        stream.value,
        _job_id=f"sync:{store.id}:{stream.value}:{period}:{progress}",
    )
    return job is not None


async def sync_store_stream(ctx: dict[str, Any], store_id: int, stream: str) -> str:
    store = await Store.get_or_none(id=store_id, enabled=True)
    if store is None:
        return "store gone or disabled"
    lease = StreamLease(ctx["redis"], store_id, stream)
    if not await lease.acquire():
        return "busy"
    settings = ctx["settings"]
    try:
        # Inside the try: credentials that no longer decrypt, or a connector that
        # cannot be built, must not keep the lease (and every later sync) busy.
        connector = connector_for(store, settings.secret_key)
        try:
            result = await sync_stream(
                store,
                Stream(stream),
                connector,
                # The worker's registry; a hand-made ctx (a script, a test) uses the process's.
                handlers=record_handlers(ctx.get("registry") or modules.current()),
                progress=lease.keep,
            )
        finally:
            await connector.aclose()
    finally:
        await lease.release()
    return f"{result.records} records, {result.bad_records} bad"


async def schedule_syncs(ctx: dict[str, Any]) -> int:
    """Every minute: enqueue the streams whose store interval has passed."""
    redis: ArqRedis = ctx["redis"]
    now = clock.now()
    queued = 0
    for store in await Store.filter(enabled=True):
        states = {s.stream: s for s in await SyncState.filter(store_id=store.id)}
        for stream in Stream:
            state = states.get(stream.value)
            due = (
                state is None
                or state.completed_at is None  # never finished, or interrupted: resume
                or (state.last_synced_at or now) > state.completed_at
                or (now - state.completed_at).total_seconds() >= interval_minutes(store) * 60
            )
            progress = state.records_seen if state else 0
            if due and await enqueue_sync(redis, store, stream, progress=progress):
                queued += 1
    return queued


PUSH_JOB = "sync_pushed"
PUSH_TRIES = 5  # arq's own limit (a worker's max_tries), so the last try can say so
PUSH_RETRY_SECONDS = 15.0
# Orders need no lease: their upsert compares modification times in the statement.
# A request's intake (refund cases) must not run beside its stream's sync.
PUSH_LEASED = frozenset({Stream.AFTER_SALES})


# A queued fetch not started within this long is queued again by the next push.
PUSH_PENDING_SECONDS = 600


def _pending_key(store_id: int, stream: str, platform_id: str) -> str:
    return f"aftersales:push-pending:{store_id}:{stream}:{platform_id}"


async def enqueue_pushed(redis: ArqRedis, store: Store, refs: list[RecordRef]) -> int:
    """Queue a fetch of each record a verified push named; how many were queued.

    A platform sends a message per step of a request (created, agreed, parcel
    sent…), often seconds apart. A record whose fetch is queued and not yet
    started is not queued again: that fetch reads the platform's newest copy
    anyway, and every extra read spends the app's rate limit. The job clears
    the mark as it starts, so a message arriving after that queues a new read.
    """
    queued = 0
    for ref in refs:
        key = _pending_key(store.id, ref.stream.value, ref.platform_id)
        if not await redis.set(key, "1", nx=True, ex=PUSH_PENDING_SECONDS):
            continue
        try:
            await redis.enqueue_job(PUSH_JOB, store.id, ref.stream.value, ref.platform_id)
        except Exception:
            await redis.delete(key)
            raise
        queued += 1
    return queued


def _retry_after(ctx: dict[str, Any], why: str, wait: float = PUSH_RETRY_SECONDS) -> str:
    """Raise arq's Retry while tries are left; past them, say the sync will catch up."""
    tries = int(ctx.get("job_try") or 1)
    if tries < PUSH_TRIES:
        raise Retry(defer=max(wait, 1.0) * tries)
    log.warning("sync.push_gave_up tries=%s error=%s", tries, why)
    return f"gave up after {tries} tries, left to the regular sync: {why}"


async def sync_pushed(ctx: dict[str, Any], store_id: int, stream: str, platform_id: str) -> str:
    """Fetch the one record a push named and take it in now."""
    await ctx["redis"].delete(_pending_key(store_id, stream, platform_id))  # newer pushes queue
    store = await Store.get_or_none(id=store_id, enabled=True)
    if store is None:
        return "store gone or disabled"
    ref = RecordRef(Stream(stream), platform_id)
    lease = StreamLease(ctx["redis"], store_id, stream) if ref.stream in PUSH_LEASED else None
    if lease is not None and not await lease.acquire(wait=2):
        return _retry_after(ctx, "the stream is syncing")  # that sync may read it anyway
    try:
        connector = connector_for(store, ctx["settings"].secret_key)
        try:
            taken = await take_pushed(
                store,
                ref,
                connector,
                handlers=record_handlers(ctx.get("registry") or modules.current()),
            )
        finally:
            await connector.aclose()
    except RateLimited as exc:
        return _retry_after(ctx, str(exc), exc.retry_after)
    except ConnectorError as exc:
        return _retry_after(ctx, str(exc))
    finally:
        if lease is not None:
            await lease.release()
    return "taken" if taken else "unchanged"


functions = [sync_store_stream, sync_pushed]
cron_jobs = [cron(schedule_syncs, second={5}, unique=True, run_at_startup=True)]
