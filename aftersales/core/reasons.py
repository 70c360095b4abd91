"""The reason taxonomy refunds, returns and reviews share.

One list, so the owner's "refunds by reason" and "negative reviews by
reason" speak the same words and a quality problem is counted as one thing
whether it surfaced as a refund, a return or a bad review. Platforms send
free text (often a sentence the buyer picked from a list); ``classify``
maps it to a code with word lists and says ``OTHER`` honestly when no word
matches, so agents can tag it by hand.
"""

from __future__ import annotations

from enum import StrEnum

from aftersales.core.i18n import N_


class ReasonCode(StrEnum):
    QUALITY = "quality"
    NOT_AS_DESCRIBED = "not_as_described"
    SIZE_FIT = "size_fit"
    DAMAGED = "damaged"
    WRONG_OR_MISSING = "wrong_or_missing"
    NOT_RECEIVED = "not_received"
    LOGISTICS = "logistics"
    CHANGED_MIND = "changed_mind"
    PRICE = "price"
    SERVICE = "service"
    AUTHENTICITY = "authenticity"
    OTHER = "other"


LABELS: dict[ReasonCode, str] = {
    ReasonCode.QUALITY: N_("Quality problem"),
    ReasonCode.NOT_AS_DESCRIBED: N_("Not as described"),
    ReasonCode.SIZE_FIT: N_("Size or fit"),
    ReasonCode.DAMAGED: N_("Damaged or badly packed"),
    ReasonCode.WRONG_OR_MISSING: N_("Wrong or missing item"),
    ReasonCode.NOT_RECEIVED: N_("Not received"),
    ReasonCode.LOGISTICS: N_("Delivery problem"),
    ReasonCode.CHANGED_MIND: N_("Changed mind (no-reason return)"),
    ReasonCode.PRICE: N_("Price"),
    ReasonCode.SERVICE: N_("Service attitude"),
    ReasonCode.AUTHENTICITY: N_("Authenticity"),
    ReasonCode.OTHER: N_("Other"),
}

# Quality-caused reasons: the owner's 品质退款率 counts refunds with these.
QUALITY_REASONS = frozenset(
    {
        ReasonCode.QUALITY,
        ReasonCode.NOT_AS_DESCRIBED,
        ReasonCode.DAMAGED,
        ReasonCode.WRONG_OR_MISSING,
        ReasonCode.AUTHENTICITY,
    }
)

# Checked in this order: the first list with a word in the text wins, so the
# more specific complaints come before the general ones.
_WORDS: list[tuple[ReasonCode, tuple[str, ...]]] = [
    (ReasonCode.AUTHENTICITY, ("假货", "正品", "fake", "counterfeit")),
    (ReasonCode.WRONG_OR_MISSING, ("错发", "漏发", "少件", "发错", "wrong item", "missing")),
    (ReasonCode.DAMAGED, ("破损", "损坏", "压坏", "包装", "damaged", "broken")),
    (ReasonCode.NOT_RECEIVED, ("未收到", "没收到", "不发货", "未发货", "not received")),
    (ReasonCode.SIZE_FIT, ("尺码", "大小", "太大", "太小", "size", "fit")),
    (ReasonCode.NOT_AS_DESCRIBED, ("描述不符", "色差", "与描述", "not as described")),
    (ReasonCode.QUALITY, ("质量", "做工", "瑕疵", "quality", "defect")),
    (ReasonCode.LOGISTICS, ("物流", "快递", "配送", "delivery", "shipping")),
    (
        ReasonCode.CHANGED_MIND,
        ("不想要", "七天无理由", "7天无理由", "拍错", "多拍", "changed my mind"),
    ),
    (ReasonCode.PRICE, ("降价", "差价", "价格", "price")),
    (ReasonCode.SERVICE, ("态度", "客服", "service")),
]


def classify(text: str | None) -> ReasonCode:
    """The first reason whose words appear in the text; ``OTHER`` when none does."""
    lowered = (text or "").lower()
    for code, words in _WORDS:
        if any(word in lowered for word in words):
            return code
    return ReasonCode.OTHER
