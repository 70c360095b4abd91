"""Signed webhooks: a good delivery upserts its order at once, a forged one changes nothing.

The signature is checked against the raw body in constant time before
anything is parsed. A delivery id seen before (a replay) is acknowledged
without acting, so a platform retrying a delivery we already took does not
disable the hook, and an attacker replaying one changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from aftersales.core.models import Store
from aftersales.core.security import decrypt_credentials
from aftersales.orders import service
from connectors import shopify, woocommerce
from connectors.base import BadPayload, OrderRecord

log = logging.getLogger("aftersales.webhooks")
REPLAY_WINDOW_SECONDS = 7 * 24 * 3600


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


async def receive(request: Request) -> Response:
    verifier = VERIFIERS[request.path_params["platform"]]
    store = await Store.get_or_none(
        id=request.path_params["store_id"], platform=verifier.platform, enabled=True
    )
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    ip = request.client.host if request.client else "?"
    if store is None:
        return _refuse(404, "not_found", "No such store.")
    if verifier.platform == "woocommerce" and body.startswith(b"webhook_id="):
        return JSONResponse({"status": "pong"})  # WooCommerce's unsigned creation ping
    secret = decrypt_credentials(
        request.app.state.settings.secret_key, store.credentials_encrypted
    ).get("webhook_secret", "")
    if not verifier.verify(secret, body, headers.get(verifier.signature_header)):
        log.warning("webhooks.forged store=%s platform=%s ip=%s", store.id, verifier.platform, ip)
        return _refuse(401, "bad_signature", "The webhook signature does not match.")
    delivery = verifier.delivery_id(headers)
    if delivery:
        fresh = await request.app.state.redis.set(
            f"aftersales:webhook:{store.id}:{delivery}", b"1", nx=True, ex=REPLAY_WINDOW_SECONDS
        )
        if not fresh:
            log.warning("webhooks.replayed store=%s delivery=%s ip=%s", store.id, delivery, ip)
            return JSONResponse({"status": "duplicate"})
    try:
        record = verifier.order(headers, body)
    except BadPayload as exc:
        log.warning("webhooks.bad_payload store=%s error=%s", store.id, exc)
        return _refuse(400, "bad_payload", str(exc))
    if record is None:
        return JSONResponse({"status": "ignored"})
    async with in_transaction() as conn:
        await service.upsert_orders(store, [record], conn=conn)
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
