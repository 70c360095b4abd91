"""Demo reviews: a few hundred ratings of the demo shop's orders, through the normal intake.

The demo platform's own review stream is empty, so the ratings are made
here from its orders (same seed, same "now": the same reviews every time)
and fed through ``sync_stream`` with every module's record handlers, exactly
as a real sync delivers them: the negative ones open their cases, the old
ones close as window expired, and a few buyers revise to good afterwards
(a later page), which closes their cases as revised. Loading twice changes
nothing: intake is idempotent and the revision's earlier read is stale.

Texts are written for the demo across every reason, praise-rated
complaints (好评返现 with a complaint in the text) and follow-up reviews.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from aftersales.core import clock
from aftersales.core.models import Store
from aftersales.core.modules import Registry
from aftersales.orders.sync import record_handlers, sync_stream
from aftersales.reviews.models import Review, ReviewCase
from connectors.base import OrderRecord, OrderStatus, Page, ReviewRecord, ReviewResult, Stream
from connectors.demo import DemoConnector

GOOD = [
    "质量很好，做工精细，和图片一样，物超所值",
    "物流很快，隔天就到了，包装严实",
    "第二次回购了，一如既往的好",
    "客服小姐姐很耐心，推荐的尺码刚好合适",
    "面料舒服，洗了两次也没有变形，好评",
    "颜色很正，没有色差，老公很喜欢",
    "性价比很高，这个价格买到很值",
    "包装很用心，送人也有面子",
    "东西不错，发货速度快，五星好评",
    "正品，和专柜的一模一样，放心",
    "孩子穿着很合适，下雨天终于不湿脚了",
    "保温效果很好，早上倒的热水晚上还是热的",
    "音质超出预期，连接也稳定",
    "苹果很新鲜，脆甜多汁，个头均匀",
    "枕头软硬适中，睡了一周脖子舒服多了",
    "刻字很清晰，包装精美，送朋友很合适",
    "还不错，符合描述",
    "很满意的一次购物",
]
NEUTRAL = {
    "size_fit": ["尺码偏小一码，凑合穿吧", "裤长有点长，要去改一下"],
    "quality": ["一般般吧，线头有点多", "质量马马虎虎，对得起这个价"],
    "logistics": ["东西还行，就是快递慢了点，等了五天", "物流太慢了，别的都还好"],
    "not_as_described": ["和描述有点差距，颜色比图片暗", "实物没有图片好看"],
    "price": ["刚买完就降价了，有点亏", "这个价格略贵了"],
}
BAD = {
    "quality": ["质量太差了，洗一次就变形起球", "用了三天就坏了，开关失灵", "做工粗糙，线头一堆"],
    "logistics": ["快递一个星期才到，催了也没用", "物流信息一直不更新，差点以为丢件了"],
    "service": ["客服态度很差，问什么都不回", "售后推来推去，一直不给解决"],
    "not_as_described": ["色差严重，和描述完全不符", "图片是纯棉，收到的明显是化纤"],
    "size_fit": ["尺码严重偏小，按平时尺码买根本穿不上"],
    "damaged": ["收到杯子是碎的，包装太简陋了", "盒子压扁了，里面的碗碎了两个"],
    "wrong_or_missing": ["发错货了，我要的黑色发来白色", "少发了一件，联系客服没人理"],
    "price": ["一样的东西别家便宜一半，感觉被坑了"],
    "authenticity": ["怀疑不是正品，做工和专柜差很多", "防伪码查不到，感觉是假货"],
}
# A 好评 given for the cashback card, the complaint in the text.
PRAISE_RATED_COMPLAINTS = [
    "为了返现给的好评，其实质量一般，洗完缩水了",
    "好评返现才给的五星，快递慢得要命",
    "看在客服态度好的份上给好评，但是发错了颜色",
]
KIND_FOLLOW_UPS = ["客服主动联系处理了，态度很好，给个好评", "商家补发了，问题解决了，谢谢"]
SOUR_FOLLOW_UPS = ["用了一个月，已经开线了", "后来也没人联系我，不会再买了"]
LATER_PRAISE = [*SOUR_FOLLOW_UPS, "用了一段时间，依然很好用", "追加好评，越用越喜欢"]
REPLIES = ["亲，非常抱歉给您带来不好的体验，已安排客服联系您处理", "感谢亲的反馈，我们会改进"]


def _review(
    rng: random.Random, order: OrderRecord, item: Any, now: datetime
) -> ReviewRecord | None:
    """The buyer's rating of one line, or None (most buyers never rate)."""
    if order.shipped_at is None or order.status not in (OrderStatus.SHIPPED, OrderStatus.COMPLETED):
        return None
    if rng.random() > 0.8:
        return None
    created = order.shipped_at + timedelta(days=rng.randint(2, 9), minutes=rng.randint(0, 1439))
    if created > now:
        return None
    roll = rng.random()
    append_text = appended_at = None
    if roll < 0.72:
        result, text = ReviewResult.GOOD, rng.choice(GOOD)
    elif roll < 0.77:
        result, text = ReviewResult.GOOD, rng.choice(PRAISE_RATED_COMPLAINTS)
    elif roll < 0.87:
        result, text = ReviewResult.NEUTRAL, rng.choice(rng.choice(list(NEUTRAL.values())))
    else:
        result, text = ReviewResult.BAD, rng.choice(rng.choice(list(BAD.values())))
    if rng.random() < 0.15:
        appended = created + timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23))
        if appended <= now:
            later = SOUR_FOLLOW_UPS if result is not ReviewResult.GOOD else LATER_PRAISE
            append_text = rng.choice(later)
            appended_at = appended
    return ReviewRecord(
        platform_review_id=item.platform_item_id,
        platform_order_id=order.platform_order_id,
        platform_item_id=item.platform_item_id,
        product_title=item.title,
        reviewer_nick=order.buyer.nick,
        result=result,
        text=text,
        append_text=append_text,
        appended_at=appended_at,
        reply=rng.choice(REPLIES)
        if result is not ReviewResult.GOOD and rng.random() < 0.3
        else None,
        created_at=created,
    )


