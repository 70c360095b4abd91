"""Who is asking, and may they: sessions, bearer tokens, roles, CSRF, throttling.

Every request passes ``AuthMiddleware``: pages need a session, ``/api/v1``
needs a bearer token, and only the login page, health check, static files
and signed webhooks are open. Roles are then checked per action with
``requires``. ``CSRFMiddleware`` checks every unsafe request made with a
session cookie.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import parse_qs, quote

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.expressions import F

from aftersales.core import clock, i18n
from aftersales.core.errors import AfterSalesError, PermissionDenied
from aftersales.core.i18n import N_, gettext
from aftersales.core.models import ApiToken, Role, User
from aftersales.core.security import hash_token

PUBLIC_PREFIXES = ("/login", "/healthz", "/static/", "/hooks/", "/favicon.ico")
API_PREFIX = "/api/v1/"
PUBLIC_API = ("/api/v1/openapi.json",)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 10 * 1024 * 1024
MAX_TEXT = 10_000
"""The most characters a person may type into one field (a note, a reply, a name).

TEXT columns have no limit of their own; a 20,000-character note is a paste
gone wrong. Page forms (here) and JSON bodies (``api.json_body``) both hold to it.
"""

MANAGERS = frozenset({Role.SUPERVISOR, Role.OWNER, Role.ADMIN})
EVERYONE = frozenset(Role)
BUYER_EDITORS = frozenset({Role.AGENT, Role.NIGHT_AGENT, Role.SUPERVISOR, Role.OWNER})
"""Who tags a buyer and keeps notes: those who talk to buyers and decide their cases.

