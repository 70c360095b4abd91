"""Reviews synced from the fake platforms become reviews and, when negative, one case each.

The platforms are the fake TOP gateway and the fake WooCommerce REST API
over loopback HTTP; the sync is the real one, with every module's handlers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales.core import clock
from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, Role
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Customer, Order, PlatformRecord, SyncError
from aftersales.orders.sync import connector_for, sync_stream
from aftersales.reviews import classify as classifier
from aftersales.reviews import intake, jobs
from aftersales.reviews.classify import Classification, ReasonScore, Sentiment
from aftersales.reviews.models import (
    Review,
    ReviewCase,
    ReviewCaseStatus,
    ReviewOutcome,
)
from connectors.base import OrderStatus, ReviewResult, Stream
from tests.factories import create_store, create_user
from tests.fakes.serve import serve
from tests.fakes.taobao import FakeTaobaoShop, Rating
from tests.fakes.woocommerce import FakeWooShop, _gmt, make_app
from tests.reviews.intake_helpers import (
    record,
    sync,
    take,
    taobao_store,
    top_gateway,
    woo_store,
)

pytestmark = pytest.mark.usefixtures("clean_db")


def _events(case: ReviewCase, name: str) -> object:
    return AuditEvent.filter(subject_type="review_case", subject_id=str(case.id), action=name)


def _rating(shop: FakeTaobaoShop, result: str, content: str, *, hours_ago: int = 30) -> Rating:
    """A rating of one of the shop's trades (one that synced as an order)."""
    trade = sorted(shop.trades.values(), key=lambda t: t.tid)[len(shop.ratings)]
    line = trade.lines[0]
    rating = Rating(
        tid=trade.tid,
        oid=line.oid,
        nick=trade.buyer_nick,
        result=result,
        created=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago),
        item_title=line.title,
        item_price=line.price,
        num_iid=line.num_iid,
        content=content,
    )
    shop.ratings.append(rating)
    return rating


async def test_a_taobao_bad_rating_becomes_one_case_linked_to_its_order_synced_twice_or_not(
    clean_db: Settings,
) -> None:
    shop = FakeTaobaoShop()
    shop.seed(12, start=datetime.now(UTC) - timedelta(days=6), days=5, rating_rate=0.0)
    bad = _rating(shop, "bad", "质量太差了，洗一次就变形")
    _rating(shop, "good", "质量很好，物超所值")
    with top_gateway(shop) as url:
        store = await taobao_store(shop, url, clean_db)
        await sync(store, clean_db, Stream.ORDERS, Stream.REVIEWS)
        await sync(store, clean_db, Stream.REVIEWS)  # again: nothing changes
    assert await Review.filter(store_id=store.id).count() == 2
    (case,) = await ReviewCase.all()
    review = await Review.get(id=case.review_id)
    assert review.platform_review_id == str(bad.oid) and review.result == ReviewResult.BAD
    assert review.negative and review.sentiment is not Sentiment.POSITIVE
    assert review.model_version  # which model said so is kept
    order = await Order.get(store_id=store.id, platform_order_id=str(bad.tid))
    assert review.order_id == order.id and case.order_id == order.id
    assert case.status is ReviewCaseStatus.NEW and case.buyer_nick == bad.nick
    assert await _events(case, "review_case.opened").count() == 1
    assert await _events(case, "review_case.platform_changed").count() == 0
    # Explain and revise windows from when the buyer rated (30 days by default).
    assert case.explain_by == review.created_at + timedelta(days=30)
    assert case.due_at == min(case.explain_by, case.revise_by)


async def test_a_taobao_buyer_revising_to_good_closes_the_case_as_revised(
    clean_db: Settings,
) -> None:
    shop = FakeTaobaoShop()
    shop.seed(6, start=datetime.now(UTC) - timedelta(days=6), days=5, rating_rate=0.0)
    rating = _rating(shop, "neutral", "一般般吧，和描述有点差距")
    with top_gateway(shop) as url:
        store = await taobao_store(shop, url, clean_db)
        await sync(store, clean_db, Stream.ORDERS, Stream.REVIEWS)
        (case,) = await ReviewCase.all()
        assert case.status is ReviewCaseStatus.NEW
        rating.result = "good"  # the buyer changed it on Taobao
        await sync(store, clean_db, Stream.REVIEWS)
    case = await ReviewCase.get(id=case.id)
    assert case.status is ReviewCaseStatus.CLOSED and case.outcome is ReviewOutcome.REVISED
    assert case.closed_at is not None and case.due_at is None
    assert await _events(case, "review_case.revised").count() == 1
    assert (await Review.get(id=case.review_id)).result == ReviewResult.GOOD
    assert await ReviewCase.all().count() == 1


