"""People and tokens: the only code that creates users, checks passwords, issues tokens."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from aftersales.core import audit, clock
from aftersales.core.errors import InvalidInput, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import ApiToken, Role, User
from aftersales.core.security import (
    check_new_password,
    hash_password_off_loop,
    hash_token,
    new_api_token,
    verify_password_off_loop,
)


async def create_user(
    username: str,
    password: str,
    *,
    role: Role,
    display_name: str = "",
    actor: User | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InvalidInput(N_("A username is 1 to 64 characters without spaces."))
    check_new_password(password)
    if await User.exists(username=username):
        raise InvalidInput(
            N_("The username %(name)s is taken."), name=username, code="username_taken"
        )
    password_hash = await hash_password_off_loop(password)
    async with in_transaction() as conn:
        user = await User.create(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            role=role,
            using_db=conn,
        )
        await audit.record(
            "user.created",
            subject_type="user",
            subject_id=user.id,
            actor=actor,
            data={"username": username, "role": role.value},
            using_db=conn,
        )
    return user


async def authenticate(username: str, password: str) -> User | None:
    """The user when the password is right; None otherwise, in the same time."""
    user = await User.get_or_none(username=username.strip(), is_active=True)
    ok = await verify_password_off_loop(user.password_hash if user else None, password)
    if user is None or not ok:
        return None
    await User.filter(id=user.id).update(last_login_at=clock.now())
    return user


async def create_token(user: User, name: str, *, actor: User | None = None) -> str:
    """Issue a bearer token; only its hash is stored, so this is the one chance to see it.

    ``actor`` is who asked (an admin issuing it for someone); the user themself by default.
    """
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput(N_("Say what the token is for, in at most 64 characters."))
    if not user.is_active:
        raise InvalidInput(
            N_("%(name)s is deactivated: activate them first."),
            obj=user,
            name=user.username,
            code="user_inactive",
        )
    token = new_api_token()
    async with in_transaction() as conn:
        row = await ApiToken.create(
            user=user, name=name, token_hash=hash_token(token), prefix=token[:8], using_db=conn
        )
        await audit.record(
            "token.created",
            subject_type="api_token",
            subject_id=row.id,
            actor=actor or user,
            data={"name": name, "user_id": user.id},
            using_db=conn,
        )
    return token


async def get_user(username: str) -> User:
    user = await User.get_or_none(username=username)
    if user is None:
        raise NotFound(N_("No user named %(name)s."), name=username)
    return user


async def set_language(user: User, locale: str | None) -> None:
    await User.filter(id=user.id).update(locale=locale)
