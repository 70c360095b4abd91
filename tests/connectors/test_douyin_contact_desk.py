"""A Douyin buyer's full contact on the desk: decrypted for one page, audited, kept nowhere.

The fake gateway decrypts over loopback HTTP and counts what it decrypted; the
desk runs on the real database and Redis. (Here rather than in tests/orders:
no file outside the connectors' tests may name a platform.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
from arq.connections import ArqRedis
from tortoise import Tortoise, connections

from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, Role, Store, User
from aftersales.orders.models import Customer, Order
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, sync_stream
from connectors.base import Stream
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.fakes.douyin import FakeDouyinShop, Refusal, ShopOrder, douyin_app
from tests.fakes.serve import serve


def real_clock() -> datetime:
    return datetime.now(UTC)


@contextmanager
def gateway(shop: FakeDouyinShop) -> Iterator[str]:
    with serve(douyin_app(shop)) as url:
        yield url


async def synced_order(
    shop: FakeDouyinShop, url: str, settings: Settings
) -> tuple[Order, ShopOrder]:
    """One desk order synced from the fake, with the platform's order behind it."""
    shop.seed(3, start=real_clock() - timedelta(days=2), days=1)
    store = await create_store(
        name="抖店",
        platform="douyin",
        base_url=url,
        credentials={
            "app_key": shop.app_key,
            "app_secret": shop.app_secret,
            "access_token": shop.tokens.access_token,
            "refresh_token": shop.tokens.refresh_token,
        },
        settings={"history_days": 10},
        secret_key=settings.secret_key,
    )
    await Store.filter(id=store.id).update(enabled=False)  # no cron syncs in the way
    connector = connector_for(store, settings.secret_key)
    try:
        await sync_stream(store, Stream.ORDERS, connector)
    finally:
        await connector.aclose()
    order = await Order.filter(store_id=store.id).order_by("id").first()
    assert order is not None
    return order, shop.orders[order.platform_order_id]


def plaintext(platform_order: ShopOrder) -> list[str]:
    return [platform_order.tel, platform_order.receiver, platform_order.detail]


async def desk_user(role: Role) -> User:
    """A user reading the desk in Chinese, as the shop's team does."""
    user = await create_user(role=role)
    await User.filter(id=user.id).update(locale="zh_CN")
    return user


async def stored_text(redis: ArqRedis) -> str:
    """Every row of every table and every Redis value, as one text to search."""
    conn = connections.get("default")
    parts = []
    for app in Tortoise.apps.values():
        for model in app.values():
            _, rows = await conn.execute_query(f'SELECT * FROM "{model._meta.db_table}"')
            parts.extend(str(tuple(dict(r).values())) for r in rows)
    async for key in redis.scan_iter():
        kind = (await redis.type(key)).decode()
        if kind == "string":
            parts.append(repr(await redis.get(key)))
        elif kind == "hash":
            parts.append(repr(await redis.hgetall(key)))
        elif kind in ("list", "zset", "set"):
            parts.append(repr(await redis.dump(key)))
    return "\n".join(parts)


