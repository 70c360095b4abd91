"""The Taobao TOP connector against a strict fake gateway; no database needed."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest

from connectors.base import (
    AfterSaleKind,
    AfterSaleStatus,
    AuthFailed,
    BadPayload,
    ConnectorError,
    OrderStatus,
    Page,
    PlatformError,
    RateLimited,
    Record,
    RefundDecision,
    RefundWrite,
    ReviewResult,
    WriteRefused,
)
from connectors.taobao import (
    TaobaoConnector,
    TransientPlatformError,
    _has_next,
    ban_seconds,
    connect,
    epoch_ms,
    parse_rate,
    parse_refund,
    parse_trade,
    response_key,
    sign,
    top_error,
)
from connectors.timeutil import CHINA, iso_z
from tests.fakes.faults import FaultInjector
from tests.fakes.serve import serve
from tests.fakes.taobao import (
    REFUND_TIMERS,
    CallLimit,
    Clock,
    FakeTaobaoShop,
    Refund,
    expected_sign,
    taobao_app,
)

R = TypeVar("R", bound=Record)

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 10
NOW = START + timedelta(days=DAYS, hours=1)
SINCE = START - timedelta(hours=1)
STATUS_WORDS = {
    "WAIT_BUYER_PAY": OrderStatus.AWAITING_PAYMENT,
    "WAIT_SELLER_SEND_GOODS": OrderStatus.AWAITING_SHIPMENT,
    "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.SHIPPED,
    "TRADE_FINISHED": OrderStatus.COMPLETED,
    "TRADE_CLOSED": OrderStatus.CLOSED,
    "TRADE_CLOSED_BY_TAOBAO": OrderStatus.CLOSED,
}

# The md5 vector of tests/fixtures/README.md; the hmac ones were computed apart
# from any code of ours, with `printf '%s' "$TEXT" | openssl dgst -md5 -hmac test` (and
# -sha256), over the text TOP signs for the same parameters.
VECTOR = {
    "app_key": "test",
    "fields": "nick",
    "format": "xml",
    "method": "taobao.user.seller.get",
    "session": "test",
    "sign_method": "md5",
    "timestamp": "2013-05-06 13:52:03",
    "v": "2.0",
}


def new_shop(n_orders: int = 0, *, burst: int = 0, **options: Any) -> FakeTaobaoShop:
    shop = FakeTaobaoShop(now=Clock(NOW), **options)
    if n_orders:
        shop.seed(n_orders, start=START, days=DAYS, burst=burst)
    return shop


@contextmanager
def gateway(shop: FakeTaobaoShop) -> Iterator[str]:
    with serve(taobao_app(shop)) as url:
        yield url


def connector_for(shop: FakeTaobaoShop, url: str, **options: Any) -> TaobaoConnector:
    settings: dict[str, Any] = {"backoff_base": 0.01, "timeout": 2.0, **options}
    settings.setdefault("app_secret", shop.app_secret)
    settings.setdefault("session", shop.session)
    settings.setdefault("app_key", shop.app_key)
    return TaobaoConnector(base_url=url, now=shop.now, **settings)


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


def assert_orders_exact(shop: FakeTaobaoShop, records: list[Any]) -> None:
    ids = [r.platform_order_id for r in records]
    assert len(ids) == len(set(ids)), "a trade came twice in one sync"
    assert set(ids) == {str(tid) for tid in shop.trades}
    for record in records:
        trade = shop.trades[int(record.platform_order_id)]
        assert record.platform_status == trade.status
        assert record.status == STATUS_WORDS[trade.status]
        assert record.total_amount == trade.payment
        assert record.paid_amount == (trade.payment if trade.pay_time else Decimal("0.00"))
        assert record.updated_at == trade.modified.replace(microsecond=0)
        assert record.currency == "CNY"
        assert [(s.carrier, s.tracking_no) for s in record.shipments] == (
            [("中通快递", f"7531{trade.tid}")] if trade.consign_time else []
        )
        assert [(i.platform_item_id, i.quantity, i.unit_price, i.amount) for i in record.items] == [
            (str(line.oid), line.num, line.price, line.payment) for line in trade.lines
        ]


def mock_connector(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float], **options: Any
) -> TaobaoConnector:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    settings: dict[str, Any] = {"now": lambda: NOW, "backoff_base": 0.01, **options}
    return TaobaoConnector(
        app_key="k",
        app_secret="s",
        session="x",
        transport=httpx.MockTransport(handler),
        sleep=sleep,
        **settings,
    )


def envelope(body: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json=body)


# --- signing --------------------------------------------------------------------------------


def test_md5_signature_matches_the_published_vector() -> None:
    assert sign(VECTOR, "test", "md5") == "72CB4D809B375A54502C09360D879C64"


def test_hmac_signatures_match_independently_computed_values() -> None:
    assert sign({**VECTOR, "sign_method": "hmac"}, "test", "hmac") == (
        "FA15A9D5B42AB2D6F3397843851ED09A"
    )
    assert sign({**VECTOR, "sign_method": "hmac-sha256"}, "test", "hmac-sha256") == (
        "267B9C1C7A2FE1CE413DBB95E596616D32107AE0992BE2C22143CFCE303E8E34"
    )


def test_signature_is_utf8_and_ignores_sign_and_empty_values() -> None:
    params = {"app_key": "test", "method": "taobao.traderates.get", "q": "纯棉T恤"}
    params |= {"sign_method": "md5", "sign": "OLD", "result": ""}
    # openssl dgst -md5 over "testapp_keytest...q纯棉T恤sign_methodmd5test" (UTF-8)
    assert sign(params, "test") == "96AF68FC381137BD02C1C74BDBB8D3CE"
    with pytest.raises(ValueError):
        sign(params, "test", "sha1")


def test_response_key_follows_the_method_name() -> None:
    assert response_key("taobao.trades.sold.increment.get") == "trades_sold_increment_get_response"
    assert response_key("taobao.traderates.get") == "traderates_get_response"


# --- error envelopes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind", "code"),
    [
        ({"code": 25, "msg": "Invalid signature"}, AuthFailed, None),
        ({"code": 26, "msg": "Missing session"}, AuthFailed, None),
        (
            {"code": 27, "msg": "Invalid session", "sub_code": "invalid-sessionkey"},
            AuthFailed,
            None,
        ),
        ({"code": 28, "msg": "Missing App Key"}, AuthFailed, None),
        ({"code": 29, "msg": "Invalid app Key"}, AuthFailed, None),
        ({"code": 53, "msg": "Invalid session"}, AuthFailed, None),
        ({"code": 15, "msg": "x", "sub_code": "isv.invalid-signature"}, AuthFailed, None),
        ({"code": 15, "msg": "x", "sub_code": "session-expired"}, AuthFailed, None),
        (
            {"code": 15, "msg": "x", "sub_code": "isp.remote-service-timeout"},
            TransientPlatformError,
            "15",
        ),
        ({"code": 15, "msg": "x", "sub_code": "isp.unknown-error"}, TransientPlatformError, "15"),
        (
            {"code": 15, "msg": "Remote service error", "sub_code": "isv.trade-not-exist"},
            PlatformError,
            "15",
        ),
        (
            {"code": 41, "msg": "Invalid arguments", "sub_code": "isv.invalid-parameter"},
            PlatformError,
            "41",
        ),
        ({"code": 31, "msg": "Invalid timestamp"}, PlatformError, "31"),
    ],
)
def test_error_response_maps_to_typed_errors(
    error: dict[str, Any], kind: type[ConnectorError], code: str | None
) -> None:
    mapped = top_error("taobao.trades.sold.increment.get", error)
    assert type(mapped) is kind
    if code is not None:
        assert isinstance(mapped, PlatformError)
        assert mapped.code == code
    assert str(error["code"]) in str(mapped)


@pytest.mark.parametrize(
    ("error", "retry_after"),
    [
        (
            {
                "code": 7,
                "msg": "App Call Limited",
                "sub_code": "accesscontrol.limited-by-app-access-count",
                "sub_msg": "This ban will last for 71 more seconds",
            },
            71.0,
        ),
        ({"code": 7, "msg": "App Call Limited"}, 1.0),
        (
            {
                "code": 15,
                "msg": "x",
                "sub_code": "isv.access-limited",
                "sub_msg": "will be released in 30 seconds",
            },
            30.0,
        ),
        (
            {
                "code": 7,
                "msg": "App Call Limited",
                "sub_code": "accesscontrol.limited-by-api-access-count",
                "sub_msg": "0.25秒后解除",
            },
            0.25,
        ),
    ],
)
def test_call_limits_map_to_rate_limited_with_retry_after(
    error: dict[str, Any], retry_after: float
) -> None:
    mapped = top_error("taobao.traderates.get", error)
    assert isinstance(mapped, RateLimited)
    assert mapped.retry_after == retry_after


def test_ban_seconds_reads_only_durations() -> None:
    assert ban_seconds("This ban will last for 3 more seconds") == 3.0
    assert ban_seconds("App Call Limited") is None


async def test_long_ban_goes_to_the_caller_short_one_is_waited_out() -> None:
    long_ban = {
        "error_response": {
            "code": 7,
            "msg": "App Call Limited",
            "sub_code": "accesscontrol.limited-by-app-access-count",
            "sub_msg": "This ban will last for 3600 more seconds",
        }
    }
    sleeps: list[float] = []
    connector = mock_connector(envelope(long_ban), sleeps)
    with pytest.raises(RateLimited) as caught:
        await connector.check()
    assert caught.value.retry_after == 3600 and sleeps == []
    await connector.aclose()

    answers = [
        {
            "error_response": {
                **long_ban["error_response"],
                "sub_msg": "This ban will last for 2 more seconds",
            }
        },
        {"user_seller_get_response": {"user": {"nick": "店"}}},
    ]
    connector = mock_connector(lambda request: httpx.Response(200, json=answers.pop(0)), sleeps)
    await connector.check()
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] <= 2.01
    await connector.aclose()


async def test_isp_errors_are_retried_then_given_up() -> None:
    isp = {
        "error_response": {
            "code": 15,
            "msg": "Remote service error",
            "sub_code": "isp.remote-service-timeout",
        }
    }
    answers = [isp, isp, {"user_seller_get_response": {"user": {"nick": "店"}}}]
    sleeps: list[float] = []
    connector = mock_connector(lambda request: httpx.Response(200, json=answers.pop(0)), sleeps)
    await connector.check()
    assert len(sleeps) == 2
    await connector.aclose()

    connector = mock_connector(envelope(isp), sleeps, max_attempts=3)
    with pytest.raises(PlatformError, match=r"isp\.remote-service-timeout"):
        await connector.check()
    await connector.aclose()


async def test_every_parameter_travels_signed_in_the_form_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"user_seller_get_response": {"user": {"nick": "店"}}})

    connector = mock_connector(handler, [], sign_method="hmac-sha256")
    await connector.check()
    await connector.aclose()
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/router/rest"
    assert request.url.query == b""  # the session key stays out of access logs
    form = dict(parse_qsl(request.content.decode()))
    assert form["timestamp"] == "2026-10-11 09:00:00"  # NOW in GMT+8
    assert {k: form[k] for k in ("v", "format", "simplify", "sign_method", "method")} == {
        "v": "2.0",
        "format": "json",
        "simplify": "false",
        "sign_method": "hmac-sha256",
        "method": "taobao.user.seller.get",
    }
    assert form["sign"] == expected_sign(form, "s", "hmac-sha256")


# --- the fake gateway's refusals reach the caller typed -------------------------------------


async def test_fake_accepts_all_three_sign_methods_and_refuses_bad_credentials() -> None:
    shop = new_shop()
    with gateway(shop) as url:
        for method in ("md5", "hmac", "hmac-sha256"):
            connector = connector_for(shop, url, sign_method=method)
            await connector.check()
            await connector.aclose()
        for wrong, code in (
            ({"app_secret": "not-the-secret"}, 25),
            ({"session": "6100expired"}, 27),
            ({"app_key": "999"}, 29),
        ):
            connector = connector_for(shop, url, **wrong)
            with pytest.raises(AuthFailed):
                await connector.check()
            await connector.aclose()
            assert shop.refusals[code] == 1
        skewed = connector_for(shop, url)
        skewed.now = lambda: NOW + timedelta(minutes=11)
        with pytest.raises(PlatformError) as caught:
            await skewed.check()
        assert caught.value.code == "31"
        await skewed.aclose()


async def test_fake_enforces_span_page_size_and_has_next() -> None:
    shop = new_shop(300)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        api = "taobao.trades.sold.increment.get"
        window = {"fields": "tid,modified", "start_modified": "2026-10-09 00:00:00"}
        with pytest.raises(PlatformError) as caught:
            await connector.call(api, {**window, "end_modified": "2026-10-10 00:00:01"})
        assert caught.value.code == "41"
        day = {**window, "end_modified": "2026-10-10 00:00:00"}
        with pytest.raises(PlatformError):
            await connector.call(api, {**day, "page_size": 101})
        answer = await connector.call(api, {**day, "page_size": 10, "use_has_next": "true"})
        assert answer["has_next"] is True and "total_results" not in answer
        times = [row["modified"] for row in answer["trades"]["trade"]]
        assert times == sorted(times, reverse=True)
        answer = await connector.call(api, {**day, "page_size": 10})
        assert answer["total_results"] > 10 and "has_next" not in answer
        await connector.aclose()


# --- orders ---------------------------------------------------------------------------------


async def test_a_3000_trade_shop_syncs_exactly_and_a_second_pass_catches_touched_trades() -> None:
    shop = new_shop(3000, burst=150)  # 150 trades closed in one second: more than a page
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, cursors = await drain(connector.orders(None, since=SINCE))
        assert_orders_exact(shop, records)
        assert not shop.refusals
        assert shop.windows and all(
            end - start <= timedelta(days=1) for _, start, end in shop.windows
        )
        assert json.loads(cursors[-1]) == {"since": iso_z(NOW - timedelta(minutes=10))}

        clock = shop.now
        assert isinstance(clock, Clock)
        clock.advance(timedelta(minutes=30))
        touched = sorted(shop.trades)[::60]
        for tid in touched:
            shop.touch(tid, clock() - timedelta(minutes=5))
        again, _ = await drain(connector.orders(cursors[-1], since=SINCE))
        assert sorted(int(r.platform_order_id) for r in again) == touched
        for record in again:
            trade = shop.trades[int(record.platform_order_id)]
            assert record.platform_status == trade.status
            assert record.updated_at == trade.modified
        await connector.aclose()


async def test_trades_modified_while_paging_do_not_push_others_out() -> None:
    # Page 1 of a window holds its newest trades; modifying them while we page moves
    # them out, which with page_no paging would slide unread trades onto page 1.
    shop = new_shop(1200)
    since = NOW - timedelta(days=1, hours=1)  # the busiest day first
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        stream = connector.orders(None, since=since)
        first = await anext(stream)
        assert len(first.records) == 100
        clock = shop.now
        assert isinstance(clock, Clock)
        clock.advance(timedelta(minutes=1))
        for record in first.records:
            shop.touch(int(record.platform_order_id), clock())
        rest, _ = await drain(stream)
        ids = [r.platform_order_id for r in first.records + rest]
        assert len(ids) == len(set(ids))
        assert set(ids) == {str(tid) for tid, t in shop.trades.items() if t.modified >= since}
        await connector.aclose()


async def test_an_interrupted_sync_resumes_at_the_next_page_without_duplicates() -> None:
    shop = new_shop(3000, burst=150)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        whole, _ = await drain(connector.orders(None, since=SINCE))
        part, cursors = await drain(connector.orders(None, since=SINCE), pages=9)
        await connector.aclose()
        resumed = connector_for(shop, url)  # a new process, only the saved cursor
        rest, _ = await drain(resumed.orders(cursors[-1], since=SINCE))
        await resumed.aclose()
    assert [r.platform_order_id for r in part + rest] == [r.platform_order_id for r in whole]
    assert_orders_exact(shop, part + rest)


async def test_with_faults_injected_the_sync_still_ends_exact() -> None:
    shop = new_shop(3000, burst=150)
    app = FaultInjector(taobao_app(shop), rate=0.1, timeout_seconds=1.0)
    with serve(app) as url:
        connector = connector_for(shop, url, timeout=0.5)
        records, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert sum(app.injected.values()) > 0
    assert connector.client.retries >= sum(app.injected.values())
    assert_orders_exact(shop, records)


async def test_call_limits_are_waited_out() -> None:
    shop = new_shop(600, call_limit=CallLimit(calls=4, seconds=0.2))
    with gateway(shop) as url:
        connector = connector_for(shop, url, page_size=50)
        records, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert shop.refusals[7] > 0
    assert_orders_exact(shop, records)


async def test_details_fill_the_address_only_when_asked_and_order_reads_one_trade() -> None:
    shop = new_shop(120)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, _ = await drain(connector.orders(None, since=SINCE))
        assert all(r.buyer.address is None for r in records)
        assert shop.calls["taobao.trade.fullinfo.get"] == 0
        await connector.aclose()

        detailed = connector_for(shop, url, fetch_details=True)
        records, _ = await drain(detailed.orders(None, since=SINCE))
        assert shop.calls["taobao.trade.fullinfo.get"] == len(shop.trades)
        for record in records:
            receiver = shop.trades[int(record.platform_order_id)].receiver
            assert record.buyer.address == "".join(
                receiver[k]
                for k in (
                    "receiver_state",
                    "receiver_city",
                    "receiver_district",
                    "receiver_address",
                )
            )
            assert record.buyer.name == receiver["receiver_name"]
            assert record.buyer.phone == receiver["receiver_mobile"]

        tid = sorted(shop.trades)[7]
        one = await detailed.order(str(tid))
        assert one.platform_order_id == str(tid) and one.buyer.address
        shop.queue_error(15, "Remote service error", "isv.trade-not-exist", "交易不存在")
        with pytest.raises(PlatformError) as caught:
            await detailed.order("1")
        assert caught.value.code == "15" and not isinstance(caught.value, TransientPlatformError)
        await detailed.aclose()


# --- refunds and ratings --------------------------------------------------------------------


def test_exchanges_are_told_apart_from_refunds() -> None:
    base = {
        "refund_id": 1,
        "tid": 2,
        "status": "WAIT_SELLER_AGREE",
        "refund_fee": "0.00",
        "has_good_return": True,
        "created": "2026-11-01 10:00:00",
        "modified": "2026-11-01 10:00:00",
    }
    assert parse_refund(base).kind is AfterSaleKind.RETURN_AND_REFUND
    assert parse_refund({**base, "dispute_type": "TAOBAO_EXCHANGE"}).kind is AfterSaleKind.EXCHANGE
    waiting = {**base, "status": "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS"}
    assert parse_refund(waiting).kind is AfterSaleKind.EXCHANGE
    turned = {**base, "dispute_type": "TMALL_EXCHANGE", "status": "EXCHANGE_TRANSFORM_TO_REFUND"}
    assert parse_refund(turned).kind is AfterSaleKind.RETURN_AND_REFUND
    assert parse_refund({**base, "has_good_return": False}).kind is AfterSaleKind.REFUND_ONLY
    # Statuses come in the desk's words; one TOP adds later is unknown, never a guess.
    assert parse_refund(base).status is AfterSaleStatus.REQUESTED
    assert parse_refund({**base, "status": "SUCCESS"}).status is AfterSaleStatus.REFUNDED
    assert parse_refund({**base, "status": "CLOSED"}).status is AfterSaleStatus.CANCELLED
    assert parse_refund({**base, "status": "NEW_WORD"}).status is AfterSaleStatus.UNKNOWN


async def test_refunds_map_kinds_amounts_deadlines_and_returns() -> None:
    shop = new_shop(1500)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, _ = await drain(connector.after_sales(None, since=SINCE))
        await connector.aclose()
    assert sorted(int(r.platform_refund_id) for r in records) == sorted(shop.refunds)
    kinds = set()
    assert sum(r.kind is AfterSaleKind.EXCHANGE for r in records) > 5
    for record in records:
        refund = shop.refunds[int(record.platform_refund_id)]
        kinds.add(record.kind)
        if refund.dispute_type == "TMALL_EXCHANGE":
            assert record.kind is AfterSaleKind.EXCHANGE
        else:
            assert record.kind == (
                AfterSaleKind.RETURN_AND_REFUND
                if refund.has_good_return
                else AfterSaleKind.REFUND_ONLY
            )
        assert record.platform_status == refund.status
        assert record.requested_amount == refund.refund_fee
        assert (record.platform_order_id, record.platform_item_id) == (
            str(refund.tid),
            str(refund.oid),
        )
        assert record.reason == refund.reason and record.buyer_text == (refund.desc or None)
        assert record.platform_deadline == refund.timeout
        assert (record.return_carrier, record.return_tracking_no) == (
            refund.company_name,
            refund.sid,
        )
        assert record.updated_at == refund.modified
    assert kinds == set(AfterSaleKind)
    open_refunds = [r for r in shop.refunds.values() if r.status in REFUND_TIMERS]
    assert open_refunds and shop.calls["taobao.refund.get"] == len(open_refunds)
    assert any(r.return_tracking_no for r in records)


async def test_ratings_map_results_text_and_replies() -> None:
    shop = new_shop(1500)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, cursors = await drain(connector.reviews(None, since=SINCE))
        await connector.aclose()
    assert json.loads(cursors[-1]) == {"since": iso_z(NOW - timedelta(days=30))}
    by_oid = {r.oid: r for r in shop.ratings}
    assert sorted(int(r.platform_review_id) for r in records) == sorted(by_oid)
    for record in records:
        rating = by_oid[int(record.platform_review_id)]
        assert record.result == ReviewResult(rating.result)
        assert record.text == rating.content and record.reply == rating.reply
        assert (record.platform_order_id, record.platform_item_id) == (
            str(rating.tid),
            str(rating.oid),
        )
        assert record.product_title == rating.item_title and record.reviewer_nick == rating.nick
        assert record.created_at == rating.created
    assert {r.result for r in records} == set(ReviewResult)
    assert any("质量" in r.text for r in records)


# --- a gateway that breaks our assumptions --------------------------------------------------


def list_gateway(
    api: str, outer: str, inner: str, rows: list[dict[str, Any]], *, descending: bool
) -> Callable[[httpx.Request], httpx.Response]:
    """A bare TOP list API over ``rows`` (filtered by modified, paged by page_no)."""

    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        assert form["method"] == api
        start, end = form["start_modified"], form["end_modified"]
        chosen = sorted(
            (r for r in rows if start <= r["modified"] <= end),
            key=lambda r: (r["modified"], r[next(iter(r))]),
            reverse=descending,
        )
        size, page = int(form["page_size"]), int(form["page_no"])
        body = {"has_next": page * size < len(chosen)}
        if chunk := chosen[(page - 1) * size : page * size]:
            body[outer] = {inner: chunk}
        return httpx.Response(200, json={response_key(api): body})

    return handler


async def test_a_list_not_sorted_newest_first_falls_back_to_page_numbers() -> None:
    # refunds.receive.get's order is undocumented: were it oldest first, seeking would
    # skip rows, so the connector notices the order and pages by number instead.
    day = datetime(2026, 10, 10, 1, 0, tzinfo=UTC)
    rows = [
        {
            "refund_id": 7000 + n,
            "tid": 1,
            "oid": 11,
            "status": "SUCCESS",
            "created": "2026-10-10 09:00:00",
            "modified": (day + timedelta(seconds=97 * n))
            .astimezone(CHINA)
            .strftime("%Y-%m-%d %H:%M:%S"),
            "refund_fee": "9.90",
            "has_good_return": False,
        }
        for n in range(250)
    ]
    handler = list_gateway(
        "taobao.refunds.receive.get", "refunds", "refund", rows, descending=False
    )
    connector = mock_connector(handler, [], now=lambda: day + timedelta(hours=8))
    records, _ = await drain(connector.after_sales(None, since=day - timedelta(minutes=1)))
    await connector.aclose()
    ids = [r.platform_refund_id for r in records]
    assert sorted(ids) == sorted(str(r["refund_id"]) for r in rows) and len(ids) == len(set(ids))


async def test_a_malformed_trade_is_reported_beside_its_good_neighbours() -> None:
    def trade(tid: int, payment: str) -> dict[str, Any]:
        return {
            "tid": tid,
            "status": "TRADE_FINISHED",
            "buyer_nick": "李**",
            "payment": payment,
            "created": "2026-10-10 08:00:00",
            "modified": "2026-10-10 09:00:00",
        }

    rows = [trade(1, "10.00"), trade(2, "ten yuan"), trade(3, "30.00")]
    handler = list_gateway(
        "taobao.trades.sold.increment.get", "trades", "trade", rows, descending=True
    )
    connector = mock_connector(handler, [], now=lambda: datetime(2026, 10, 10, 2, tzinfo=UTC))
    pages = [p async for p in connector.orders(None, since=datetime(2026, 10, 10, tzinfo=UTC))]
    await connector.aclose()
    assert [r.platform_order_id for p in pages for r in p.records] == ["3", "1"]
    assert [e.record_id for p in pages for e in p.errors] == ["2"]


def test_has_next_falls_back_when_the_platform_ignores_use_has_next() -> None:
    assert _has_next({"has_next": "true"}, 1, 100, 100)
    assert _has_next({"total_results": 250}, 2, 100, 100)
    assert not _has_next({"total_results": 250}, 3, 100, 50)
    assert _has_next({}, 1, 100, 100) and not _has_next({}, 1, 100, 99)


# --- parsing and wiring ---------------------------------------------------------------------


def test_malformed_records_raise_bad_payload_with_their_id() -> None:
    trade = {
        "tid": 41,
        "status": "WAIT_BUYER_PAY",
        "buyer_nick": "王**",
        "payment": "12.3x",
        "created": "2026-10-01 08:00:00",
        "modified": "2026-10-01 08:00:00",
    }
    with pytest.raises(BadPayload) as caught:
        parse_trade(trade)
    assert caught.value.record_id == "41"
    with pytest.raises(BadPayload, match="unknown status"):
        parse_trade({**trade, "payment": "12.30", "status": "SOMETHING_NEW"})
    ok = parse_trade({**trade, "payment": "12.30"})
    assert ok.total_amount == Decimal("12.30") and ok.paid_amount == Decimal("0.00")
    assert ok.created_at == datetime(2026, 10, 1, 0, 0, tzinfo=UTC)  # GMT+8 -> UTC
    with pytest.raises(BadPayload) as caught:
        parse_refund({"refund_id": 9, "tid": 41, "status": "SUCCESS", "refund_fee": "1.00"})
    assert caught.value.record_id == "9"
    with pytest.raises(BadPayload):
        parse_rate({"tid": 41, "oid": 411, "result": "excellent", "created": "2026-10-01 08:00:00"})


def test_connect_reads_credentials_and_sign_method() -> None:
    connector = connect(
        base_url=None,
        credentials={"app_key": "k", "app_secret": "s", "session": "x", "sign_method": "hmac"},
    )
    assert connector.sign_method == "hmac" and connector.platform == "taobao"
    assert str(connector.client.http.base_url).rstrip("/") == "https://gw.api.taobao.com"
    assert connector.capabilities.after_sales and connector.capabilities.reviews
    with pytest.raises(ValueError, match="session"):
        connect(base_url=None, credentials={"app_key": "k", "app_secret": "s"})


# --- refund write-back ----------------------------------------------------------------------

AGREE = "taobao.rp.refunds.agree"
REFUSE = "taobao.refund.refuse"
REFUND_GET = "taobao.refund.get"
REFUSAL_TEXT = "商品已发出且买家已签收，请提供质量问题照片后再申请"
STATE_FIELDS = (
    "refund_id,status,modified,refund_fee,has_good_return,refund_phase,refund_version,"
    "operation_contraint"
)


def open_refund(
    shop: FakeTaobaoShop,
    refund_id: int = 9_100_000_001,
    *,
    status: str = "WAIT_SELLER_AGREE",
    returning: bool = False,
    phase: str = "aftersale",
    **fields: Any,
) -> Refund:
    """A buyer's request waiting for the shop, put straight into the fake."""
    modified = NOW - timedelta(hours=3)
    refund = Refund(
        refund_id=refund_id,
        tid=4_100_000_000_001,
        oid=41_000_000_000_011,
        title="纯棉短袖T恤 男款",
        buyer_nick="王**",
        status=status,
        created=modified - timedelta(hours=2),
        modified=modified,
        refund_fee=Decimal("69.00"),
        has_good_return=returning,
        reason="尺码不合适",
        desc="收到的尺码不对",
        phase=phase,
        **fields,
    )
    shop.refunds[refund_id] = refund
    return refund


