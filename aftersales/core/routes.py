"""Core pages: sign in and out, the home checklist, the user's own settings, the admin's
Users pages, health."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

import aftersales.core.api  # noqa: F401  (registers the {name:id} path convertor used below)
from aftersales.core import accounts, db, i18n, service, throttle
from aftersales.core.auth import current_user, remember_login, requires
from aftersales.core.errors import AfterSalesError, PermissionDenied
from aftersales.core.i18n import gettext as _
from aftersales.core.jobs import worker_heartbeat
from aftersales.core.models import Role
from aftersales.core.modules import REPORTS_PATH, Registry, Tile
from aftersales.core.security import MIN_PASSWORD_LENGTH
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
    registry: Registry = request.app.state.registry
    sections: list[tuple[str, list[Tile]]] = [
        (module.label, tiles) for module, tiles in await registry.dashboard_tiles(user)
    ]
    notices = await registry.home_notices(user)
    return render(request, "core/home.html", {"sections": sections, "notices": notices})


async def reports(request: Request) -> Response:
    """The Reports menu: each module's report pages the user's role reads."""
    registry: Registry = request.app.state.registry
    sections = [(module.label, links) for module, links in registry.reports(current_user(request))]
    if not sections:
        raise PermissionDenied()
    return render(request, "core/reports.html", {"sections": sections})


# Forms that take a new password say how long it must be.
PASSWORD_RULE = {"min_password": MIN_PASSWORD_LENGTH}


async def account(request: Request) -> Response:
    return render(request, "core/account.html", PASSWORD_RULE)


async def account_language(request: Request) -> Response:
    form = await request.form()
    choice = str(form.get("locale", ""))
    user = current_user(request)
    await service.set_language(user, choice if choice in i18n.SUPPORTED else None)
    i18n.set_locale(choice)
    flash(request, _("Language saved."))
    return RedirectResponse("/account", status_code=303)


async def account_name(request: Request) -> Response:
    """Everyone sets the name the header and the case pages show for them."""
    form = await request.form()
    user = current_user(request)
    try:
        await accounts.set_display_name(user.id, str(form.get("display_name", "")), actor=user)
    except AfterSalesError as exc:
        return render(
            request,
            "core/account.html",
            {"name_error": exc.message, **PASSWORD_RULE},
            status=exc.status,
        )
    flash(request, _("Display name saved."))
    return RedirectResponse("/account", status_code=303)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def account_password(request: Request) -> Response:
    """Change one's own password; the current one is asked, and wrong guesses count
    towards the same lock-out as failed sign-ins (a borrowed session is no oracle)."""
    form = await request.form()
    user = current_user(request)
    redis = request.app.state.redis
    ip = _client_ip(request)
    new = str(form.get("new_password", ""))
    if new != str(form.get("new_password_again", "")):
        error, status = _("The two new passwords differ."), 400
    elif (
        counted := await throttle.attempt(
            redis, user.username, ip, window=request.app.state.settings.login_window_seconds
        )
    ).wait:
        error, status = _("Too many wrong passwords. Try again later."), 429
    else:
        try:
            changed = await accounts.change_own_password(
                user, current=str(form.get("current_password", "")), new=new
            )
        except accounts.WrongPassword as exc:
            error, status = exc.message, exc.status
        except AfterSalesError as exc:
            error, status = exc.message, exc.status
        else:
            await throttle.succeeded(redis, counted)
            # Every other session ended with the old password; this one goes on.
            remember_login(request.session, changed)
            flash(request, _("Password changed. You were signed out everywhere else."))
            return RedirectResponse("/account", status_code=303)
    return render(
        request, "core/account.html", {"password_error": error, **PASSWORD_RULE}, status=status
    )


# -- the admin's Users pages ------------------------------------------------------------------


async def _user_page(
    request: Request, user_id: int, *, error: str | None = None, status: int = 200, **extra: object
) -> Response:
    person, tokens = await accounts.user_with_tokens(user_id)
    response = render(
        request,
        "core/user.html",
        {"person": person, "tokens": tokens, "error": error, **PASSWORD_RULE, **extra},
        status=status,
    )
    # The page may carry a token shown once: never keep it in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@requires(Role.ADMIN)
async def users_page(request: Request) -> Response:
    users = await accounts.list_users()
    return render(request, "core/users.html", {"users": users, **PASSWORD_RULE})


@requires(Role.ADMIN)
async def user_add(request: Request) -> Response:
    """Add a user; a blank first password makes the desk pick one, shown once on their page."""
    form = await request.form()
    fields = {k: str(form.get(k, "")) for k in ("username", "display_name", "role")}
    try:
        person, generated = await accounts.add_user(
            fields["username"],
            str(form.get("password", "")),
            role=accounts.parse_role(fields["role"]),
            display_name=fields["display_name"],
            actor=current_user(request),
        )
    except AfterSalesError as exc:
        return render(
            request,
            "core/users.html",
            {
                "users": await accounts.list_users(),
                "error": exc.message,
                "form": fields,
                **PASSWORD_RULE,
            },
            status=exc.status,
        )
    flash(request, _("User %(name)s added.") % {"name": person.username})
    if generated is None:
        return RedirectResponse(f"/users/{person.id}", status_code=303)
    ticket = secrets.token_urlsafe(24)
    await request.app.state.redis.set(
        _ticket_key(person.id, ticket, "password"), generated, ex=TOKEN_TICKET_SECONDS
    )
    return RedirectResponse(f"/users/{person.id}?password_shown={ticket}", status_code=303)


@requires(Role.ADMIN)
async def user_profile(request: Request) -> Response:
    """An admin sets a user's display name and role (the last active admin stays one)."""
    form = await request.form()
    user_id: int = request.path_params["user_id"]
    actor = current_user(request)

    async def change() -> None:
        role = accounts.parse_role(str(form.get("role", "")))
        name = str(form.get("display_name", ""))
        await accounts.set_profile(user_id, role, name, actor=actor)

    return await _user_action(request, change(), _("Saved."))


