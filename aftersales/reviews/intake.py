"""Intake: each synced review becomes a ``Review`` row, the negative ones a follow-up case.

The ``reviews`` record handler runs inside the sync's page transaction, one
savepoint per review, so one the desk cannot take is kept as a sync error
for the store page and the page's other reviews still land.

Rules, and why:

- **Idempotent**: a review is found by (store, platform review id) and its
  case by the review (one-to-one), so a page synced twice changes nothing.
- **An older update never wins.** No platform gives a review a modification
  time (the review lists carry only when the buyer rated), so a record's
  version is its latest own time: the 追评's time when it has one, else the
  rating's. A record older than the stored one is ignored. At the same time,
  a good/neutral/bad result never goes back down: the platforms that rate
  that way let a buyer raise a neutral or negative rating to good, never
  lower it, so a bad read after a good one at the same time is a stale page.
- **The agent's correction stays**: a review whose sentiment or reasons an
  agent corrected keeps them on every later sync (the platform's fields
  still update).
- **A revision to good closes its case as revised** by itself; any other
  change the platform makes (a 追评, a neutral turned bad) is written on the
  case's timeline and left to the agents, a kind 追评 included.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from aftersales.core import cases, clock, failures, modules
from aftersales.core.errors import AfterSalesError, InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.models import Store
from aftersales.core.reasons import ReasonCode
from aftersales.orders import service as orders_service
from aftersales.orders.models import SyncError
from aftersales.reviews import assignment, deadlines
from aftersales.reviews.classify import Classification, classify, rating_is_negative
from aftersales.reviews.models import (
    OPEN_STATUSES,
    Review,
    ReviewCase,
    ReviewCaseStatus,
    ReviewOutcome,
    ReviewResult,
)
from connectors.base import ReviewRecord

log = logging.getLogger("aftersales.reviews")

STREAM = "reviews"
DEFAULT_THRESHOLD = 3  # DOMAIN.md: a rating at or below 3 of 5 is negative
STORE_SETTINGS: dict[str, Any] = {"review_negative_threshold": DEFAULT_THRESHOLD}
RESULT_RANK = {ReviewResult.BAD: 0, ReviewResult.NEUTRAL: 1, ReviewResult.GOOD: 2}


def threshold(store: Store) -> int:
    """The store's star threshold (``review_negative_threshold``), through the registry.

    A registry without this module (a script that built its own) reads the default.
    """
    try:
        value = modules.current().store_setting(store, "reviews", "review_negative_threshold")
    except KeyError:
        value = (store.settings or {}).get("review_negative_threshold", DEFAULT_THRESHOLD)
    try:
        return int(value)
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD


def version_of(record: ReviewRecord) -> datetime:
    """The record's own latest time: what orders two reads of one review."""
    if record.appended_at is not None and record.appended_at > record.created_at:
        return record.appended_at
    return record.created_at


MAX_REVIEW_ID = 64


async def intake(store: Store, records: Sequence[ReviewRecord], conn: BaseDBAsyncClient) -> None:
    """The ``reviews`` record handler: store or update each review, open or move its case."""
    limit = threshold(store)
    on_shift: list[int] | None = None
    for record in records:
        try:
            if len(record.platform_review_id) > MAX_REVIEW_ID:
                # The column holds 64: a longer id would fail the whole page's insert.
                raise InvalidInput(
                    N_("The platform sent a review id longer than %(limit)s characters."),
                    limit=MAX_REVIEW_ID,
                )
            async with in_transaction() as savepoint:
                if on_shift is None:
                    on_shift = await assignment.on_shift()
                await take(store, record, savepoint, threshold=limit, on_shift=on_shift)
        except AfterSalesError as exc:
            log.warning(
                "reviews.intake_refused store=%s review=%s: %s",
                store.id, record.platform_review_id, exc.message,
            )  # fmt: skip
            await SyncError.create(
                store_id=store.id,
                stream=STREAM,
                record_id=record.platform_review_id[:64],
                message=f"review: {exc.english}",
                error_code=(failure := failures.of_exception(exc)).code,
                error_params=failure.params,
                created_at=clock.now(),
                using_db=conn,
            )


def _verdict(review: Review | ReviewRecord, limit: int) -> bool | None:
    result = review.result.value if review.result is not None else None
    return rating_is_negative(rating=review.rating, result=result, threshold=limit)


def _stale(review: Review, record: ReviewRecord) -> bool:
    """Whether ``record`` is an older read of ``review`` than the one stored."""
    version = version_of(record)
    if version < review.platform_updated_at:
        return True
    if version == review.platform_updated_at and review.result and record.result:
        old = RESULT_RANK[ReviewResult(review.result)]
        return RESULT_RANK[ReviewResult(record.result.value)] < old
    return False


