"""A pasted platform address becomes what the connector expects, through the store form.

Taobao documents its gateway as ``https://gw.api.taobao.com/router/rest``; the
connector adds ``/router/rest`` itself, so the documented URL, the host alone
and either with a trailing slash all land as the same base URL, and the
connection test reaches the (fake) gateway.
"""

from __future__ import annotations

import httpx
import pytest

from aftersales.core.models import Role, Store
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.fakes.serve import serve
from tests.fakes.taobao import FakeTaobaoShop, taobao_app


async def _connect(client: httpx.AsyncClient, name: str, base_url: str) -> Store:
    shop = FakeTaobaoShop()
    token = await csrf_from(client, "/orders/stores/")
    response = await client.post(
        "/orders/stores/",
        data={"csrf_token": token, "name": name, "platform": "taobao", "base_url": base_url,
              "app_key": shop.app_key, "app_secret": shop.app_secret, "session": shop.session},
        follow_redirects=True,
    )  # fmt: skip
    assert "Store connected." in response.text
    return await Store.get(name=name)


@pytest.mark.parametrize(
    ("pasted", "stored"),
    [
        ("https://gw.api.taobao.com/router/rest", "https://gw.api.taobao.com"),
        ("https://gw.api.taobao.com/router/rest/", "https://gw.api.taobao.com"),
        ("gw.api.taobao.com", "https://gw.api.taobao.com"),
        ("gw.api.taobao.com/", "https://gw.api.taobao.com"),
        ("  https://eco.taobao.com/router/rest?format=json  ", "https://eco.taobao.com"),
        ("https://proxy.example.com/top/", "https://proxy.example.com/top"),
    ],
)
async def test_a_taobao_address_is_stored_as_the_connector_expects_it(
    client: httpx.AsyncClient, pasted: str, stored: str
) -> None:
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    store = await _connect(client, "淘宝店", pasted)
    assert store.base_url == stored


async def test_the_documented_gateway_url_pasted_reaches_the_gateway(
    client: httpx.AsyncClient,
) -> None:
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    with serve(taobao_app(FakeTaobaoShop())) as url:
        store = await _connect(client, "淘宝店", url + "/router/rest/")
        assert store.base_url == url
        token = await csrf_from(client, f"/orders/stores/{store.id}")
        checked = await client.post(
            f"/orders/stores/{store.id}/check", data={"csrf_token": token}, follow_redirects=True
        )
        assert "Connection works." in checked.text

        # Editing to the gateway form of the same address is no move: nothing to retype.
        saved = await client.post(
            f"/orders/stores/{store.id}",
            data={"csrf_token": token, "name": "淘宝店", "sync_interval_minutes": "15",
                  "enabled": "on", "base_url": url + "/router/rest"},
            follow_redirects=True,
        )  # fmt: skip
        assert "Store saved." in saved.text
        assert (await Store.get(id=store.id)).base_url == url