@requires(Role.ADMIN)
async def user_page(request: Request) -> Response:
    user_id: int = request.path_params["user_id"]
    return await _user_page(
        request,
        user_id,
        new_token=await _take_new_token(request, user_id),
        new_password=await _take_new_token(request, user_id, "password"),
    )


async def _user_action(request: Request, action: Awaitable[object], done: str) -> Response:
    """Run one account service for the user in the path; a refusal re-renders the page."""
    user_id: int = request.path_params["user_id"]
    try:
        await action
    except AfterSalesError as exc:
        if exc.status == 404:
            raise
        return await _user_page(request, user_id, error=exc.message, status=exc.status)
    flash(request, done)
    return RedirectResponse(f"/users/{user_id}", status_code=303)


@requires(Role.ADMIN)
async def user_deactivate(request: Request) -> Response:
    action = accounts.deactivate_user(request.path_params["user_id"], actor=current_user(request))
    return await _user_action(
        request, action, _("Deactivated: their sessions and tokens no longer work.")
    )


@requires(Role.ADMIN)
async def user_activate(request: Request) -> Response:
    action = accounts.activate_user(request.path_params["user_id"], actor=current_user(request))
    return await _user_action(request, action, _("Activated: they can sign in again."))


@requires(Role.ADMIN)
async def user_password(request: Request) -> Response:
    form = await request.form()
    action = accounts.reset_password(
        request.path_params["user_id"],
        str(form.get("new_password", "")),
        actor=current_user(request),
    )
    return await _user_action(
        request, action, _("New password set. Their open sessions have ended.")
    )


@requires(Role.ADMIN)
async def token_revoke(request: Request) -> Response:
    action = accounts.revoke_token(
        request.path_params["token_id"],
        actor=current_user(request),
        user_id=request.path_params["user_id"],
    )
    return await _user_action(request, action, _("Token revoked: it no longer works."))


@requires(Role.ADMIN)
async def token_create(request: Request) -> Response:
    """Issue a token, then redirect to the user's page, which shows it once.

    The token waits in Redis under a one-time ticket for a minute, never in
    the flash (that lives in the cookie), and reloading the page afterwards
    neither shows it again nor issues a second one.
    """
    form = await request.form()
    user_id: int = request.path_params["user_id"]
    person = await accounts.get_user(user_id)
    try:
        token = await service.create_token(
            person, str(form.get("name", "")), actor=current_user(request)
        )
    except AfterSalesError as exc:
        return await _user_page(request, user_id, error=exc.message, status=exc.status)
    ticket = secrets.token_urlsafe(24)
    await request.app.state.redis.set(_ticket_key(user_id, ticket), token, ex=TOKEN_TICKET_SECONDS)
    return RedirectResponse(f"/users/{user_id}?shown={ticket}#tokens", status_code=303)


TOKEN_TICKET_SECONDS = 60


def _ticket_key(user_id: int, ticket: str, what: str = "token") -> str:
    return f"aftersales:new-{what}:{user_id}:{ticket}"


async def _take_new_token(request: Request, user_id: int, what: str = "token") -> str | None:
    """The token (or first password) behind ``?shown=`` (``?password_shown=``), once:
    the first look deletes it."""
    ticket = request.query_params.get("shown" if what == "token" else f"{what}_shown")
    if not ticket:
        return None
    async with request.app.state.redis.pipeline(transaction=True) as pipe:
        pipe.get(_ticket_key(user_id, ticket, what))
        pipe.delete(_ticket_key(user_id, ticket, what))
        value, _deleted = await pipe.execute()
    return value.decode() if isinstance(value, bytes) else value


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
    Route("/account/password", account_password, methods=["POST"]),
    Route("/account/name", account_name, methods=["POST"]),
    Route("/users/", users_page, name="users"),
    Route("/users/", user_add, methods=["POST"]),
    Route("/users/{user_id:id}", user_page, name="user"),
    Route("/users/{user_id:id}/deactivate", user_deactivate, methods=["POST"]),
    Route("/users/{user_id:id}/activate", user_activate, methods=["POST"]),
    Route("/users/{user_id:id}/password", user_password, methods=["POST"]),
    Route("/users/{user_id:id}/profile", user_profile, methods=["POST"]),
    Route("/users/{user_id:id}/tokens", token_create, methods=["POST"]),
    Route("/users/{user_id:id}/tokens/{token_id:id}/revoke", token_revoke, methods=["POST"]),
    Route("/healthz", healthz, name="healthz"),
    Route(REPORTS_PATH, reports, name="reports"),
]
