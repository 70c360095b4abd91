"""Server-side sessions in Redis: the cookie holds only a random id.

Signing out deletes the record, so a copied cookie stops working at once
(a signed cookie would keep working until it expired). A signed-in session
lives 12 hours after its last request (a long shift plus a break) and at
most 7 days in all; an anonymous one (the login form's CSRF token) 1 hour.
Redis keeps only the SHA-256 of the id, so a dump of Redis holds no live
cookie. The cookie is HttpOnly, SameSite=Lax and Secure exactly when the
request came over HTTPS (uvicorn's proxy headers set the scheme behind a
TLS-terminating proxy).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "aftersales"
KEY_PREFIX = "aftersales:session:"
IDLE_SECONDS = 12 * 3600
ABSOLUTE_SECONDS = 7 * 24 * 3600
ANONYMOUS_SECONDS = 3600
_CREATED = "_created"
# Static files and the health check need no session: no Redis round trip for
# them, and /healthz can still report a Redis outage instead of failing on it.
SESSIONLESS_PREFIXES = ("/static/", "/healthz")


def _key(session_id: str) -> str:
    return KEY_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


class RedisSessions:
    """``scope["session"]`` as a dict loaded from and saved to Redis."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(SESSIONLESS_PREFIXES):
            scope["session"] = {}
            await self.app(scope, receive, send)
            return
        redis = scope["app"].state.redis
        secure = scope.get("scheme") in {"https", "wss"}
        session_id = HTTPConnection(scope).cookies.get(COOKIE) or None
        stored: dict[str, Any] = {}
        if session_id:
            raw = await redis.get(_key(session_id))
            stored = json.loads(raw) if raw else {}
            if not stored or time.time() - stored.get(_CREATED, 0) > ABSOLUTE_SECONDS:
                stored = {}
        created = stored.pop(_CREATED, None)
        before = json.dumps(stored, sort_keys=True)
        scope["session"] = dict(stored)

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._save(
                    redis, session_id if stored else None, stored, before, created, scope
                )
                if cookie is not None:
                    MutableHeaders(scope=message).append("Set-Cookie", _cookie(cookie, secure))
            await send(message)

        await self.app(scope, receive, send_with_session)

    @staticmethod
    async def _save(
        redis: Any,
        session_id: str | None,
        stored: dict[str, Any],
        before: str,
        created: float | None,
        scope: Scope,
    ) -> str | None:
        """Write the session back; the cookie value to set, "" to clear it, None to leave it."""
        data: dict[str, Any] = scope["session"]
        if not data:
            if session_id is not None:
                await redis.delete(_key(session_id))
                return ""
            return None
        ttl = IDLE_SECONDS if data.get("uid") else ANONYMOUS_SECONDS
        # A new sign-in, or a sign-in renewed after a password change, gets a new
        # id: an id planted or copied before it is worth nothing.
        if session_id is None or _identity(data) != _identity(stored):
            if session_id is not None:
                await redis.delete(_key(session_id))
            session_id, created = secrets.token_urlsafe(32), None
        elif json.dumps(data, sort_keys=True) == before:
            await redis.expire(_key(session_id), ttl)
            return None
        record = {**data, _CREATED: created or time.time()}
        # An existing id is only rewritten while it still exists (xx): a request
        # that loaded the session before a sign-out must not bring it back.
        fresh = created is None
        written = await redis.set(_key(session_id), json.dumps(record), ex=ttl, xx=not fresh)
        if not written:
            return ""
        return session_id


def _identity(session: dict[str, Any]) -> tuple[Any, ...]:
    return (session.get("uid"), session.get("gen"), session.get("pw"))


def _cookie(value: str, secure: bool) -> str:
    max_age = ABSOLUTE_SECONDS if value else 0
    parts = [f"{COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
