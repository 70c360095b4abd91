"""arq worker settings assembled from the module registry, plus the outbox jobs.

Jobs take ids, reload rows and return quietly when the row is gone. The
queue only carries triggers; the outbox table is the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import signal
from collections.abc import Callable, Coroutine, Iterable
from datetime import timedelta
from typing import Any

from arq import cron
from arq.connections import ArqRedis, RedisSettings
from arq.cron import CronJob
from arq.worker import Function, Worker

from aftersales.core import aftercommit, db, outbox
from aftersales.core.config import Settings
from aftersales.core.modules import OutboxContext, Registry, install

log = logging.getLogger("aftersales.jobs")

QUEUE = "arq:queue"
HEALTH_KEY = QUEUE + ":health-check"
HEALTH_INTERVAL = 10
SWEEP_SECONDS = {0, 15, 30, 45}


def outbox_lease() -> timedelta:
    return outbox.lease()


async def outbox_deliver(ctx: dict[str, Any], message_id: int) -> str | None:
    status = await outbox.deliver(
        message_id,
        ctx["outbox_handlers"],
        lease=outbox_lease(),
        context=OutboxContext(settings=ctx["settings"]),
    )
    # PENDING: a retry is scheduled; the sweep picks it up when next_attempt_at comes.
    return status.value if status else None


async def outbox_sweep(ctx: dict[str, Any]) -> int:
    """Re-enqueue rows that are due or whose worker died; safe to run anywhere."""
    ids = await outbox.due_ids()
    await kick_outbox(ctx["redis"], ids)
    return len(ids)


async def kick_outbox(redis: ArqRedis, due: Iterable[tuple[int, int]]) -> None:
    """Ask a worker to deliver these committed ``(id, attempts)`` rows now.

    Only the sweep calls this: a service's new rows are queued for it when
    their transaction commits (``outbox.enqueue`` and ``aftercommit``). The job
    id is ``outbox.delivery_job_id``, so the sweep and a commit's kick of the
    same row within a lease period make one job.
    """
    for message_id, attempts in due:
        await redis.enqueue_job(
            outbox.DELIVER_JOB,
            message_id,
            _job_id=outbox.delivery_job_id(message_id, attempts),
            _expires=outbox.JOB_EXPIRES,
        )


JobCoroutine = Callable[..., Coroutine[Any, Any, Any]]


def after_commit(coroutine: JobCoroutine) -> JobCoroutine:
    """Run a job as one unit of work: what its transactions committed is queued at its end.

    ``functools.wraps`` keeps the name arq registers the job under.
    """

    @functools.wraps(coroutine)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        async with aftercommit.unit_of_work(ctx.get("redis")):
            return await coroutine(ctx, *args, **kwargs)

    return run


def _unit_of_work_job(job: Any) -> Any:
    """The same arq function or cron job, its coroutine wrapped in ``after_commit``."""
    if isinstance(job, Function | CronJob):
        return dataclasses.replace(job, coroutine=after_commit(job.coroutine))
    return after_commit(job)


def worker_kwargs(
    settings: Settings,
    redis_settings: RedisSettings,
    *,
    registry: Registry | None = None,
    manage_db: bool = True,
) -> dict[str, Any]:
    """Everything arq's Worker needs; ``manage_db=False`` when the web app owns the DB.

    The registry is built once here (or handed over by the web app that runs
    this worker in-process) and given to every job as ``ctx["registry"]``,
    so no job scans the entry points again.
    """
    registry = install(registry or Registry.build(settings))
    functions: list[Any] = [outbox_deliver, outbox_sweep, *registry.jobs()]
    cron_jobs: list[Any] = [
        cron(outbox_sweep, second=SWEEP_SECONDS, unique=True, run_at_startup=True),
        *registry.cron(),
    ]
    functions = [_unit_of_work_job(job) for job in functions]
    cron_jobs = [_unit_of_work_job(job) for job in cron_jobs]

    async def startup(ctx: dict[str, Any]) -> None:
        if manage_db:
            await db.init_db(settings)
        ctx["settings"] = settings
        ctx["registry"] = registry
        ctx["outbox_handlers"] = registry.outbox_handlers()
        if manage_db:  # in-process, the web app already ran them
            await registry.on_startup()
        log.info("worker.started functions=%d cron=%d", len(functions), len(cron_jobs))

    async def shutdown(ctx: dict[str, Any]) -> None:
        if manage_db:
            await db.close_db()

    return {
        "functions": functions,
        "cron_jobs": cron_jobs,
        "redis_settings": redis_settings,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "health_check_interval": HEALTH_INTERVAL,
        # Finished outbox jobs must not block the next kick of the same row.
        "keep_result": 0,
        "max_jobs": 10,
        "job_timeout": 300,
    }


def make_worker(
    settings: Settings,
    redis_settings: RedisSettings,
    *,
    manage_db: bool = True,
    burst: bool = False,
    handle_signals: bool = True,
    registry: Registry | None = None,
) -> Worker:
    return Worker(
        **worker_kwargs(settings, redis_settings, registry=registry, manage_db=manage_db),
        burst=burst,
        handle_signals=handle_signals,
    )


async def worker_heartbeat(redis: ArqRedis) -> str | None:
    """The line arq's health check writes; None when no worker wrote it lately."""
    raw = await redis.get(HEALTH_KEY)
    return raw.decode() if isinstance(raw, bytes) else raw


async def stop_worker(worker: Worker, task: asyncio.Task[None]) -> None:
    """Stop an in-process worker: cancel its jobs, wait for them, then close it.

    arq's ``close`` re-raises the cancellation of the jobs it cancels; a job
    cut short here is safe, because its outbox row keeps a lease that expires
    and is handed out again with the same idempotency key.
    """
    worker.handle_sig(signal.SIGTERM)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    worker.tasks.clear()
    await worker.close()
