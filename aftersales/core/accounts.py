"""Accounts: who may sign in, with which password, through which tokens.

The admin's Users page, the account page and ``aftersales user|token ...``
all come here, so every rule holds the same way in the browser and in a
shell: a deactivated user can neither sign in nor use a token, the desk
always keeps one active admin, and every change leaves an audit event.

Errors (all ``AfterSalesError``)::

    CannotDeactivateYourself   409  an admin locking themself out
    LastActiveAdmin            409  nobody left who could undo it
    WrongPassword              400  the current password, when changing one's own
    TokenAlreadyRevoked        409
    NotFound                   404  no such user or token
    PermissionDenied           403  someone other than an admin managing users
    InvalidInput               400  a display name too long, a role that does not exist

``actor=None`` is the shell (``aftersales user ...``): whoever has it runs the desk.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock, service
from aftersales.core.auth import end_sessions
from aftersales.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aftersales.core.i18n import N_
from aftersales.core.models import ApiToken, Role, User
from aftersales.core.security import (
    check_new_password,
    hash_password_off_loop,
    verify_password_off_loop,
)

log = logging.getLogger("aftersales.accounts")


class CannotDeactivateYourself(Conflict):
    code = "cannot_deactivate_self"
    msgid = N_("You cannot deactivate yourself; ask another admin.")


class LastActiveAdmin(Conflict):
    """Nobody could activate anyone again: the last active admin stays."""

    code = "last_active_admin"
    msgid = N_("%(name)s is the last active admin: make another admin first.")


class WrongPassword(InvalidInput):
    code = "wrong_password"
    msgid = N_("Your current password is not right.")


class TokenAlreadyRevoked(Conflict):
    code = "token_already_revoked"
    msgid = N_("Token %(id)s was already revoked.")


async def end_user_sessions(user: User) -> None:
    """End every open browser session of ``user``, wherever it was signed in.

    The one place account changes end sessions, so the browser and the CLI
    cannot differ: the session generation moves on and every session made
    before it is refused on its next request (``auth.end_sessions``).
    """
    await end_sessions(user.id)
    log.info("auth.sessions_ended user_id=%s", user.id)


DISPLAY_NAME_MAX = 128


def require_admin(actor: User | None) -> None:
    """Only an admin manages other people's accounts (the shell, ``None``, may too).

    Checked here, not only on the routes, so no caller can skip it.
    """
    if actor is not None and actor.role is not Role.ADMIN:
        raise PermissionDenied(N_("Only an administrator manages users."), obj=actor)


def clean_display_name(name: str) -> str:
    """A display name as stored: trimmed, on one line, at most 128 characters (may be empty)."""
    name = " ".join(name.split())
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput(
            N_("A display name is at most %(count)s characters."),
            count=DISPLAY_NAME_MAX,
            code="display_name_too_long",
        )
    return name


def parse_role(value: str) -> Role:
    """A role from a form, or a 400 that says to choose one."""
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(N_("Choose a role."), code="invalid_role") from None


def generate_password() -> str:
    """A first password for the admin to pass on; shown once, never stored in clear."""
    return secrets.token_urlsafe(12)


async def add_user(
    username: str,
    password: str,
    *,
    role: Role,
    display_name: str = "",
    actor: User | None,
) -> tuple[User, str | None]:
    """An admin adds a colleague; an empty password means the desk picks one.

    Returns the user and the generated password (``None`` when the admin gave
    one), which the page shows exactly once.
    """
    require_admin(actor)
    name = clean_display_name(display_name)
    generated = generate_password() if not password else None
    user = await service.create_user(
        username, generated or password, role=role, display_name=name, actor=actor
    )
    return user, generated


# -- reading ----------------------------------------------------------------------------------


async def list_users() -> list[User]:
    return await User.all().order_by("username")


async def get_user(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound(N_("No user with id %(id)s."), id=user_id)
    return user


async def user_with_tokens(user_id: int) -> tuple[User, list[ApiToken]]:
    """What the admin's page about one user shows."""
    return await get_user(user_id), await list_tokens(user_id)


async def list_tokens(user_id: int) -> list[ApiToken]:
    """Every token the user was given, newest first, revoked ones too (they explain the audit)."""
    return await ApiToken.filter(user_id=user_id).order_by("-created_at", "-id")


# -- tokens -----------------------------------------------------------------------------------


async def revoke_token(
    token_id: int, *, actor: User | None, user_id: int | None = None
) -> ApiToken:
    """Stop a token now; its next request gets a 401.

    ``user_id`` (from a page about one user) makes a token of someone else a 404.
    """
    query = ApiToken.filter(id=token_id)
    if user_id is not None:
        query = query.filter(user_id=user_id)
    row = await query.first()
    if row is None:
        raise NotFound(N_("No token with id %(id)s."), id=token_id)
    async with in_transaction() as conn:
        # Conditional, so two admins revoking at once record one revocation.
        changed = (
            await ApiToken.filter(id=row.id, revoked_at=None)
            .using_db(conn)
            .update(revoked_at=clock.now())
        )
        if not changed:
            raise TokenAlreadyRevoked(obj=row, id=row.id)
        await audit.record(
            "token.revoked",
            subject_type="api_token",
            subject_id=row.id,
            actor=actor,
            data={"name": row.name, "user_id": row.user_id},
            using_db=conn,
        )
    await row.refresh_from_db()
    return row


# -- active or not ----------------------------------------------------------------------------


