"""The Douyin Shop connector against a strict fake gateway; no database needed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest

from connectors.base import (
    AfterSaleKind,
    AfterSaleStatus,
    AuthFailed,
    BadPayload,
    BadSignature,
    ConnectorError,
    OrderStatus,
    Page,
    PlatformError,
    RateLimited,
    Record,
    RecordRef,
    RefundDecision,
    RefundWrite,
    Stream,
    WebhookEvent,
    WriteRefused,
)
from connectors.douyin import (
    DouyinConnector,
    TokenExpired,
    TransientPlatformError,
    canonical_json,
    connect,
    douyin_error,
    fen_to_yuan,
    manifest,
    parse_aftersale,
    parse_order,
    push_messages,
    push_sign,
    sign,
    verify_push,
)
from tests.fakes.douyin import FakeDouyinShop, douyin_app, expected_sign, unix
from tests.fakes.faults import FaultInjector
from tests.fakes.serve import serve
from tests.fakes.taobao import Clock

R = TypeVar("R", bound=Record)

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 10
NOW = START + timedelta(days=DAYS, hours=1)
SINCE = START - timedelta(hours=1)
STATUS = {
    1: OrderStatus.AWAITING_PAYMENT,
    105: OrderStatus.AWAITING_SHIPMENT,
    2: OrderStatus.AWAITING_SHIPMENT,
    101: OrderStatus.AWAITING_SHIPMENT,
    3: OrderStatus.SHIPPED,
    4: OrderStatus.CLOSED,
    5: OrderStatus.COMPLETED,
}
# PLATFORMS-CN.md A2: computed there with python hmac and openssl dgst -hmac.
VECTOR = {
    "app_key": "1234567890123456789",
    "app_secret": "test-secret",
    "method": "order.searchList",
    "timestamp": "1700000000",
    "param_json": canonical_json(
        {"update_time_start": 1699990000, "size": 10, "page": 0, "update_time_end": 1700000000}
    ),
}


def new_shop(n_orders: int = 0, *, burst: int = 0, **options: Any) -> FakeDouyinShop:
    shop = FakeDouyinShop(now=Clock(NOW), **options)
    if n_orders:
        shop.seed(n_orders, start=START, days=DAYS, burst=burst)
    return shop


@contextmanager
def gateway(app: Any) -> Iterator[str]:
    with serve(app) as url:
        yield url


def connector_for(shop: FakeDouyinShop, url: str, **options: Any) -> DouyinConnector:
    settings: dict[str, Any] = {"backoff_base": 0.01, "timeout": 2.0, **options}
    settings.setdefault("app_key", shop.app_key)
    settings.setdefault("app_secret", shop.app_secret)
    settings.setdefault("access_token", shop.tokens.access_token)
    settings.setdefault("refresh_token", shop.tokens.refresh_token)
    return DouyinConnector(base_url=url, now=shop.now, **settings)


async def drain(
    stream: AsyncIterator[Page[R]], *, pages: int | None = None
) -> tuple[list[R], list[str | None]]:
    records: list[R] = []
    cursors: list[str | None] = []
    async for page in stream:
        assert not page.errors, page.errors
        records.extend(page.records)
        cursors.append(page.cursor)
        if pages is not None and len(cursors) >= pages:
            break
    return records, cursors


def assert_orders_exact(shop: FakeDouyinShop, records: list[Any]) -> None:
    ids = [r.platform_order_id for r in records]
    assert len(ids) == len(set(ids)), "an order came twice in one sync"
    assert set(ids) == set(shop.orders)
    for record in records:
        order = shop.orders[record.platform_order_id]
        assert record.platform_status == str(order.order_status)
        assert record.status == STATUS[order.order_status]
        assert record.total_amount == Decimal(order.pay_amount) / 100
        assert record.paid_amount == (record.total_amount if order.pay_time else Decimal("0.00"))
        assert record.updated_at == order.update_time.replace(microsecond=0)
        assert [(s.carrier, s.tracking_no) for s in record.shipments] == (
            [(order.carrier, order.tracking_no)] if order.tracking_no else []
        )
        assert [(i.platform_item_id, i.quantity, i.amount) for i in record.items] == [
            (s.order_id, s.item_num, Decimal(s.pay_amount) / 100) for s in order.skus
        ]


def mock_connector(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float], **options: Any
) -> DouyinConnector:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    settings: dict[str, Any] = {"now": lambda: NOW, "backoff_base": 0.01, **options}
    return DouyinConnector(
        app_key="1234567890123456789",
        app_secret="s",
        access_token="t",
        refresh_token="r",
        transport=httpx.MockTransport(handler),
        sleep=sleep,
        **settings,
    )


def ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "data": data}


# --- signing --------------------------------------------------------------------------------


def test_param_json_is_sorted_at_every_level_without_whitespace_or_escapes() -> None:
    assert canonical_json(None) == "{}"
    assert canonical_json({"b": [{"z": 1, "a": "纯棉"}], "a": {"d": 1, "c": None}}) == (
        '{"a":{"c":null,"d":1},"b":[{"a":"纯棉","z":1}]}'
    )
    assert VECTOR["param_json"] == (
        '{"page":0,"size":10,"update_time_end":1700000000,"update_time_start":1699990000}'
    )


def test_signature_matches_the_platforms_cn_vectors() -> None:
    assert sign(**VECTOR) == "b7e7d5617f818cab6c87c91b83fd205687b46dc461df5e0099db857e6029a64a"
    assert sign(**VECTOR, sign_method="md5") == "2efdc36b4f5dbb55480940d0c01ee438"
    with pytest.raises(ValueError):
        sign(**VECTOR, sign_method="sha1")


async def test_the_method_travels_in_path_and_query_and_param_json_is_the_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ok({"total": 0, "shop_order_list": []}))

    connector = mock_connector(handler, [])
    await connector.check()
    await connector.aclose()
    request = seen[0]
    query = dict(request.url.params)
    assert request.method == "POST" and request.url.path == "/order/searchList"
    assert query["method"] == "order.searchList" and query["v"] == "2"
    assert query["timestamp"] == str(unix(NOW)) and query["access_token"] == "t"
    body = request.content.decode()
    assert " " not in body and json.loads(body)["size"] == 1
    assert request.headers["content-type"] == "application/json"
    assert query["sign"] == sign(
        app_key=query["app_key"],
        app_secret="s",
        method="order.searchList",
        param_json=body,
        timestamp=query["timestamp"],
    )


async def test_fake_accepts_both_signs_and_timestamps_and_refuses_bad_ones() -> None:
    shop = new_shop(3)
    with gateway(douyin_app(shop)) as url:
        for options in (
            {},
            {"sign_method": "md5"},
            {"timestamp_format": "datetime"},
        ):
            connector = connector_for(shop, url, **options)
            orders, _ = await drain(connector.orders(None, since=SINCE))
            assert len(orders) == 3
            await connector.aclose()
        connector = connector_for(shop, url, app_secret="wrong")
        with pytest.raises(AuthFailed, match=r"isv\.signature-invalid"):
            await connector.check()
        await connector.aclose()
        skewed = connector_for(shop, url)
        skewed.now = lambda: NOW + timedelta(minutes=11)
        with pytest.raises(PlatformError, match=r"isv\.timestamp-invalid"):
            await skewed.check()
        await skewed.aclose()
    assert expected_sign(
        VECTOR["app_key"],
        VECTOR["app_secret"],
        VECTOR["method"],
        VECTOR["param_json"],
        VECTOR["timestamp"],
        "hmac-sha256",
    ) == sign(**VECTOR)


# --- errors and limits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind", "code"),
    [
        ({"code": 40003, "sub_code": "isv.signature-invalid"}, AuthFailed, None),
        ({"code": 40003, "sub_code": "isv.access-token-expired"}, TokenExpired, None),
        ({"code": 30001, "sub_code": "dop.authorization-closed"}, AuthFailed, None),
        ({"code": 60000, "sub_code": "isv.traffic-limited"}, RateLimited, None),
        ({"code": 20000, "sub_code": "isp.service-error:20004"}, TransientPlatformError, None),
        (
            {"code": 50002, "sub_code": "isv.business-failed:20309541"},
            PlatformError,
            "isv.business-failed:20309541",
        ),
        ({"err_no": 50002, "message": "业务处理失败"}, PlatformError, "50002"),
    ],
)
def test_envelopes_map_to_typed_errors(
    body: dict[str, Any], kind: type[ConnectorError], code: str | None
) -> None:
    mapped = douyin_error("afterSale.operate", {"msg": "x", "log_id": "L1", **body})
    assert type(mapped) is kind
    assert "L1" in str(mapped)
    if code is not None:
        assert isinstance(mapped, PlatformError) and mapped.code == code


async def test_the_legacy_envelope_is_read_and_rate_limits_back_off_then_give_up() -> None:
    sleeps: list[float] = []
    answers = [
        {"code": 60000, "msg": "触发限流", "sub_code": "isv.traffic-limited"},
        {"code": 20000, "msg": "服务不可用", "sub_code": "isp.service-error:20004"},
        {"err_no": 0, "message": "success", "data": {"total": 0, "shop_order_list": []}},
    ]
    connector = mock_connector(lambda r: httpx.Response(200, json=answers.pop(0)), sleeps)
    await connector.check()
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] / 2  # backed off, no Retry-After
    await connector.aclose()

    limited = {"code": 60000, "msg": "触发限流", "sub_code": "isv.traffic-limited"}
    sleeps.clear()
    connector = mock_connector(lambda r: httpx.Response(200, json=limited), sleeps)
    with pytest.raises(RateLimited):
        await connector.check()
    assert len(sleeps) == connector.rate_attempts
    await connector.aclose()


async def test_the_fake_call_limit_is_waited_out() -> None:
    shop = new_shop(400, calls_per_second=2)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url, page_size=100, backoff_base=0.2, rate_attempts=10)
        orders, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert_orders_exact(shop, orders)
    assert connector.client.retries > 0


# --- tokens -----------------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_once_and_the_call_retried() -> None:
    shop = new_shop(5)
    saved: list[dict[str, Any]] = []
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url, on_tokens=saved.append)
        shop.expire_token()
        orders, _ = await drain(connector.orders(None, since=SINCE))
        assert len(orders) == 5 and shop.refreshes == 1
        assert connector.access_token == shop.tokens.access_token == saved[0]["access_token"]
        # A refresh long before expiry hands back the same tokens.
        before = shop.tokens.access_token
        await connector.refresh()
        assert connector.access_token == before and shop.refreshes == 2
        await connector.aclose()


async def test_a_refused_refresh_is_auth_failed_with_a_clear_store_error() -> None:
    shop = new_shop(1)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url, refresh_token="stolen")
        shop.expire_token()
        with pytest.raises(AuthFailed, match="authorise the app"):
            await connector.check()
        await connector.aclose()
    assert shop.refreshes == 0


async def test_a_self_use_app_creates_its_token_from_the_shop_id() -> None:
    shop = new_shop(2)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url, access_token="", refresh_token="", shop_id="4463798")
        orders, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert len(orders) == 2 and shop.calls["token.create"] == 1


async def test_a_token_still_refused_after_refreshing_stops_with_auth_failed() -> None:
    sleeps: list[float] = []
    expired = {"code": 40003, "msg": "非法的参数", "sub_code": "isv.access-token-expired"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token/refresh":
            return httpx.Response(200, json=ok({"access_token": "t2", "refresh_token": "r2"}))
        return httpx.Response(200, json=expired)

    connector = mock_connector(handler, sleeps)
    with pytest.raises(AuthFailed, match="refused too"):
        await connector.check()
    await connector.aclose()


# --- orders -----------------------------------------------------------------------------------


def test_fen_become_exact_yuan_and_garbage_is_a_bad_payload() -> None:
    assert fen_to_yuan(1, "x") == Decimal("0.01")
    assert fen_to_yuan("799", "x") == Decimal("7.99")
    assert fen_to_yuan(123456789012, "x") == Decimal("1234567890.12")
    for bad in ("7.99", 7.5, "1e3", True):
        with pytest.raises(BadPayload):
            fen_to_yuan(bad, "x")


async def test_a_3000_order_shop_syncs_exactly_and_a_second_pass_catches_touched_ones() -> None:
    shop = new_shop(3000, burst=250)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        orders, cursors = await drain(connector.orders(None, since=SINCE))
        assert_orders_exact(shop, orders)
        assert all(p["params"]["size"] <= 100 for p in shop.received)
        touched = sorted(shop.orders)[:7]
        shop.now.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        for order_id in touched:
            shop.touch(order_id, shop.now(), status=5)
        again, _ = await drain(connector.orders(cursors[-1]))
        await connector.aclose()
    assert set(touched) <= {r.platform_order_id for r in again}
    assert all(r.status is OrderStatus.COMPLETED for r in again if r.platform_order_id in touched)


async def test_orders_modified_while_paging_do_not_push_others_out() -> None:
    shop = new_shop(600)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        seen: list[Any] = []
        async for page in connector.orders(None, since=SINCE):
            seen.extend(page.records)
            # The oldest untaken orders move past the sync's end while it pages.
            left = sorted(
                (
                    o
                    for o in shop.orders.values()
                    if o.order_id not in {r.platform_order_id for r in seen}
                ),
                key=lambda o: o.update_time,
            )[:3]
            for order in left:
                shop.touch(order.order_id, NOW + timedelta(seconds=30))
        shop.now.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        again, _ = await drain(connector.orders(page.cursor))
        await connector.aclose()
    assert {r.platform_order_id for r in [*seen, *again]} == set(shop.orders)
    assert len(seen) == len({r.platform_order_id for r in seen})


async def test_an_interrupted_sync_resumes_at_its_cursor_without_duplicates() -> None:
    shop = new_shop(900)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        first, cursors = await drain(connector.orders(None, since=SINCE), pages=4)
        rest, _ = await drain(connector.orders(cursors[-1], since=SINCE))
        await connector.aclose()
    assert_orders_exact(shop, [*first, *rest])


async def test_with_faults_injected_the_sync_still_ends_exact() -> None:
    shop = new_shop(1500)
    app = FaultInjector(douyin_app(shop), rate=0.1, timeout_seconds=2.5)
    with gateway(app) as url:
        connector = connector_for(shop, url, timeout=1.0, max_attempts=8)
        orders, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert sum(app.injected.values()) > 0
    assert_orders_exact(shop, orders)


async def test_the_fake_enforces_90_days_page_size_and_reach() -> None:
    shop = new_shop(10, max_reach=300)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        with pytest.raises(PlatformError, match="20022"):
            await connector.call(
                "order.searchList",
                {"update_time_start": unix(NOW - timedelta(days=91)), "page": 0, "size": 10},
            )
        with pytest.raises(PlatformError, match="20008"):
            await connector.call(
                "order.searchList", {"update_time_start": unix(START), "page": 0, "size": 101}
            )
        with pytest.raises(PlatformError, match="20013"):
            await connector.call(
                "order.searchList", {"update_time_start": unix(START), "page": 3, "size": 100}
            )
        # A sync from a year ago starts inside the 90 days rather than being refused.
        orders, _ = await drain(connector.orders(None, since=NOW - timedelta(days=365)))
        assert len(orders) == 10
        await connector.aclose()


def test_orders_keep_masked_buyers_only_and_report_bad_rows() -> None:
    from tests.fakes.douyin import order_json

    shop = new_shop(1)
    order = next(iter(shop.orders.values()))
    record = parse_order(order_json(order))
    assert record.buyer.name == "王**" and record.buyer.phone == "1********88"
    assert record.buyer.address == "浙江省杭州市西湖区文新街道文一路***"
    dumped = record.model_dump_json()
    assert order.tel not in dumped and order.receiver not in dumped and order.detail not in dumped
    assert set(record.buyer.contact_ciphertext) == {"name", "phone", "address"}
    assert order.cipher("phone") in record.buyer.contact_ciphertext["phone"]
    bad = {**order_json(order), "order_status": 99}
    with pytest.raises(BadPayload, match="unknown status"):
        parse_order(bad)
    with pytest.raises(BadPayload):
        parse_order({**order_json(order), "pay_amount": "12.5"})


# --- after-sales ------------------------------------------------------------------------------


async def test_after_sales_map_kinds_amounts_and_the_platform_deadline() -> None:
    shop = new_shop(40)
    orders = list(shop.orders.values())
    kinds = {
        "0": AfterSaleKind.RETURN_AND_REFUND,
        "1": AfterSaleKind.REFUND_ONLY,
        "2": AfterSaleKind.REFUND_ONLY,
        "3": AfterSaleKind.EXCHANGE,
        "6": AfterSaleKind.REFUND_ONLY,
        "7": AfterSaleKind.EXCHANGE,
        "8": AfterSaleKind.EXCHANGE,
    }
    made = {t: shop.add_aftersale(orders[i], t, amount=1999 + i) for i, t in enumerate(kinds)}
    made["x"] = shop.add_aftersale(orders[9], "0", status="7")
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        records, _ = await drain(connector.after_sales(None, since=SINCE))
        await connector.aclose()
    by_id = {r.platform_refund_id: r for r in records}
    assert set(by_id) == {s.aftersale_id for s in made.values()}
    for t, sale in made.items():
        record = by_id[sale.aftersale_id]
        assert record.platform_order_id == sale.shop_order_id
        assert record.platform_item_id == sale.sku_order_id
        assert record.requested_amount == Decimal(sale.refund_amount) / 100
        assert record.platform_deadline == sale.deadline
        if t != "x":
            assert record.kind is kinds[t] and record.status is AfterSaleStatus.REQUESTED
    assert by_id[made["x"].aftersale_id].status is AfterSaleStatus.WAITING_RETURN
    assert by_id[made["0"].aftersale_id].platform_deadline == made["0"].apply_time + timedelta(
        days=2
    )
    with pytest.raises(BadPayload, match="unknown type"):
        parse_aftersale({"aftersale_info": {"aftersale_id": "1", "aftersale_type": 4}})


# --- write-backs ------------------------------------------------------------------------------


def write_for(
    sale: Any, decision: RefundDecision = RefundDecision.APPROVE, **extra: Any
) -> RefundWrite:
    return RefundWrite(
        decision=decision,
        platform_order_id=sale.shop_order_id,
        platform_refund_id=sale.aftersale_id,
        amount=Decimal(sale.refund_amount) / 100,
        reason=extra.pop("reason", ""),
        **extra,
    )


@pytest.mark.parametrize(
    ("list_type", "status", "decision", "operate", "after"),
    [
        ("2", "6", RefundDecision.APPROVE, 401, "12"),
        ("1", "6", RefundDecision.APPROVE, 201, "12"),
        ("0", "6", RefundDecision.APPROVE, 101, "7"),
        ("0", "11", RefundDecision.APPROVE, 111, "12"),
        ("3", "6", RefundDecision.APPROVE, 301, "7"),
        ("1", "6", RefundDecision.REJECT, 202, "27"),
        ("0", "11", RefundDecision.REJECT, 112, "29"),
    ],
)
async def test_each_kind_and_stage_gets_its_operate_type_once(
    list_type: str, status: str, decision: RefundDecision, operate: int, after: str
) -> None:
    shop = new_shop(2)
    sale = shop.add_aftersale(next(iter(shop.orders.values())), list_type, status=status)
    version = unix(sale.update_time)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(
            shop, url, reject_reason_code=1, return_address_id="7000000000000000999"
        )
        write = write_for(sale, decision, reason="商品已影响二次销售")
        result = await connector.decide_refund(write, idempotency_key="k1")
        again = await connector.decide_refund(write, idempotency_key="k1")
        await connector.aclose()
    assert shop.operations == [(sale.aftersale_id, operate)]
    assert result.platform_status == after and not result.already_done
    assert again.already_done
    sent = next(r for r in shop.received if r["method"] == "afterSale.operate")
    assert len(sent["params"]["items"]) == 1
    assert sent["params"]["type"] == operate
    assert sent["params"]["items"][0]["update_time"] == version


async def test_a_lost_answer_then_a_retry_executes_once() -> None:
    shop = new_shop(2)
    sale = shop.add_aftersale(next(iter(shop.orders.values())), "2")
    shop.lose_answers("afterSale.operate")
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url, max_attempts=2)
        result = await connector.decide_refund(write_for(sale), idempotency_key="k")
        await connector.aclose()
    # The transport resent the 504'd write; the platform refused the replay as stale,
    # and reading the request again showed our decision.
    assert shop.operations == [(sale.aftersale_id, 401)]
    assert result.already_done and result.status is AfterSaleStatus.REFUNDED


async def test_writes_the_platform_cannot_take_are_refused_before_writing() -> None:
    shop = new_shop(3)
    orders = list(shop.orders.values())
    unshipped = shop.add_aftersale(orders[0], "2")
    returned = shop.add_aftersale(orders[1], "0")
    closed = shop.add_aftersale(orders[2], "1", status="28")
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        with pytest.raises(WriteRefused, match="shipping the order"):
            await connector.decide_refund(
                write_for(unshipped, RefundDecision.REJECT, reason="已发货"), idempotency_key="a"
            )
        with pytest.raises(WriteRefused, match="return address"):
            await connector.decide_refund(write_for(returned), idempotency_key="b")
        with pytest.raises(WriteRefused, match="reject reason code"):
            await connector.decide_refund(
                write_for(returned, RefundDecision.REJECT, reason="no"), idempotency_key="c"
            )
        with pytest.raises(WriteRefused, match="closed"):
            await connector.decide_refund(write_for(closed), idempotency_key="d")
        wrong = write_for(unshipped).model_copy(update={"amount": Decimal("0.01")})
        with pytest.raises(WriteRefused, match="refunds what the buyer asked"):
            await connector.decide_refund(wrong, idempotency_key="e")
        stale = write_for(unshipped, platform_version=unshipped.update_time - timedelta(hours=1))
        with pytest.raises(WriteRefused, match="decide again"):
            await connector.decide_refund(stale, idempotency_key="f")
        await connector.aclose()
    assert shop.operations == []


async def test_a_request_changed_between_look_and_write_is_refused_by_the_version() -> None:
    shop = new_shop(1)
    sale = shop.add_aftersale(next(iter(shop.orders.values())), "1")
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        original = connector.call

        async def call(method: str, params: Any = None) -> dict[str, Any]:
            if method == "afterSale.operate":  # the buyer edits the request meanwhile
                sale.update_time += timedelta(seconds=5)
            return await original(method, params)

        connector.call = call  # type: ignore[method-assign]
        with pytest.raises(WriteRefused, match="20309541"):
            await connector.decide_refund(write_for(sale), idempotency_key="v")
        await connector.aclose()
    assert shop.operations == []


def test_connect_reads_credentials_and_settings() -> None:
    connector = connect(
        base_url=None,
        credentials={
            "app_key": "1234567890123456789",
            "app_secret": "s",
            "shop_id": "1",
            "reject_reason_code": "3",
            "timestamp_format": "datetime",
        },
    )
    assert connector.reject_reason_code == 3 and connector.timestamp_format == "datetime"
    assert connector.capabilities.decide_refund and not connector.capabilities.reviews
    with pytest.raises(ValueError, match="access_token or shop_id"):
        connect(base_url=None, credentials={"app_key": "1", "app_secret": "s"})


# --- push messages ----------------------------------------------------------------------------

PUSH_BODY = (
    b'[{"tag":"200","msg_id":"m1","data":"{\\"aftersale_id\\":7000000000000000001,'
    b'\\"shop_id\\":1}"}]'
)


def test_the_push_sign_matches_the_platforms_cn_vector_and_forgeries_are_refused() -> None:
    assert push_sign("1234567890123456789", PUSH_BODY, "test-secret") == (
        "f9a4670e6405fc6b430304383dc39446"
    )
    headers = {"app-id": "1234567890123456789", "event-sign": "F9A4670E6405FC6B430304383DC39446"}
    event = verify_push(headers, PUSH_BODY, "test-secret")
    assert event.topic == "200" and event.delivery_id == "m1"
    assert manifest.webhook_events[event.topic] is Stream.AFTER_SALES
    assert manifest.webhook_events["100"] is Stream.ORDERS
    for forged in (
        (headers, PUSH_BODY + b" ", "test-secret"),
        (headers, PUSH_BODY, "other-secret"),
        ({**headers, "app-id": "1"}, PUSH_BODY, "test-secret"),
        ({"app-id": headers["app-id"]}, PUSH_BODY, "test-secret"),
        (headers, PUSH_BODY, ""),
    ):
        with pytest.raises(BadSignature):
            verify_push(*forged)


def test_push_bodies_are_read_in_both_published_forms() -> None:
    (first,) = push_messages(PUSH_BODY)
    assert (first.tag, first.msg_id, first.data["aftersale_id"]) == (
        "200",
        "m1",
        7000000000000000001,
    )
    (second,) = push_messages(b'[{"tag":100,"msgId":"m2","data":{"p_id":"5","s_ids":["6"]}}]')
    assert (second.tag, second.msg_id, second.data["p_id"]) == ("100", "m2", "5")
    for bad in (b"nope", b'"x"', b'[{"tag":"200","data":"{"}]', b'[{"tag":"200"}]'):
        with pytest.raises(BadPayload):
            push_messages(bad)


async def test_a_self_use_app_whose_refresh_token_was_renewed_elsewhere_creates_a_new_one() -> None:
    shop = new_shop(2)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url, shop_id=shop.shop_id)
        shop.issue_tokens()  # another process of ours renewed them: ours are dead
        orders, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert len(orders) == 2
    assert (shop.calls["token.refresh"], shop.calls["token.create"]) == (1, 1)


async def test_more_records_in_one_second_than_paging_reaches_stops_with_a_clear_error() -> None:
    shop = new_shop(450, burst=400, max_reach=300)
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url, max_reach=300)
        with pytest.raises(PlatformError, match="more than 300 records updated at"):
            await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert all((p["params"]["page"] + 1) * 100 <= 300 for p in shop.received)


async def test_one_order_is_read_by_its_id() -> None:
    shop = new_shop(3)
    wanted = sorted(shop.orders)[1]
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        record = await connector.order(wanted)
        with pytest.raises(PlatformError, match="20001"):
            await connector.order("5999999999999999999")
        await connector.aclose()
    assert record.platform_order_id == wanted
    assert record.total_amount == Decimal(shop.orders[wanted].pay_amount) / 100


def signed_push(messages: list[dict[str, Any]]) -> WebhookEvent:
    body = json.dumps(messages).encode()
    headers = {"app-id": "1234567890123456789"}
    headers["event-sign"] = push_sign(headers["app-id"], body, "test-secret")
    return verify_push(headers, body, "test-secret")


def test_a_push_names_the_orders_and_after_sales_to_fetch() -> None:
    event = signed_push(
        [
            {
                "tag": "200",
                "msg_id": "a",
                "data": json.dumps({"aftersale_id": 7000000000000000001, "p_id": 5}),
            },
            {"tag": "102", "msg_id": "b", "data": json.dumps({"p_id": "5000000000000000002"})},
            {"tag": "201", "msg_id": "c", "data": {"aftersale_id": "7000000000000000001"}},
            {"tag": "400", "msg_id": "d", "data": {"product_id": "1"}},  # goods: nothing we keep
        ]
    )
    assert manifest.webhook_targets is not None and manifest.webhook_reply is not None
    assert manifest.webhook_targets(event) == [
        RecordRef(Stream.AFTER_SALES, "7000000000000000001"),
        RecordRef(Stream.ORDERS, "5000000000000000002"),
    ]
    assert json.loads(manifest.webhook_reply) == {"code": 0, "msg": "success"}
    for data in ({}, {"aftersale_id": ""}, {"aftersale_id": "7x"}, {"aftersale_id": True}):
        with pytest.raises(BadPayload, match="names no aftersale_id"):
            manifest.webhook_targets(signed_push([{"tag": "206", "msg_id": "e", "data": data}]))


async def test_one_after_sale_is_read_by_its_id_as_the_list_reads_it() -> None:
    shop = new_shop(3)
    order = shop.orders[sorted(shop.orders)[0]]
    sale = shop.add_aftersale(order, "0", status="7")
    with gateway(douyin_app(shop)) as url:
        connector = connector_for(shop, url)
        listed, _ = await drain(connector.after_sales(None, since=SINCE))
        record = await connector.after_sale(sale.aftersale_id)
        with pytest.raises(PlatformError, match="20309540"):
            await connector.after_sale("7999999999999999999")
        await connector.aclose()
    assert listed == [record]
    assert record.platform_order_id == order.order_id and record.platform_deadline == sale.deadline
    assert shop.calls["afterSale.Detail"] == 2
