"""Sessions live in Redis: signing out ends them, the cookie is only a random id."""

from __future__ import annotations

import hashlib

import httpx
from arq.connections import ArqRedis

from aftersales.core.models import User
from aftersales.core.sessions import IDLE_SECONDS, KEY_PREFIX
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user


async def test_a_copied_cookie_stops_working_after_sign_out(app) -> None:
    user = await create_user()
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://desk.test") as owner,
        httpx.AsyncClient(transport=transport, base_url="http://desk.test") as thief,
    ):
        await sign_in(owner, user.username)
        thief.cookies.set("aftersales", owner.cookies["aftersales"])
        assert (await thief.get("/")).status_code == 200

        token = await csrf_from(owner, "/account")
        response = await owner.post("/logout", data={"csrf_token": token})
        assert response.status_code == 303
        assert response.headers["location"] == "/login"

        stolen = await thief.get("/")
        assert stolen.status_code == 303
        assert stolen.headers["location"].startswith("/login")
        assert (await owner.get("/")).status_code == 303


async def test_sign_out_needs_post_with_the_form_token(client: httpx.AsyncClient) -> None:
    user = await create_user()
    await sign_in(client, user.username)
    assert (await client.get("/logout")).status_code == 405
    assert (await client.post("/logout", data={})).status_code == 403
    assert (await client.get("/")).status_code == 200


async def test_cookie_is_a_random_id_holding_nothing_of_the_password(
    client: httpx.AsyncClient, redis: ArqRedis
) -> None:
    user = await create_user()
    anonymous = await csrf_from(client, "/login")
    before = client.cookies["aftersales"]
    assert anonymous
    await sign_in(client, user.username)
    cookie = client.cookies["aftersales"]
    # A new id on sign-in, so an id planted on the login form is worth nothing.
    assert cookie != before
    password_hash = (await User.get(id=user.id)).password_hash
    for start in range(len(password_hash) - 5):
        assert password_hash[start : start + 6] not in cookie
    record = await redis.get(KEY_PREFIX + hashlib.sha256(cookie.encode()).hexdigest())
    assert record is not None
    assert password_hash[-16:].encode() not in record
    ttl = await redis.ttl(KEY_PREFIX + hashlib.sha256(cookie.encode()).hexdigest())
    assert IDLE_SECONDS - 60 < ttl <= IDLE_SECONDS


async def test_a_session_ends_when_redis_forgets_it(
    client: httpx.AsyncClient, redis: ArqRedis
) -> None:
    """The idle timeout is Redis's TTL: when the record expires the cookie is worthless."""
    user = await create_user()
    await sign_in(client, user.username)
    cookie = client.cookies["aftersales"]
    await redis.delete(KEY_PREFIX + hashlib.sha256(cookie.encode()).hexdigest())
    assert (await client.get("/")).status_code == 303


async def test_a_forged_cookie_gets_the_login_page(client: httpx.AsyncClient) -> None:
    await create_user()
    client.cookies.set("aftersales", "made-up-value")
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_deactivating_a_user_ends_their_sessions(client: httpx.AsyncClient) -> None:
    user = await create_user()
    await sign_in(client, user.username)
    assert (await client.get("/")).status_code == 200
    await User.filter(id=user.id).update(is_active=False)
    assert (await client.get("/")).status_code == 303


async def test_sign_out_over_https_clears_a_secure_cookie(app) -> None:
    user = await create_user()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://desk.test") as client:
        await sign_in(client, user.username)
        token = await csrf_from(client, "/account")
        response = await client.post("/logout", data={"csrf_token": token})
        cookie = response.headers["set-cookie"].lower()
        assert cookie.startswith("aftersales=;")
        assert "max-age=0" in cookie and "secure" in cookie and "httponly" in cookie
