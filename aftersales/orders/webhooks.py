"""Signed webhooks: a good delivery upserts its order at once, a forged one changes nothing.

The store is looked up and the body's size bounded before it is read, so an
unsigned flood costs us at most ``MAX_BODY_BYTES`` per request. The signature
is checked against the raw body in constant time before anything is parsed.
A body already taken (same store, same bytes: a sha256 of both) or a delivery
id seen before is acknowledged without acting, so a platform retrying does not
disable the hook and an attacker replaying a captured body under a new
delivery id changes nothing. An older version of an order that was never seen
here (replayed after the window, or delivered late) is refused by the upsert
itself, which compares the platform's modification times. A signed body we
cannot read is a 400 kept in ``sync_errors`` for the store's page.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock
from aftersales.core.models import Store
from aftersales.core.security import decrypt_credentials
from aftersales.orders import service
from aftersales.orders.models import Order, SyncError
from connectors import shopify, woocommerce
from connectors.base import BadPayload, OrderRecord, Stream

log = logging.getLogger("aftersales.webhooks")
REPLAY_WINDOW_SECONDS = 7 * 24 * 3600
# A platform's order webhook is a few kB; a body past this is refused unread.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Verifier:
    """How one platform signs, names and packs its webhook deliveries (from connectors/)."""

    platform: str
    signature_header: str
    verify: Callable[[str, bytes, str | None], bool]
    delivery_id: Callable[[dict[str, str]], str | None]
    order: Callable[[dict[str, str], bytes], OrderRecord | None]


VERIFIERS = {
    "woocommerce": Verifier(
        platform="woocommerce",
        signature_header="x-wc-webhook-signature",
        verify=woocommerce.verify_webhook,
        delivery_id=woocommerce.webhook_delivery_id,
        order=woocommerce.webhook_order,
    ),
    "shopify": Verifier(
        platform="shopify",
        signature_header="x-shopify-hmac-sha256",
        verify=lambda secret, body, sig: shopify.verify_webhook(secret, body, sig or ""),
        delivery_id=shopify.webhook_delivery_id,
        order=shopify.webhook_order,
    ),
}


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
        created_at=clock.now(),
    )


async def receive(request: Request) -> Response:
    verifier = VERIFIERS[request.path_params["platform"]]
    store_id = request.path_params["store_id"]
    store = (
        await Store.get_or_none(id=store_id, platform=verifier.platform, enabled=True)
        if store_id <= service.INT32  # a bigger id is no store, not a database error
        else None
    )
    if store is None:
        return _refuse(404, "not_found", "No such store.")
    ip = request.client.host if request.client else "?"
    try:
        body = await read_bounded(request, MAX_BODY_BYTES)
    except _TooLarge:
        log.warning("webhooks.too_large store=%s ip=%s", store.id, ip)
        return _refuse(413, "too_large", f"A webhook body is at most {MAX_BODY_BYTES} bytes.")
    headers = {k.lower(): v for k, v in request.headers.items()}
    if verifier.platform == "woocommerce" and body.startswith(b"webhook_id="):
        return JSONResponse({"status": "pong"})  # WooCommerce's unsigned creation ping
    secret = decrypt_credentials(
        request.app.state.settings.secret_key, store.credentials_encrypted
    ).get("webhook_secret", "")
    if not verifier.verify(secret, body, headers.get(verifier.signature_header)):
        log.warning("webhooks.forged store=%s platform=%s ip=%s", store.id, verifier.platform, ip)
        return _refuse(401, "bad_signature", "The webhook signature does not match.")
    delivery = verifier.delivery_id(headers)
    keys = [f"aftersales:webhook:{store.id}:body:{body_digest(store.id, body)}"]
    if delivery:
        keys.append(f"aftersales:webhook:{store.id}:{delivery}")
    if not await _first_time(request, keys):
        log.warning("webhooks.replayed store=%s delivery=%s ip=%s", store.id, delivery, ip)
        return JSONResponse({"status": "duplicate"})
    topic = headers.get("x-wc-webhook-topic") or headers.get("x-shopify-topic") or "?"
    try:
        record = verifier.order(headers, body)
        problem = service.record_problem(record) if record is not None else None
        if record is not None and problem is not None:
            raise BadPayload(problem, record_id=record.platform_order_id)
    except BadPayload as exc:
        log.warning("webhooks.bad_payload store=%s error=%s", store.id, exc)
        await _keep_bad_payload(store, exc, topic)
        return _refuse(400, "bad_payload", str(exc))
    if record is None:
        return JSONResponse({"status": "ignored"})
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
        return JSONResponse({"status": "stale", "platform_order_id": record.platform_order_id})
    return JSONResponse({"status": "ok", "platform_order_id": record.platform_order_id})


def _route(platform: str) -> Any:
    async def endpoint(request: Request) -> Response:
        request.path_params["platform"] = platform
        return await receive(request)

    return endpoint


hooks = [
    Route("/woocommerce/{store_id:id}", _route("woocommerce"), methods=["POST"]),
    Route("/shopify/{store_id:id}", _route("shopify"), methods=["POST"]),
]
