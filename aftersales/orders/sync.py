"""The sync engine: drive a connector's streams page by page, each page committed whole.

A page's records and the cursor after them commit in one transaction, so a
sync killed at any point resumes exactly where the database says it was;
upserts by (store, platform id) make a repeated page harmless. Orders are
ours to store; after-sale and review records are kept in
``platform_records`` and handed to the handlers other modules register
(``Registry.record_handlers``), so none is dropped while no module reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock, failures
from aftersales.core.db import too_long
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.models import Store
from aftersales.core.modules import RecordHandler, Registry
from aftersales.core.security import decrypt_credentials, encrypt_credentials
from aftersales.orders import service
from aftersales.orders.models import Order, PlatformRecord, SyncError, SyncState
from connectors import registry
from connectors.base import (
    AfterSaleRecord,
    BadPayload,
    Capabilities,
    ConnectorError,
    ConnectorManifest,
    OrderRecord,
    Page,
    Record,
    RecordRef,
    Stream,
)
from connectors.pump import GROUP, ConnectorSpec, child_pages

log = logging.getLogger("aftersales.sync")

CONNECTOR_GROUP = GROUP  # one entry-point group, read here and by the page reader
DEFAULT_HISTORY_DAYS = 90
MAX_HISTORY_DAYS = 3650  # ten years: the settings page refuses more as a typo
ID_FIELD = {
    Stream.AFTER_SALES: "platform_refund_id",
    Stream.REVIEWS: "platform_review_id",
}


def manifest_of(platform: str) -> ConnectorManifest:
    """The platform's manifest: all the desk may know about it."""
    manifest = registry.find(platform)
    if manifest is None:
        raise InvalidInput(
            N_("No connector is installed for platform '%(platform)s'."), platform=platform
        )
    return manifest


def connector_factory(platform: str) -> Callable[..., Any]:
    manifest = manifest_of(platform)
    if manifest.factory is None:
        raise InvalidInput(
            N_("No connector is installed for platform '%(platform)s'."), platform=platform
        )
    return manifest.factory


def capabilities_of(platform: str) -> Capabilities:
    """What a platform's connector can do, read from its manifest without connecting."""
    return manifest_of(platform).capabilities


def connector_for(store: Store, secret_key: str, **options: Any) -> Any:
    """The store's connector; it carries a ``spec`` so a big sync can page in a child."""
    credentials = decrypt_credentials(secret_key, store.credentials_encrypted)
    connector = connector_factory(store.platform)(
        base_url=store.base_url, credentials=credentials, **options
    )
    if not options:  # options may hold callables (a test's clock) that stay in this process
        connector.spec = ConnectorSpec(store.platform, store.base_url, credentials)
    if hasattr(connector, "on_tokens") and connector.on_tokens is None:
        connector.on_tokens = _token_saver(store, secret_key)
    return connector


