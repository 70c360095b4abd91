"""The Starlette app factory.

Middleware, outermost first: after-commit (jobs the request's committed
transactions recorded are queued when it ends), sessions (server-side in
Redis, cookie Secure when the request came over HTTPS), authentication,
language, CSRF. The lifespan opens the
database and Redis and, on one machine, runs the arq worker in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from arq import create_pool
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.exceptions import ValidationError

from aftersales.core import aftercommit, db, i18n
from aftersales.core.auth import API_PREFIX, AuthMiddleware, CSRFMiddleware
from aftersales.core.config import Settings
from aftersales.core.errors import AfterSalesError
from aftersales.core.i18n import N_
from aftersales.core.jobs import make_worker, stop_worker
from aftersales.core.modules import Registry, install
from aftersales.core.redis import RedisHandle, open_redis
from aftersales.core.sessions import RedisSessions
from aftersales.core.templating import build_environment, render_error, templates_dir

log = logging.getLogger("aftersales.web")


CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)
SECURITY_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
)
HSTS = "max-age=31536000"


class SecurityHeaders:
    """The browser-side safety headers on every response the desk sends.

    Wraps the whole app (see ``Desk``), so static files, photos, error pages
    and even a crash's 500 page carry them. No inline script or style is
    allowed: pages load ``/static/desk.js`` and the CSS files, and report
    charts have their pygal styles moved to ``/static/charts.css``. HSTS goes
    out only on HTTPS requests (uvicorn's proxy headers set the scheme behind
    a TLS-terminating proxy), so plain-HTTP development is not pinned.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Desk(Starlette):
    """Starlette with ``SecurityHeaders`` outside even its error middleware."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


class AfterCommitMiddleware:
    """Each request is one unit of work: committed jobs are queued when it ends.

    Routes never kick the outbox; ``outbox.enqueue`` recorded the delivery in
    its transaction's frame, and a rolled-back transaction took it away again.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        queue = getattr(scope["app"].state, "redis", None) if "app" in scope else None
        async with aftercommit.unit_of_work(queue):
            await self.app(scope, receive, send)


class LocaleMiddleware:
    """The user's saved language, else the browser's Accept-Language.

    On the API the request's own Accept-Language comes first: a script (or a
    zh-CN integration) asks for its language per request, whoever owns the token.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            user = scope.get("state", {}).get("user")
            asked = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
            locale = getattr(user, "locale", None)
            if (asked and scope["path"].startswith(API_PREFIX)) or not locale:
                locale = i18n.negotiate(asked)
            i18n.set_locale(locale)
        await self.app(scope, receive, send)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


async def _error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> Response:
    """The API's ``{"error": {"code", "message", "details"}}``, or the error page."""
    if _is_api(request):
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return JSONResponse(body, status_code=status)
    return await render_error(request, status, message)


async def on_business_error(request: Request, exc: Exception) -> Response:
    """A refused action, in the reader's language (the locale is the request's by now)."""
    assert isinstance(exc, AfterSalesError)
    return await _error_response(request, exc.status, exc.code, exc.message, exc.details())


HTTP_ERRORS = {
    400: ("bad_request", N_("The request could not be read (a broken form or body).")),
    403: ("forbidden", N_("You may not do this.")),
    404: ("not_found", N_("There is nothing at this address.")),
    405: ("method_not_allowed", N_("This address does not accept that method.")),
    413: ("too_large", N_("The request is too large.")),
}


def allowed_methods(app: Starlette, path: str) -> list[str]:
    """Every method some route accepts on this API path.

    Starlette's own ``Allow`` names only the first route that matched the
    path, but ``GET`` and ``POST /refunds`` are two routes.
    """
    sub = path.removeprefix(API_PREFIX.rstrip("/"))
    methods: set[str] = set()
    for route in app.state.api_routes:
        if isinstance(route, Route) and route.path_regex.match(sub):
            methods |= route.methods or set()
    return sorted(methods)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = HTTP_ERRORS.get(exc.status_code, ("http_error", N_("Error")))
    response = await _error_response(request, exc.status_code, code, i18n.gettext(message))
    if exc.status_code == 405:
        allow = allowed_methods(request.app, request.url.path) if _is_api(request) else []
        response.headers["Allow"] = ", ".join(allow) or (exc.headers or {}).get("Allow", "")
    return response


async def on_invalid_value(request: Request, exc: Exception) -> Response:
    """A value Tortoise refuses before writing (longer than ``max_length``): a 400.

    Services check what people type with ``db.check_lengths``; this is the net
    under any form that does not, so SQLite refuses what PostgreSQL would.
    """
    log.info("web.invalid_value path=%s error=%.120s", request.url.path, exc)
    message = N_("A value is longer than this field allows. Shorten it and try again.")
    return await _error_response(request, 400, "too_long", i18n.gettext(message))


async def on_crash(request: Request, exc: Exception) -> Response:
    log.exception("web.unhandled_error path=%s", request.url.path, exc_info=exc)
    return await _error_response(
        request,
        500,
        "internal_error",
        i18n.gettext(N_("Something went wrong on our side. It has been logged.")),
    )


def create_app(
    settings: Settings,
    *,
    manage_db: bool = True,
    redis: RedisHandle | None = None,
    run_worker: bool = False,
) -> Starlette:
    """Build the desk; tests pass ``manage_db=False`` and their own Redis.

    The module registry is built here, once: routes, templates, the worker
    and every request read it from ``app.state.registry``.
    """
    registry = install(Registry.build(settings))
    api = registry.api_routes()
    webhooks = registry.webhooks()
    static = Path(templates_dir()) / "static"
    routes: list[BaseRoute] = [
        *registry.routes(),
        *([Mount("/hooks", routes=webhooks)] if webhooks else []),
        Mount("/api/v1", routes=api),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        handle = redis or open_redis(settings)
        if manage_db:
            await db.init_db(settings)
        app.state.redis = await create_pool(handle.settings)
        install(registry)  # the app that starts last owns the process's domain events
        await registry.on_startup()
        worker_task = None
        if run_worker:
            worker = make_worker(
                settings, handle.settings, manage_db=False, handle_signals=False, registry=registry
            )
            worker_task = asyncio.create_task(worker.async_run(), name="arq-worker")
        try:
            yield
        finally:
            if worker_task is not None:
                await stop_worker(worker, worker_task)
            await app.state.redis.aclose()
            if manage_db:
                await db.close_db()
            if redis is None:
                handle.close()

    app = Desk(
        routes=routes,
        middleware=[
            Middleware(AfterCommitMiddleware),
            Middleware(RedisSessions),
            Middleware(AuthMiddleware),
            Middleware(LocaleMiddleware),
            Middleware(CSRFMiddleware),
        ],
        exception_handlers={
            AfterSalesError: on_business_error,
            HTTPException: on_http_error,
            ValidationError: on_invalid_value,
            Exception: on_crash,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.api_routes = api
    app.state.jinja = build_environment(registry)
    return app