def decision(refund: Refund, verdict: RefundDecision, **changes: Any) -> RefundWrite:
    """The desk's decision on ``refund`` as it stands now (its modified time the version)."""
    values: dict[str, Any] = {
        "decision": verdict,
        "platform_order_id": str(refund.tid),
        "platform_refund_id": str(refund.refund_id),
        "amount": refund.refund_fee,
        "reason": REFUSAL_TEXT if verdict is RefundDecision.REJECT else "",
        "platform_version": refund.modified,
    }
    return RefundWrite(**{**values, **changes})


def sent(shop: FakeTaobaoShop, api: str) -> list[dict[str, str]]:
    return [params for params in shop.received if params.get("method") == api]


async def test_approve_executes_once_and_a_retry_with_the_same_key_is_already_done() -> None:
    shop = new_shop()
    refund = open_refund(shop)
    write = decision(refund, RefundDecision.APPROVE)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        first = await connector.decide_refund(write, idempotency_key="rf-1")
        again = await connector.decide_refund(write, idempotency_key="rf-1")
        await connector.aclose()
    assert (first.platform_refund_id, first.platform_status, first.already_done) == (
        str(refund.refund_id),
        "SUCCESS",
        False,
    )
    assert (again.platform_status, again.already_done) == ("SUCCESS", True)
    assert shop.executed_refunds == [refund.refund_id]
    assert shop.calls[AGREE] == 1 and not shop.refusals
    assert refund.status == "SUCCESS" and refund.modified == NOW


