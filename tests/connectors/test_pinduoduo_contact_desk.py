"""A Pinduoduo buyer's full contact on the desk: the same button, the same audit, kept nowhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from arq.connections import ArqRedis

from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, Role, Store
from aftersales.orders.models import Customer, Order
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, sync_stream
from connectors.base import Stream
from tests.conftest import csrf_from, sign_in
from tests.connectors.test_douyin_contact_desk import desk_user, stored_text
from tests.fakes.pinduoduo import FakePddShop, pinduoduo_app
from tests.fakes.serve import serve


async def test_an_owner_sees_a_waiting_orders_receiver_once_and_nothing_is_kept(
    client: httpx.AsyncClient, clean_db: Settings, redis: ArqRedis
) -> None:
    shop = FakePddShop()
    shop.seed(20, start=datetime.now(UTC) - timedelta(days=2), days=1)
    owner = await desk_user(Role.OWNER)
    with serve(pinduoduo_app(shop)) as url:
        store = await create_store(
            name="拼多多店",
            platform="pinduoduo",
            base_url=url,
            credentials={
                "client_id": shop.client_id,
                "client_secret": shop.client_secret,
                "access_token": shop.access_token,
                "refresh_token": shop.refresh_token,
            },
            settings={"history_days": 3},
            secret_key=clean_db.secret_key,
        )
        await Store.filter(id=store.id).update(enabled=False)
        connector = connector_for(store, clean_db.secret_key)
        try:
            await sync_stream(store, Stream.ORDERS, connector)
        finally:
            await connector.aclose()
        waiting = sorted(o.order_sn for o in shop.orders.values() if o.encrypted)
        shipped = sorted(o.order_sn for o in shop.orders.values() if not o.encrypted)
        order = await Order.get(store_id=store.id, platform_order_id=waiting[0])
        other = await Order.get(store_id=store.id, platform_order_id=shipped[0])
        platform_order = shop.orders[waiting[0]]
        await sign_in(client, owner.username)
        no_cipher = await client.get(f"/orders/{other.id}")  # PDD sends none once shipped
        token = await csrf_from(client, f"/orders/{order.id}")
        shown = await client.post(f"/orders/{order.id}/contact", data={"csrf_token": token})
    assert f"/orders/{other.id}/contact" not in no_cipher.text
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    for text in (platform_order.receiver, platform_order.tel, platform_order.full_address):
        assert text in shown.text
    (event,) = await AuditEvent.filter(action="contact.decrypted")
    assert event.data["fields"] == ["name", "phone", "address"]
    assert (await Customer.get(id=order.customer_id)).phone == "138****0000"
    everything = await stored_text(redis)
    assert platform_order.cipher("phone") in everything
    for text in (platform_order.receiver, platform_order.tel, platform_order.full_address):
        assert text not in everything
