"""Signing in and out, CSRF, throttling, error pages and the home page, through the real app."""

from __future__ import annotations

import httpx

from aftersales.core.models import Role
from tests.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, create_user


async def test_home_without_session_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


async def test_login_page_is_a_form_with_csrf(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.text
    assert 'name="password"' in response.text


async def test_login_without_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    user = await create_user()
    await client.get("/login")  # a session exists, but the form omits the token
    response = await client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 403
    assert (await client.get("/")).status_code == 303


async def test_login_with_a_forged_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    user = await create_user()
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf_token": "forged", "username": user.username, "password": PASSWORD},
    )
    assert response.status_code == 403


async def test_wrong_password_does_not_sign_in(client: httpx.AsyncClient) -> None:
    user = await create_user()
    response = await sign_in(client, user.username, "not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert (await client.get("/")).status_code == 303


async def test_right_password_reaches_home_naming_the_user(client: httpx.AsyncClient) -> None:
    await create_user(username="wang", display_name="王小雨")
    response = await sign_in(client, "wang")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200
    assert "王小雨" in home.text


async def test_login_returns_to_the_page_asked_for_but_never_off_site(
    client: httpx.AsyncClient,
) -> None:
    await create_user(username="li")
    token = await csrf_from(client, "/login?next=/orders/")
    response = await client.post(
        "/login",
        data={"csrf_token": token, "username": "li", "password": PASSWORD, "next": "/orders/"},
    )
    assert response.headers["location"] == "/orders/"
    await client.post("/logout", data={"csrf_token": await csrf_from(client, "/account")})
    token = await csrf_from(client, "/login")
    response = await client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "li",
            "password": PASSWORD,
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/"


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    user = await create_user()
    await sign_in(client, user.username)
    token = await csrf_from(client, "/account")
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_logout_without_csrf_keeps_the_session(client: httpx.AsyncClient) -> None:
    user = await create_user()
    await sign_in(client, user.username)
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/")).status_code == 200


async def test_repeated_failures_lock_the_username(client: httpx.AsyncClient) -> None:
    user = await create_user()
    for _ in range(5):
        assert (await sign_in(client, user.username, "guess")).status_code == 401
    # Even the right password is refused while locked.
    response = await sign_in(client, user.username)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert (await client.get("/")).status_code == 303


async def test_session_cookie_is_httponly_lax_and_secure_over_https(app) -> None:
    await create_user(username="zhao")
    transport = httpx.ASGITransport(app=app)
    for base, secure in (("http://desk.test", False), ("https://desk.test", True)):
        async with httpx.AsyncClient(transport=transport, base_url=base) as c:
            response = await sign_in(c, "zhao")
            cookie = response.headers["set-cookie"].lower()
            assert "httponly" in cookie
            assert "samesite=lax" in cookie
            assert ("secure" in cookie) is secure


async def test_password_change_ends_other_sessions(client: httpx.AsyncClient) -> None:
    from aftersales.core.models import User
    from aftersales.core.security import hash_password

    user = await create_user()
    await sign_in(client, user.username)
    await User.filter(id=user.id).update(password_hash=hash_password("a brand new one"))
    assert (await client.get("/")).status_code == 303


async def test_unknown_page_gets_a_friendly_404(client: httpx.AsyncClient) -> None:
    user = await create_user()
    await sign_in(client, user.username)
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Back to the desk" in response.text


async def test_inactive_user_cannot_sign_in(client: httpx.AsyncClient) -> None:
    from aftersales.core.models import User

    user = await create_user(role=Role.SUPERVISOR)
    await User.filter(id=user.id).update(is_active=False)
    assert (await sign_in(client, user.username)).status_code == 401


async def test_end_sessions_signs_the_user_out_everywhere(app) -> None:
    from aftersales.core.auth import end_sessions

    user = await create_user()
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://desk.test") as one,
        httpx.AsyncClient(transport=transport, base_url="http://desk.test") as two,
    ):
        await sign_in(one, user.username)
        await sign_in(two, user.username)
        assert (await one.get("/")).status_code == 200
        await end_sessions(user.id)
        assert (await one.get("/")).status_code == 303
        assert (await two.get("/")).status_code == 303
        # Signing in again works and is not ended by the earlier call.
        await sign_in(one, user.username)
        assert (await one.get("/")).status_code == 200