def _classified(record: ReviewRecord, limit: int) -> Classification:
    return classify(
        record.text,
        append_text=record.append_text,
        rating=record.rating,
        result=record.result.value if record.result is not None else None,
        threshold=limit,
    )


def _platform_fields(store: Store, record: ReviewRecord) -> dict[str, Any]:
    return {
        "platform_order_id": (record.platform_order_id or "")[:64],
        "platform_item_id": (record.platform_item_id or "")[:64],
        "product_title": (record.product_title or "")[:255],
        "reviewer_nick": record.reviewer_nick[:128],
        "rating": record.rating,
        "result": ReviewResult(record.result.value) if record.result is not None else None,
        "text": record.text,
        "append_text": record.append_text,
        "appended_at": record.appended_at,
        **({"seller_reply": record.reply} if record.reply is not None else {}),
        "created_at": record.created_at,
        "platform_updated_at": version_of(record),
        "synced_at": clock.now(),
    }


def _desk_fields(found: Classification) -> dict[str, Any]:
    return {
        "negative": found.negative,
        "sentiment": found.sentiment,
        "confidence": found.confidence,
        "reasons": [{"reason": r.reason.value, "confidence": r.confidence} for r in found.reasons],
        "model_version": found.model_version,
    }


def top_reason(review: Review) -> ReasonCode:
    """The case's reason: the review's most confident one, else unclassified."""
    best = max(review.reasons or [], key=lambda r: r.get("confidence", 0), default=None)
    try:
        return ReasonCode(best["reason"]) if best else ReasonCode.OTHER
    except ValueError:
        return ReasonCode.OTHER


async def take(
    store: Store,
    record: ReviewRecord,
    conn: BaseDBAsyncClient,
    *,
    threshold: int,
    on_shift: Sequence[int] = (),
) -> Review:
    """Store one review (or its newer state) and open or follow its case."""
    review = await Review.get_or_none(
        store_id=store.id, platform_review_id=record.platform_review_id, using_db=conn
    )
    if review is not None and _stale(review, record):
        return review
    order = None
    if record.platform_order_id:
        order = await orders_service.order_of_record(store, record.platform_order_id, conn)
    columns = _platform_fields(store, record)
    if order is not None:
        columns["order_id"] = order.id
    if review is not None and _unchanged(review, columns):
        # A re-read of what is stored (every sync re-reads weeks of reviews): nothing to do
        # but note it was seen, and no text to classify again.
        await Review.filter(id=review.id).using_db(conn).update(synced_at=columns["synced_at"])
        return review
    before = None if review is None else _platform_state(review, threshold)
    if review is None or review.corrected_by_id is None:
        columns |= _desk_fields(_classified(record, threshold))
    if review is None:
        review = await Review.create(
            store_id=store.id,
            platform_review_id=record.platform_review_id,
            using_db=conn,
            **columns,
        )
    else:
        await Review.filter(id=review.id).using_db(conn).update(**columns)
        review = await Review.get(id=review.id, using_db=conn)
    case = await ReviewCase.get_or_none(review_id=review.id, using_db=conn)
    if case is None:
        if review.negative:
            await open_for(store, review, conn, on_shift=on_shift)
        return review
    if case.order_id is None and review.order_id is not None:  # the order synced since
        await (
            ReviewCase.filter(id=case.id)
            .using_db(conn)
            .update(order_id=review.order_id, platform_order_id=review.platform_order_id)
        )
        case = await ReviewCase.get(id=case.id, using_db=conn)
    if before is not None and before != _platform_state(review, threshold):
        await _follow(case, review, before[0], threshold, conn)
    return review


def _unchanged(review: Review, columns: dict[str, Any]) -> bool:
    return all(getattr(review, k) == v for k, v in columns.items() if k != "synced_at")


def _platform_state(review: Review, limit: int) -> tuple[bool | None, str, str | None, str | None]:
    """What a case follows of its review: the rating's verdict, the texts, the result."""
    result = review.result.value if review.result is not None else None
    return (_verdict(review, limit), review.text, review.append_text, result)