async def test_a_bad_taobao_rating_beside_good_ones_is_a_sync_error_and_the_rest_land(
    clean_db: Settings,
) -> None:
    shop = FakeTaobaoShop()
    shop.seed(6, start=datetime.now(UTC) - timedelta(days=6), days=5, rating_rate=0.0)
    _rating(shop, "bad", "发错货，客服也不理人")
    broken = _rating(shop, "terrible", "???")  # not a result TOP has
    _rating(shop, "neutral", "尺码偏小，凑合穿")
    with top_gateway(shop) as url:
        store = await taobao_store(shop, url, clean_db)
        await sync(store, clean_db, Stream.ORDERS, Stream.REVIEWS)
    assert await Review.filter(store_id=store.id).count() == 2
    assert await ReviewCase.all().count() == 2
    (error,) = await SyncError.filter(store_id=store.id, stream="reviews")
    assert error.record_id == str(broken.oid)


def _woo_review(shop: FakeWooShop, rid: int, rating: int, text: str, **extra: object) -> None:
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    shop.reviews[rid] = {
        "id": rid,
        "date_created": _gmt(created + timedelta(hours=8)),
        "date_created_gmt": _gmt(created),
        "product_id": 22,
        "product_name": "Ship Your Idea",
        "status": "approved",
        "reviewer": "John Doe",
        "reviewer_email": "john.doe@example.com",
        "review": f"<p>{text}</p>\n",
        "rating": rating,
        "verified": True,
        **extra,
    }


async def test_a_woocommerce_one_star_becomes_one_case_and_a_revision_to_five_closes_it(
    clean_db: Settings,
) -> None:
    shop = FakeWooShop()
    _woo_review(shop, 31, 1, "Arrived broken, the box was crushed.")
    _woo_review(shop, 32, 5, "Lovely, thank you!")
    _woo_review(shop, 33, 4, "Good.")
    shop.reviews[33]["rating"] = "four"  # a record the desk cannot read
    with serve(make_app(shop)) as url:
        store = await woo_store(url, shop, clean_db)
        await sync(store, clean_db, Stream.REVIEWS)
        await sync(store, clean_db, Stream.REVIEWS)
        ids = await Review.filter(store_id=store.id).values_list("platform_review_id", flat=True)
        assert sorted(ids) == ["31", "32"]
        assert await SyncError.filter(store_id=store.id, record_id="33").exists()
        (case,) = await ReviewCase.all()
        assert (await Review.get(id=case.review_id)).platform_review_id == "31"
        assert case.order_id is None  # WooCommerce reviews name a product, not an order
        shop.reviews[31]["rating"] = 5  # the buyer edited the review
        await sync(store, clean_db, Stream.REVIEWS)
    case = await ReviewCase.get(id=case.id)
    assert (case.status, case.outcome) == (ReviewCaseStatus.CLOSED, ReviewOutcome.REVISED)
    assert await ReviewCase.all().count() == 1


async def test_a_review_synced_before_its_order_links_it_once_the_order_lands() -> None:
    store = await create_store()
    rated = clock.now() - timedelta(days=1)
    late = record(rid="L1", created_at=rated, rating=1, text="没收到货", order="T777")
    await take(store, [late])
    (case,) = await ReviewCase.all()
    assert case.order_id is None and case.platform_order_id == "T777"
    buyer = await Customer.create(store=store, platform_buyer_id="b", nick="买家甲", tags=[])
    order = await Order.create(
        store=store, platform_order_id="T777", customer=buyer, status=OrderStatus.SHIPPED,
        platform_status="WAIT_BUYER_CONFIRM_GOODS", total_amount="9.90", paid_amount="9.90",
        placed_at=rated - timedelta(days=3), platform_updated_at=rated, synced_at=rated,
    )  # fmt: skip
    await take(store, [late])  # the next sync re-reads the review
    assert (await Review.get(platform_review_id="L1")).order_id == order.id
    assert (await ReviewCase.get(id=case.id)).order_id == order.id


