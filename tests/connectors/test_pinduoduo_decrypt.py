"""Pinduoduo buyer contact decrypted on demand (``pdd.open.decrypt.batch``) against the fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import Decrypted, PlatformError
from connectors.pinduoduo import PinduoduoConnector, parse_order
from tests.fakes.pinduoduo import Clock, FakePddShop, Order, order_json, pinduoduo_app
from tests.fakes.serve import serve

NOW = datetime(2026, 10, 4, tzinfo=UTC)


def shop_with(n: int) -> FakePddShop:
    shop = FakePddShop(now=Clock(NOW))
    shop.seed(n, start=NOW - timedelta(days=3), days=2)
    return shop


def connector_for(shop: FakePddShop, url: str) -> PinduoduoConnector:
    return PinduoduoConnector(
        base_url=url,
        now=shop.now,
        client_id=shop.client_id,
        client_secret=shop.client_secret,
        access_token=shop.access_token,
        refresh_token=shop.refresh_token,
        backoff_base=0.01,
        timeout=2.0,
    )


def waiting(shop: FakePddShop) -> list[Order]:
    """Orders waiting for shipping: the only ones PDD sends ciphertext for."""
    return sorted((o for o in shop.orders.values() if o.encrypted), key=lambda o: o.order_sn)


def plain(order: Order, name: str) -> str:
    return {"name": order.receiver, "phone": order.tel, "address": order.full_address}[name]


def test_a_waiting_order_keeps_ciphertext_and_masks_and_a_shipped_one_masks_only() -> None:
    shop = shop_with(30)
    first = waiting(shop)[0]
    buyer = parse_order(order_json(first)).buyer
    assert set(buyer.contact_ciphertext) == {"name", "phone", "address"}
    assert first.tel not in buyer.model_dump_json() and buyer.phone == "138****0000"
    first.order_status = 2
    assert parse_order(order_json(first)).buyer.contact_ciphertext == {}


async def test_more_than_100_values_go_in_calls_of_100_in_the_order_asked() -> None:
    shop = shop_with(300)
    orders = waiting(shop)
    assert len(orders) * 3 > 100
    asked = [
        (order, name, parse_order(order_json(order)).buyer.contact_ciphertext[name])
        for order in orders
        for name in ("name", "phone", "address")
    ]
    with serve(pinduoduo_app(shop)) as url:
        connector = connector_for(shop, url)
        results = await connector.decrypt_contact([token for _, _, token in asked])
        await connector.aclose()
    sizes = [len(json.loads(f["data_list"])) for f in shop.received]
    assert all(size <= 100 for size in sizes) and sum(sizes) == len(asked)
    assert shop.calls["pdd.open.decrypt.batch"] == -(-len(asked) // 100)
    assert [r.text for r in results] == [plain(o, name) for o, name, _ in asked]


async def test_the_fake_refuses_101_values_in_one_call() -> None:
    shop = shop_with(300)
    items = [
        {"data_tag": o.order_sn, "encrypted_data": o.cipher(k)}
        for o in waiting(shop)
        for k in ("name", "phone", "address")
    ][:101]
    with serve(pinduoduo_app(shop)) as url:
        connector = connector_for(shop, url)
        with pytest.raises(PlatformError, match="10000"):
            await connector.call("pdd.open.decrypt.batch", {"data_list": items})
        await connector.aclose()
    assert shop.decrypted == []


async def test_a_refused_item_is_its_own_error_and_a_virtual_number_keeps_its_extension() -> None:
    shop = shop_with(30)
    first, second = waiting(shop)[:2]
    second.virtual_tel = ("13900001111", "2345")
    shop.refuse_decrypt.add(first.cipher("phone"))
    tokens = [
        parse_order(order_json(first)).buyer.contact_ciphertext["phone"],
        parse_order(order_json(first)).buyer.contact_ciphertext["name"],
        parse_order(order_json(second)).buyer.contact_ciphertext["phone"],
    ]
    with serve(pinduoduo_app(shop)) as url:
        connector = connector_for(shop, url)
        refused, name, virtual = await connector.decrypt_contact(tokens)
        await connector.aclose()
    assert refused.text is None and refused.error and "100002" in refused.error
    assert name == Decrypted(text=first.receiver)
    assert virtual == Decrypted(text="13900001111", virtual=True, extension="2345")