def _version(record: ReviewRecord) -> datetime:
    return max(record.created_at, record.appended_at or record.created_at)


def demo_reviews(connector: DemoConnector) -> tuple[list[ReviewRecord], list[ReviewRecord]]:
    """The ratings as first given, and the later reads of those the buyers revised to good."""
    rng = random.Random(connector.seed + 15)
    now = connector.now
    first: list[ReviewRecord] = []
    for order in connector.all_orders():
        for item in order.items:
            found = _review(rng, order, item, now)
            if found is not None:
                first.append(found)
    revised = []
    for record in first:
        recent = now - record.created_at < timedelta(days=25)
        if record.result is not ReviewResult.GOOD and recent and rng.random() < 0.2:
            revised.append(record.model_copy(update={
                "result": ReviewResult.GOOD,
                "append_text": rng.choice(KIND_FOLLOW_UPS),
                "appended_at": min(_version(record) + timedelta(hours=5), now),
            }))  # fmt: skip
    return first, revised


class DemoReviewStream:
    """A connector with only a review stream: the demo's ratings, then the revisions."""

    platform = "demo"

    def __init__(self, pages: list[list[ReviewRecord]]) -> None:
        self.pages = pages

    async def reviews(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[ReviewRecord]]:
        for n, records in enumerate(self.pages):
            yield Page(records=records, cursor=f"demo-reviews:{n}")


async def seed(store: Store, registry: Registry, connector: DemoConnector | None = None) -> str:
    """Sync the demo's reviews into ``store``; returns what it loaded, for the demo's message."""
    connector = connector or DemoConnector(now=clock.now())
    first, revised = demo_reviews(connector)
    pages = [first[i : i + 100] for i in range(0, len(first), 100)]
    if revised:
        pages.append(revised)
    await sync_stream(
        store, Stream.REVIEWS, DemoReviewStream(pages), handlers=record_handlers(registry)
    )
    reviews = await Review.filter(store_id=store.id).count()
    cases = await ReviewCase.filter(store_id=store.id).count()
    return f"{reviews} reviews, {cases} review cases"