async def test_a_lost_answer_then_a_retry_with_the_same_key_executes_once() -> None:
    shop = new_shop()
    refund = open_refund(shop)
    write = decision(refund, RefundDecision.APPROVE)
    # The agree is carried out but its answer lost, and so is the re-read after it.
    shop.lose_answers(AGREE, REFUND_GET)
    with gateway(shop) as url:
        connector = connector_for(shop, url, max_attempts=1)
        with pytest.raises(PlatformError) as caught:
            await connector.decide_refund(write, idempotency_key="rf-lost")
        assert not isinstance(caught.value, WriteRefused)  # the caller must retry
        assert caught.value.status == 504
        assert shop.executed_refunds == [refund.refund_id]
        retried = await connector.decide_refund(write, idempotency_key="rf-lost")
        await connector.aclose()
    assert (retried.platform_status, retried.already_done) == ("SUCCESS", True)
    assert shop.executed_refunds == [refund.refund_id] and shop.calls[AGREE] == 1


async def test_a_lost_answer_replayed_by_the_transport_is_recognised_not_paid_twice() -> None:
    shop = new_shop()
    refund = open_refund(shop)
    shop.lose_answers(AGREE)
    with gateway(shop) as url:
        connector = connector_for(shop, url)  # retries the 504 by itself
        result = await connector.decide_refund(
            decision(refund, RefundDecision.APPROVE), idempotency_key="rf-replay"
        )
        await connector.aclose()
    # The replay was refused (the status had moved) and the re-read found the refund paid.
    assert shop.calls[AGREE] == 2 and shop.refusals[15] == 1
    assert (result.platform_status, result.already_done) == ("SUCCESS", True)
    assert shop.executed_refunds == [refund.refund_id]


