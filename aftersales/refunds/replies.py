"""What a refund tells the quick replies, and the refusal replies the module ships.

Refusals go to the buyer and, in a dispute, to the platform's arbitrator, so
they are polite, specific, never blame the buyer and name the evidence the
shop holds. They were a fixed list on the refund page; now they are seeded
team phrases (``Module.phrases``) the supervisors can reword, filled in
from the refund (``phrase_context``) when the page offers them.
"""

from __future__ import annotations

from aftersales.core import modules
from aftersales.core.cases import CaseRef
from aftersales.core.models import PhraseCategory, Store
from aftersales.core.money import format_money
from aftersales.core.phrases import PhraseContext, deadline_text, seeds
from aftersales.orders.models import Order, ShipmentDirection
from aftersales.orders.settings import buyer_language
from aftersales.refunds.models import Refund


async def phrase_context(ref: CaseRef) -> PhraseContext | None:
    """Placeholders and facts of one refund: buyer, order, item, amount, parcel, deadline."""
    if ref.kind != "refund":
        return None
    refund = await Refund.get_or_none(id=ref.id)
    if refund is None:
        return None
    store = await Store.get(id=refund.store_id)
    order = (
        await Order.get_or_none(id=refund.order_id).prefetch_related(
            "customer", "items", "shipments"
        )
        if refund.order_id
        else None
    )
    values = {
        "order_no": refund.platform_order_id,
        "amount": format_money(refund.requested_amount, refund.currency),
    }
    facts: dict[str, bool] = {}
    if refund.due_at is not None:
        values["deadline"] = deadline_text(refund.due_at, store.timezone)
    if order is not None:
        values["buyer_nick"] = order.customer.nick
        items = [i for i in order.items if i.platform_item_id == refund.platform_item_id]
        values["item"] = "、".join(i.title for i in (items or list(order.items)))
        outbound = [s for s in order.shipments if s.direction is ShipmentDirection.OUTBOUND]
        if outbound:
            values["tracking_no"] = outbound[-1].tracking_no
        facts["shipped"] = bool(order.shipped_at or outbound)
    registry = modules.current()
    if "returns" in registry:  # the return address is the returns module's setting
        values["return_address"] = str(registry.store_setting(store, "returns", "return_address"))
    return PhraseContext(
        platform=store.platform, values=values, facts=facts, language=buyer_language(store)
    )


_REFUSE = PhraseCategory.REFUSE
PHRASES = seeds(
    [
        ("refunds.refuse.shipped.zh", _REFUSE, "zh-CN", "已发货：请申请退货退款",
         "{buyer_nick}亲，您的订单 {order_no} 已经发出，{amount} 的仅退款无法直接同意。"
         "请您收到后申请退货退款，我们收到退货后会第一时间为您退款。", {"shipped": True}),
        ("refunds.refuse.signed.zh", _REFUSE, "zh-CN", "已完好签收",
         "{buyer_nick}亲，物流显示订单 {order_no} 的包裹已完好签收，我们已附上签收记录。"
         "如商品有问题，请提供照片，我们一定为您处理。", {"shipped": True}),
        ("refunds.refuse.custom.zh", _REFUSE, "zh-CN", "定制商品：不支持无理由退货",
         "{buyer_nick}亲，{item}为定制商品，按照规定不适用七天无理由退货。"
         "如有质量问题请提供照片，我们会为您处理。", {}),
        ("refunds.refuse.not_back.zh", _REFUSE, "zh-CN", "尚未收到退货",
         "{buyer_nick}亲，我们暂未收到订单 {order_no} 寄回的商品，请提供退货快递单号，"
         "收到后我们会马上为您退款。", {"return_received": False}),
        ("refunds.refuse.too_much.zh", _REFUSE, "zh-CN", "申请金额超过实付",
         "{buyer_nick}亲，订单 {order_no} 申请的退款金额 {amount} 超过了该商品的实付金额，"
         "请修改金额后重新提交，我们会尽快处理。", {}),
        ("refunds.refuse.shipped.en", _REFUSE, "en", "Shipped: ask for a return",
         "Hi {buyer_nick}, order {order_no} has already shipped, so we cannot refund {amount} "
         "without the goods. Please request a return once it arrives; we refund as soon as it "
         "is back.", {"shipped": True}),
        ("refunds.refuse.signed.en", _REFUSE, "en", "Delivered in good condition",
         "Hi {buyer_nick}, the carrier shows order {order_no} delivered in good condition; "
         "we have attached the proof. If something is wrong with it, please send photos and "
         "we will help.", {"shipped": True}),
        ("refunds.refuse.not_back.en", _REFUSE, "en", "Return not received yet",
         "Hi {buyer_nick}, we have not received the goods of order {order_no} back yet. "
         "Please send us the return tracking number; we refund as soon as they arrive.",
         {"return_received": False}),
        ("refunds.refuse.too_much.en", _REFUSE, "en", "Amount above what was paid",
         "Hi {buyer_nick}, the {amount} asked for is more than was paid for the item. "
         "Please correct the amount and ask again.", {}),
    ]
)  # fmt: skip
"""The refusal replies the refund page used to hard-code, now the team's to edit."""