async def test_the_store_threshold_decides_which_stars_are_negative() -> None:
    store = await create_store()
    now = clock.now()
    await take(store, [record(created_at=now, rating=3, text="很满意，谢谢")])
    assert await ReviewCase.all().count() == 1  # 3 stars is negative by default
    store.settings = {"review_negative_threshold": 2}
    await store.save()
    await take(store, [record(created_at=now, rating=3, text="很满意，谢谢")])
    assert await ReviewCase.all().count() == 1  # at a threshold of 2 it is not
    assert await Review.all().count() == 2


async def test_a_late_older_update_is_ignored() -> None:
    store = await create_store()
    rated = clock.now() - timedelta(days=2)
    later = rated + timedelta(days=1)
    await take(
        store,
        [record(rid="A1", created_at=rated, rating=2, text="太慢了",
                append_text="客服态度很差", appended_at=later)],
    )  # fmt: skip
    # A page read before the 追评 arrives late: it has neither the 追评 nor a newer time.
    await take(store, [record(rid="A1", created_at=rated, rating=5, text="太慢了")])
    review = await Review.get(platform_review_id="A1")
    assert review.rating == 2 and review.append_text == "客服态度很差"
    assert (await ReviewCase.get(review_id=review.id)).status is ReviewCaseStatus.NEW
    # Taobao never turns a good rating back to bad: a bad read at the same time is stale.
    await take(store, [record(rid="T1", created_at=rated, result=ReviewResult.GOOD, text="好")])
    await take(store, [record(rid="T1", created_at=rated, result=ReviewResult.BAD, text="好")])
    assert (await Review.get(platform_review_id="T1")).result == ReviewResult.GOOD
    assert not await ReviewCase.filter(review__platform_review_id="T1").exists()


def _complaint_model(text: str) -> Classification:
    """A text model that hears a complaint in 质量 or 客服 (the real one is tested elsewhere)."""
    if "质量差" in text or "客服" in text:
        return Classification(
            Sentiment.NEGATIVE, 0.9, (ReasonScore(ReasonCode.QUALITY, 0.8),), "test-model"
        )
    return Classification(Sentiment.POSITIVE, 0.9, (), "test-model")


async def test_a_praise_rated_complaint_opens_a_case_and_a_kind_follow_up_does_not_close_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(classifier, "classify_text", _complaint_model)
    store = await create_store()
    rated = clock.now() - timedelta(days=1)
    await take(store, [record(rid="F1", created_at=rated, result=ReviewResult.GOOD,
                              text="好评返现才给的好评，其实质量差")])  # fmt: skip
    (case,) = await ReviewCase.all()
    review = await Review.get(id=case.review_id)
    assert review.sentiment is Sentiment.NEGATIVE and review.model_version == "test-model"
    assert review.reasons == [{"reason": "quality", "confidence": 0.8}]
    assert case.reason is ReasonCode.QUALITY
    # The buyer adds a kind 追评 after we called: agents decide, the case stays open.
    await take(store, [record(rid="F1", created_at=rated, result=ReviewResult.GOOD,
                              text="好评返现才给的好评，其实质量差",
                              append_text="商家很负责，已解决",
                              appended_at=rated + timedelta(hours=20))])  # fmt: skip
    case = await ReviewCase.get(id=case.id)
    assert case.status is ReviewCaseStatus.NEW
    assert await _events(case, "review_case.platform_changed").count() == 1


async def test_an_agents_correction_survives_a_resync(monkeypatch: pytest.MonkeyPatch) -> None:
    store = await create_store()
    agent = await create_user(role=Role.AGENT)
    rated = clock.now() - timedelta(days=1)
    await take(store, [record(rid="C1", created_at=rated, rating=2, text="物流太慢")])
    reasons = [{"reason": "logistics", "confidence": 1.0}]
    await Review.filter(platform_review_id="C1").update(
        sentiment=Sentiment.NEUTRAL, reasons=reasons, corrected_by_id=agent.id,
        corrected_at=clock.now(),
    )  # fmt: skip
    monkeypatch.setattr(classifier, "classify_text", _complaint_model)
    await take(store, [record(rid="C1", created_at=rated, rating=2, text="物流太慢，客服也不回",
                              appended_at=rated + timedelta(hours=1),
                              append_text="还是没人理")])  # fmt: skip
    review = await Review.get(platform_review_id="C1")
    assert review.text == "物流太慢，客服也不回"  # the platform's fields update
    assert review.sentiment is Sentiment.NEUTRAL and review.reasons == reasons  # ours stay


