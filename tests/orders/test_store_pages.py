"""The Stores pages: who may see and connect stores, sync now, test connection, customers."""

from __future__ import annotations

import httpx
from arq.connections import ArqRedis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aftersales.core.models import AuditEvent, Role, Store
from aftersales.core.security import decrypt_credentials
from aftersales.orders.jobs import schedule_syncs
from aftersales.orders.models import Customer
from aftersales.orders.sync import sync_orders
from connectors.demo import DemoConnector
from tests.conftest import csrf_from, sign_in
from tests.factories import create_store, create_user
from tests.fakes.serve import serve
from tests.fakes.woocommerce import FakeWooShop, make_app


async def test_agents_do_not_manage_stores(client: httpx.AsyncClient) -> None:
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    assert (await client.get("/orders/stores/")).status_code == 403
    assert 'href="/orders/stores/"' not in (await client.get("/")).text


async def test_an_owner_connects_a_store_and_syncs_it(
    client: httpx.AsyncClient, redis: ArqRedis
) -> None:
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    token = await csrf_from(client, "/orders/stores/")
    response = await client.post(
        "/orders/stores/",
        data={"csrf_token": token, "name": "演示", "platform": "demo"},
        follow_redirects=True,
    )
    assert "Store connected." in response.text
    store = await Store.get(name="演示")
    assert "Last complete sync" in response.text

    token = await csrf_from(client, f"/orders/stores/{store.id}")
    checked = await client.post(
        f"/orders/stores/{store.id}/check", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Connection works." in checked.text
    await client.post(f"/orders/stores/{store.id}/sync", data={"csrf_token": token})
    jobs = [j.decode() for j in await redis.zrange("arq:queue", 0, -1)]
    assert sum(j.startswith(f"sync:{store.id}:") for j in jobs) == 3


async def test_a_bad_store_form_says_what_is_missing(client: httpx.AsyncClient) -> None:
    await create_user(username="admin", role=Role.ADMIN)
    await sign_in(client, "admin")
    token = await csrf_from(client, "/orders/stores/")
    response = await client.post(
        "/orders/stores/",
        data={"csrf_token": token, "name": "Woo", "platform": "woocommerce", "key": "ck"},
        follow_redirects=True,
    )
    assert "needs: Consumer secret." in response.text  # the field's label, not its key
    assert not await Store.exists(name="Woo")


async def test_a_chinese_store_form_names_the_missing_fields_in_chinese(
    client: httpx.AsyncClient,
) -> None:
    await create_user(username="admin", role=Role.ADMIN)
    await sign_in(client, "admin")
    token = await csrf_from(client, "/orders/stores/")
    response = await client.post(
        "/orders/stores/",
        data={"csrf_token": token, "name": "淘宝", "platform": "taobao", "app_key": "k"},
        headers={"Accept-Language": "zh-CN"},
        follow_redirects=True,
    )
    assert "店铺需要：App Secret、SessionKey（授权码）。" in response.text
    assert "app_secret" not in response.text.split("店铺需要：")[1][:80]
    assert not await Store.exists(name="淘宝")


async def test_the_customer_page_lists_the_buyers_orders(client: httpx.AsyncClient, app) -> None:
    store = await create_store()
    await sync_orders(store, DemoConnector())
    customer = await Customer.first()
    await create_user(username="a", role=Role.AGENT)
    await sign_in(client, "a")
    page = await client.get(f"/orders/customers/{customer.id}")
    assert page.status_code == 200
    assert customer.nick in page.text
    assert customer.phone not in page.text


async def test_a_synced_store_shows_when_it_last_synced(client: httpx.AsyncClient, app) -> None:
    store = await create_store(name="已同步")
    await sync_orders(store, DemoConnector())
    await create_user(username="boss", role=Role.SUPERVISOR)
    await sign_in(client, "boss")
    page = await client.get("/orders/stores/")
    assert page.status_code == 200
    assert "Never" in page.text  # after-sales and reviews have not run
    assert page.text.count("<td>20") >= 1  # the orders stream shows a local time


async def _shopify_store(client: httpx.AsyncClient, app) -> Store:
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    token = await csrf_from(client, "/orders/stores/")
    await client.post(
        "/orders/stores/",
        data={
            "csrf_token": token,
            "name": "Maple",
            "platform": "shopify",
            "shop": "maple",
            "token": "shpat_old",
        },
    )
    return await Store.get(name="Maple")


async def test_an_owner_edits_a_store_and_blank_secrets_are_kept(
    client: httpx.AsyncClient, app, redis: ArqRedis
) -> None:
    store = await _shopify_store(client, app)
    secret_key = app.state.settings.secret_key
    page = await client.get(f"/orders/stores/{store.id}")
    assert "Edit store" in page.text
    title = page.text[page.text.index("<title>") : page.text.index("</title>")]
    assert "Maple" in title and "<" not in title[len("<title>") :]  # just the name, no form
    assert "shpat_old" not in page.text  # a secret is never sent back to the browser
    token = await csrf_from(client, f"/orders/stores/{store.id}")
    saved = await client.post(
        f"/orders/stores/{store.id}",
        data={
            "csrf_token": token,
            "name": "Maple Goods",
            "sync_interval_minutes": "15",
            "shop": "",
            "token": "",
            "webhook_secret": "whsec",
        },
        follow_redirects=True,
    )
    assert "Store saved." in saved.text
    assert "Sync paused" in saved.text  # the box was left unticked
    store = await Store.get(id=store.id)
    assert (store.name, store.enabled, store.settings["sync_interval_minutes"]) == (
        "Maple Goods",
        False,
        15,
    )
    assert decrypt_credentials(secret_key, store.credentials_encrypted) == {
        "shop": "maple",
        "token": "shpat_old",
        "webhook_secret": "whsec",
    }
    event = await AuditEvent.filter(action="store.updated").get()
    assert event.data["credentials_replaced"] == ["webhook_secret"]
    assert "whsec" not in str(event.data)
    # A paused store is not scheduled.
    assert await schedule_syncs({"redis": redis}) == 0


async def test_a_bad_edit_says_why_and_changes_nothing(client: httpx.AsyncClient, app) -> None:
    store = await _shopify_store(client, app)
    token = await csrf_from(client, f"/orders/stores/{store.id}")
    response = await client.post(
        f"/orders/stores/{store.id}",
        data={
            "csrf_token": token,
            "name": "Renamed",
            "sync_interval_minutes": "0",
            "enabled": "on",
            "token": "shpat_new",
        },
        follow_redirects=True,
    )
    assert "between 1 and 1440 minutes" in response.text
    again = await Store.get(id=store.id)
    assert again.name == "Maple"
    assert (
        decrypt_credentials(app.state.settings.secret_key, again.credentials_encrypted)["token"]
        == "shpat_old"
    )


async def test_supervisors_see_stores_but_cannot_edit_them(client: httpx.AsyncClient) -> None:
    store = await create_store(name="只读")
    await create_user(username="sup", role=Role.SUPERVISOR)
    await sign_in(client, "sup")
    page = await client.get(f"/orders/stores/{store.id}")
    assert page.status_code == 200 and "Edit store" not in page.text
    token = await csrf_from(client, f"/orders/stores/{store.id}")
    refused = await client.post(
        f"/orders/stores/{store.id}", data={"csrf_token": token, "name": "x"}
    )
    assert refused.status_code == 403
    assert (await Store.get(id=store.id)).name == "只读"


async def test_agents_tag_a_buyer_and_a_sync_keeps_the_tags(client: httpx.AsyncClient, app) -> None:
    store = await create_store()
    await sync_orders(store, DemoConnector())
    customer = await Customer.filter(store=store).first()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    url = f"/orders/customers/{customer.id}"
    token = await csrf_from(client, url)
    saved = await client.post(
        url,
        data={"csrf_token": token, "tag": ["angry", "vip"], "other_tags": "催发货， 电话不接",
              "notes": "21:00 后再打电话"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Buyer saved." in saved.text and "21:00 后再打电话" in saved.text
    fresh = await Customer.get(id=customer.id)
    assert fresh.tags == ["angry", "vip", "催发货", "电话不接"]
    too_long = await client.post(
        url, data={"csrf_token": token, "other_tags": "x" * 21}, follow_redirects=True
    )
    assert "at most 20 characters" in too_long.text
    assert (await Customer.get(id=customer.id)).tags == fresh.tags
    from aftersales.orders.models import SyncState

    await SyncState.filter(store=store).update(cursor=None)
    await sync_orders(store, DemoConnector())  # the platform knows nothing of our tags
    assert (await Customer.get(id=customer.id)).notes == "21:00 后再打电话"


def _recording_host(seen: list[str]) -> Starlette:
    """Someone else's server: it answers anything and remembers what it was sent."""

    async def anything(request: Request) -> Response:
        seen.append(f"{request.method} {request.url} {dict(request.headers)}")
        return JSONResponse([])

    return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


async def test_moving_a_store_to_another_host_needs_its_credentials_again(
    client: httpx.AsyncClient, app
) -> None:
    shop = FakeWooShop()
    seen: list[str] = []
    secret_key = app.state.settings.secret_key
    with serve(make_app(shop)) as shop_url, serve(_recording_host(seen)) as other_url:
        await create_user(username="owner", role=Role.OWNER)
        await sign_in(client, "owner")
        token = await csrf_from(client, "/orders/stores/")
        await client.post(
            "/orders/stores/",
            data={"csrf_token": token, "name": "Woo", "platform": "woocommerce",
                  "base_url": shop_url, "key": shop.key, "secret": shop.secret},
        )  # fmt: skip
        store = await Store.get(name="Woo")
        url = f"/orders/stores/{store.id}"
        token = await csrf_from(client, url)
        form = {"csrf_token": token, "name": "Woo", "sync_interval_minutes": "15",
                "enabled": "on", "base_url": other_url + "/", "key": "", "secret": ""}  # fmt: skip
        assert "needs its credentials typed again" in (await client.get(url)).text
        refused = await client.post(url, data=form, follow_redirects=True)
        assert "enter the credentials again (Consumer key, Consumer secret)" in refused.text
        assert shop_url.removeprefix("http://") in refused.text
        in_chinese = await client.post(
            url, data=form, headers={"Accept-Language": "zh-CN"}, follow_redirects=True
        )
        labels = "Consumer key（消费者密钥）、Consumer secret（消费者密钥密文）"
        assert f"请重新输入凭据（{labels}）" in in_chinese.text
        # Re-entering only the key, or moving to another port of the same host, is no better.
        port_only = shop_url.rsplit(":", 1)[0] + ":1"
        for base_url, key in ((other_url, shop.key), (port_only, "")):
            again = await client.post(
                url, data=form | {"base_url": base_url, "key": key}, follow_redirects=True
            )
            assert "enter the credentials again" in again.text
        assert (await Store.get(id=store.id)).base_url == shop_url
        assert not await AuditEvent.filter(action="store.updated").exists()

        # "Test connection" still talks to the shop (whatever it answers), never to the other host.
        before = shop.requests
        await client.post(f"{url}/check", data={"csrf_token": token})
        assert shop.requests > before
        assert seen == []

        # A path change on the same host keeps the secrets; it is not a move.
        same_host = await client.post(
            url, data=form | {"base_url": shop_url + "/"}, follow_redirects=True
        )
        assert "Store saved." in same_host.text

        # With the credentials typed again, the move is made and audited by host.
        moved = await client.post(
            url,
            data=form | {"base_url": other_url + "/?consumer_secret=leak", "key": "ck_new",
                         "secret": "cs_new"},
            follow_redirects=True,
        )  # fmt: skip
        assert "Store saved." in moved.text
        stored = await Store.get(id=store.id)
        assert decrypt_credentials(secret_key, stored.credentials_encrypted) == {
            "key": "ck_new",
            "secret": "cs_new",
        }
        event = await AuditEvent.filter(action="store.updated").order_by("-id").first()
        assert event.data["host"] == [shop_url, other_url]
        assert event.data["credentials_replaced"] == ["key", "secret"]
        for secret in ("cs_new", "ck_new", shop.secret, shop.key, "leak"):
            assert secret not in str(event.data)


async def test_a_shopify_store_renamed_to_another_shop_needs_its_token_again(
    client: httpx.AsyncClient, app
) -> None:
    store = await _shopify_store(client, app)
    url = f"/orders/stores/{store.id}"
    token = await csrf_from(client, url)
    form = {"csrf_token": token, "name": "Maple", "sync_interval_minutes": "15",
            "shop": "attacker", "token": ""}  # fmt: skip
    refused = await client.post(url, data=form, follow_redirects=True)
    assert "https://maple.myshopify.com to https://attacker.myshopify.com" in refused.text
    stored = await Store.get(id=store.id)
    assert decrypt_credentials(app.state.settings.secret_key, stored.credentials_encrypted) == {
        "shop": "maple",
        "token": "shpat_old",
    }