An admin runs accounts and stores; they read the tags but do not change them.
"""


class Unauthorized(AfterSalesError):
    """An API call without a valid bearer token (401)."""

    status = 401
    code = "unauthorized"
    msgid = N_("A valid bearer token is needed.")


def is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_API


def current_user(request: Request) -> User:
    user = request.scope.get("state", {}).get("user")
    assert user is not None, "current_user() on a route that AuthMiddleware let through anonymously"
    return cast(User, user)


def requires(*roles: Role) -> Callable[[Callable[..., Awaitable[Response]]], Any]:
    """Endpoint decorator: only these roles may call it (403 otherwise)."""
    allowed = frozenset(roles)

    def decorate(endpoint: Callable[..., Awaitable[Response]]) -> Any:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            if current_user(request).role not in allowed:
                raise PermissionDenied(N_("Your role may not do this."))
            return await endpoint(request)

        wrapper.roles = allowed  # type: ignore[attr-defined]  # read by the OpenAPI builder
        return wrapper

    return decorate


async def user_for_token(token: str) -> User | None:
    row = await ApiToken.get_or_none(token_hash=hash_token(token), revoked_at=None).select_related(
        "user"
    )
    if row is None or not row.user.is_active:
        return None
    await ApiToken.filter(id=row.id).update(last_used_at=clock.now())
    return row.user


def csrf_token(session: dict[str, Any]) -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        state = scope.setdefault("state", {})
        if path.startswith(API_PREFIX):
            headers = Headers(scope=scope)
            user = await self._bearer_user(headers)
            if user is None and path not in PUBLIC_API:
                # Before LocaleMiddleware: the request's language, from its own header.
                i18n.set_locale(i18n.negotiate(headers.get("accept-language")))
                refused = Unauthorized()
                response: Response = JSONResponse(
                    refused.as_json(),
                    status_code=refused.status,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        else:
            user = await self._session_user(scope.get("session", {}))
            if user is None and not is_public(path):
                if scope["method"] in SAFE_METHODS:
                    target = path + (
                        f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
                    )
                    response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
                else:
                    response = RedirectResponse("/login", status_code=303)
                await response(scope, receive, send)
                return
        state["user"] = user
        await self.app(scope, receive, send)

    @staticmethod
    async def _bearer_user(headers: Headers) -> User | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return await user_for_token(token.strip())

    @staticmethod
    async def _session_user(session: dict[str, Any]) -> User | None:
        user_id = session.get("uid")
        if not isinstance(user_id, int):
            return None
        user = await User.get_or_none(id=user_id, is_active=True)
        # A password change rotates the hash, which ends every other session.
        if user is None or session.get("pw") != password_fingerprint(user):
            return None
        if session.get("gen", 0) != user.session_generation:
            return None
        return user


class CSRFMiddleware:
    """Refuse unsafe cookie-authenticated requests without the session's token.

    The body is read here to find the form field, then replayed to the app.
    The API (bearer tokens, no cookies) and signed webhooks are exempt.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"].startswith((API_PREFIX, "/hooks/"))
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > MAX_FORM_BYTES:
                await Response("Request too large", status_code=413)(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        from aftersales.core.templating import render_error

        expected = scope.get("session", {}).get("csrf")
        try:
            sent = await _sent_token(scope, list(messages))
        except (HTTPException, MultiPartException):
            # A broken multipart body (no boundary, cut short) is the sender's fault:
            # a 400 page here, where no exception handler would catch it (a 500).
            response = await render_error(
                Request(scope, replay),
                400,
                N_("The form could not be read. Reload the page and send it again."),
            )
            await response(scope, replay, send)
            return
        longest = _longest_field(scope, messages)
        if longest > MAX_TEXT:
            refusal = gettext("A field has %(length)s characters; at most %(max)s are kept.") % {
                "length": longest,
                "max": MAX_TEXT,
            }
            response = await render_error(Request(scope, replay), 400, refusal)
            await response(scope, replay, send)
            return
        if (
            not expected
            or not sent
            or not hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
        ):
            request = Request(scope, replay)
            response = await render_error(
                request,
                403,
                N_("The form had expired or came from another site. Please try again."),
            )
            await response(scope, replay, send)
            return
        await self.app(scope, replay, send)


def _longest_field(scope: Scope, messages: list[Message]) -> int:
    """The longest value of a urlencoded page form, in characters.

    Every page form passes here, so one check bounds notes and replies (TEXT
    columns, no limit of their own) on SQLite and PostgreSQL alike.
    """
    if (
        not Headers(scope=scope)
        .get("content-type", "")
        .lower()
        .startswith("application/x-www-form-urlencoded")
    ):
        return 0
    body = b"".join(m.get("body", b"") for m in messages).decode("latin-1")
    values = parse_qs(body, keep_blank_values=True, encoding="utf-8", errors="replace")
    return max((len(v) for vs in values.values() for v in vs), default=0)


async def _sent_token(scope: Scope, messages: list[Message]) -> str | None:
    headers = Headers(scope=scope)
    if headers.get(CSRF_HEADER):
        return headers[CSRF_HEADER]
    content_type = headers.get("content-type", "")
    body = b"".join(m.get("body", b"") for m in messages)
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD)
        return values[0] if values else None
    if content_type.startswith("multipart/form-data"):

        async def receive() -> Message:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        form = await Request(scope, receive).form()
        value = form.get(CSRF_FIELD)
        await form.close()
        return value if isinstance(value, str) else None
    return None


def password_fingerprint(user: User) -> str:
    """Changes whenever the password hash does, and reveals nothing of it.

    Kept in the server-side session record only, never in the cookie.
    """
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def remember_login(session: dict[str, Any], user: User) -> None:
    session.clear()
    session["uid"] = user.id
    session["pw"] = password_fingerprint(user)
    session["gen"] = user.session_generation
    csrf_token(session)


async def end_sessions(user_id: int) -> None:
    """End every session of this user, on every browser, at once.

    Call it after a password change, a reset or a deactivation. It bumps the
    user's session generation in the database, so it works from the CLI and
    any web node alike; a session made before the bump is refused on its next
    request. A route that wants to keep the caller signed in (a password change
    on one's own account) calls ``remember_login`` again with the fresh user.
    """
    await User.filter(id=user_id).update(session_generation=F("session_generation") + 1)
