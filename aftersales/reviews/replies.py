"""What a review case tells the quick replies, and the review replies the module ships.

The explanations and apologies below are seeded team phrases (``Module.phrases``)
the team edits later. Each one is polite, names the problem and what the shop
did about it, never blames the buyer and never asks for the rating to change
(tests/reviews/test_guard_rail.py reads every shipped phrase through
``guard.findings``). A public explanation is read by every later shopper, so it
names no amount and no private detail of the buyer.
"""

from __future__ import annotations

from aftersales.core.cases import CaseRef
from aftersales.core.models import PhraseCategory, Store
from aftersales.core.phrases import PhraseContext, deadline_text, seeds
from aftersales.orders.models import Order
from aftersales.orders.settings import buyer_language
from aftersales.reviews.models import Review, ReviewCase


async def phrase_context(ref: CaseRef) -> PhraseContext | None:
    """Placeholders of one review case: the buyer's nick, the product, the order."""
    if ref.kind != ReviewCase.case_type.kind:
        return None
    case = await ReviewCase.get_or_none(id=ref.id)
    if case is None:
        return None
    review = await Review.get(id=case.review_id)
    store = await Store.get(id=case.store_id)
    order = await Order.get_or_none(id=case.order_id) if case.order_id else None
    values = {
        "buyer_nick": case.buyer_nick or review.reviewer_nick,
        "order_no": case.platform_order_id or review.platform_order_id,
        "item": review.product_title,
    }
    if case.due_at is not None:
        values["deadline"] = deadline_text(case.due_at, store.timezone)
    facts = {"shipped": order.shipped_at is not None} if order is not None else {}
    return PhraseContext(
        platform=store.platform, values=values, facts=facts, language=buyer_language(store)
    )


_R, _S = PhraseCategory.REVIEW_EXPLANATION, PhraseCategory.APOLOGY
PHRASES = seeds(
    [
        ("reviews.explain.quality.zh", _R, "zh-CN", "质量问题：已反馈并改进",
         "{buyer_nick}亲，非常抱歉{item}没有达到您的期待。您反馈的质量问题我们已转给品控逐件复查，"
         "后续批次会加强检验。客服已经联系您处理，有任何需要请随时找我们。", {}),
        ("reviews.explain.logistics.zh", _R, "zh-CN", "物流慢：已向快递反馈",
         "{buyer_nick}亲，抱歉让您久等了。订单 {order_no} 的配送时间确实超出了预期，"
         "我们已向快递公司反馈，之后会优先选择更稳定的线路。感谢您的耐心。", {"shipped": True}),
        ("reviews.explain.size.zh", _R, "zh-CN", "尺码不合适：可协助换货",
         "{buyer_nick}亲，很抱歉{item}的尺码不合您的身形。商品详情页的尺码表我们已补充了更细的测量说明，"
         "如需换码，客服会为您安排，您只需联系我们即可。", {}),
        ("reviews.explain.damaged.zh", _R, "zh-CN", "破损：已加强包装",
         "{buyer_nick}亲，收到破损的{item}一定很扫兴，非常抱歉。我们已加厚了包装并和快递沟通了运输问题，"
         "客服会与您联系，尽快为您处理。", {"shipped": True}),
        ("reviews.explain.wrong.zh", _R, "zh-CN", "发错或漏发：已核对处理",
         "{buyer_nick}亲，订单 {order_no} 发错（漏发）是我们的失误，非常抱歉。我们已核对仓库记录，"
         "客服会联系您补发或处理，同时加强了出库前的复核。", {"shipped": True}),
        ("reviews.explain.service.zh", _R, "zh-CN", "服务态度：已内部改进",
         "{buyer_nick}亲，对于订单 {order_no} 沟通中让您感到不愉快，我们深表歉意。"
         "我们已对该次接待做了复盘和培训，之后有任何问题都可以直接联系我们，我们会认真对待。", {}),
        ("reviews.explain.description.zh", _R, "zh-CN", "与描述不符：已更新详情页",
         "{buyer_nick}亲，抱歉{item}与您看到的描述有出入。我们已根据您的反馈核对并更新了商品详情页的"
         "图片和文字说明，客服会联系您处理。", {}),
        ("reviews.apology.zh", _S, "zh-CN", "差评致歉：主动联系",
         "{buyer_nick}亲，您好，看到您对{item}的反馈，给您带来不好的体验非常抱歉。"
         "想了解一下具体情况，好尽快为您解决问题，方便的时候请回复我们。", {}),
        ("reviews.apology.followup.zh", _S, "zh-CN", "致歉：问题已处理",
         "{buyer_nick}亲，订单 {order_no} 的问题已经为您处理好了，再次向您致歉，"
         "感谢您告诉我们，之后如有任何问题请随时联系我们。", {}),
        ("reviews.explain.quality.en", _R, "en", "Quality: checked and improved",
         "Hi {buyer_nick}, we are sorry {item} fell short. We passed the quality problem you "
         "describe to our quality team, who are checking the stock, and our support team has "
         "contacted you to put it right.", {}),
        ("reviews.explain.logistics.en", _R, "en", "Late delivery: raised with the carrier",
         "Hi {buyer_nick}, we are sorry order {order_no} took so long to reach you. We have "
         "raised the delay with the carrier and are moving to a more reliable service. "
         "Thank you for your patience.", {"shipped": True}),
        ("reviews.explain.size.en", _R, "en", "Size: exchange offered",
         "Hi {buyer_nick}, we are sorry {item} did not fit. We have added clearer measurements "
         "to the size guide, and our support team will gladly arrange an exchange.", {}),
        ("reviews.explain.damaged.en", _R, "en", "Damaged: packaging improved",
         "Hi {buyer_nick}, we are sorry {item} arrived damaged. We have strengthened our "
         "packaging, and our support team is in touch with you to sort it out.",
         {"shipped": True}),
        ("reviews.explain.wrong.en", _R, "en", "Wrong or missing item: fixed",
         "Hi {buyer_nick}, sending the wrong or an incomplete order {order_no} was our mistake, "
         "and we apologise. Our support team will contact you to put it right, and we have "
         "added a second check before parcels leave.", {"shipped": True}),
        ("reviews.explain.service.en", _R, "en", "Service: improved",
         "Hi {buyer_nick}, we are sorry our support on order {order_no} left you unhappy. "
         "We have gone over that conversation with the team, and we are here whenever you "
         "need us.", {}),
        ("reviews.apology.en", _S, "en", "Apology: reaching out",
         "Hi {buyer_nick}, we read your feedback on {item} and we are sorry for the trouble. "
         "Could you tell us a little more, so we can put it right quickly?", {}),
        ("reviews.apology.followup.en", _S, "en", "Apology: resolved",
         "Hi {buyer_nick}, the problem with order {order_no} has been taken care of. We are "
         "sorry again, and thank you for telling us.", {}),
    ]
)  # fmt: skip
"""The review explanations and apologies the module ships, in both languages."""
