"""A review reply through the outbox to the fake TOP gateway, and kept to paste elsewhere.

The fake counts the explanations it took (``replies``); a retried or replayed
reply is posted once; an expired window on the platform is a failed reply
the page explains; a platform without a reply API keeps the text to paste.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aftersales.core import outbox
from aftersales.core.cases import CaseRef
from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, OutboxMessage, OutboxStatus, Role, Store
from aftersales.core.modules import OutboxContext
from aftersales.core.writebacks import case_refs
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for as store_connector
from aftersales.reviews import module as reviews_module
from aftersales.reviews import service
from aftersales.reviews.models import ReplyState, Review, ReviewCase, ReviewCaseStatus
from connectors.base import ReviewReply, WriteRefused
from connectors.taobao import TaobaoConnector
from tests.factories import create_user
from tests.fakes.serve import serve
from tests.fakes.taobao import FakeTaobaoShop, Rating, expected_sign, taobao_app
from tests.reviews.factories import create_review, create_review_case

pytestmark = pytest.mark.usefixtures("clean_db")

EXPLAIN = "taobao.traderate.explain.add"
OID = 4_100_000_000_123
TEXT = "亲，非常抱歉T恤起球给您带来不好的体验，我们已反馈品控并联系您处理。"


@contextmanager
def gateway(shop: FakeTaobaoShop) -> Iterator[str]:
    with serve(taobao_app(shop)) as url:
        yield url


def rated_shop(*, days_ago: float = 2, append: str | None = None) -> FakeTaobaoShop:
    shop = FakeTaobaoShop()
    shop.ratings.append(
        Rating(
            tid=OID - 1, oid=OID, nick="小王同学", result="bad",
            created=datetime.now(UTC) - timedelta(days=days_ago), item_title="纯棉短袖T恤",
            item_price=Decimal("69.00"), num_iid=555, content="洗一次就起球", append_content=append,
        )
    )  # fmt: skip
    return shop


async def taobao_case(shop: FakeTaobaoShop, url: str, settings: Settings) -> ReviewCase:
    store = await create_store(
        name="淘宝店",
        platform="taobao",
        base_url=url,
        credentials={
            "app_key": shop.app_key,
            "app_secret": shop.app_secret,
            "session": shop.session,
        },
        secret_key=settings.secret_key,
    )
    review = await create_review(store=store, platform_review_id=str(OID))
    return await create_review_case(store=store, review=review)


async def deliver(settings: Settings, message_id: int) -> OutboxStatus | None:
    handlers = dict(reviews_module.outbox_handlers)
    return await outbox.deliver(message_id, handlers, context=OutboxContext(settings=settings))


async def queued(case: ReviewCase) -> OutboxMessage:
    message = await OutboxMessage.get(kind=service.REPLY_KIND)
    assert message.payload == {"review_case_id": case.id}
    return message


async def test_a_reply_goes_out_once_signed_as_top_wants_and_the_case_is_explained(
    clean_db: Settings,
) -> None:
    agent = await create_user(role=Role.AGENT)
    shop = rated_shop()
    with gateway(shop) as url:
        case = await taobao_case(shop, url, clean_db)
        moved = await service.post_reply(case.id, actor=agent, text=TEXT, expected_version=1)
        assert (moved.reply_state, moved.status) == (ReplyState.QUEUED, ReviewCaseStatus.NEW)
        message = await queued(case)
        assert await deliver(clean_db, message.id) is OutboxStatus.DELIVERED
    assert shop.replies == [OID] and shop.ratings[0].reply == TEXT
    sent = [p for p in shop.received if p.get("method") == EXPLAIN]
    assert len(sent) == 1
    system = {"method", "app_key", "session", "timestamp", "v", "sign_method", "format"}
    assert set(sent[0]) == system | {"simplify", "sign", "oid", "reply"}
    assert (sent[0]["oid"], sent[0]["reply"], sent[0]["v"]) == (str(OID), TEXT, "2.0")
    assert sent[0]["sign"] == expected_sign(sent[0], shop.app_secret, sent[0]["sign_method"])
    case = await ReviewCase.get(id=case.id)
    assert (case.reply_state, case.status) == (
        ReplyState.POSTED,
        ReviewCaseStatus.EXPLANATION_POSTED,
    )
    assert case.reply_posted_at is not None
    assert (await Review.get(id=case.review_id)).seller_reply == TEXT
    with pytest.raises(service.AlreadyReplied):
        await service.post_reply(case.id, actor=agent, text="再回复一次")


async def test_a_lost_answer_retried_by_the_transport_posts_once(clean_db: Settings) -> None:
    agent = await create_user(role=Role.AGENT)
    shop = rated_shop()
    shop.lose_answers(EXPLAIN)  # carried out, then answered 504: the client sends it again
    with gateway(shop) as url:
        case = await taobao_case(shop, url, clean_db)
        await service.post_reply(case.id, actor=agent, text=TEXT)
        assert await deliver(clean_db, (await queued(case)).id) is OutboxStatus.DELIVERED
    assert shop.calls[EXPLAIN] == 2  # the replay was refused as already explained ...
    assert shop.replies == [OID]  # ... and the reply is there once
    assert (await ReviewCase.get(id=case.id)).reply_state is ReplyState.POSTED


async def test_a_retried_write_with_the_same_key_looks_first_and_does_not_post_again() -> None:
    shop = rated_shop()
    reply = ReviewReply(platform_review_id=str(OID), text=TEXT)
    with gateway(shop) as url:
        connector = TaobaoConnector(
            base_url=url, app_key=shop.app_key, app_secret=shop.app_secret, session=shop.session
        )
        first = await connector.reply_review(reply, idempotency_key="rv-1")
        again = await connector.reply_review(reply, idempotency_key="rv-1")
        other = ReviewReply(platform_review_id=str(OID), text="另一段解释")
        with pytest.raises(WriteRefused, match="already has another explanation"):
            await connector.reply_review(other, idempotency_key="rv-2")
        await connector.aclose()
    assert (first.already_done, again.already_done) == (False, True)
    assert shop.replies == [OID] and shop.calls[EXPLAIN] == 1


async def test_the_platform_refusing_an_expired_window_fails_the_reply_visibly(
    clean_db: Settings,
) -> None:
    agent = await create_user(role=Role.AGENT)
    shop = rated_shop(days_ago=31)  # past TOP's 30 days; the desk's own window was unknown
    with gateway(shop) as url:
        case = await taobao_case(shop, url, clean_db)
        await ReviewCase.filter(id=case.id).update(explain_by=None)
        await service.post_reply(case.id, actor=agent, text=TEXT)
        message = await queued(case)
        assert await deliver(clean_db, message.id) is OutboxStatus.FAILED
    assert shop.replies == [] and shop.refusals[15] == 1
    case = await ReviewCase.get(id=case.id)
    assert case.reply_state is ReplyState.FAILED and case.status is ReviewCaseStatus.NEW
    failed = await AuditEvent.get(action="review_case.reply_failed", subject_id=str(case.id))
    assert "isv.rate-explain-expired" in failed.data["error"]


async def test_a_follow_up_review_closes_the_platform_window_too(clean_db: Settings) -> None:
    shop = rated_shop(append="追评：还是起球")
    with gateway(shop) as url:
        case = await taobao_case(shop, url, clean_db)
        store = await Store.get(id=case.store_id)
        connector = store_connector(store, clean_db.secret_key)
        with pytest.raises(WriteRefused, match="rate-explain-expired"):
            await connector.reply_review(
                ReviewReply(platform_review_id=str(OID), text=TEXT), idempotency_key="rv-3"
            )
        await connector.aclose()
    assert shop.replies == []


async def test_outside_the_explanation_window_the_desk_refuses_before_anything_is_queued() -> None:
    agent = await create_user(role=Role.AGENT)
    closed = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 2026-12-01 00:00 in Shanghai
    case = await create_review_case(explain_by=closed)
    with pytest.raises(service.ReplyWindowClosed) as refused:
        await service.post_reply(case.id, actor=agent, text=TEXT)
    assert refused.value.status == 409
    # The deadline as the store's pages show it, not a UTC timestamp.
    assert "closed at 2026-12-01 00:00;" in refused.value.english
    assert await OutboxMessage.filter(kind=service.REPLY_KIND).count() == 0
    assert (await ReviewCase.get(id=case.id)).reply_state is ReplyState.NONE


async def test_without_a_reply_api_the_text_waits_to_be_pasted_and_the_agent_marks_it() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()  # the demo platform takes no reply through an API
    manual = await service.post_reply(case.id, actor=agent, text=TEXT)
    assert (manual.reply_state, manual.reply_text) == (ReplyState.MANUAL, TEXT)
    assert await OutboxMessage.filter(kind=service.REPLY_KIND).count() == 0
    pasted = await service.mark_pasted(case.id, actor=agent, expected_version=manual.version)
    assert (pasted.reply_state, pasted.status) == (
        ReplyState.PASTED,
        ReviewCaseStatus.EXPLANATION_POSTED,
    )
    assert (await Review.get(id=case.review_id)).seller_reply == TEXT
    with pytest.raises(service.NotPasteable):
        await service.mark_pasted(case.id, actor=agent)


def test_a_failed_reply_names_its_case_for_the_handover() -> None:
    refs = case_refs(service.REPLY_KIND, {"review_case_id": 7})
    assert CaseRef("reviews", "review_case", 7) in refs
    assert ReviewCase.case_type.module == "reviews" and ReviewCase.case_type.kind == "review_case"


async def test_a_delivery_retried_after_the_platform_took_it_posts_once(
    clean_db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies after the platform took the reply, before the desk recorded it."""
    agent = await create_user(role=Role.AGENT)
    shop = rated_shop()
    real_finish = service.finish_reply

    async def dies(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the worker lost its database connection")

    with gateway(shop) as url:
        case = await taobao_case(shop, url, clean_db)
        await service.post_reply(case.id, actor=agent, text=TEXT)
        message = await queued(case)
        monkeypatch.setattr(service, "finish_reply", dies)
        assert await deliver(clean_db, message.id) is OutboxStatus.PENDING  # to be retried
        assert shop.replies == [OID]
        assert (await ReviewCase.get(id=case.id)).reply_state is ReplyState.QUEUED
        monkeypatch.setattr(service, "finish_reply", real_finish)
        await OutboxMessage.filter(id=message.id).update(next_attempt_at=datetime.now(UTC))
        assert await deliver(clean_db, message.id) is OutboxStatus.DELIVERED
    assert shop.replies == [OID] and shop.calls[EXPLAIN] == 1  # looked, found ours, wrote nothing
    again = await OutboxMessage.get(id=message.id)
    assert again.attempts == 2 and again.idempotency_key == message.idempotency_key
    assert (await ReviewCase.get(id=case.id)).reply_state is ReplyState.POSTED