async def test_an_owner_sees_the_full_contact_once_audited_and_nothing_is_kept(
    client: httpx.AsyncClient, clean_db: Settings, redis: ArqRedis
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    owner = await desk_user(Role.OWNER)
    with gateway(shop) as url:
        order, platform_order = await synced_order(shop, url, clean_db)
        customer = await Customer.get(id=order.customer_id)
        assert customer.phone == "1********88" and customer.contact_ciphertext
        await sign_in(client, owner.username)
        page = await client.get(f"/orders/{order.id}")
        assert "1********88" in page.text and platform_order.tel not in page.text
        assert f'action="/orders/{order.id}/contact"' in page.text
        token = await csrf_from(client, f"/orders/{order.id}")
        shown = await client.post(f"/orders/{order.id}/contact", data={"csrf_token": token})
        again = await client.get(f"/orders/{order.id}")
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    for text in plaintext(platform_order):
        assert text in shown.text
        assert text not in again.text  # the next page is masked again
    assert "浙江省杭州市西湖区文新街道" + platform_order.detail in shown.text
    assert shop.calls["order.batchDecrypt"] == 1
    (event,) = await AuditEvent.filter(action="contact.decrypted")
    assert (event.actor_id, event.subject_type, event.subject_id) == (
        owner.id,
        "order",
        str(order.id),
    )
    assert event.data == {
        "customer": customer.id,
        "fields": ["name", "phone", "address"],
        "refused": [],
    }
    everything = await stored_text(redis)
    assert platform_order.cipher("phone") in everything  # the search reaches customers
    for text in plaintext(platform_order):
        assert text not in everything


async def test_an_agent_gets_no_button_and_a_403_and_nothing_is_decrypted(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    agent = await desk_user(Role.AGENT)
    with gateway(shop) as url:
        order, platform_order = await synced_order(shop, url, clean_db)
        await sign_in(client, agent.username)
        page = await client.get(f"/orders/{order.id}")
        token = await csrf_from(client, f"/orders/{order.id}")
        refused = await client.post(f"/orders/{order.id}/contact", data={"csrf_token": token})
        customer = await client.post(
            f"/orders/customers/{order.customer_id}/contact", data={"csrf_token": token}
        )
    assert "/contact" not in page.text
    assert refused.status_code == 403 and customer.status_code == 403
    assert platform_order.tel not in refused.text
    assert shop.calls["order.batchDecrypt"] == 0
    assert await AuditEvent.filter(action="contact.decrypted").count() == 0


async def test_a_post_without_the_csrf_token_decrypts_nothing(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    owner = await desk_user(Role.OWNER)
    with gateway(shop) as url:
        order, platform_order = await synced_order(shop, url, clean_db)
        await sign_in(client, owner.username)
        forged = await client.post(f"/orders/{order.id}/contact", data={})
    assert forged.status_code == 403
    assert platform_order.tel not in forged.text
    assert shop.calls["order.batchDecrypt"] == 0
    assert await AuditEvent.filter(action="contact.decrypted").count() == 0


async def test_a_field_the_platform_refuses_stays_masked_and_the_audit_says_so(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    supervisor = await desk_user(Role.SUPERVISOR)
    with gateway(shop) as url:
        order, platform_order = await synced_order(shop, url, clean_db)
        shop.refuse_decrypt.add(platform_order.cipher("phone"))
        await sign_in(client, supervisor.username)
        path = f"/orders/customers/{order.customer_id}"
        token = await csrf_from(client, path)
        shown = await client.post(f"{path}/contact", data={"csrf_token": token})
    assert shown.status_code == 200
    assert platform_order.receiver in shown.text and platform_order.tel not in shown.text
    assert "1********88" in shown.text and "平台未予解密" in shown.text
    (event,) = await AuditEvent.filter(action="contact.decrypted")
    assert (event.subject_type, event.data["fields"], event.data["refused"]) == (
        "customer",
        ["name", "address"],
        ["phone"],
    )


async def test_a_virtual_number_shows_with_its_extension(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    owner = await desk_user(Role.OWNER)
    with gateway(shop) as url:
        order, platform_order = await synced_order(shop, url, clean_db)
        platform_order.virtual_tel = ("18400913965", "7576")
        await sign_in(client, owner.username)
        token = await csrf_from(client, f"/orders/{order.id}")
        shown = await client.post(f"/orders/{order.id}/contact", data={"csrf_token": token})
    assert "18400913965 转 7576" in shown.text and "虚拟号" in shown.text


async def test_the_platform_failing_shows_the_masked_page_with_a_reason_and_no_audit(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    owner = await desk_user(Role.OWNER)
    with gateway(shop) as url:
        order, platform_order = await synced_order(shop, url, clean_db)
        shop.queue_error(
            "order.batchDecrypt", Refusal(50002, "业务处理失败", "isv.business-failed", "")
        )
        await sign_in(client, owner.username)
        token = await csrf_from(client, f"/orders/{order.id}")
        failed = await client.post(
            f"/orders/{order.id}/contact", data={"csrf_token": token}, follow_redirects=True
        )
    assert failed.status_code == 200
    assert "平台暂时无法显示完整联系方式" in failed.text
    assert platform_order.tel not in failed.text
    assert await AuditEvent.filter(action="contact.decrypted").count() == 0


async def test_a_refund_case_offers_the_button_to_an_owner_and_not_to_an_agent(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    from aftersales.core.modules import Registry
    from aftersales.orders.sync import record_handlers
    from aftersales.refunds import module as refunds_module
    from aftersales.refunds.models import Refund

    shop = FakeDouyinShop(now=real_clock)
    owner = await desk_user(Role.OWNER)
    agent = await desk_user(Role.AGENT)
    with gateway(shop) as url:
        order, platform_order = await synced_order(shop, url, clean_db)
        shop.add_aftersale(platform_order, "2")
        store = await Store.get(id=order.store_id)
        connector = connector_for(store, clean_db.secret_key)
        try:
            handlers = record_handlers(Registry([refunds_module]))
            await sync_stream(store, Stream.AFTER_SALES, connector, handlers=handlers)
        finally:
            await connector.aclose()
        refund = await Refund.get(order_id=order.id)
        await sign_in(client, agent.username)
        as_agent = await client.get(f"/refunds/{refund.id}")
        await client.post("/logout", data={"csrf_token": await csrf_from(client, "/")})
        await sign_in(client, owner.username)
        as_owner = await client.get(f"/refunds/{refund.id}")
    button = f'action="/orders/{order.id}/contact"'
    assert as_agent.status_code == 200 and button not in as_agent.text
    assert as_owner.status_code == 200 and button in as_owner.text
