"""What a return case tells the quick replies, and the return replies the module ships.

The refusal texts the return page used to hard-code are seeded team phrases
now (``Module.phrases``), beside a return-address reply, all filled in from
the case (``phrase_context``) when its page offers them.
"""

from __future__ import annotations

from aftersales.core.cases import CaseRef
from aftersales.core.models import PhraseCategory, Store
from aftersales.core.money import format_money
from aftersales.core.phrases import PhraseContext, deadline_text, seeds
from aftersales.orders.models import Order
from aftersales.orders.settings import buyer_language
from aftersales.returns import service
from aftersales.returns.models import ReturnCase


async def phrase_context(ref: CaseRef) -> PhraseContext | None:
    """Placeholders and facts of one return case: buyer, lines, tracking, address, arrival."""
    if ref.kind != "return":
        return None
    case = await ReturnCase.get_or_none(id=ref.id).prefetch_related("lines", "trackings")
    if case is None:
        return None
    store = await Store.get(id=case.store_id)
    order = (
        await Order.get_or_none(id=case.order_id).prefetch_related("customer")
        if case.order_id
        else None
    )
    lines = sorted(case.lines, key=lambda line: line.id)
    trackings = [t for t in sorted(case.trackings, key=lambda t: t.id) if t.active]
    values = {
        "order_no": case.platform_order_id,
        "item": "、".join(line.title for line in lines if line.title),
        "amount": format_money(service.goods_value(lines), case.currency),
        "return_address": case.return_address
        or str(service.store_setting(store, "return_address") or ""),
    }
    if order is not None:
        values["buyer_nick"] = order.customer.nick
    if trackings:
        values["tracking_no"] = trackings[-1].tracking_no
    if case.due_at is not None:
        values["deadline"] = deadline_text(case.due_at, store.timezone)
    return PhraseContext(
        platform=store.platform,
        values=values,
        facts={"shipped": True, "return_received": case.received_at is not None},
        language=buyer_language(store),
    )


_REFUSE, _ADDRESS = PhraseCategory.REFUSE, PhraseCategory.RETURN_ADDRESS
PHRASES = seeds(
    [
        ("returns.refuse.used.zh", _REFUSE, "zh-CN", "已使用：影响二次销售",
         "{buyer_nick}亲，{item}已使用或吊牌已剪，影响二次销售，无法退货，敬请谅解。", {}),
        ("returns.refuse.late.zh", _REFUSE, "zh-CN", "超过七天无理由期限",
         "{buyer_nick}亲，订单 {order_no} 已超过七天无理由退货期限，无法退货。"
         "如有质量问题请提供照片，我们为您处理。", {}),
        ("returns.refuse.used.en", _REFUSE, "en", "Used: cannot be resold",
         "Hi {buyer_nick}, {item} has been used or its tags removed, so we cannot take it back. "
         "We are sorry.", {}),
        ("returns.refuse.late.en", _REFUSE, "en", "Past the return window",
         "Hi {buyer_nick}, order {order_no} is past its return window. If the item is faulty, "
         "please send photos and we will help.", {}),
        ("returns.address.zh", _ADDRESS, "zh-CN", "退货地址",
         "{buyer_nick}亲，退货申请已同意，请将商品寄回：{return_address}。"
         "寄出后请填写快递单号，请勿寄到付件。", {}),
        ("returns.address.en", _ADDRESS, "en", "Return address",
         "Hi {buyer_nick}, your return is approved. Please send {item} to: {return_address}, "
         "and add the tracking number once it is on its way.", {}),
    ]
)  # fmt: skip
"""The return replies the return page used to hard-code, now the team's to edit."""
