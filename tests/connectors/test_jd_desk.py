"""A JD store syncs into the desk: orders, cancellation refunds and negative comments.

The fake JOS gateway over loopback HTTP; the real sync with every module's
record handlers, on the real database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from aftersales.core import outbox
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, Role, Store
from aftersales.core.modules import OutboxContext
from aftersales.core.security import decrypt_credentials
from aftersales.orders.models import Order
from aftersales.orders.service import create_store
from aftersales.refunds.models import Refund, RefundStatus
from aftersales.reviews import module as reviews_module
from aftersales.reviews import service as reviews_service
from aftersales.reviews.models import ReplyState, Review, ReviewCase
from connectors.base import Stream
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.fakes.jd import FakeJDShop, jd_app
from tests.fakes.serve import serve
from tests.reviews.intake_helpers import sync


async def test_a_jd_shop_syncs_orders_refund_requests_and_comments_into_the_desk(
    clean_db: Settings,
) -> None:
    shop = FakeJDShop()
    shop.seed(300, start=datetime.now(UTC) - timedelta(days=6), days=5)
    with serve(jd_app(shop)) as url:
        store = await create_store(
            name="京东店",
            platform="jd",
            base_url=url,
            credentials={
                "app_key": shop.app_key,
                "app_secret": shop.app_secret,
                "access_token": shop.access_token,
            },
            settings={"history_days": 10},
            secret_key=clean_db.secret_key,
        )
        await sync(store, clean_db, Stream.ORDERS, Stream.AFTER_SALES, Stream.REVIEWS)
        await sync(store, clean_db, Stream.REVIEWS)  # again: nothing changes
    assert await Order.filter(store_id=store.id).count() == len(shop.orders)
    waiting = {r.id: r for r in shop.refunds.values() if r.status == "0"}
    requested = await Refund.filter(status=RefundStatus.REQUESTED, order_id__not_isnull=True)
    assert waiting and {r.platform_refund_id for r in requested} == set(waiting)
    for refund in requested:
        assert refund.requested_amount == Decimal(waiting[refund.platform_refund_id].fen) / 100
    assert await Review.filter(store_id=store.id).count() == len(shop.comments)
    negative = {c.comment_id for c in shop.comments.values() if c.score <= 3}
    cases = await ReviewCase.all()
    reviews = {r.id: r for r in await Review.filter(store_id=store.id)}
    assert negative and {reviews[c.review_id].platform_review_id for c in cases} == negative


async def test_an_owner_connects_a_jd_store_from_the_form_in_chinese_and_a_dead_token_says_so(
    client: httpx.AsyncClient,
) -> None:
    shop = FakeJDShop(refresh_refused=True)
    shop.seed(20, start=datetime.now(UTC) - timedelta(days=2), days=1)
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    chinese = {"Accept-Language": "zh-CN"}
    page = await client.get("/orders/stores/", headers=chinese)
    for text in (
        "京东",
        "访问令牌",
        "刷新令牌",
        "过期前 24 小时内",
    ):
        assert text in page.text
    assert "Refresh token" in (await client.get("/orders/stores/")).text
    with serve(jd_app(shop)) as url:
        token = await csrf_from(client, "/orders/stores/")
        connected = await client.post(
            "/orders/stores/",
            data={
                "csrf_token": token,
                "name": "京东旗舰店",
                "platform": "jd",
                "base_url": url,
                "app_key": shop.app_key,
                "app_secret": shop.app_secret,
                "access_token": shop.access_token,
                "refresh_token": shop.refresh_token,
            },
            follow_redirects=True,
        )
        assert "Store connected." in connected.text
        store = await Store.get(name="京东旗舰店")
        token = await csrf_from(client, f"/orders/stores/{store.id}")
        checked = await client.post(
            f"/orders/stores/{store.id}/check", data={"csrf_token": token}, follow_redirects=True
        )
        assert "Connection works." in checked.text
        shop.expire_token()
        refused = await client.post(
            f"/orders/stores/{store.id}/check", data={"csrf_token": token}, follow_redirects=True
        )
    assert "Connection works." not in refused.text
    # One refresh was tried and refused: the store says a person must authorise it again.
    assert "JD refused to refresh the access token" in refused.text
    assert "authorise the store again" in refused.text


async def test_a_refreshed_token_is_kept_so_the_next_sync_starts_from_it(
    clean_db: Settings,
) -> None:
    shop = FakeJDShop()
    shop.seed(30, start=datetime.now(UTC) - timedelta(days=2), days=1)
    with serve(jd_app(shop)) as url:
        store = await create_store(
            name="京东店",
            platform="jd",
            base_url=url,
            credentials={
                "app_key": shop.app_key,
                "app_secret": shop.app_secret,
                "access_token": shop.access_token,
                "refresh_token": shop.refresh_token,
            },
            settings={"history_days": 10},
            secret_key=clean_db.secret_key,
        )
        shop.expire_token()
        await sync(store, clean_db, Stream.ORDERS)
        fresh = await Store.get(id=store.id)
        saved = decrypt_credentials(clean_db.secret_key, fresh.credentials_encrypted)
        # The fake rotates both tokens, as JD may: the old refresh token is dead now.
        assert (saved["access_token"], saved["refresh_token"]) == ("jd-token-2", "jd-refresh-2")
        await sync(fresh, clean_db, Stream.ORDERS)
    assert shop.refreshes == 1
    assert await Order.filter(store_id=store.id).count() == len(shop.orders)


async def test_a_reply_on_a_jd_comment_case_goes_out_once_through_the_outbox(
    clean_db: Settings,
) -> None:
    shop = FakeJDShop()
    shop.seed(300, start=datetime.now(UTC) - timedelta(days=6), days=5)
    text = "非常抱歉给您带来不好的体验，客服已联系您处理。"
    with serve(jd_app(shop)) as url:
        store = await create_store(
            name="京东店",
            platform="jd",
            base_url=url,
            credentials={
                "app_key": shop.app_key,
                "app_secret": shop.app_secret,
                "access_token": shop.access_token,
            },
            settings={"history_days": 10},
            secret_key=clean_db.secret_key,
        )
        await sync(store, clean_db, Stream.ORDERS, Stream.REVIEWS)
        case = await ReviewCase.all().order_by("id").first()
        assert case is not None
        review = await Review.get(id=case.review_id)
        agent = await create_user(role=Role.AGENT)
        await reviews_service.post_reply(case.id, actor=agent, text=text)
        message = await OutboxMessage.get(kind=reviews_service.REPLY_KIND)
        handlers = dict(reviews_module.outbox_handlers)
        context = OutboxContext(settings=clean_db)
        assert await outbox.deliver(message.id, handlers, context=context) is (
            OutboxStatus.DELIVERED
        )
        await OutboxMessage.filter(id=message.id).update(status=OutboxStatus.PENDING)
        await outbox.deliver(message.id, handlers, context=context)  # as a lost queue would
    assert shop.replies == [review.platform_review_id]
    assert shop.comments[review.platform_review_id].reply == text
    assert (await ReviewCase.get(id=case.id)).reply_state is ReplyState.POSTED