async def test_reject_checks_the_message_first_then_refuses_once() -> None:
    shop = new_shop()
    refund = open_refund(shop, status="WAIT_SELLER_AGREE")
    version = epoch_ms(refund.modified)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        for reason in ("不", "  x  ", "退" * 201):
            with pytest.raises(WriteRefused, match="2-200"):
                await connector.decide_refund(
                    decision(refund, RefundDecision.REJECT, reason=reason), idempotency_key="rj"
                )
        assert shop.received == []  # refused before any call
        write = decision(refund, RefundDecision.REJECT)
        first = await connector.decide_refund(write, idempotency_key="rj-1")
        again = await connector.decide_refund(write, idempotency_key="rj-1")
        await connector.aclose()
    assert (first.platform_status, first.already_done) == ("SELLER_REFUSE_BUYER", False)
    assert (again.platform_status, again.already_done) == ("SELLER_REFUSE_BUYER", True)
    assert shop.refused_refunds == [refund.refund_id] and shop.executed_refunds == []
    assert refund.refuse_message == REFUSAL_TEXT
    (params,) = sent(shop, REFUSE)
    assert {k: params[k] for k in ("refund_id", "refuse_message", "refund_version")} == {
        "refund_id": str(refund.refund_id),
        "refuse_message": REFUSAL_TEXT,
        "refund_version": str(version),
    }
    assert "refund_phase" not in params  # Taobao, not Tmall


