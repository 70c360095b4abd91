"""Refusal texts agents start from: polite, specific, never blaming the buyer.

They go to the buyer and, in a dispute, to the platform's arbitrator, so
they are written in the language of the platform's buyers and name the
evidence the shop holds. An agent edits the chosen text before sending.
"""

from __future__ import annotations

from dataclasses import dataclass

from aftersales.core.i18n import N_


@dataclass(frozen=True)
class ReplyTemplate:
    label: str  # an English msgid for the picker
    text: str  # sent as written


REFUSAL_TEMPLATES = [
    ReplyTemplate(
        N_("Goods already shipped: ask for return and refund"),
        "亲，您的包裹已经发出，仅退款无法直接同意。请您收到后申请退货退款，我们收到退货后会第一时间为您退款。",
    ),
    ReplyTemplate(
        N_("Signed for in good condition"),
        "亲，物流显示包裹已完好签收，我们已附上签收记录。如商品有问题，请提供照片，我们一定为您处理。",
    ),
    ReplyTemplate(
        N_("Custom-made goods: no no-reason return"),
        "亲，该商品为定制商品，按照规定不适用七天无理由退货。如有质量问题请提供照片，我们会为您处理。",
    ),
    ReplyTemplate(
        N_("Return not received yet"),
        "亲，我们暂未收到您寄回的商品，请提供退货快递单号，收到后我们会马上为您退款。",
    ),
    ReplyTemplate(
        N_("Amount above what was paid for the item"),
        "亲，申请的退款金额超过了该商品的实付金额，请修改金额后重新提交，我们会尽快处理。",
    ),
]