async def deactivate_user(user_id: int, *, actor: User | None) -> User:
    """Lock a user out: no sign-in, no session, no token, until activated again.

    The rows stay (audit events and cases point at them). An admin cannot lock
    themself out, and the last active admin stays, or nobody could undo it.
    """
    require_admin(actor)
    user = await get_user(user_id)
    if actor is not None and actor.id == user.id:
        raise CannotDeactivateYourself(obj=user)
    if not user.is_active:
        return user
    async with in_transaction() as conn:
        await _keep_an_admin(user, conn)
        await _change_user(user, "user.deactivated", actor, conn, is_active=False)
    await end_user_sessions(user)
    await user.refresh_from_db()
    return user


async def _keep_an_admin(user: User, conn: BaseDBAsyncClient) -> None:
    """Refuse when ``user`` is the last active admin and is about to stop being one.

    Locking the admins' rows makes two admins demoting or deactivating each
    other wait for one another on PostgreSQL, so one of them stays.
    Whole rows: Tortoise leaves FOR UPDATE out of a values_list() query.
    """
    if user.role is not Role.ADMIN or not user.is_active:
        return
    admins = await User.filter(role=Role.ADMIN, is_active=True).select_for_update().using_db(conn)
    if not {admin.id for admin in admins} - {user.id}:
        raise LastActiveAdmin(obj=user, name=user.username)


async def _change_user(
    user: User,
    action: str,
    actor: User | None,
    conn: BaseDBAsyncClient,
    *,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> None:
    """One account change and its audit event, in the caller's transaction.

    The event names the user, and only the values ``data`` gives (a password hash stays out).
    """
    await User.filter(id=user.id).using_db(conn).update(**changes)
    await audit.record(
        action,
        subject_type="user",
        subject_id=user.id,
        actor=actor,
        data={"username": user.username, **(data or {})},
        using_db=conn,
    )


# -- role and display name --------------------------------------------------------------------


async def set_role(user_id: int, role: Role, *, actor: User | None) -> User:
    """An admin gives a user another role; the last active admin keeps theirs.

    The role is read from the database on every request, so it applies at once.
    """
    require_admin(actor)
    user = await get_user(user_id)
    if user.role is role:
        return user
    async with in_transaction() as conn:
        await _change_role(user, role, actor, conn)
    await user.refresh_from_db()
    return user


async def _change_role(user: User, role: Role, actor: User | None, conn: BaseDBAsyncClient) -> None:
    await _keep_an_admin(user, conn)
    await _change_user(
        user,
        "user.role_changed",
        actor,
        conn,
        data={"from": user.role.value, "to": role.value},
        role=role,
    )


async def _change_name(user: User, name: str, actor: User | None, conn: BaseDBAsyncClient) -> None:
    await _change_user(
        user,
        "user.display_name_changed",
        actor,
        conn,
        data={"from": user.display_name, "to": name},
        display_name=name,
    )


async def set_display_name(user_id: int, name: str, *, actor: User | None) -> User:
    """Everyone names themself; an admin may name anyone (the header shows it)."""
    if actor is None or actor.id != user_id:
        require_admin(actor)
    user = await get_user(user_id)
    name = clean_display_name(name)
    if user.display_name == name:
        return user
    async with in_transaction() as conn:
        await _change_name(user, name, actor, conn)
    await user.refresh_from_db()
    return user


async def set_profile(user_id: int, role: Role, name: str, *, actor: User | None) -> User:
    """An admin's profile form: role and display name, both or neither.

    One transaction, so a refusal of the role (the last active admin) leaves
    the name as it was too; each change that happens gets its own audit event.
    """
    require_admin(actor)
    user = await get_user(user_id)
    name = clean_display_name(name)
    async with in_transaction() as conn:
        if user.role is not role:
            await _change_role(user, role, actor, conn)
        if user.display_name != name:
            await _change_name(user, name, actor, conn)
    await user.refresh_from_db()
    return user


async def activate_user(user_id: int, *, actor: User | None) -> User:
    """Let a deactivated user sign in again with their old password; their tokens work again."""
    require_admin(actor)
    user = await get_user(user_id)
    if user.is_active:
        return user
    async with in_transaction() as conn:
        await _change_user(user, "user.activated", actor, conn, is_active=True)
    await user.refresh_from_db()
    return user


# -- passwords --------------------------------------------------------------------------------


async def _set_password(user: User, password: str, action: str, actor: User | None) -> User:
    check_new_password(password)
    # argon2 costs tens of milliseconds of CPU: off the event loop.
    password_hash = await hash_password_off_loop(password)
    async with in_transaction() as conn:
        await _change_user(user, action, actor, conn, password_hash=password_hash)
    await end_user_sessions(user)
    await user.refresh_from_db()
    return user


async def change_own_password(user: User, *, current: str, new: str) -> User:
    """A signed-in user picks a new password; the current one proves it is them.

    Every other session of theirs ends (a stolen cookie dies with the old password).
    """
    fresh = await get_user(user.id)
    if not await verify_password_off_loop(fresh.password_hash, current):
        raise WrongPassword(obj=fresh)
    return await _set_password(fresh, new, "user.password_changed", fresh)


async def reset_password(user_id: int, new: str, *, actor: User | None) -> User:
    """An admin (or the shell) gives a user a new password; their sessions end.

    An admin changes their own password on the account page, with the current one.
    """
    require_admin(actor)
    user = await get_user(user_id)
    if actor is not None and actor.id == user.id:
        raise InvalidInput(
            N_("Change your own password on your account page."),
            obj=user,
            code="reset_own_password",
        )
    return await _set_password(user, new, "user.password_reset", actor)
