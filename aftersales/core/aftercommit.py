"""Jobs that wait for their transaction: queued on commit, forgotten on rollback.

A service that writes a row and wants a worker to act on it must not queue
the job before the row is committed (the worker would find nothing, or a row
that is then rolled back). So ``enqueue_job`` only records the job:

- inside a transaction, on that transaction's *frame*. A frame whose block
  commits hands its jobs to the enclosing frame (a savepoint released into its
  transaction) or, at the outermost level, to the *unit*; a frame whose block
  fails is dropped with its jobs, savepoints included.
- outside any transaction (autocommit: the row is already committed), on the
  unit directly.

A unit is one request or one job (``web.AfterCommitMiddleware``, the
``jobs.after_commit`` wrapper). When it ends, ``flush`` queues what committed.
Work recorded with no unit (a script, a test calling a service) is left to the
outbox sweep, which finds every due row in the table anyway: the queue only
carries triggers.

Frames are opened by ``TransactionFrame``, which the desk's Tortoise clients
(``core/db_sqlite.py``, ``core/db_asyncpg.py``) put around every
``in_transaction()`` block, so no caller has to remember a wrapper.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Protocol

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext

log = logging.getLogger("aftersales.aftercommit")


@dataclass(frozen=True)
class Job:
    """An arq job to queue: function name, arguments, and arq's options."""

    function: str
    args: tuple[Any, ...] = ()
    job_id: str | None = None
    expires: int | None = None


@dataclass
class Frame:
    """The jobs one transaction block recorded, waiting for the block's outcome."""

    parent: Frame | None
    jobs: list[Job] = field(default_factory=list)


@dataclass
class Unit:
    """One request or job: the jobs whose transactions committed, to queue at its end."""

    committed: list[Job] = field(default_factory=list)


class JobQueue(Protocol):
    """What ``flush`` needs of arq's ``ArqRedis``."""

    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Any: ...


_frame: ContextVar[Frame | None] = ContextVar("aftersales_aftercommit_frame", default=None)
_unit: ContextVar[Unit | None] = ContextVar("aftersales_aftercommit_unit", default=None)


def enqueue_job(
    function: str, *args: Any, job_id: str | None = None, expires: int | None = None
) -> None:
    """Queue ``function(*args)`` once the current transaction commits (at once if none)."""
    job = Job(function, args, job_id, expires)
    frame = _frame.get()
    if frame is not None:
        frame.jobs.append(job)
        return
    unit = _unit.get()
    if unit is not None:
        unit.committed.append(job)
        return
    log.debug("aftercommit.no_unit function=%s job_id=%s", function, job_id)


def open_frame() -> Token[Frame | None]:
    """A transaction block began (called by the database clients)."""
    return _frame.set(Frame(parent=_frame.get()))


def close_frame(token: Token[Frame | None], *, committed: bool) -> None:
    """The block ended: on commit its jobs move out one level, otherwise they are dropped."""
    frame = _frame.get()
    _frame.reset(token)
    if frame is None or not frame.jobs:
        return
    if not committed:
        log.debug("aftercommit.dropped jobs=%d", len(frame.jobs))
        return
    if frame.parent is not None:
        frame.parent.jobs.extend(frame.jobs)
        return
    unit = _unit.get()
    if unit is not None:
        unit.committed.extend(frame.jobs)
    else:
        log.debug("aftercommit.no_unit jobs=%d", len(frame.jobs))


class TransactionFrame(TransactionContext):
    """Tortoise's transaction context with an after-commit frame around its block."""

    def __init__(self, inner: TransactionContext) -> None:
        self.inner = inner

    async def __aenter__(self) -> TransactionalDBClient:
        conn = await self.inner.__aenter__()
        self._token = open_frame()
        return conn

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            await self.inner.__aexit__(exc_type, exc_val, exc_tb)
        except BaseException:  # the commit itself failed: nothing was committed
            close_frame(self._token, committed=False)
            raise
        close_frame(self._token, committed=exc_type is None)


@contextlib.contextmanager
def unit() -> Iterator[Unit]:
    """Collect what commits inside this block; the caller flushes it afterwards.

    A new unit starts with no open frame: a job the in-process worker runs is
    its own unit, whatever the task that started it was doing.
    """
    unit_token = _unit.set(Unit())
    frame_token = _frame.set(None)
    try:
        current = _unit.get()
        assert current is not None
        yield current
    finally:
        _frame.reset(frame_token)
        _unit.reset(unit_token)


async def flush(work: Unit, queue: JobQueue | None) -> int:
    """Queue the unit's committed jobs; returns how many were queued.

    A job that cannot be queued (Redis away) is logged, not raised: its row is
    committed and the outbox sweep queues it again.
    """
    jobs, work.committed = work.committed, []
    if queue is None:
        return 0
    queued = 0
    for job in jobs:
        options: dict[str, Any] = {}
        if job.job_id is not None:
            options["_job_id"] = job.job_id
        if job.expires is not None:
            options["_expires"] = job.expires
        try:
            await queue.enqueue_job(job.function, *job.args, **options)
        except Exception as exc:  # the sweep covers it; a request must not fail here
            log.warning("aftercommit.enqueue_failed function=%s error=%s", job.function, exc)
            continue
        queued += 1
    return queued


@contextlib.asynccontextmanager
async def unit_of_work(queue: JobQueue | None) -> AsyncIterator[Unit]:
    """A unit that flushes to ``queue`` when it ends, even when its body raised.

    A body that raised after a commit still committed that work, so its jobs
    go out; the work of a failed transaction was dropped with its frame.
    """
    with unit() as work:
        try:
            yield work
        finally:
            await flush(work, queue)
