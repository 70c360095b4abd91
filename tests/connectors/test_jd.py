"""The JD (JOS) connector against a strict fake gateway; no database needed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
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
    ReviewReply,
    WriteRefused,
)
from connectors.jd import (
    JDConnector,
    TokenExpired,
    TransientPlatformError,
    checked_result,
    connect,
    jd_error,
    jd_timestamp,
    normalize_base_url,
    param_json,
    parse_order,
    response_key,
    sign,
)
from connectors.timeutil import iso_z
from tests.fakes.faults import FaultInjector
from tests.fakes.jd import CallLimit, Clock, FakeJDShop, expected_sign, jd_app
from tests.fakes.serve import serve

R = TypeVar("R", bound=Record)

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 40  # more than one month: the sync must split its windows
NOW = START + timedelta(days=DAYS, hours=2)
SINCE = START - timedelta(hours=1)
STATES = {
    "WAIT_SELLER_STOCK_OUT": OrderStatus.AWAITING_SHIPMENT,
    "WAIT_GOODS_RECEIVE_CONFIRM": OrderStatus.SHIPPED,
    "FINISHED_L": OrderStatus.COMPLETED,
    "TRADE_CANCELED": OrderStatus.CLOSED,
    "LOCKED": OrderStatus.AWAITING_SHIPMENT,
}

# PLATFORMS-CN.md C2's computed vector (checked there with openssl dgst -md5).
VECTOR_JSON = (
    '{"end_date":"2024-01-01 12:00:00","order_state":"WAIT_SELLER_STOCK_OUT","page":"1",'
    '"page_size":"100","start_date":"2024-01-01 11:00:00"}'
)
VECTOR = {
    "360buy_param_json": VECTOR_JSON,
    "access_token": "tok",
    "app_key": "testkey",
    "method": "jingdong.pop.order.enSearch",
    "timestamp": "2024-01-01 12:00:00",
    "v": "2.0",
}


def new_shop(n: int = 0, **options: Any) -> FakeJDShop:
    shop = FakeJDShop(now=Clock(NOW), **options)
    if n:
        shop.seed(n, start=START, days=DAYS)
    return shop


@contextmanager
def gateway(shop: FakeJDShop, **faults: Any) -> Iterator[str]:
    app: Any = jd_app(shop)
    if faults:
        app = FaultInjector(app, **faults)
    with serve(app) as url:
        yield url


def connector_for(shop: FakeJDShop, url: str, **options: Any) -> JDConnector:
    settings: dict[str, Any] = {"backoff_base": 0.01, "timeout": 2.0, **options}
    settings.setdefault("app_key", shop.app_key)
    settings.setdefault("app_secret", shop.app_secret)
    settings.setdefault("access_token", shop.access_token)
    settings.setdefault("refresh_token", shop.refresh_token)
    return JDConnector(base_url=url, now=shop.now, **settings)


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


def assert_orders_exact(shop: FakeJDShop, records: list[Any]) -> None:
    ids = [r.platform_order_id for r in records]
    assert len(ids) == len(set(ids)), "an order came twice in one sync"
    assert set(ids) == set(shop.orders)
    for record in records:
        order = shop.orders[record.platform_order_id]
        assert record.platform_status == order.state
        assert record.status == STATES[order.state]
        assert record.total_amount == order.payment
        assert record.paid_amount == order.payment
        assert record.updated_at == order.modified
        assert [(i.platform_item_id, i.quantity, i.unit_price) for i in record.items] == [
            (sku, qty, price) for sku, _, price, qty in order.lines
        ]
        assert [s.tracking_no for s in record.shipments] == (
            [order.waybill] if order.waybill else []
        )
        assert record.buyer.phone == "138****5678"  # masked as JOS sends it, never decrypted


# --- signing -------------------------------------------------------------------------------


def test_md5_signature_matches_the_platforms_cn_vector() -> None:
    assert sign(VECTOR, "testsecret") == "37C7AC507DC0A9387E37AC5A608871FA"
    assert expected_sign(VECTOR, "testsecret", "md5") == "37C7AC507DC0A9387E37AC5A608871FA"


def test_param_json_is_sorted_without_whitespace_and_signed_as_sent() -> None:
    business = {
        "start_date": "2024-01-01 11:00:00",
        "page_size": "100",
        "end_date": "2024-01-01 12:00:00",
        "page": "1",
        "order_state": "WAIT_SELLER_STOCK_OUT",
    }
    assert param_json(business) == VECTOR_JSON
    spaced = {**VECTOR, "360buy_param_json": json.dumps(json.loads(VECTOR_JSON))}
    assert sign(spaced, "testsecret") != sign(VECTOR, "testsecret")  # the string, not the data


def test_hmac_methods_do_not_wrap_and_empty_values_are_not_signed() -> None:
    with_method = {**VECTOR, "sign_method": "hmacsha256"}
    assert sign(with_method, "testsecret", "hmacsha256") == expected_sign(
        with_method, "testsecret", "hmacsha256"
    )
    assert sign({**VECTOR, "format": "", "sign": "X"}, "testsecret") == sign(VECTOR, "testsecret")
    with pytest.raises(ValueError, match="sign_method"):
        sign(VECTOR, "s", "sha1")


def test_timestamps_in_both_forms_and_the_misspelled_response_key() -> None:
    at = datetime(2024, 1, 1, 4, 0, 0, 123000, tzinfo=UTC)
    assert jd_timestamp(at) == "2024-01-01 12:00:00"
    assert jd_timestamp(at, "ms_zone") == "2024-01-01 12:00:00.123+0800"
    assert response_key("jingdong.pop.order.enSearch") == "jingdong_pop_order_enSearch_responce"


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"code": "12", "zh_desc": "无效签名"}, AuthFailed),
        ({"code": "19", "zh_desc": "token过期"}, TokenExpired),
        ({"code": "15", "zh_desc": "不存在的方法名", "en_desc": "Invalid Method"}, PlatformError),
        ({"code": "7", "zh_desc": "调用次数超限，请稍后重试"}, RateLimited),
        ({"code": "999", "en_desc": "api rate limit exceeded"}, RateLimited),
        ({"code": "50", "zh_desc": "系统繁忙"}, TransientPlatformError),
    ],
)
def test_error_responses_map_to_typed_errors(error: dict[str, str], kind: type) -> None:
    found = jd_error("jingdong.x", error, frozenset())
    assert type(found) is kind
    assert error["code"] in str(found)


def test_a_configured_rate_limit_code_is_rate_limited() -> None:
    assert isinstance(jd_error("m", {"code": "88"}, frozenset({"88"})), RateLimited)
    assert not isinstance(jd_error("m", {"code": "88"}, frozenset()), RateLimited)


async def test_every_parameter_travels_signed_in_the_body_or_the_java_sdk_way() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"error_response": {"code": "15"}})

    for in_query in (False, True):
        connector = JDConnector(
            app_key="k",
            app_secret="s",
            access_token="t",
            now=lambda: NOW,
            system_in_query=in_query,
            transport=httpx.MockTransport(handler),
        )
        with pytest.raises(PlatformError):
            await connector.call("jingdong.pop.order.get", {"order_id": "1"})
        await connector.aclose()
    body = dict(parse_qsl(seen[0].content.decode()))
    assert "access_token" not in str(seen[0].url)  # never in a proxy's log by default
    assert body["sign"] == sign(body, "s") and body["360buy_param_json"] == '{"order_id":"1"}'
    split = {**dict(seen[1].url.params), **dict(parse_qsl(seen[1].content.decode()))}
    assert set(dict(parse_qsl(seen[1].content.decode()))) == {"360buy_param_json"}
    assert split["sign"] == sign(split, "s")


async def test_the_fake_takes_every_sign_method_and_timestamp_and_refuses_a_bad_secret() -> None:
    shop = new_shop(50)
    with gateway(shop) as url:
        for method in ("md5", "hmacmd5", "hmacsha256"):
            for form in ("plain", "ms_zone"):
                connector = connector_for(shop, url, sign_method=method, timestamp_format=form)
                await connector.order(next(iter(shop.orders)))
                await connector.aclose()
        wrong = connector_for(shop, url, app_secret="nope")
        with pytest.raises(AuthFailed, match="12"):
            await wrong.order(next(iter(shop.orders)))
        await wrong.aclose()
    assert shop.refusals == {"12": 1}


# --- tokens --------------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_once_and_the_call_retried() -> None:
    shop = new_shop(20)
    kept: list[dict[str, Any]] = []
    with gateway(shop) as url:
        connector = connector_for(shop, url, on_tokens=kept.append)
        shop.expire_token()
        record = await connector.order(next(iter(shop.orders)))
        assert record.platform_order_id == next(iter(shop.orders))
        assert shop.refreshes == 1 and connector.access_token == shop.access_token
        assert kept == [
            {
                "access_token": "jd-token-2",
                "refresh_token": "jd-refresh-2",
                "expires_at": iso_z(NOW + timedelta(days=1)),
            }
        ]
        await connector.aclose()


async def test_a_token_near_expiry_is_refreshed_before_the_call_a_lapsed_one_cannot_be() -> None:
    shop = new_shop(5, token_expires_at=NOW + timedelta(hours=2))
    with gateway(shop) as url:
        connector = connector_for(shop, url, expires_at=NOW + timedelta(hours=2))
        await connector.order(next(iter(shop.orders)))
        assert shop.refreshes == 1 and not shop.refusals  # refreshed ahead, never refused
        assert connector.expires_at == NOW + timedelta(days=1)
        await connector.aclose()

        clock = shop.now
        assert isinstance(clock, Clock)
        clock.advance(timedelta(days=2))  # no sync for two days: the token lapsed
        late = connector_for(shop, url, expires_at=NOW + timedelta(days=1))
        with pytest.raises(AuthFailed, match=r"无法刷新.*authorise the store again"):
            await late.order(next(iter(shop.orders)))
        await late.aclose()
    assert shop.refreshes == 1 and shop.refusals == {"19": 1}


async def test_a_refused_refresh_is_auth_failed_telling_to_authorise_again() -> None:
    shop = new_shop(5, refresh_refused=True)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        shop.expire_token()
        with pytest.raises(AuthFailed, match="authorise the store again"):
            await connector.order(next(iter(shop.orders)))
        no_refresh = connector_for(shop, url, refresh_token="")
        with pytest.raises(AuthFailed, match="authorise the store again"):
            await no_refresh.order(next(iter(shop.orders)))
        await connector.aclose()
        await no_refresh.aclose()
    assert shop.refreshes == 0


async def test_a_token_refused_again_after_refresh_is_not_refreshed_twice() -> None:
    shop = new_shop(5)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        shop.queue_error("19", "token过期", times=2)
        with pytest.raises(AuthFailed, match="authorise the store again"):
            await connector.order(next(iter(shop.orders)))
        await connector.aclose()
    assert shop.refreshes == 1


# --- orders --------------------------------------------------------------------------------


async def test_a_3000_order_shop_syncs_exactly_in_month_windows_and_picks_up_changes() -> None:
    shop = new_shop(3000)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, cursors = await drain(connector.orders(None, since=SINCE))
        assert_orders_exact(shop, records)
        assert not shop.refusals
        assert shop.windows and all(
            end - start <= timedelta(days=31) for start, end in shop.windows
        )
        assert json.loads(cursors[-1] or "") == {"since": iso_z(NOW - timedelta(minutes=10))}

        clock = shop.now
        assert isinstance(clock, Clock)
        clock.advance(timedelta(minutes=30))
        touched = sorted(shop.orders)[::60]
        for order_id in touched:
            shop.touch(order_id, clock() - timedelta(minutes=5))
        again, _ = await drain(connector.orders(cursors[-1], since=SINCE))
        assert sorted(r.platform_order_id for r in again) == touched
        for record in again:
            assert record.platform_status == shop.orders[record.platform_order_id].state
        await connector.aclose()


async def test_orders_modified_while_paging_do_not_push_others_out() -> None:
    shop = new_shop(1200)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        stream = connector.orders(None, since=SINCE)
        first = await anext(stream)
        assert len(first.records) == 100
        clock = shop.now
        assert isinstance(clock, Clock)
        clock.advance(timedelta(minutes=1))
        for record in first.records:
            shop.touch(record.platform_order_id, clock())
        rest, _ = await drain(stream)
        ids = [r.platform_order_id for r in first.records + rest]
        assert len(ids) == len(set(ids))
        assert set(ids) == set(shop.orders)
        await connector.aclose()


async def test_a_second_shared_by_more_than_a_page_is_paged_through() -> None:
    shop = new_shop(400)
    at = START + timedelta(days=3)
    for order_id in sorted(shop.orders)[:250]:
        shop.orders[order_id].modified = at  # a batch update: 250 orders at one second
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert_orders_exact(shop, records)


async def test_an_interrupted_sync_resumes_at_the_next_page_without_duplicates() -> None:
    shop = new_shop(2000)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        whole, _ = await drain(connector.orders(None, since=SINCE))
        part, cursors = await drain(connector.orders(None, since=SINCE), pages=7)
        await connector.aclose()
        resumed = connector_for(shop, url)
        rest, _ = await drain(resumed.orders(cursors[-1], since=SINCE))
        await resumed.aclose()
    assert [r.platform_order_id for r in part + rest] == [r.platform_order_id for r in whole]
    assert_orders_exact(shop, part + rest)


async def test_with_faults_injected_the_sync_still_ends_exact() -> None:
    shop = new_shop(3000)
    with gateway(shop, rate=0.1, timeout_seconds=1.0) as url:
        connector = connector_for(shop, url, timeout=0.5)
        records, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert connector.client.retries > 0
    assert_orders_exact(shop, records)


async def test_call_limits_are_backed_off_without_a_retry_after() -> None:
    shop = new_shop(600, call_limit=CallLimit(calls=3, seconds=0.2))
    with gateway(shop) as url:
        connector = connector_for(shop, url, page_size=50, backoff_base=0.1, max_attempts=8)
        records, _ = await drain(connector.orders(None, since=SINCE))
        await connector.aclose()
    assert shop.refusals["7"] > 0
    assert_orders_exact(shop, records)


async def test_a_refusal_inside_the_payload_is_a_platform_error() -> None:
    shop = new_shop(10)
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        with pytest.raises(PlatformError, match="订单不存在"):
            await connector.order("1")
        # The fake holds JOS's limits: a window over a month, a page over 100.
        too_wide = {"start_date": "2026-09-01 00:00:00", "end_date": "2026-10-05 00:00:00"}
        for asked in (
            {**too_wide, "page_size": "100"},
            {
                "start_date": "2026-10-01 00:00:00",
                "end_date": "2026-10-02 00:00:00",
                "page_size": "101",
            },
        ):
            inner = await connector.call("jingdong.pop.order.enSearch", asked)
            with pytest.raises(PlatformError, match=r"一个月|100"):
                checked_result("enSearch", inner, "searchorderinfo_result", "apiResult")
        await connector.aclose()
    with pytest.raises(ValueError, match="30 days"):
        JDConnector(app_key="k", app_secret="s", access_token="t", window=timedelta(days=31))


def test_malformed_orders_raise_bad_payload_with_their_id() -> None:
    good = {
        "orderId": "7",
        "orderState": "FINISHED_L",
        "pin": "p",
        "orderPayment": "12.30",
        "orderStartTime": "2026-10-01 08:00:00",
        "paymentConfirmTime": "0001-01-01 00:00:00",
        "modified": "2026-10-02 08:00:00",
        "itemInfoList": [],
        "waybill": "A1,A2|B1",
    }
    record = parse_order(good)
    assert record.paid_amount == Decimal("0.00") and record.total_amount == Decimal("12.30")
    assert [s.tracking_no for s in record.shipments] == ["A1", "A2", "B1"]
    assert record.created_at == datetime(2026, 10, 1, 0, tzinfo=UTC)
    for broken in ({"orderState": "NEW_WORD"}, {"orderPayment": "abc"}, {"modified": None}):
        with pytest.raises(BadPayload) as caught:
            parse_order({**good, **broken})
        assert caught.value.record_id == "7"


# --- after-sales ---------------------------------------------------------------------------


async def test_cancellation_refunds_sync_exactly_as_refund_only_requests() -> None:
    shop = new_shop(1500)
    assert len(shop.refunds) > 60
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, cursors = await drain(connector.after_sales(None, since=SINCE))
        await connector.aclose()
    latest = {r.platform_refund_id: r for r in records}
    assert set(latest) == set(shop.refunds)
    for record in latest.values():
        refund = shop.refunds[record.platform_refund_id]
        assert record.kind is AfterSaleKind.REFUND_ONLY
        assert record.platform_status == refund.status
        assert record.requested_amount == Decimal(refund.fen) / 100
        assert record.platform_order_id == refund.order_id
        assert (
            record.status
            is {
                "0": AfterSaleStatus.REQUESTED,
                "1": AfterSaleStatus.REFUNDED,
                "2": AfterSaleStatus.REJECTED,
            }[refund.status]
        )
    assert json.loads(cursors[-1] or "") == {"since": iso_z(NOW - timedelta(minutes=10))}


# --- write-back ----------------------------------------------------------------------------


def _waiting(shop: FakeJDShop) -> str:
    return next(r.id for r in shop.refunds.values() if r.status == "0")


async def test_approve_executes_once_and_a_retry_is_already_done() -> None:
    shop = new_shop(1500)
    refund_id = _waiting(shop)
    write = RefundWrite(
        decision=RefundDecision.APPROVE,
        platform_order_id=shop.refunds[refund_id].order_id,
        platform_refund_id=refund_id,
        amount=Decimal(shop.refunds[refund_id].fen) / 100,
    )
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        first = await connector.decide_refund(write, idempotency_key="k1")
        again = await connector.decide_refund(write, idempotency_key="k1")
        await connector.aclose()
    assert (first.already_done, again.already_done) == (False, True)
    assert first.status is AfterSaleStatus.REFUNDED
    assert shop.executed == [(refund_id, "1")]


async def test_a_lost_answer_is_recognised_and_not_written_twice() -> None:
    shop = new_shop(1500)
    refund_id = _waiting(shop)
    write = RefundWrite(
        decision=RefundDecision.REJECT,
        platform_order_id=shop.refunds[refund_id].order_id,
        platform_refund_id=refund_id,
        amount=Decimal("1.00"),
        reason="商品已出库，无法取消",
    )
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        shop.lose_answers("jingdong.pop.afs.soa.refundapply.replyRefund")
        result = await connector.decide_refund(write, idempotency_key="k2")
        await connector.aclose()
    assert result.already_done and result.status is AfterSaleStatus.REJECTED
    assert shop.executed == [(refund_id, "2")]
    sent = [
        json.loads(p["360buy_param_json"])
        for p in shop.received
        if p.get("method", "").endswith("replyRefund")
    ]
    assert sent and sent[0]["rejectType"] == "5" and sent[0]["remark"] == "商品已出库，无法取消"


async def test_decisions_the_platform_cannot_take_are_refused() -> None:
    shop = new_shop(1500)
    done = next(r for r in shop.refunds.values() if r.status == "2")
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        with pytest.raises(WriteRefused, match="decided otherwise"):
            await connector.decide_refund(
                RefundWrite(
                    decision=RefundDecision.APPROVE,
                    platform_order_id=done.order_id,
                    platform_refund_id=done.id,
                    amount=Decimal("1.00"),
                ),
                idempotency_key="k3",
            )
        waiting = shop.refunds[_waiting(shop)]
        with pytest.raises(WriteRefused, match="in full"):
            await connector.decide_refund(
                RefundWrite(
                    decision=RefundDecision.APPROVE,
                    platform_order_id=waiting.order_id,
                    platform_refund_id=waiting.id,
                    amount=Decimal(waiting.fen) / 100 - Decimal("1.00"),
                ),
                idempotency_key="k5",
            )
        with pytest.raises(WriteRefused, match="reason"):
            await connector.decide_refund(
                RefundWrite(
                    decision=RefundDecision.REJECT,
                    platform_order_id="1",
                    platform_refund_id=_waiting(shop),
                    amount=Decimal("1.00"),
                ),
                idempotency_key="k4",
            )
        await connector.aclose()
    assert shop.executed == []


# --- reviews -------------------------------------------------------------------------------


async def test_comments_sync_exactly_with_scores_texts_and_replies() -> None:
    shop = new_shop(3000)
    replied = sorted(shop.comments)[::7]
    for comment_id in replied:
        shop.comments[comment_id].reply = "感谢您的支持"
    assert len(shop.comments) > 200
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        records, cursors = await drain(connector.reviews(None, since=SINCE))
        await connector.aclose()
    ids = [r.platform_review_id for r in records]
    assert len(ids) == len(set(ids)) and set(ids) == set(shop.comments)
    for record in records:
        comment = shop.comments[record.platform_review_id]
        assert (record.rating, record.text, record.platform_order_id) == (
            comment.score,
            comment.content,
            comment.order_id,
        )
        assert record.reply == comment.reply
        assert record.created_at == comment.created
    assert json.loads(cursors[-1] or "") == {"since": iso_z(NOW - timedelta(days=30))}


async def test_a_reply_is_posted_once_and_a_retry_or_lost_answer_is_already_done() -> None:
    shop = new_shop(600)
    first, second = sorted(shop.comments)[:2]
    with gateway(shop) as url:
        connector = connector_for(shop, url)
        reply = ReviewReply(
            platform_review_id=first,
            platform_order_id=shop.comments[first].order_id,
            text="抱歉给您带来不便，已安排客服联系您",
        )
        done = await connector.reply_review(reply, idempotency_key="r1")
        again = await connector.reply_review(reply, idempotency_key="r1")
        shop.lose_answers("jingdong.pop.PopCommentJsfService.saveReply")
        lost = await connector.reply_review(
            replace_text(reply, second, shop.comments[second].order_id), idempotency_key="r2"
        )
        with pytest.raises(WriteRefused, match="another reply"):
            await connector.reply_review(
                replace_text(reply, first, reply.platform_order_id, "别的"), idempotency_key="r3"
            )
        with pytest.raises(WriteRefused, match="order"):
            await connector.reply_review(
                ReviewReply(platform_review_id=first, text="x"), idempotency_key="r4"
            )
        await connector.aclose()
    assert (done.already_done, again.already_done) == (False, True)
    # The transport resent the write whose answer was lost; JD refused it, the comment
    # shows our reply, so it counts as made, once.
    assert lost.platform_reply == reply.text
    assert shop.replies == [first, second]
    assert shop.comments[first].reply == reply.text


def replace_text(
    reply: ReviewReply, comment_id: str, order_id: str | None, text: str = ""
) -> ReviewReply:
    return ReviewReply(
        platform_review_id=comment_id, platform_order_id=order_id, text=text or reply.text
    )


# --- manifest ------------------------------------------------------------------------------


def test_the_manifest_connects_from_the_store_form_credentials() -> None:
    manifest = registry.manifest_for("jd")
    assert manifest.required_credentials == ("app_key", "app_secret", "access_token")
    assert manifest.capabilities.decide_refund and manifest.capabilities.reply_review
    assert not manifest.capabilities.start_refund  # JOS refunds answer a buyer's request
    connector = connect(
        base_url=None,
        credentials={
            "app_key": "k",
            "app_secret": "s",
            "access_token": "t",
            "sign_method": "hmacmd5",
        },
    )
    assert connector.sign_method == "hmacmd5" and connector.oauth_url == "https://open-oauth.jd.com"
    with pytest.raises(ValueError, match="access_token"):
        connect(base_url=None, credentials={"app_key": "k", "app_secret": "s"})
    assert normalize_base_url("api.jd.com/routerjson/") == "https://api.jd.com"


async def test_refunds_and_comments_stay_exact_at_faults_and_resume_from_a_cursor() -> None:
    shop = new_shop(2000)
    with gateway(shop, rate=0.1, timeout_seconds=1.0) as url:
        connector = connector_for(shop, url, timeout=0.5)
        refunds, _ = await drain(connector.after_sales(None, since=SINCE))
        part, cursors = await drain(connector.reviews(None, since=SINCE), pages=3)
        rest, _ = await drain(connector.reviews(cursors[-1], since=SINCE))
        await connector.aclose()
    assert connector.client.retries > 0
    assert {r.platform_refund_id for r in refunds} == set(shop.refunds)
    ids = [r.platform_review_id for r in part + rest]
    assert len(ids) == len(set(ids)) and set(ids) == set(shop.comments)


def test_jd_status_words_read_in_chinese() -> None:
    from aftersales.core import i18n
    from aftersales.core.labels import platform_status

    token = i18n.set_locale("zh_CN")
    try:
        assert platform_status("jd", "WAIT_SELLER_STOCK_OUT") == "等待出库"
        assert platform_status("jd", "0") == "取消订单退款：未审核"
        assert platform_status("jd", "8") == "青龙拦截失败"
    finally:
        i18n._current.reset(token)