async def test_approving_a_closed_request_is_refused_without_writing() -> None:
    shop = new_shop()
    refund = open_refund(shop, status="CLOSED")
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        for verdict in RefundDecision:
            with pytest.raises(WriteRefused, match="CLOSED"):
                await connector.decide_refund(decision(refund, verdict), idempotency_key="c")
        await connector.aclose()
    assert shop.calls[AGREE] == shop.calls[REFUSE] == 0 and shop.executed_refunds == []


async def test_a_wrong_amount_is_refused_by_the_platform_and_nothing_is_paid() -> None:
    shop = new_shop()
    refund = open_refund(shop)
    write = decision(refund, RefundDecision.APPROVE, amount=Decimal("59.00"))
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        with pytest.raises(WriteRefused, match=r"isv\.refund-fee-not-match") as caught:
            await connector.decide_refund(write, idempotency_key="amt")
        await connector.aclose()
    assert caught.value.code == "15"
    assert shop.calls[AGREE] == 1 and shop.executed_refunds == []
    assert refund.status == "WAIT_SELLER_AGREE"
    assert sent(shop, AGREE)[0]["refund_infos"].split("|")[1] == "5900"


@pytest.mark.parametrize("tmall", [False, True])
async def test_the_signed_writes_carry_the_documented_params(tmall: bool) -> None:
    shop = new_shop(tmall=tmall)
    paid = open_refund(shop, 9_100_000_001, phase="onsale")
    refused = open_refund(shop, 9_100_000_002, phase="aftersale")
    versions = {r.refund_id: epoch_ms(r.modified) for r in (paid, refused)}
    with gateway(shop) as url:
        connector = connector_for(shop, url, tmall=tmall, sign_method="hmac")
        await connector.decide_refund(decision(paid, RefundDecision.APPROVE), idempotency_key="a")
        await connector.decide_refund(decision(refused, RefundDecision.REJECT), idempotency_key="r")
        await connector.aclose()
    (agree,) = sent(shop, AGREE)
    (refuse,) = sent(shop, REFUSE)
    infos = f"{paid.refund_id}|6900|{versions[paid.refund_id]}" + ("|onsale" if tmall else "")
    assert agree["refund_infos"] == infos and "code" not in agree
    assert refuse["refund_version"] == str(versions[refused.refund_id])
    assert refuse.get("refund_phase") == ("aftersale" if tmall else None)
    for params in (agree, refuse):
        assert params["sign"] == expected_sign(params, shop.app_secret, "hmac")
        assert params["session"] == shop.session and params["v"] == "2.0"
    # Before and after each write: what refund.get's SDK field list offers for the write.
    assert {r["fields"] for r in sent(shop, REFUND_GET)} == {STATE_FIELDS}
    assert shop.executed_refunds == [paid.refund_id]
    assert shop.refused_refunds == [refused.refund_id]


