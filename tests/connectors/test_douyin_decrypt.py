"""Douyin buyer contact decrypted on demand (``order.batchDecrypt``) against the fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import BadPayload, Decrypted, PlatformError
from connectors.douyin import DouyinConnector, parse_order
from tests.fakes.douyin import FakeDouyinShop, douyin_app, order_json
from tests.fakes.serve import serve
from tests.fakes.taobao import Clock

NOW = datetime(2026, 10, 11, tzinfo=UTC)


def shop_with(n: int) -> FakeDouyinShop:
    shop = FakeDouyinShop(now=Clock(NOW))
    shop.seed(n, start=NOW - timedelta(days=5), days=5)
    return shop


def connector_for(shop: FakeDouyinShop, url: str) -> DouyinConnector:
    return DouyinConnector(
        base_url=url,
        now=shop.now,
        app_key=shop.app_key,
        app_secret=shop.app_secret,
        access_token=shop.tokens.access_token,
        refresh_token=shop.tokens.refresh_token,
        backoff_base=0.01,
        timeout=2.0,
    )


def tokens(shop: FakeDouyinShop) -> list[tuple[str, str, str]]:
    """(order id, field, token) for every field of every order, as the desk keeps them."""
    found = []
    for order in sorted(shop.orders.values(), key=lambda o: o.order_id):
        buyer = parse_order(order_json(order)).buyer
        for name in ("name", "phone", "address"):
            found.append((order.order_id, name, buyer.contact_ciphertext[name]))
    return found


async def test_each_field_decrypts_to_the_buyers_own_words() -> None:
    shop = shop_with(2)
    order = sorted(shop.orders.values(), key=lambda o: o.order_id)[0]
    wanted = [t for oid, _, t in tokens(shop) if oid == order.order_id]
    with serve(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        results = await connector.decrypt_contact(wanted)
        await connector.aclose()
    assert results == [
        Decrypted(text=order.receiver),
        Decrypted(text=order.tel),
        Decrypted(text="浙江省杭州市西湖区文新街道" + order.detail),
    ]
    assert shop.calls["order.batchDecrypt"] == 1
    sent = next(r for r in shop.received if r["method"] == "order.batchDecrypt")["params"]
    first = {"auth_id": order.order_id, "cipher_text": order.cipher("name")}
    assert sent["cipher_infos"][0] == first


async def test_more_than_50_values_go_in_calls_of_50_and_answers_keep_their_order() -> None:
    shop = shop_with(40)  # 120 values
    every = tokens(shop)
    with serve(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        results = await connector.decrypt_contact([t for _, _, t in every])
        await connector.aclose()
    assert shop.calls["order.batchDecrypt"] == 3
    sizes = [len(r["params"]["cipher_infos"]) for r in shop.received]
    assert sizes == [50, 50, 20]
    for (order_id, name, _), result in zip(every, results, strict=True):
        order = shop.orders[order_id]
        plain = {"name": order.receiver, "phone": order.tel}.get(name)
        assert result.text == (plain or "浙江省杭州市西湖区文新街道" + order.detail)


async def test_the_fake_refuses_51_values_in_one_call() -> None:
    shop = shop_with(20)
    infos = [
        {"auth_id": o.order_id, "cipher_text": o.cipher(k)}
        for o in shop.orders.values()
        for k in ("name", "phone", "address")
    ][:51]
    with serve(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        with pytest.raises(PlatformError, match=r"isv\.parameter-invalid") as refused:
            await connector.call("order.batchDecrypt", {"cipher_infos": infos})
        await connector.aclose()
    assert refused.value.code.startswith("isv.parameter-invalid")
    assert shop.decrypted == []


async def test_a_refused_item_is_its_own_error_and_a_virtual_number_shows_its_extension() -> None:
    shop = shop_with(2)
    first, second = sorted(shop.orders.values(), key=lambda o: o.order_id)
    second.virtual_tel = ("18400913965", "7576")
    shop.refuse_decrypt.add(first.cipher("phone"))
    by_key = {(oid, name): t for oid, name, t in tokens(shop)}
    wanted = [
        by_key[(first.order_id, "phone")],
        by_key[(first.order_id, "name")],
        by_key[(second.order_id, "phone")],
    ]
    with serve(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        refused, name, virtual = await connector.decrypt_contact(wanted)
        await connector.aclose()
    assert refused.text is None and refused.error and "300006" in refused.error
    assert name == Decrypted(text=first.receiver)
    assert virtual == Decrypted(text="18400913965", virtual=True, extension="7576")
    assert first.tel not in str(refused)


async def test_a_ciphertext_under_another_orders_id_is_refused_by_the_platform() -> None:
    shop = shop_with(2)
    first, second = sorted(shop.orders.values(), key=lambda o: o.order_id)
    token = parse_order(order_json(first)).buyer.contact_ciphertext["phone"]
    forged = token.replace(first.order_id, second.order_id)
    with serve(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        (result,) = await connector.decrypt_contact([forged])
        with pytest.raises(BadPayload):
            await connector.decrypt_contact(["13812345688"])
        await connector.aclose()
    assert result.text is None and result.error and "300008" in result.error
    assert shop.decrypted == []


async def test_a_garbled_answer_raises_without_its_text() -> None:
    import httpx

    body = b'{"data": {"decrypt_infos": [{"decrypt_text": "13812345688"}]}}'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    async def no_sleep(_: float) -> None:
        return None

    connector = DouyinConnector(
        app_key="1234567890123456789",
        app_secret="s",
        access_token="t",
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
        now=lambda: NOW,
    )
    token = '{"auth_id":"5000000000000000001","cipher_text":"$x$y=="}'
    with pytest.raises(PlatformError) as failed:
        await connector.decrypt_contact([token])
    await connector.aclose()
    assert "13812345688" not in str(failed.value)
