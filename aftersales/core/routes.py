"""Core pages: sign in and out, the home checklist, the user's own settings, health."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from aftersales.core import db, i18n, service, throttle
from aftersales.core.auth import current_user, remember_login
from aftersales.core.i18n import gettext as _
from aftersales.core.jobs import worker_heartbeat
from aftersales.core.modules import Tile
from aftersales.core.templating import flash, render

log = logging.getLogger("aftersales.web")


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot bounce people elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return target if not parts.netloc and not parts.scheme else "/"


async def login_page(request: Request) -> Response:
    return render(
        request, "core/login.html", {"next": _safe_next(request.query_params.get("next"))}
    )


async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    next_path = _safe_next(str(form.get("next", "/")))
    redis = request.app.state.redis
    ip = request.client.host if request.client else "unknown"
    counted = await throttle.attempt(
        redis, username, ip, window=request.app.state.settings.login_window_seconds
    )
    if counted.wait:
        log.info("auth.login_throttled username=%s ip=%s", username, ip)
        minutes = -(-counted.wait // 60)
        message = _("Too many failed sign-ins. Try again in %(minutes)s minutes.") % {
            "minutes": minutes
        }
        response = render(
            request,
            "core/login.html",
            {"next": next_path, "error": message, "username": username},
            status=429,
        )
        response.headers["Retry-After"] = str(counted.wait)
        return response
    user = await service.authenticate(username, password)
    if user is None:
        log.info("auth.login_failed username=%s ip=%s", username, ip)
        return render(
            request,
            "core/login.html",
            {"next": next_path, "error": _("Wrong username or password."), "username": username},
            status=401,
        )
    await throttle.succeeded(redis, counted)
    remember_login(request.session, user)
    return RedirectResponse(next_path, status_code=303)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    user = current_user(request)
    sections: list[tuple[str, list[Tile]]] = []
    for module in request.app.state.modules:
        if module.dashboard_tiles is not None:
            tiles = await module.dashboard_tiles(user)
            if tiles:
                sections.append((module.label, tiles))
    return render(request, "core/home.html", {"sections": sections})


async def account(request: Request) -> Response:
    return render(request, "core/account.html")


async def account_language(request: Request) -> Response:
    form = await request.form()
    choice = str(form.get("locale", ""))
    user = current_user(request)
    await service.set_language(user, choice if choice in i18n.SUPPORTED else None)
    i18n.set_locale(choice)
    flash(request, _("Language saved."))
    return RedirectResponse("/account", status_code=303)


async def healthz(request: Request) -> Response:
    """Database, Redis and worker as JSON; 503 when the desk cannot work."""
    report: dict[str, object] = {}
    healthy = True
    try:
        await asyncio.wait_for(db.ping(), timeout=3)
        report["database"] = "ok"
    except Exception as exc:
        healthy = False
        report["database"] = f"error: {type(exc).__name__}"
    try:
        redis = request.app.state.redis
        await asyncio.wait_for(redis.ping(), timeout=3)
        report["redis"] = "ok"
        beat = await worker_heartbeat(redis)
        report["worker"] = {"status": "ok" if beat else "missing", "heartbeat": beat}
        healthy = healthy and beat is not None
    except Exception as exc:
        healthy = False
        report["redis"] = f"error: {type(exc).__name__}"
        report["worker"] = {"status": "unknown", "heartbeat": None}
    report["status"] = "ok" if healthy else "degraded"
    return JSONResponse(report, status_code=200 if healthy else 503)


routes = [
    Route("/", home, name="home"),
    Route("/login", login_page, methods=["GET"], name="login"),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/account", account, name="account"),
    Route("/account/language", account_language, methods=["POST"]),
    Route("/healthz", healthz, name="healthz"),
]
