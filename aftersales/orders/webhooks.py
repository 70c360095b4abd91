"""Signed webhooks: a good delivery upserts its order at once, a forged one changes nothing.

The store is looked up and the body's size bounded before it is read, so an
unsigned flood costs us at most ``MAX_BODY_BYTES`` per request. The signature
is checked against the raw body in constant time before anything is parsed;
a store with no webhook secret is refused by the desk itself (only the
platform's unsigned ping is answered), whatever its connector would accept.
A body already taken (same store, same bytes: a sha256 of both) or a delivery
id seen before is acknowledged without acting, so a platform retrying does not
disable the hook and an attacker replaying a captured body under a new
delivery id changes nothing. An older version of an order that was never seen
here (replayed after the window, or delivered late) is refused by the upsert
itself, which compares the platform's modification times. A signed body we
cannot read is a 400 kept in ``sync_errors`` for the store's page.

A platform whose pushes only name records (``webhook_targets``) has each
named record fetched by a job queued here (``jobs.sync_pushed``), so the
answer does not wait on the platform; the delivery counts as taken only once
the jobs are queued. A platform that wants its own words back
(``webhook_reply``) gets exactly them for every verified delivery taken now
or before.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock
from aftersales.core.models import Store
from aftersales.core.security import decrypt_credentials
from aftersales.orders import jobs, service
from aftersales.orders.models import Order, SyncError
from connectors import registry
from connectors.base import (
    BadPayload,
    BadSignature,
    ConnectorManifest,
    OrderRecord,
    RecordRef,
    Stream,
    WebhookEvent,
    WebhookTargets,
    WebhookVerifier,
)

log = logging.getLogger("aftersales.webhooks")
REPLAY_WINDOW_SECONDS = 7 * 24 * 3600
# A platform's order webhook is a few kB; a body past this is refused unread.
MAX_BODY_BYTES = 1024 * 1024


def _refuse(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class _TooLarge(Exception):
    pass


async def read_bounded(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk and given up at ``limit`` bytes.

    A declared Content-Length over the limit is refused before one byte is
    read; a missing or lying one is caught by counting what really arrives.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def body_digest(store_id: int, body: bytes) -> str:
    """What makes a delivery the same delivery: the store and the exact signed bytes."""
    return hashlib.sha256(f"{store_id}:".encode() + body).hexdigest()


async def _first_time(request: Request, keys: list[str]) -> bool:
    """Mark every key seen; False (and nothing left marked) if any was seen already."""
    redis = request.app.state.redis
    fresh = [await redis.set(k, b"1", nx=True, ex=REPLAY_WINDOW_SECONDS) for k in keys]
    if all(fresh):
        return True
    marked = [k for k, was_fresh in zip(keys, fresh, strict=True) if was_fresh]
    if marked:
        await redis.delete(*marked)
    return False


async def _keep_bad_payload(store: Store, exc: BadPayload, topic: str) -> None:
    """The sync page's error list shows a bad delivery the way it shows a bad synced record."""
    await SyncError.create(
        store_id=store.id,
        stream=Stream.ORDERS.value,
        record_id=(exc.record_id or "")[:64] or None,
        message=f"webhook {topic[:64]}: {exc}"[:2000],
        error_code="bad_record",
        created_at=clock.now(),
    )


def _verifying(platform: str) -> ConnectorManifest | None:
    """The platform's manifest if it signs webhooks, else None (no such hook address)."""
    manifest = registry.find(platform)
    return manifest if manifest is not None and manifest.webhook is not None else None


