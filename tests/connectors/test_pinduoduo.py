"""The Pinduoduo connector against a strict fake gateway; no database needed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest

from connectors import registry
from connectors.base import (
    AfterSaleKind,
    AfterSaleStatus,
    AuthFailed,
    BadPayload,
    OrderStatus,
    Page,
    PlatformError,
    RateLimited,
    Record,
    RefundDecision,
    RefundWrite,
    WriteRefused,
)
from connectors.pinduoduo import (
    PinduoduoConnector,
    TokenExpired,
    TransientPlatformError,
    connect,
    field_text,
    normalize_base_url,
    parse_order,
    parse_refund,
    pdd_error,
    sign,
    unwrap,
)
from connectors.timeutil import iso_z
from tests.fakes.faults import FaultInjector
from tests.fakes.pinduoduo import (
    AfterSale,
    CallLimit,
    Clock,
    FakePddShop,
    expected_sign,
    order_json,
    pinduoduo_app,
)
from tests.fakes.serve import serve

R = TypeVar("R", bound=Record)

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 3
NOW = START + timedelta(days=DAYS, hours=1)
SINCE = START - timedelta(hours=1)
LAG = timedelta(minutes=3)
ORDER_WORDS = {
    (1, 1): OrderStatus.AWAITING_SHIPMENT,
    (2, 1): OrderStatus.SHIPPED,
    (3, 1): OrderStatus.COMPLETED,
}

# PLATFORMS-CN B2: WSK's unit test, reproduced there with Python.
VECTOR = {
    "client_id": "test-client",
    "data_type": "JSON",
    "logistics_id": "9",
    "order_sn": "240101-1",
    "order_state": "1",
    "timestamp": "1720000000",
    "type": "pdd.erp.order.sync",
    "version": "V1",
    "waybill_no": "SF123",
}
VECTOR_SIGN = "CC0F30530BBAC3FD67608391D61E370C"


def new_shop(n_orders: int = 0, **options: Any) -> FakePddShop:
    shop = FakePddShop(now=Clock(NOW), **options)
    if n_orders:
        shop.seed(n_orders, start=START, days=DAYS)
    return shop


@contextmanager
def gateway(shop: FakePddShop) -> Iterator[str]:
    with serve(pinduoduo_app(shop)) as url:
        yield url


def connector_for(shop: FakePddShop, url: str, **options: Any) -> PinduoduoConnector:
    settings: dict[str, Any] = {
        "backoff_base": 0.01,
        "timeout": 2.0,
        "rate_wait": 0.02,
        "client_id": shop.client_id,
        "client_secret": shop.client_secret,
        "access_token": shop.access_token,
        "refresh_token": shop.refresh_token,
        "return_address_id": shop.return_address_id,
        **options,
    }
    return PinduoduoConnector(base_url=url, now=shop.now, **settings)


async def drain(
    stream: AsyncIterator[Page[R]], *, pages: int | None = None
) -> tuple[list[R], list[str | None]]:
    """Every record and every cursor, stopping after ``pages`` like a killed sync."""
    records: list[R] = []
    cursors: list[str | None] = []
    async for page in stream:
        assert not page.errors, page.errors
        records.extend(page.records)
        cursors.append(page.cursor)
        if pages is not None and len(cursors) >= pages:
            break
    return records, cursors


def assert_orders_exact(shop: FakePddShop, records: list[Any], *, unique: bool = True) -> None:
    ids = [r.platform_order_id for r in records]
    if unique:
        assert len(ids) == len(set(ids)), "an order came twice in one sync"
    assert set(ids) == set(shop.orders)
    for record in records:
        order = shop.orders[record.platform_order_id]
        expected = (
            OrderStatus.CLOSED
            if order.confirm_status == 2
            else ORDER_WORDS[(order.order_status, order.confirm_status)]
        )
        assert record.status == expected
        assert record.platform_status == (
            "order:cancelled" if order.confirm_status == 2 else f"order:{order.order_status}"
        )
        assert record.total_amount == order.pay_amount
        assert isinstance(record.total_amount, Decimal)
        assert record.updated_at == order.updated
        assert [(i.platform_item_id, i.quantity, i.unit_price) for i in record.items] == [
            (str(line.sku_id), line.goods_count, line.goods_price) for line in order.lines
        ]
        assert [s.tracking_no for s in record.shipments] == (
            [order.tracking_number] if order.tracking_number else []
        )


def mock_connector(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float], **options: Any
) -> PinduoduoConnector:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    settings: dict[str, Any] = {
        "now": lambda: NOW,
        "backoff_base": 0.01,
        "rate_wait": 0.5,
        "client_id": "c",
        "client_secret": "s",
        "access_token": "t",
        **options,
    }
    return PinduoduoConnector(transport=httpx.MockTransport(handler), sleep=sleep, **settings)


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


# --- 1. signing ---------------------------------------------------------------------------


def test_signature_matches_the_published_vector() -> None:
    assert sign(VECTOR, "test-secret") == VECTOR_SIGN
    assert expected_sign(VECTOR, "test-secret") == VECTOR_SIGN  # the fake agrees on its own


def test_signature_ignores_an_existing_sign_and_empty_values() -> None:
    padded = {**VECTOR, "sign": "WHATEVER", "remark": "", "none": None}
    assert sign(padded, "test-secret") == VECTOR_SIGN
    assert sign({**VECTOR, "order_sn": "240101-2"}, "test-secret") != VECTOR_SIGN


def test_objects_are_json_stringified_into_one_signed_field() -> None:
    request = {"after_sales_id": 5, "order_sn": "240101-1", "operate_desc": "同意退款"}
    text = field_text(request)
    assert json.loads(text) == request and "同意退款" in text  # not \\u-escaped
    assert field_text(True) == "true" and field_text(None) == ""
    signed = sign({"type": "pdd.refund.agree", "request": request}, "k")
    assert signed == sign({"type": "pdd.refund.agree", "request": text}, "k")


async def test_every_parameter_travels_signed_in_the_form_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"mall_info_get_response": {"mall_id": 1}})

    connector = mock_connector(handler, [])
    await connector.check()
    await connector.aclose()
    (request,) = seen
    assert request.method == "POST" and request.url.path == "/api/router"
    assert request.url.query == b""  # the token never lands in an access log
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = form_of(request)
    assert form["type"] == "pdd.mall.info.get" and form["access_token"] == "t"
    assert form["data_type"] == "JSON" and form["timestamp"] == str(int(NOW.timestamp()))
    assert form["sign"] == expected_sign(form, "s")


# --- 2. the fake is strict -------------------------------------------------------------------


async def test_the_fake_refuses_a_bad_signature_with_pdds_own_body() -> None:
    shop = new_shop()
    with gateway(shop) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            form = {"type": "pdd.mall.info.get", "client_id": shop.client_id, "sign": "00"}
            body = (await http.post("/api/router", data=form)).json()
        wrong = connector_for(shop, url, client_secret="not-the-secret")
        with pytest.raises(AuthFailed, match="20004"):
            await wrong.check()
        await wrong.aclose()
    assert body == {
        "error_response": {
            "error_code": 20004,
            "error_msg": "签名验证失败",
            "sub_code": "20004",
            "request_id": "fake",
        }
    }


async def test_the_fake_enforces_the_window_and_the_page_size() -> None:
    shop = new_shop(50)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        start = int(START.timestamp())
        base = {"order_status": 5, "refund_status": 5, "page": 1}
        with pytest.raises(PlatformError, match="time_range"):
            await connector.call(
                "pdd.order.number.list.increment.get",
                {**base, "start_updated_at": start, "end_updated_at": start + 1801, "page_size": 1},
            )
        with pytest.raises(PlatformError, match="page_size"):
            await connector.call(
                "pdd.order.number.list.increment.get",
                {**base, "start_updated_at": start, "end_updated_at": start + 60, "page_size": 101},
            )
        answer = await connector.call(
            "pdd.order.number.list.increment.get",
            {**base, "start_updated_at": start, "end_updated_at": start + 1800, "page_size": 100},
        )
        await connector.aclose()
    assert set(answer) >= {"total_count", "order_sn_list"}


# --- 3. tokens -----------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_once_and_the_call_made_again() -> None:
    shop = new_shop(20)
    kept: list[dict[str, Any]] = []
    with gateway(shop) as url:
        connector = connector_for(shop, url, on_tokens=kept.append)
        shop.expire_token()
        records, _ = await drain(connector.orders(None, since=NOW - timedelta(hours=2)))
        await connector.aclose()
    assert shop.refreshed == 1 and connector.refreshes == 1
    assert connector.access_token == shop.access_token == "fake-access-token-2"
    assert connector.refresh_token == "fake-refresh-token-2"
    assert [t["access_token"] for t in kept] == ["fake-access-token-2"]
    assert shop.refusals[10019] == 1
    assert {r.platform_order_id for r in records} <= set(shop.orders)


async def test_a_refresh_that_fails_is_a_clear_auth_failure() -> None:
    shop = new_shop(refresh_fails=True)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        shop.expire_token()
        with pytest.raises(AuthFailed, match="refresh token was refused") as caught:
            await connector.check()
        bare = connector_for(shop, url, refresh_token="")
        with pytest.raises(AuthFailed, match="no refresh token"):
            await bare.check()
        await connector.aclose()
        await bare.aclose()
    assert not isinstance(caught.value, TokenExpired)
    assert shop.calls["pdd.pop.auth.token.refresh"] == 1  # once, not in a loop


async def test_a_token_refused_again_after_its_refresh_is_not_refreshed_twice() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        form = form_of(request)
        calls.append(form["type"])
        if form["type"] == "pdd.pop.auth.token.refresh":
            body = {"pop_auth_token_refresh_response": {"access_token": "t2"}}
            return httpx.Response(200, json=body)
        return httpx.Response(
            200, json={"error_response": {"error_code": 10019, "error_msg": "access_token已过期"}}
        )

    connector = mock_connector(handler, [], refresh_token="r")
    with pytest.raises(AuthFailed, match="still refused"):
        await connector.check()
    await connector.aclose()
    assert calls == ["pdd.mall.info.get", "pdd.pop.auth.token.refresh", "pdd.mall.info.get"]


# --- 4. errors and rate limits ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind", "code"),
    [
        ({"error_code": 20004, "error_msg": "签名验证失败", "sub_code": "20004"}, AuthFailed, None),
        ({"error_code": 10019, "error_msg": "access_token已过期"}, TokenExpired, None),
        ({"error_code": 52101, "error_msg": "当前接口被限流"}, RateLimited, None),
        ({"error_code": 70031, "error_msg": "调用过于频繁"}, RateLimited, None),
        ({"error_code": 52102, "error_msg": "服务暂时不可用"}, TransientPlatformError, "52102"),
        ({"error_code": 52103, "error_msg": "服务暂时不可用"}, TransientPlatformError, "52103"),
        ({"error_code": 10000, "error_msg": "参数错误", "sub_code": "x"}, PlatformError, "10000"),
    ],
)
def test_error_responses_map_to_typed_errors(
    body: dict[str, Any], kind: type[Exception], code: str | None
) -> None:
    error = pdd_error("pdd.x", body)
    assert type(error) is kind
    assert str(body["error_code"]) in str(error)
    if code is not None:
        assert isinstance(error, PlatformError) and error.code == code
    with pytest.raises(kind):
        unwrap("pdd.x", {"error_response": body})


def test_only_a_single_response_key_is_an_answer() -> None:
    assert unwrap("pdd.a", {"a_response": {"x": 1}}) == {"x": 1}
    assert unwrap("pdd.refund.agree", {"response": {"result": {}}}) == {"result": {}}
    with pytest.raises(PlatformError, match="unexpected answer"):
        unwrap("pdd.a", {"a_response": {}, "b_response": {}})


async def test_rate_limits_back_off_without_retry_after_then_go_to_the_caller() -> None:
    sleeps: list[float] = []
    limited = {"error_response": {"error_code": 52101, "error_msg": "当前接口被限流"}}
    answers = [limited, limited, {"mall_info_get_response": {"mall_id": 1}}]

    connector = mock_connector(lambda request: httpx.Response(200, json=answers.pop(0)), sleeps)
    await connector.check()
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    await connector.aclose()

    sleeps.clear()
    stuck = mock_connector(
        lambda request: httpx.Response(200, json=limited), sleeps, max_rate_attempts=3
    )
    with pytest.raises(RateLimited) as caught:
        await stuck.check()
    await stuck.aclose()
    assert len(sleeps) == 3 and caught.value.retry_after > 0


async def test_transient_errors_are_retried_then_given_up() -> None:
    sleeps: list[float] = []
    busy = {"error_response": {"error_code": 52103, "error_msg": "服务暂时不可用"}}
    connector = mock_connector(lambda r: httpx.Response(200, json=busy), sleeps, max_attempts=3)
    with pytest.raises(TransientPlatformError):
        await connector.check()
    await connector.aclose()
    assert len(sleeps) == 2


async def test_the_shops_call_limit_is_waited_out() -> None:
    shop = new_shop(300, call_limit=CallLimit(calls=5, seconds=0.2))
    with gateway(shop) as url:
        connector = connector_for(shop, url, page_size=20, max_rate_attempts=12)
        records, _ = await drain(connector.orders(None, since=NOW - timedelta(hours=10)))
        await connector.aclose()
    assert shop.refusals[52101] > 0
    assert {r.platform_order_id for r in records} == {
        sn for sn, o in shop.orders.items() if o.updated >= NOW - timedelta(hours=10)
    }


# --- 5. orders -----------------------------------------------------------------------------


async def test_a_2000_order_shop_syncs_exactly_in_30_minute_windows_and_pages_of_100() -> None:
    shop = new_shop(2000)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, cursors = await drain(connector.orders(None, since=SINCE))
        assert_orders_exact(shop, records)
        assert not shop.refusals
        windows = [f for f in shop.received if f["type"] == "pdd.order.number.list.increment.get"]
        assert all(
            int(f["end_updated_at"]) - int(f["start_updated_at"]) <= 1800
            and f["page_size"] == "100"
            for f in windows
        )
        assert int(windows[-1]["end_updated_at"]) == int((NOW - LAG).timestamp())
        assert json.loads(cursors[-1]) == {"since": iso_z(NOW - LAG - timedelta(minutes=10))}

        clock = shop.now
        assert isinstance(clock, Clock)
        clock.advance(timedelta(minutes=30))
        touched = sorted(shop.orders)[::50]
        for sn in touched:
            shop.touch(sn, clock() - timedelta(minutes=5))
        again, _ = await drain(connector.orders(cursors[-1]))
        await connector.aclose()
    assert sorted(r.platform_order_id for r in again) == touched
    for record in again:
        assert record.updated_at == shop.orders[record.platform_order_id].updated


async def test_orders_updated_while_paging_backwards_are_never_lost() -> None:
    # Every page read makes orders of the window leave it: with forward paging the
    # unread ones would slide onto pages already read.
    shop = new_shop(3000, seed_value=11)
    since = START + timedelta(days=1)
    left: list[str] = []

    def leave(api: str, page: int) -> None:
        if api != "pdd.order.number.list.increment.get":
            return
        clock = shop.now
        assert isinstance(clock, Clock)
        candidates = [
            o for o in shop.orders.values() if o.updated >= since and o.order_sn not in left
        ]
        for order in candidates[:: max(1, len(candidates) // 3)][:3]:
            order.updated = clock() - LAG + timedelta(seconds=30)  # after this sync's end
            left.append(order.order_sn)

    with gateway(shop) as url:
        connector = connector_for(shop, url, page_size=20)
        expected = {sn for sn, o in shop.orders.items() if o.updated >= since}
        shop.on_list = leave
        records, _ = await drain(connector.orders(None, since=since))
        shop.on_list = None
        seen = {r.platform_order_id for r in records}
        assert left and expected - set(left) <= seen  # every order that stayed was read
        clock = shop.now
        assert isinstance(clock, Clock)
        clock.advance(timedelta(minutes=5))
        later, _ = await drain(connector.orders(None, since=NOW - LAG - timedelta(minutes=1)))
        await connector.aclose()
    assert set(left) <= {r.platform_order_id for r in later}  # and the leavers come next time


async def test_an_interrupted_sync_resumes_at_the_next_page_without_duplicates() -> None:
    shop = new_shop(2000)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        whole, _ = await drain(connector.orders(None, since=SINCE))
        part, cursors = await drain(connector.orders(None, since=SINCE), pages=40)
        await connector.aclose()
        resumed = connector_for(shop, url)  # a new process, only the saved cursor
        rest, _ = await drain(resumed.orders(cursors[-1]))
        await resumed.aclose()
    assert json.loads(cursors[-1]).get("until")  # stopped inside a window
    assert [r.platform_order_id for r in part + rest] == [r.platform_order_id for r in whole]
    assert_orders_exact(shop, part + rest)


async def test_with_faults_injected_the_sync_still_ends_exact() -> None:
    shop = new_shop(1500)
    app = FaultInjector(pinduoduo_app(shop), rate=0.1, timeout_seconds=1.0)
    with serve(app) as url:
        connector = connector_for(shop, url, timeout=0.5)
        records, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert sum(app.injected.values()) > 0
    assert connector.client.retries >= sum(app.injected.values())
    assert_orders_exact(shop, records)


def test_an_order_maps_amounts_exactly_masks_and_keeps_the_platform_word() -> None:
    shop = new_shop(30)
    order = next(o for o in shop.orders.values() if o.tracking_number)
    payload = json.loads(
        json.dumps(order_json(order), default=float), parse_float=Decimal
    )  # as the wire brings it
    payload["pay_amount"] = Decimal("12345.67")
    record = parse_order(payload)
    assert record.total_amount == Decimal("12345.67") and record.currency == "CNY"
    assert record.buyer.phone == "138****0000" and record.buyer.name == "王*"
    assert record.platform_status == f"order:{order.order_status}"
    assert record.shipments[0].tracking_no == order.tracking_number
    assert parse_order({**payload, "confirm_status": 2}).status is OrderStatus.CLOSED
    assert parse_order({**payload, "updated_at": 1790000000}).updated_at == datetime.fromtimestamp(
        1790000000, UTC
    )
    with pytest.raises(BadPayload) as caught:
        parse_order({**payload, "order_status": 9})
    assert caught.value.record_id == order.order_sn
    with pytest.raises(BadPayload):
        parse_order({**payload, "pay_amount": "abc"})


async def test_order_reads_one_order_by_its_sn() -> None:
    shop = new_shop(10)
    sn = sorted(shop.orders)[3]
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        record = await connector.order(sn)
        with pytest.raises(PlatformError):
            await connector.order("000000-1")
        await connector.aclose()
    assert record.platform_order_id == sn and record.total_amount == shop.orders[sn].pay_amount


# --- 6. after-sales ------------------------------------------------------------------------


async def test_after_sales_map_kinds_amounts_and_the_platforms_deadline() -> None:
    shop = new_shop(1500)
    assert len(shop.after_sales) > 100
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, _ = await drain(connector.after_sales(None, since=SINCE))
        await connector.aclose()
    assert sorted(int(r.platform_refund_id) for r in records) == sorted(shop.after_sales)
    kinds = {1: AfterSaleKind.REFUND_ONLY, 2: AfterSaleKind.RETURN_AND_REFUND}
    statuses = {
        2: AfterSaleStatus.REQUESTED,
        3: AfterSaleStatus.REQUESTED,
        4: AfterSaleStatus.REFUNDED,
        7: AfterSaleStatus.WAITING_RETURN,
        10: AfterSaleStatus.REFUNDED,
        11: AfterSaleStatus.CANCELLED,
    }
    for record in records:
        sale = shop.after_sales[int(record.platform_refund_id)]
        assert record.kind == kinds.get(sale.after_sales_type, AfterSaleKind.EXCHANGE)
        assert record.status == statuses[sale.after_sales_status]
        assert record.platform_status == f"after_sales:{sale.after_sales_status}"
        assert record.requested_amount == sale.refund_amount
        assert record.platform_order_id == sale.order_sn
        assert record.platform_deadline == sale.expire  # only while the merchant must act
    assert any(r.platform_deadline for r in records)
    details = shop.calls["pdd.refund.information.get"]
    assert details == sum(1 for s in shop.after_sales.values() if s.after_sales_status in (2, 3))


def test_an_unknown_type_is_a_bad_record_and_an_unknown_status_stays_unknown() -> None:
    row = {
        "id": 7,
        "order_sn": "261001-1",
        "after_sales_type": 2,
        "after_sales_status": 8,
        "refund_amount": Decimal("9.90"),
        "created_time": "2026-10-01 10:00:00",
        "updated_time": "2026-10-01 11:00:00",
    }
    assert parse_refund(row).status is AfterSaleStatus.UNKNOWN  # the platform arbitrates
    assert parse_refund(row).created_at == datetime(2026, 10, 1, 2, tzinfo=UTC)  # Beijing time
    with pytest.raises(BadPayload) as caught:
        parse_refund({**row, "after_sales_type": 99})
    assert caught.value.record_id == "7"


# --- 7. write-backs ------------------------------------------------------------------------


def open_sale(shop: FakePddShop, *, kind: int = 1) -> AfterSale:
    order = next(iter(shop.orders.values()))
    line = order.lines[0]
    sale = AfterSale(
        id=61_000_001 + len(shop.after_sales),
        order_sn=order.order_sn,
        sku_id=line.sku_id,
        after_sales_type=kind,
        after_sales_status=2 if kind == 1 else 3,
        refund_amount=line.goods_price * line.goods_count,
        reason="不想要了",
        created=NOW - timedelta(hours=2),
        updated=NOW - timedelta(hours=1),
        expire=NOW + timedelta(hours=46),
    )
    shop.after_sales[sale.id] = sale
    return sale


def decision(sale: AfterSale, verdict: RefundDecision, **changes: Any) -> RefundWrite:
    values: dict[str, Any] = {
        "decision": verdict,
        "platform_order_id": sale.order_sn,
        "platform_refund_id": str(sale.id),
        "amount": sale.refund_amount,
        "reason": "同意退款",
        "platform_version": sale.updated,
        **changes,
    }
    return RefundWrite(**values)


async def test_agree_executes_once_and_a_retry_with_the_same_key_is_already_done() -> None:
    shop = new_shop(5)
    sale = open_sale(shop)
    write = decision(sale, RefundDecision.APPROVE)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        first = await connector.decide_refund(write, idempotency_key="rf-1")
        again = await connector.decide_refund(write, idempotency_key="rf-1")
        await connector.aclose()
    assert (first.platform_status, first.status, first.already_done) == (
        "after_sales:4",
        AfterSaleStatus.REFUNDED,
        False,
    )
    assert (again.platform_status, again.already_done) == ("after_sales:4", True)
    assert shop.executed == [sale.id] and shop.calls["pdd.refund.agree"] == 1
    (sent,) = [f for f in shop.received if f["type"] == "pdd.refund.agree"]
    assert json.loads(sent["request"]) == {
        "after_sales_id": sale.id,
        "order_sn": sale.order_sn,
        "operate_desc": "同意退款",
    }


async def test_a_lost_answer_is_recognised_and_never_paid_twice() -> None:
    shop = new_shop(5, lose_answers=1)
    sale = open_sale(shop)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        result = await connector.decide_refund(
            decision(sale, RefundDecision.APPROVE), idempotency_key="rf-lost"
        )
        await connector.aclose()
    # The write went once (no blind resend on the 504) and the re-read found it made.
    assert shop.calls["pdd.refund.agree"] == 1 and shop.executed == [sale.id]
    assert (result.platform_status, result.already_done) == ("after_sales:4", True)


async def test_a_return_is_agreed_with_the_stores_return_address() -> None:
    shop = new_shop(5)
    sale = open_sale(shop, kind=2)
    with gateway(shop) as url:
        without = connector_for(shop, url, return_address_id="")
        with pytest.raises(WriteRefused, match="return address"):
            await without.decide_refund(decision(sale, RefundDecision.APPROVE), idempotency_key="a")
        await without.aclose()
        connector = connector_for(shop, url)
        result = await connector.decide_refund(
            decision(sale, RefundDecision.APPROVE), idempotency_key="b"
        )
        await connector.aclose()
    assert (result.platform_status, result.status) == (
        "after_sales:7",
        AfterSaleStatus.WAITING_RETURN,
    )
    (sent,) = [f for f in shop.received if f["type"] == "pdd.refund.returngoods.agree"]
    assert json.loads(sent["request"])["return_address_id"] == shop.return_address_id
    assert shop.executed == [sale.id]


async def test_a_refusal_is_refused_before_any_call_pdd_has_no_api_for_it() -> None:
    shop = new_shop(5)
    sale = open_sale(shop)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        with pytest.raises(WriteRefused, match="back office") as caught:
            await connector.decide_refund(
                decision(sale, RefundDecision.REJECT, reason="已发货，请拒收"),
                idempotency_key="rj",
            )
        await connector.aclose()
    assert caught.value.code == "no_refuse_api"
    assert not shop.received and sale.after_sales_status == 2
    manifest = registry.manifest_for("pinduoduo")
    assert manifest.capabilities.decide_refund and not manifest.capabilities.refuse_refund
    assert not manifest.capabilities.reviews and not manifest.capabilities.start_refund


async def test_writes_the_platform_cannot_take_are_refused_without_writing() -> None:
    shop = new_shop(5)
    sale = open_sale(shop)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        with pytest.raises(WriteRefused, match="whole"):
            await connector.decide_refund(
                decision(sale, RefundDecision.APPROVE, amount=sale.refund_amount / 2),
                idempotency_key="part",
            )
        with pytest.raises(WriteRefused, match="changed at"):
            await connector.decide_refund(
                decision(
                    sale,
                    RefundDecision.APPROVE,
                    platform_version=sale.updated - timedelta(minutes=5),
                ),
                idempotency_key="stale",
            )
        sale.after_sales_status = 11  # the buyer withdrew it
        with pytest.raises(WriteRefused, match="closed"):
            await connector.decide_refund(
                decision(sale, RefundDecision.APPROVE), idempotency_key="gone"
            )
        await connector.aclose()
    assert shop.calls["pdd.refund.agree"] == 0 and not shop.executed


async def test_a_business_refusal_is_write_refused_after_a_second_look() -> None:
    shop = new_shop(5)
    sale = open_sale(shop)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        real = shop.handle

        def race(form: dict[str, str]) -> dict[str, Any]:
            if form.get("type") == "pdd.refund.agree":
                sale.after_sales_status = 5  # PDD agreed it by itself a moment before
            return real(form)

        shop.handle = race  # type: ignore[method-assign]
        result = await connector.decide_refund(
            decision(sale, RefundDecision.APPROVE), idempotency_key="race"
        )
        await connector.aclose()
    assert (result.platform_status, result.already_done) == ("after_sales:5", True)
    assert shop.refusals[10000] == 1 and not shop.executed


# --- the manifest --------------------------------------------------------------------------


def test_connect_reads_credentials_and_the_manifest_shows_them() -> None:
    with pytest.raises(ValueError, match="access_token"):
        connect(base_url=None, credentials={"client_id": "c", "client_secret": "s"})
    connector = connect(
        base_url=None,
        credentials={
            "client_id": " c ",
            "client_secret": "s",
            "access_token": "t",
            "refresh_token": "r",
            "return_address_id": "42",
        },
    )
    assert (connector.client_id, connector.refresh_token, connector.return_address_id) == (
        "c",
        "r",
        "42",
    )
    assert str(connector.client.http.base_url).rstrip("/") == "https://gw-api.pinduoduo.com"
    manifest = registry.manifest_for("pinduoduo")
    assert manifest.required_credentials == ("client_id", "client_secret", "access_token")
    assert manifest.credential("client_secret") and manifest.credential("client_secret").secret
    assert normalize_base_url("https://gw-api.pinduoduo.com/api/router") == (
        "https://gw-api.pinduoduo.com"
    )
    assert normalize_base_url("127.0.0.1:9000/") == "https://127.0.0.1:9000"