def _token_saver(store: Store, secret_key: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Keep the tokens a connector renewed itself (an OAuth refresh), so the next sync
    starts from them: platforms that rotate the refresh token refuse the old one."""

    async def save(tokens: dict[str, Any]) -> None:
        fresh = await Store.get(id=store.id)
        credentials = decrypt_credentials(secret_key, fresh.credentials_encrypted)
        credentials.update({k: str(v) for k, v in tokens.items() if v not in (None, "")})
        await Store.filter(id=store.id).update(
            credentials_encrypted=encrypt_credentials(secret_key, credentials)
        )

    return save


def history_start(store: Store, now: datetime) -> datetime:
    """A new store's first sync reaches back ``history_days``, capped by the platform's reach."""
    days = int(store.settings.get("history_days", DEFAULT_HISTORY_DAYS))
    manifest = registry.find(store.platform)
    cap = manifest.history_days if manifest is not None else None
    return now - timedelta(days=min(days, cap) if cap else days)


def record_handlers(registry: Registry) -> dict[str, list[RecordHandler]]:
    """Each stream's record handlers, in the order the registry declares."""
    return {stream.value: registry.record_handlers(stream.value) for stream in Stream}


@dataclass
class SyncResult:
    stream: Stream
    records: int = 0
    pages: int = 0
    bad_records: int = 0
    errors: list[str] = field(default_factory=list)


Progress = Callable[[SyncResult], Awaitable[None] | None]


def fit_columns(stream: Stream, page: Page[Record]) -> Page[Record]:
    """Records with a value longer than its column become sync errors; the rest land.

    PostgreSQL refuses such a value and would fail the whole page; SQLite
    stores it whole. Both now keep the page's good records and name the bad
    one, checked against the models' ``max_length``.
    """
    good: list[Record] = []
    errors = list(page.errors)
    for record in page.records:
        if stream is Stream.ORDERS:
            problem = service.record_problem(record)  # type: ignore[arg-type]
        else:
            long = too_long(PlatformRecord, {"platform_id": getattr(record, ID_FIELD[stream])})
            problem = (
                None
                if long is None
                else (f"{long[0]} is {long[2]} characters, more than the {long[1]} this desk keeps")
            )
        if problem is None:
            good.append(record)
            continue
        record_id = str(getattr(record, ID_FIELD.get(stream, "platform_order_id"), ""))
        errors.append(BadPayload(problem, record_id=record_id[:64]))
    if len(good) == len(page.records):
        return page
    return Page(records=good, cursor=page.cursor, errors=errors)


def _updated_at(value: Any) -> datetime | None:
    """A record's ``updated_at`` (a datetime, or the ISO text stored of one), in UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def newest_only(
    store: Store, stream: Stream, records: list[Record], conn: BaseDBAsyncClient
) -> list[Record]:
    """The records not older than what the desk keeps of them; the rest are dropped.

    Orders have this guard in their upsert. After-sale requests, which a push
    now fetches beside the regular sync, are checked here against the stored
    record's ``updated_at``: a read that raced a newer one and commits after
    it must not roll the request back (a tie is taken, as a page's later row).
    On PostgreSQL the stored rows are locked until the page commits.
    """
    dated = {
        getattr(r, ID_FIELD[stream]): at
        for r in records
        if (at := _updated_at(getattr(r, "updated_at", None))) is not None
    }
    if not dated:
        return records
    query = PlatformRecord.filter(
        store_id=store.id, stream=stream.value, platform_id__in=list(dated)
    ).using_db(conn)
    if conn.capabilities.dialect == "postgres":
        query = query.select_for_update()
    kept_at = {
        row.platform_id: at
        for row in await query
        if isinstance(row.data, dict) and (at := _updated_at(row.data.get("updated_at")))
    }
    fresh = []
    for record in records:
        platform_id = getattr(record, ID_FIELD[stream])
        at, seen = dated.get(platform_id), kept_at.get(platform_id)
        if at is not None and seen is not None and seen > at:
            log.info(
                "sync.stale store=%s stream=%s id=%s kept=%s read=%s",
                store.id,
                stream.value,
                platform_id,
                seen.isoformat(),
                at.isoformat(),
            )
            continue
        fresh.append(record)
    return fresh


async def commit_records(
    store: Store,
    stream: Stream,
    page: Page[Record],
    handlers: dict[str, list[RecordHandler]],
    conn: BaseDBAsyncClient,
) -> tuple[Page[Record], set[str]]:
    """A page's records and its bad neighbours' errors, inside the caller's transaction.

    The one intake path: the sync's pages and the records a push names come
    through here. Returns the page as committed (records too long for a
    column moved to its errors) and the ids of the records written: an order
    or request older than the desk's copy is left as it was.
    """
    page = fit_columns(stream, page)
    if stream is Stream.ORDERS:
        written = await service.upsert_orders(store, page.records, conn=conn)  # type: ignore[arg-type]
    elif page.records:
        records = await newest_only(store, stream, page.records, conn)
        written = {getattr(r, ID_FIELD[stream]) for r in records}
        page = Page(records=records, cursor=page.cursor, errors=page.errors)
    else:
        written = set()
    if stream is not Stream.ORDERS and page.records:
        now = clock.now()
        await PlatformRecord.bulk_create(
            [
                PlatformRecord(
                    store_id=store.id,
                    stream=stream.value,
                    platform_id=getattr(r, ID_FIELD[stream]),
                    data=r.model_dump(mode="json"),
                    received_at=now,
                )
                for r in page.records
            ],
            on_conflict=["store_id", "stream", "platform_id"],
            update_fields=["data", "received_at"],
            using_db=conn,
        )
        for handler in handlers.get(stream.value, []):
            await handler(store, page.records, conn)
        if handlers.get(stream.value):
            ids = [getattr(r, ID_FIELD[stream]) for r in page.records]
            await (
                PlatformRecord.filter(store_id=store.id, stream=stream.value, platform_id__in=ids)
                .using_db(conn)
                .update(handled=len(handlers[stream.value]))
            )
    if page.errors:
        now = clock.now()
        await SyncError.bulk_create(
            [
                SyncError(
                    store_id=store.id,
                    stream=stream.value,
                    record_id=e.record_id[:64] if e.record_id else None,
                    message=str(e),
                    error_code="bad_record",
                    created_at=now,
                )
                for e in page.errors
            ],
            using_db=conn,
        )
    return page, written


async def commit_page(
    store: Store,
    stream: Stream,
    page: Page[Record],
    handlers: dict[str, list[RecordHandler]],
) -> Page[Record]:
    """One transaction: the records, their bad neighbours' errors, the cursor.

    Returns the page as committed: records too long for a column moved to its errors.
    """
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            # A synced page can always be fetched again, so it need not wait for
            # the WAL flush: a database crash loses the page and its cursor
            # together, never one without the other.
            await conn.execute_query("SET LOCAL synchronous_commit TO OFF")
        committed, _written = await commit_records(store, stream, page, handlers, conn)
        # One UPDATE a page; the row is created by the stream's first page only.
        moved = (
            await SyncState.filter(store_id=store.id, stream=stream.value)
            .using_db(conn)
            .update(
                cursor=page.cursor,
                last_synced_at=clock.now(),
                records_seen=F("records_seen") + len(page.records),
            )
        )
        if not moved:
            await SyncState.create(
                store_id=store.id,
                stream=stream.value,
                cursor=page.cursor,
                last_synced_at=clock.now(),
                records_seen=len(page.records),
                using_db=conn,
            )
    return committed


async def fetch_pushed(connector: Any, ref: RecordRef) -> Page[Record]:
    """The record a push named, read from the platform now, as a one-record page.

    A record the platform sends but we cannot read is the page's error, as in a
    sync; a call that fails raises (the job retries it).
    """
    try:
        if ref.stream is Stream.ORDERS:
            record: Record = await connector.order(ref.platform_id)
        elif ref.stream is Stream.AFTER_SALES:
            record = await connector.after_sale(ref.platform_id)
        else:
            raise BadPayload(f"a push cannot name a {ref.stream.value} record")
    except BadPayload as exc:
        exc.record_id = exc.record_id or ref.platform_id[:64]
        return Page(records=[], cursor=None, errors=[exc])
    return Page(records=[record], cursor=None)


async def _order_of_pushed(store: Store, page: Page[Record], connector: Any) -> Page[Record] | None:
    """The order a pushed after-sale names, read now when the desk does not have it yet.

    A request pushed minutes after the order was placed names an order the
    orders sync has not read: taken in first, in the same transaction, it lets
    the refund find its order at once (shipped or not, what the store's rules
    decide on). Reading it is a bonus: when the call fails the request lands
    alone and the next orders sync links it.
    """
    record = page.records[0] if page.records else None
    if not isinstance(record, AfterSaleRecord) or not hasattr(connector, "order"):
        return None
    if await Order.exists(store_id=store.id, platform_order_id=record.platform_order_id):
        return None
    try:
        return await fetch_pushed(connector, RecordRef(Stream.ORDERS, record.platform_order_id))
    except ConnectorError as exc:
        log.info(
            "sync.push_order_unread store=%s order=%s error=%s",
            store.id,
            record.platform_order_id[:64],
            exc,
        )
        return None


async def take_pushed(
    store: Store,
    ref: RecordRef,
    connector: Any,
    *,
    handlers: dict[str, list[RecordHandler]] | None = None,
) -> bool:
    """Fetch the record a push named and take it in as the sync would; True if it landed.

    The stream's cursor is not touched: the regular sync still covers the
    record, so a push that fails here is caught up by the next sync. A record
    older than the desk's copy changes nothing (``newest_only``, the orders'
    upsert); a message delivered twice is queued once (the hook's replay check).
    """
    page = await fetch_pushed(connector, ref)
    order_page = await _order_of_pushed(store, page, connector)
    async with in_transaction() as conn:
        if order_page is not None:
            await commit_records(store, Stream.ORDERS, order_page, handlers or {}, conn)
        _, written = await commit_records(store, ref.stream, page, handlers or {}, conn)
        record = page.records[0] if page.records else None
        if isinstance(record, OrderRecord) and written:
            order = await service.order_of_record(store, record.platform_order_id, conn)
            if order is not None:
                await audit.record(
                    "order.webhook_applied",
                    subject_type="order",
                    subject_id=order.id,
                    data={
                        "topic": "push",
                        "platform_status": record.platform_status,
                        "platform_updated_at": record.updated_at.isoformat(),
                    },
                    using_db=conn,
                )
    return bool(written)


PREFETCH_PAGES = 2
# An orders sync still going after this many pages is a big one (a new store's
# history, a catch-up): the rest is paged in a child process (connectors/pump.py).
HANDOFF_PAGES = 4


async def connector_pages(
    connector: Any, stream: Stream, cursor: str | None, *, since: datetime
) -> AsyncIterator[Page[Record]]:
    """The connector's pages; past ``HANDOFF_PAGES`` of orders, from a child process.

    The first pages come from this process, so a small sync never pays for a
    child. The child resumes from the cursor after the last page handed on,
    the way a restarted sync would.
    """
    pages = getattr(connector, stream.value)(cursor, since=since)
    spec = getattr(connector, "spec", None)
    if stream is not Stream.ORDERS or not isinstance(spec, ConnectorSpec):
        async for page in pages:
            yield page
        return
    handed = 0
    try:
        async for page in pages:
            yield page
            handed += 1
            cursor = page.cursor
            if handed >= HANDOFF_PAGES:
                break
        else:
            return
    finally:
        await pages.aclose()
    log.info("sync.handoff platform=%s pages=%s", spec.platform, handed)
    async for page in child_pages(spec, stream.value, cursor, since=since):
        yield page


async def prefetch(pages: AsyncIterator[Page[Record]]) -> AsyncIterator[Page[Record]]:
    """Fetch the next pages while the current one commits.

    Committing and fetching overlap instead of taking turns. Only committed
    pages move the cursor, so a page fetched ahead and lost in a crash is
    simply fetched again.
    """
    queue: asyncio.Queue[Page[Record] | BaseException | None] = asyncio.Queue(PREFETCH_PAGES)

    async def produce() -> None:
        try:
            async for page in pages:
                await queue.put(page)
        except Exception as exc:
            await queue.put(exc)
            return
        await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


async def sync_stream(
    store: Store,
    stream: Stream,
    connector: Any,
    *,
    handlers: dict[str, list[RecordHandler]] | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Pull every page after the saved cursor; the error of a failed run is kept."""
    result = SyncResult(stream=stream)
    state = await SyncState.get_or_none(store_id=store.id, stream=stream.value)
    since = history_start(store, clock.now())
    pages = prefetch(
        connector_pages(connector, stream, state.cursor if state else None, since=since)
    )
    try:
        async for page in pages:
            committed = await commit_page(store, stream, page, handlers or {})
            result.pages += 1
            result.records += len(committed.records)
            result.bad_records += len(committed.errors)
            if progress is not None:
                outcome = progress(result)
                if outcome is not None:
                    await outcome
    except Exception as exc:
        failure = failures.of_exception(exc)
        error = {
            "last_error": failure.technical,
            "error_code": failure.code,
            "error_params": failure.params,
        }
        await SyncState.filter(store_id=store.id, stream=stream.value).update(**error)
        if not await SyncState.exists(store_id=store.id, stream=stream.value):
            await SyncState.create(store_id=store.id, stream=stream.value, **error)
        log.warning(
            "sync.failed store=%s stream=%s error=%s", store.id, stream.value, failure.technical
        )
        raise
    finished = clock.now()
    updated = await SyncState.filter(store_id=store.id, stream=stream.value).update(
        last_error=None, error_code=None, error_params=None, completed_at=finished
    )
    if not updated:  # a stream with no page at all still counts as synced
        await SyncState.create(store_id=store.id, stream=stream.value, completed_at=finished)
    log.info(
        "sync.done store=%s stream=%s records=%s bad=%s",
        store.id,
        stream.value,
        result.records,
        result.bad_records,
    )
    return result


async def sync_orders(store: Store, connector: Any) -> int:
    """Orders only, as the demo loader uses it; returns how many records landed."""
    return (await sync_stream(store, Stream.ORDERS, connector)).records