async def receive(request: Request) -> Response:
    manifest = _verifying(request.path_params["platform"])
    store_id = request.path_params["store_id"]
    store = (
        await Store.get_or_none(id=store_id, platform=manifest.platform, enabled=True)
        if manifest is not None and store_id <= service.INT32  # a bigger id is no store
        else None
    )
    if store is None or manifest is None or manifest.webhook is None:
        return _refuse(404, "not_found", "No such store.")
    ip = request.client.host if request.client else "?"
    try:
        body = await read_bounded(request, MAX_BODY_BYTES)
    except _TooLarge:
        log.warning("webhooks.too_large store=%s ip=%s", store.id, ip)
        return _refuse(413, "too_large", f"A webhook body is at most {MAX_BODY_BYTES} bytes.")
    headers = {k.lower(): v for k, v in request.headers.items()}
    secret = decrypt_credentials(
        request.app.state.settings.secret_key, store.credentials_encrypted
    ).get(service.WEBHOOK_SECRET, "")
    if not secret:
        return _unsigned_store(manifest.webhook, store, headers, body, ip)
    try:
        event = manifest.webhook(headers, body, secret)
    except BadSignature:
        log.warning("webhooks.forged store=%s platform=%s ip=%s", store.id, manifest.platform, ip)
        return _refuse(401, "bad_signature", "The webhook signature does not match.")
    if event.ping:
        return JSONResponse({"status": "pong"})  # a platform's unsigned "is this address live?"
    delivery = event.delivery_id
    keys = [f"aftersales:webhook:{store.id}:body:{body_digest(store.id, body)}"]
    if delivery:
        keys.append(f"aftersales:webhook:{store.id}:{delivery}")
    if not await _first_time(request, keys):
        log.warning("webhooks.replayed store=%s delivery=%s ip=%s", store.id, delivery, ip)
        return _taken(manifest, {"status": "duplicate"})
    topic = event.topic
    if manifest.webhook_targets is not None:
        return await _queue_targets(request, manifest, manifest.webhook_targets, store, event, keys)
    try:
        record = _order(manifest, event)
        problem = service.record_problem(record) if record is not None else None
        if record is not None and problem is not None:
            raise BadPayload(problem, record_id=record.platform_order_id)
    except BadPayload as exc:
        log.warning("webhooks.bad_payload store=%s error=%s", store.id, exc)
        await _keep_bad_payload(store, exc, topic)
        return _refuse(400, "bad_payload", str(exc))
    if record is None:
        return _taken(manifest, {"status": "ignored"})
    try:
        async with in_transaction() as conn:
            written = await service.upsert_orders(store, [record], conn=conn)
            if written:
                order = (
                    await Order.filter(
                        store_id=store.id, platform_order_id=record.platform_order_id
                    )
                    .using_db(conn)
                    .get()
                )
                await audit.record(
                    "order.webhook_applied",
                    subject_type="order",
                    subject_id=order.id,
                    data={
                        "topic": topic[:64],
                        "delivery": (delivery or "")[:128],
                        "platform_status": record.platform_status,
                        "platform_updated_at": record.updated_at.isoformat(),
                    },
                    using_db=conn,
                )
    except Exception:
        await request.app.state.redis.delete(*keys)  # not taken: the platform's retry must land
        raise
    if not written:
        log.info(
            "webhooks.stale store=%s order=%s updated_at=%s",
            store.id,
            record.platform_order_id,
            record.updated_at.isoformat(),
        )
        return _taken(manifest, {"status": "stale", "platform_order_id": record.platform_order_id})
    return _taken(manifest, {"status": "ok", "platform_order_id": record.platform_order_id})


def _taken(manifest: ConnectorManifest, status: dict[str, object]) -> Response:
    """The answer to a verified delivery: the platform's own words where it wants them."""
    if manifest.webhook_reply is not None:
        return Response(manifest.webhook_reply, media_type=manifest.webhook_reply_type)
    return JSONResponse(status)


async def _queue_targets(
    request: Request,
    manifest: ConnectorManifest,
    targets: WebhookTargets,
    store: Store,
    event: WebhookEvent,
    keys: list[str],
) -> Response:
    """Queue a fetch of each record the push names; the delivery is taken once they are.

    A stream the platform's connector does not sync is left out (acknowledged,
    nothing to fetch). Should queueing fail, the delivery's keys are dropped so
    the platform's retry is taken.
    """
    try:
        refs = targets(event)
    except BadPayload as exc:
        log.warning("webhooks.bad_payload store=%s error=%s", store.id, exc)
        await _keep_bad_payload(store, exc, event.topic)
        return _refuse(400, "bad_payload", str(exc))
    synced = {Stream.ORDERS}
    if manifest.capabilities.after_sales:
        synced.add(Stream.AFTER_SALES)
    refs = [ref for ref in refs if ref.stream in synced]
    secret_key = request.app.state.settings.secret_key
    try:
        queued = 0
        for taker, taken in await _stores_of_shops(manifest, store, refs, secret_key):
            queued += await jobs.enqueue_pushed(request.app.state.redis, taker, taken)
    except Exception:
        await request.app.state.redis.delete(*keys)
        raise
    log.info("webhooks.queued store=%s topic=%s records=%s", store.id, event.topic[:64], queued)
    return _taken(manifest, {"status": "queued" if queued else "ignored", "records": queued})


