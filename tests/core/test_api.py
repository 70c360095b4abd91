"""The JSON API shell: bearer tokens, /me, the OpenAPI document, JSON errors."""

from __future__ import annotations

import re

import httpx

from aftersales.core import clock, service
from aftersales.core.models import ApiToken, Role
from tests.factories import create_user


async def test_me_without_a_token_is_401_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_me_with_a_bad_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me", headers={"Authorization": "Bearer as_nope"})
    assert response.status_code == 401


async def test_me_with_a_token_returns_the_user(client: httpx.AsyncClient) -> None:
    user = await create_user(username="night1", role=Role.NIGHT_AGENT, display_name="夜班一号")
    token = await service.create_token(user, "script")
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {
        "id": user.id,
        "username": "night1",
        "display_name": "夜班一号",
        "role": "night_agent",
        "locale": None,
    }


async def test_tokens_are_stored_hashed_and_can_be_revoked(client: httpx.AsyncClient) -> None:
    user = await create_user()
    token = await service.create_token(user, "script")
    row = await ApiToken.get(user=user)
    assert token not in (row.token_hash, row.prefix)
    await ApiToken.filter(id=row.id).update(revoked_at=clock.now())
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_session_cookie_does_not_open_the_api(client: httpx.AsyncClient) -> None:
    from tests.conftest import sign_in

    user = await create_user()
    await sign_in(client, user.username)
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_openapi_lists_every_api_endpoint(client: httpx.AsyncClient, app) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    listed = set(document["paths"])
    routed = {
        re.sub(r"{(\w+):\w+}", r"{\1}", "/api/v1" + route.path) for route in app.state.api_routes
    }
    assert listed == routed
    assert "/api/v1/me" in listed
    assert document["paths"]["/api/v1/me"]["get"]["summary"]


async def test_unknown_api_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    user = await create_user()
    token = await service.create_token(user, "script")
    response = await client.get("/api/v1/nothing", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