async def test_a_return_is_agreed_then_paid_once_the_goods_are_back() -> None:
    shop = new_shop()
    refund = open_refund(shop, returning=True)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        write = decision(refund, RefundDecision.APPROVE)
        agreed = await connector.decide_refund(write, idempotency_key="ret-1")
        again = await connector.decide_refund(write, idempotency_key="ret-1")
        assert (agreed.platform_status, agreed.already_done) == ("WAIT_BUYER_RETURN_GOODS", False)
        assert (again.platform_status, again.already_done) == ("WAIT_BUYER_RETURN_GOODS", True)
        # The buyer sends the goods back: the refund is owed again, not already done.
        refund.status, refund.sid = "WAIT_SELLER_CONFIRM_GOODS", "75310000000001"
        refund.modified += timedelta(seconds=30)
        paid = await connector.decide_refund(
            decision(refund, RefundDecision.APPROVE), idempotency_key="ret-2"
        )
        await connector.aclose()
    assert (paid.platform_status, paid.already_done) == ("SUCCESS", False)
    assert shop.executed_refunds == [refund.refund_id, refund.refund_id]


async def test_a_request_changed_after_the_decision_is_not_written() -> None:
    shop = new_shop()
    refund = open_refund(shop)
    stale = decision(refund, RefundDecision.APPROVE)
    refund.modified += timedelta(minutes=5)  # the buyer edited the request meanwhile
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        with pytest.raises(WriteRefused, match="decide again"):
            await connector.decide_refund(stale, idempotency_key="stale")
        await connector.aclose()
    assert shop.calls[AGREE] == 0 and shop.executed_refunds == []


