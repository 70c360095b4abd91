"""A store's return policy said in sentences, for the policy page.

The editor below it shows figures in boxes; an owner checking what the shop
promises, and an agent quoting it to a buyer, need the rules as sentences in
their own language, the categories by their names rather than their codes.
"""

from __future__ import annotations

from aftersales.core.errors import Msgid
from aftersales.core.i18n import N_
from aftersales.refunds.rules import Sentence
from aftersales.returns.events import RETURN_CATEGORIES
from aftersales.returns.policy import LAW_EXCLUDED, Policy

NO_REASON = N_("Buyers may return goods without giving a reason within %(days)s days of delivery.")
QUALITY = N_(
    "With a quality problem they may return goods within %(return_days)s days and exchange "
    "them within %(exchange_days)s days."
)
EXCLUDED = N_("Goods in these categories cannot be returned without a reason: %(categories)s.")
TAKEN_BACK = N_(
    "Goods in %(category)s are taken back without a reason too, though the law allows refusing."
)
CATEGORY_WINDOWS = N_(
    "Goods in %(category)s: no-reason returns within %(days)s days, quality returns within "
    "%(return_days)s days, quality exchanges within %(exchange_days)s days."
)
COUNTING = N_("Days count from the day after delivery, in the store's time zone.")


def category_name(category: str) -> object:
    """A law category by its label, a store's own category as the owner typed it."""
    label = RETURN_CATEGORIES.get(category)
    return Msgid(label) if label else category


def summary(policy: Policy) -> list[Sentence]:
    """The policy in force as sentences: the store's windows, then each category's own."""
    out = [
        Sentence(NO_REASON, {"days": policy.no_reason_days}),
        Sentence(
            QUALITY,
            {
                "return_days": policy.quality_return_days,
                "exchange_days": policy.quality_exchange_days,
            },
        ),
    ]
    names = sorted(LAW_EXCLUDED | set(policy.categories))
    excluded = [category_name(c) for c in names if policy.for_category(c)[1]]
    if excluded:
        out.append(Sentence(EXCLUDED, {"categories": excluded}))
    for name in names:
        windows, refused = policy.for_category(name)
        if name in LAW_EXCLUDED and not refused:
            out.append(Sentence(TAKEN_BACK, {"category": category_name(name)}))
        own = (
            windows.no_reason_days,
            windows.quality_return_days,
            windows.quality_exchange_days,
        )
        if own != (policy.no_reason_days, policy.quality_return_days, policy.quality_exchange_days):
            out.append(
                Sentence(
                    CATEGORY_WINDOWS,
                    {
                        "category": category_name(name),
                        "days": windows.no_reason_days,
                        "return_days": windows.quality_return_days,
                        "exchange_days": windows.quality_exchange_days,
                    },
                )
            )
    out.append(Sentence(COUNTING))
    return out