async def _stores_of_shops(
    manifest: ConnectorManifest, store: Store, refs: list[RecordRef], secret_key: str
) -> list[tuple[Store, list[RecordRef]]]:
    """Which store takes each named record: the store of the shop the message is about.

    An app for many shops has one callback address, so a push at this store's
    hook may be about another shop. It goes to the store on the desk with
    that shop id and the same webhook secret (the same app: the signature
    vouches for it), and is never taken here, where its fetch would fail or
    read another shop's record into this store. A message naming no shop,
    or reaching a store that does not know its own shop id, stays here.
    """
    name = manifest.shop_credential
    if name is None:
        return [(store, refs)]
    own = decrypt_credentials(secret_key, store.credentials_encrypted)
    own_shop = str(own.get(name) or "")
    here = [ref for ref in refs if not ref.shop or ref.shop == own_shop]
    away = [ref for ref in refs if ref not in here]
    if not away:
        return [(store, here)]
    others: dict[str, Store] = {}
    for other in await Store.filter(platform=store.platform, enabled=True).exclude(id=store.id):
        credentials = decrypt_credentials(secret_key, other.credentials_encrypted)
        same_app = credentials.get(service.WEBHOOK_SECRET) == own.get(service.WEBHOOK_SECRET)
        if same_app and credentials.get(name):
            others.setdefault(str(credentials[name]), other)
    routed: dict[int, tuple[Store, list[RecordRef]]] = {store.id: (store, here)}
    for ref in away:
        taker = others.get(ref.shop)
        if taker is None and not own_shop:
            taker = store  # this store's own shop id is not known: it may be this shop's
        if taker is None:
            log.warning("webhooks.other_shop store=%s shop=%s", store.id, ref.shop[:32])
            continue
        routed.setdefault(taker.id, (taker, []))[1].append(ref)
    return [entry for entry in routed.values() if entry[1]]


def _unsigned_store(
    verify: WebhookVerifier, store: Store, headers: dict[str, str], body: bytes, ip: str
) -> Response:
    """A store with no webhook secret takes no delivery: 401, whatever its verifier says.

    Anyone can sign with an empty key, so the desk does not rely on each
    connector to refuse one. The verifier only gets to recognise the
    platform's unsigned ping (sent when a hook is saved on the platform), keyed with
    a random secret nobody can sign with; anything else is refused here.
    """
    try:
        event: WebhookEvent | None = verify(headers, body, secrets.token_hex(32))
    except (BadSignature, BadPayload):
        event = None
    if event is not None and event.ping:
        return JSONResponse({"status": "pong"})
    log.warning("webhooks.no_secret store=%s platform=%s ip=%s", store.id, store.platform, ip)
    return _refuse(
        401, "no_webhook_secret", "This store has no webhook secret: no delivery can be verified."
    )


def _order(manifest: ConnectorManifest, event: WebhookEvent) -> OrderRecord | None:
    """The order a verified event carries; None for a topic the manifest maps to no order.

    Only orders are applied from webhooks; another stream's topic is acknowledged
    and left to the next sync.
    """
    if manifest.webhook_events.get(event.topic) is not Stream.ORDERS:
        return None
    record = manifest.webhook_record(event) if manifest.webhook_record is not None else None
    if record is not None and not isinstance(record, OrderRecord):
        raise BadPayload(f"an {event.topic} webhook carried no order")
    return record


hooks = [Route("/{platform}/{store_id:id}", receive, methods=["POST"])]