async def test_writes_the_platform_cannot_take_are_refused_before_calling() -> None:
    shop = new_shop()
    refund = open_refund(shop)
    approve = decision(refund, RefundDecision.APPROVE)
    local = [
        approve.model_copy(update={"platform_refund_id": None}),
        approve.model_copy(update={"currency": "USD"}),
        approve.model_copy(update={"amount": Decimal("0")}),
        approve.model_copy(update={"amount": Decimal("69.005")}),
        approve.model_copy(update={"amount": Decimal("6000.01")}),
    ]
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        for write in local:
            with pytest.raises(WriteRefused):
                await connector.decide_refund(write, idempotency_key="local")
        assert shop.received == []
        refund.operation_constraint = "cannot_refuse"
        with pytest.raises(WriteRefused, match="cannot_refuse"):
            await connector.decide_refund(
                decision(refund, RefundDecision.REJECT), idempotency_key="cr"
            )
        refund.operation_constraint = "refund_onweb"
        with pytest.raises(WriteRefused, match="refund_onweb"):
            await connector.decide_refund(approve, idempotency_key="web")
        await connector.aclose()
    assert shop.calls[AGREE] == shop.calls[REFUSE] == 0


async def test_the_fake_refuses_stale_versions_wrong_amounts_and_replays() -> None:
    shop = new_shop(tmall=True)
    refund = open_refund(shop, phase="onsale")
    version = epoch_ms(refund.modified)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        cases = [
            (f"{refund.refund_id}|6900|{version - 1000}|onsale", "isv.refund-version-expired"),
            (f"{refund.refund_id}|6899|{version}|onsale", "isv.refund-fee-not-match"),
            (f"{refund.refund_id}|6900|{version}|aftersale", "isv.refund-phase-not-match"),
            (f"{refund.refund_id}|6900|{version}", "isv.refund-phase-not-match"),
            (f"9|6900|{version}|onsale", "isv.refund-not-exist"),
            (f"{refund.refund_id}|69.00|{version}|onsale", "isv.invalid-parameter:refund_infos"),
        ]
        for infos, sub_code in cases:
            with pytest.raises(PlatformError, match=re.escape(sub_code)):
                await connector.call(AGREE, {"refund_infos": infos})
        assert shop.executed_refunds == []
        ok = f"{refund.refund_id}|6900|{version}|onsale"
        answer = await connector.call(AGREE, {"refund_infos": ok})
        assert answer["msg_code"] == "OP_SUCC"
        assert answer["results"]["refund_mapping_result"] == [
            {"refund_id": str(refund.refund_id), "succ": True, "message": "操作成功"}
        ]
        with pytest.raises(PlatformError, match=r"isv\.refund-status-not-support"):
            await connector.call(AGREE, {"refund_infos": ok})
        await connector.aclose()
    assert shop.executed_refunds == [refund.refund_id]