async def test_reviews_stored_before_the_module_was_enabled_are_taken_in_once() -> None:
    store = await create_store()
    now = clock.now()
    for n, (rating, text) in enumerate(((1, "太差了"), (5, "很好，很满意"), (2, "物流太慢"))):
        data = record(rid=f"B{n}", created_at=now - timedelta(days=1), rating=rating, text=text)
        await PlatformRecord.create(
            store=store, stream="reviews", platform_id=data.platform_review_id,
            data=data.model_dump(mode="json"), received_at=now, handled=0,
        )  # fmt: skip
    await PlatformRecord.create(
        store=store, stream="reviews", platform_id="X9", received_at=now, handled=0,
        data={"platform_review_id": "X9", "rating": "lots"},
    )  # fmt: skip
    assert await intake.take_backlog() == 3
    assert await SyncError.filter(store_id=store.id, record_id="X9").exists()
    assert await intake.take_backlog() == 0  # marked handled: the next run has nothing
    assert await Review.all().count() == 3
    assert await ReviewCase.all().count() == 2
    assert await PlatformRecord.filter(handled=0).count() == 0


async def test_a_review_older_than_both_windows_is_closed_as_expired_at_once() -> None:
    store = await create_store()
    await take(store, [record(rid="OLD", created_at=clock.now() - timedelta(days=40), rating=1)])
    (case,) = await ReviewCase.all()
    assert case.status is ReviewCaseStatus.CLOSED
    assert case.outcome is ReviewOutcome.WINDOW_EXPIRED and case.assignee_id is None


async def test_reviews_synced_while_the_module_was_off_are_taken_in_when_it_is_on(
    clean_db: Settings,
) -> None:
    shop = FakeWooShop()
    _woo_review(shop, 41, 2, "Too small, and the seller never answered.")
    _woo_review(shop, 42, 5, "Perfect.")
    with serve(make_app(shop)) as url:
        store = await woo_store(url, shop, clean_db)
        connector = connector_for(store, clean_db.secret_key)
        try:  # the desk with reviews switched off: no handler for the stream
            await sync_stream(store, Stream.REVIEWS, connector, handlers={})
        finally:
            await connector.aclose()
    assert await PlatformRecord.filter(stream="reviews", handled=0).count() == 2
    assert not await Review.exists()
    assert await jobs.review_backlog({}) == 2  # switched on: the worker's job at start
    (case,) = await ReviewCase.all()
    assert (await Review.get(id=case.review_id)).platform_review_id == "41"


async def test_a_sync_without_the_shops_reply_keeps_the_reply_the_desk_recorded() -> None:
    store = await create_store()
    rated = clock.now() - timedelta(days=1)
    await take(store, [record(rid="P1", created_at=rated, rating=1, text="太慢了")])
    await Review.filter(platform_review_id="P1").update(seller_reply="亲，抱歉让您久等了")
    # Platforms whose review lists carry no replies send none on every re-read.
    await take(store, [record(rid="P1", created_at=rated, rating=1, text="太慢了")])
    assert (await Review.get(platform_review_id="P1")).seller_reply == "亲，抱歉让您久等了"


async def test_a_review_id_too_long_to_store_is_a_sync_error_and_its_neighbours_land() -> None:
    store = await create_store()
    rated = clock.now() - timedelta(days=1)
    await take(
        store,
        [
            record(rid="G1", created_at=rated, rating=1, text="破了"),
            record(rid="9" * 65, created_at=rated, rating=1, text="太慢了"),
            record(rid="G2", created_at=rated, rating=5, text="很好"),
        ],
    )
    assert {r.platform_review_id for r in await Review.all()} == {"G1", "G2"}
    (error,) = await SyncError.filter(store_id=store.id)
    assert error.record_id == "9" * 64 and "64" in error.message