async def open_for(
    store: Store, review: Review, conn: BaseDBAsyncClient, *, on_shift: Sequence[int] = ()
) -> ReviewCase:
    """The review's follow-up case, status new, assigned round-robin; audited.

    A review whose windows have both passed (an old one from a first sync's
    history) gets its case closed as window expired at once: it still counts
    in the report, and nobody is asked to do what the platform no longer allows.
    """
    now = clock.now()
    windows = deadlines.windows(store, review.created_at)
    expired = deadlines.both_passed(windows, now)
    agent = None if expired else await assignment.pick(on_shift, conn)
    case = await cases.open_case(
        ReviewCase,
        conn=conn,
        actor=None,
        event="review_case.opened",
        data={
            "review": review.platform_review_id,
            "sentiment": review.sentiment.value,
            "rating": review.rating,
            "result": review.result.value if review.result else None,
        },
        opened_at=now,
        store_id=store.id,
        order_id=review.order_id,
        platform_order_id=review.platform_order_id,
        review_id=review.id,
        status=ReviewCaseStatus.NEW,
        reason=top_reason(review),
        buyer_text=(review.text or "")[:2000],
        buyer_nick=review.reviewer_nick,
        explain_by=windows.explain_by,
        revise_by=windows.revise_by,
        due_at=deadlines.due_at(windows, now),
        platform_deadline=windows.revise_by,
        assignee_id=agent.id if agent else None,
    )
    if agent is not None:
        await assignment.record(case, agent, conn)
    if expired:
        case = await cases.move(
            case,
            ReviewCaseStatus.CLOSED,
            conn=conn,
            actor=None,
            event="review_case.closed",
            data={"outcome": ReviewOutcome.WINDOW_EXPIRED.value},
            outcome=ReviewOutcome.WINDOW_EXPIRED,
            closed_at=now,
            due_at=None,
        )
    return case


async def _follow(
    case: ReviewCase,
    review: Review,
    was_negative_rating: bool | None,
    limit: int,
    conn: BaseDBAsyncClient,
) -> None:
    """The platform changed a review that has a case: closed if revised to good, else noted."""
    if case.status not in OPEN_STATUSES:
        return  # a closed follow-up stays closed: its outcome is history
    now_negative_rating = _verdict(review, limit)
    data = {
        "rating": review.rating,
        "result": review.result.value if review.result else None,
        "append_text": bool(review.append_text),
    }
    if was_negative_rating and now_negative_rating is False:
        await cases.move(
            case,
            ReviewCaseStatus.CLOSED,
            conn=conn,
            actor=None,
            event="review_case.revised",
            data=data,
            platform=True,
            outcome=ReviewOutcome.REVISED,
            closed_at=clock.now(),
            due_at=None,
        )
        return
    # A 追评, an edited text, a neutral turned bad: on the timeline, for the agents to read.
    await cases.move(
        case,
        case.status,
        conn=conn,
        actor=None,
        event="review_case.platform_changed",
        data=data,
        platform=True,
        buyer_text=(review.text or "")[:2000],
    )


def _record_id(data: Any) -> str | None:
    found = data.get("platform_review_id") if isinstance(data, dict) else None
    return str(found)[:64] if found else None


async def take_backlog(*, batch: int = 200) -> int:
    """Reviews the sync stored while this module was off (``handled`` 0): taken in now.

    Runs as a job (and at the worker's start): each store's rows in one
    transaction per batch, marked handled with them, so a crash halfway
    takes the rest next time and intake's idempotence makes a repeat harmless.
    """
    from aftersales.orders.models import PlatformRecord

    taken = 0
    while True:
        rows = (
            await PlatformRecord.filter(stream=STREAM, handled=0)
            .order_by("id")
            .limit(batch)
            .values_list("id", "store_id", "data")
        )
        if not rows:
            return taken
        stores = {s.id: s for s in await Store.filter(id__in={r[1] for r in rows})}
        orphans = [r[0] for r in rows if r[1] not in stores]
        if orphans:  # a store deleted meanwhile: nothing to take them into, never loop on them
            await PlatformRecord.filter(id__in=orphans).update(handled=1)
        for store_id in sorted(stores):
            store = stores[store_id]
            mine = [r for r in rows if r[1] == store_id]
            records, unreadable = [], []
            for _id, _store, data in mine:
                try:
                    records.append(ReviewRecord.model_validate(data))
                except ValueError as exc:
                    unreadable.append((data, exc))
            async with in_transaction() as conn:
                for data, problem in unreadable:  # kept for the store page, not retried forever
                    await SyncError.create(
                        store_id=store_id,
                        stream=STREAM,
                        record_id=_record_id(data),
                        message=f"stored review unreadable: {problem}"[:2000],
                        error_code="bad_record",
                        created_at=clock.now(),
                        using_db=conn,
                    )
                await intake(store, records, conn)
                await (
                    PlatformRecord.filter(id__in=[r[0] for r in mine])
                    .using_db(conn)
                    .update(handled=1)
                )
            taken += len(records)