def refund_gateway(
    status: str, agree: dict[str, Any], calls: list[str]
) -> Callable[[httpx.Request], httpx.Response]:
    """refund.get always answering ``status``; agree answering ``agree``."""

    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        calls.append(form["method"])
        if form["method"] == REFUND_GET:
            refund = {
                "refund_id": "77",
                "status": status,
                "modified": "2026-10-11 08:00:00",
                "refund_fee": "69.00",
                "has_good_return": False,
                "refund_version": 1791676800000,
            }
            return httpx.Response(200, json={response_key(REFUND_GET): {"refund": refund}})
        return httpx.Response(200, json=agree)

    return handler


async def test_a_failed_mapping_row_is_write_refused_and_isp_errors_go_to_the_caller() -> None:
    write = RefundWrite(
        decision=RefundDecision.APPROVE,
        platform_order_id="1",
        platform_refund_id="77",
        amount=Decimal("69.00"),
    )
    refused = {
        response_key(AGREE): {
            "msg_code": "OP_FAILURE_UE",
            "succ": False,
            "message": "全部失败",
            "results": {
                "refund_mapping_result": [{"refund_id": "77", "succ": False, "message": "需验证码"}]
            },
        }
    }
    calls: list[str] = []
    connector = mock_connector(refund_gateway("WAIT_SELLER_AGREE", refused, calls), [])
    with pytest.raises(WriteRefused, match="需验证码") as caught:
        await connector.decide_refund(write, idempotency_key="m")
    await connector.aclose()
    assert caught.value.code == "OP_FAILURE_UE"
    assert calls == [REFUND_GET, AGREE, REFUND_GET]

    isp = {"error_response": {"code": 15, "msg": "x", "sub_code": "isp.remote-service-timeout"}}
    calls.clear()
    connector = mock_connector(refund_gateway("WAIT_SELLER_AGREE", isp, calls), [], max_attempts=2)
    with pytest.raises(TransientPlatformError):
        await connector.decide_refund(write, idempotency_key="i")
    await connector.aclose()
    assert calls == [REFUND_GET, AGREE, AGREE, REFUND_GET]


def test_connect_reads_the_tmall_flag_and_offers_refund_decisions() -> None:
    base = {"app_key": "k", "app_secret": "s", "session": "x"}
    assert not connect(base_url=None, credentials=base).tmall
    tmall = connect(base_url=None, credentials={**base, "tmall": "true"})
    assert tmall.tmall and tmall.capabilities.decide_refund
