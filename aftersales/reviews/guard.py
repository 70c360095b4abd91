"""The guard rail: nothing the shop offers or says is conditioned on the buyer's review.

Paying for a changed rating (好评返现, "a refund if you update your review")
is against every platform's rules and, in China, the E-Commerce Law (电子商务法
第十七条: no false or misleading reviews, no deleting them). A remedy is owed
for the problem the buyer had, whether or not the review changes.

So every text that leaves the desk for the buyer (a remedy's offer, a
reply) and every shipped phrase passes ``findings``: a text that both asks
for a rating change (good review, five stars, revise, delete, 追评...) and
names something of value (cashback, refund, coupon, red packet...) is a
tie, wherever in the text the two stand, since "补偿您10元。麻烦改下评价" ties
them across a full stop just as well. A false alarm costs an agent a
rewording; a missed one costs the shop its store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_

# Asking for the review to change, in Chinese. "评价" alone is not here: thanking a buyer
# for a review is fine; asking them to change it is not.
_ZH_RATING = (
    "好评", "五星", "5星", "五分", "满分", "改评", "追评", "删评", "删差评", "删中评",
    "删除评价", "删掉评价", "删了评价", "修改评价", "更改评价", "改评价", "改一下评价",
    "改下评价", "撤销评价", "撤回评价", "撤掉评价", "追加评价", "改成好评", "改为好评",
    "评价改", "评分改", "修改评分", "提高评分",
)  # fmt: skip
# Something of value, in Chinese.
_ZH_VALUE = (
    "返现", "补偿", "退款", "红包", "优惠券", "代金券", "赔偿", "现金", "礼品", "赠品", "返利",
    "退钱", "打款", "转账", "奖励", "好处", "免单", "报销", "积分", "折扣", "补贴", "返还",
)  # fmt: skip

_EN_RATING = re.compile(
    r"\b(?:change|changing|remove|removing|delete|deleting|update|updating|edit|editing|"
    r"revise|revising|amend|amending|withdraw|withdrawing|take\s+down|raise|raising|"
    r"upgrade|upgrading|improve|improving|modify|modifying|retract|retracting)\b"
    r"[^.!?\n]{0,40}?\b(?:review|reviews|rating|ratings|feedback|stars?)\b"
    r"|\b(?:5|five)[-\s]?stars?\b"
    r"|\b(?:positive|good|better|higher|great|nice)\s+(?:review|rating|feedback)\b",
    re.IGNORECASE,
)
_EN_VALUE = re.compile(
    r"\b(?:refund|refunds|refunded|coupon|coupons|voucher|vouchers|cash\s?back|"
    r"compensation|compensate|discount|discounts|gift|gifts|money\s+back|credit|"
    r"store\s+credit|reward|rewards|rebate|rebates|free|bonus|payment|pay\s+you)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    """The two halves of a tie found in a text: the rating words and the value words."""

    rating: tuple[str, ...]
    value: tuple[str, ...]

    @property
    def words(self) -> str:
        return ", ".join(dict.fromkeys((*self.rating, *self.value)))


def _zh(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if w in text]


def findings(text: str) -> Finding | None:
    """The tie in ``text`` of a rating change and something of value, or None.

    Chinese and English are both read whatever the text's language, since a
    buyer-facing text mixes them ("5星好评返现 coupon").
    """
    compact = re.sub(r"\s+", "", text)
    rating = _zh(compact, _ZH_RATING) + [m.group(0) for m in _EN_RATING.finditer(text)]
    value = _zh(compact, _ZH_VALUE) + [m.group(0) for m in _EN_VALUE.finditer(text)]
    if rating and value:
        return Finding(tuple(dict.fromkeys(rating)), tuple(dict.fromkeys(value)))
    return None


class TiedToReview(InvalidInput):
    """A remedy or a reply that ties something of value to the buyer changing the review."""

    status = 422
    code = "remedy_tied_to_review"
    msgid = N_(
        "A remedy or a reply may never ask the buyer to change or remove the review in "
        "exchange for anything: platform rules and the law forbid it. Offer the remedy for "
        "the problem alone and take out the words about the rating (%(words)s). "
        "Nothing was sent."
    )


def check(text: str, *, subject: object | None = None) -> None:
    """Refuse (422 ``remedy_tied_to_review``) a text that ties value to the review."""
    found = findings(text)
    if found is not None:
        raise TiedToReview(obj=subject, words=found.words)
