"""Is this return or exchange inside the shop's policy and the law? And why.

Pure functions over plain values, so the case page, the API's policy check
and the table of tests all ask the same question the same way. A verdict
lists every rule it applied with its explanation, not just yes or no: an
agent has to tell the buyer why, and an owner has to see which rule bites.

The law (DOMAIN.md): goods bought online may be returned without a reason
within 7 days of receipt, except custom-made, perishable, digital and
similar goods; quality problems allow a return within 7 days and an
exchange within 15. A shop may be more generous, per store and per
category, never less. Windows count whole days in the store's time zone
from the day after delivery (自签收次日起): delivered on the 1st at 15:00,
a 7-day window ends at midnight after the 8th.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from aftersales.core.errors import InvalidInput, Msgid
from aftersales.core.i18n import N_
from aftersales.core.reasons import QUALITY_REASONS, ReasonCode

# The legal floor: settings may raise these, never lower them.
LAW_NO_REASON_DAYS = 7
LAW_QUALITY_RETURN_DAYS = 7
LAW_QUALITY_EXCHANGE_DAYS = 15
# Categories the law excludes from no-reason returns (Consumer Rights Protection Law art. 25).
# The windows by name, as a refusal names them (a msgid each, translated with it).
NO_REASON = Msgid(N_("no-reason"))
QUALITY_RETURN = Msgid(N_("quality return"))
QUALITY_EXCHANGE = Msgid(N_("quality exchange"))
LAW_EXCLUDED = frozenset({"custom", "perishable", "digital", "periodical"})


class ReturnKind(StrEnum):
    RETURN = "return"
    EXCHANGE = "exchange"


@dataclass(frozen=True)
class CategoryPolicy:
    """A category's own windows; ``None`` keeps the store's."""

    no_reason_days: int | None = None
    quality_return_days: int | None = None
    quality_exchange_days: int | None = None
    # None: excluded when the law excludes it. False: the shop takes these back
    # anyway, which the law allows (it only lets the shop refuse).
    excluded: bool | None = None


@dataclass(frozen=True)
class Policy:
    """A store's return policy. ``keywords`` map words in an item's title to a category."""

    no_reason_days: int = LAW_NO_REASON_DAYS
    quality_return_days: int = LAW_QUALITY_RETURN_DAYS
    quality_exchange_days: int = LAW_QUALITY_EXCHANGE_DAYS
    categories: Mapping[str, CategoryPolicy] = field(default_factory=dict)
    keywords: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "custom": ("定制", "刻字", "custom"),
            "perishable": ("生鲜", "鲜果", "苹果", "水果", "fresh"),
            "digital": ("激活码", "兑换码", "虚拟", "gift card"),
        }
    )

    def __post_init__(self) -> None:
        floors = (
            (NO_REASON, self.no_reason_days, LAW_NO_REASON_DAYS),
            (QUALITY_RETURN, self.quality_return_days, LAW_QUALITY_RETURN_DAYS),
            (QUALITY_EXCHANGE, self.quality_exchange_days, LAW_QUALITY_EXCHANGE_DAYS),
        )
        for name, days, floor in floors:
            if days < floor:
                raise InvalidInput(
                    N_("The %(window)s window cannot be shorter than the law's %(floor)s days."),
                    window=name,
                    floor=floor,
                    days=days,
                    code="return_window_below_law",
                )
        for category, rules in self.categories.items():
            for name, days, floor in (
                (NO_REASON, rules.no_reason_days, LAW_NO_REASON_DAYS),
                (QUALITY_RETURN, rules.quality_return_days, LAW_QUALITY_RETURN_DAYS),
                (QUALITY_EXCHANGE, rules.quality_exchange_days, LAW_QUALITY_EXCHANGE_DAYS),
            ):
                if days is not None and days < floor:
                    raise InvalidInput(
                        N_(
                            "%(category)s: the %(window)s window cannot be shorter than the "
                            "law's %(floor)s days."
                        ),
                        category=category,
                        window=name,
                        floor=floor,
                        days=days,
                        code="return_window_below_law",
                    )

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any] | None) -> Policy:
        """The store's ``returns_policy`` setting (JSON) as a policy; bad values raise."""
        raw = raw or {}
        try:
            categories = {
                str(name): CategoryPolicy(
                    no_reason_days=_days(rules.get("no_reason_days")),
                    quality_return_days=_days(rules.get("quality_return_days")),
                    quality_exchange_days=_days(rules.get("quality_exchange_days")),
                    excluded=rules.get("excluded"),
                )
                for name, rules in (raw.get("categories") or {}).items()
            }
            base = cls()
            keywords = {
                str(k): tuple(str(w) for w in v)
                for k, v in (raw.get("keywords") or base.keywords).items()
            }
            return cls(
                no_reason_days=_days(raw.get("no_reason_days")) or LAW_NO_REASON_DAYS,
                quality_return_days=_days(raw.get("quality_return_days"))
                or LAW_QUALITY_RETURN_DAYS,
                quality_exchange_days=_days(raw.get("quality_exchange_days"))
                or LAW_QUALITY_EXCHANGE_DAYS,
                categories=categories,
                keywords=keywords,
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise InvalidInput(
                N_("The return policy setting is malformed; nothing was changed."),
                problem=str(exc),
                code="return_policy_malformed",
            ) from None

    def category_of(self, title: str) -> str | None:
        """The first category whose keyword is in the item's title."""
        lowered = title.lower()
        for category, words in self.keywords.items():
            if any(word.lower() in lowered for word in words):
                return category
        return None

    def for_category(self, category: str | None) -> tuple[Policy, bool]:
        """The windows that apply to a category, and whether no-reason returns are excluded."""
        rules = self.categories.get(category or "", CategoryPolicy())
        excluded = rules.excluded if rules.excluded is not None else category in LAW_EXCLUDED
        merged = replace(
            self,
            no_reason_days=rules.no_reason_days or self.no_reason_days,
            quality_return_days=rules.quality_return_days or self.quality_return_days,
            quality_exchange_days=rules.quality_exchange_days or self.quality_exchange_days,
        )
        return merged, excluded


def _days(value: Any) -> int | None:
    if value is None or value == "":
        return None
    days = int(value)
    if days <= 0 or days > 365:
        raise ValueError(f"{days} is not a number of days")
    return days


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    explanation: str
    params: Mapping[str, Any] = field(default_factory=dict)  # for the page's own wording


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rules: tuple[RuleResult, ...]
    window_ends: datetime | None  # the last moment (exclusive) of the window that applied

    @property
    def explanation(self) -> str:
        return "; ".join(r.explanation for r in self.rules)


def window_end(delivered_at: datetime, days: int, zone: ZoneInfo) -> datetime:
    """Midnight after the ``days``-th whole local day following the delivery day."""
    delivered_day = delivered_at.astimezone(zone).date()
    return datetime.combine(delivered_day + timedelta(days=days + 1), time(), tzinfo=zone)


def check(
    policy: Policy,
    *,
    kind: ReturnKind,
    reason: ReasonCode,
    requested_at: datetime,
    delivered_at: datetime | None,
    zone: ZoneInfo,
    item_title: str = "",
    category: str | None = None,
) -> Verdict:
    """The verdict on one request; every rule that decided it is in ``rules``."""
    category = category or policy.category_of(item_title)
    applied, excluded = policy.for_category(category)
    quality = reason in QUALITY_REASONS
    rules: list[RuleResult] = []
    if category:
        rules.append(RuleResult("category", True, f"category {category}", {"category": category}))
    if not quality and excluded:
        rules.append(
            RuleResult(
                "excluded_category",
                False,
                f"{category} goods cannot be returned without a quality problem",
                {"category": category},
            )
        )
        return Verdict(False, tuple(rules), None)
    if delivered_at is None:
        # Nothing reached the buyer, so nothing can come back: the money goes back by a
        # refund-only (or the order is cancelled), not by a return the policy "allows".
        rules.append(
            RuleResult(
                "not_delivered",
                False,
                "not delivered yet: the goods have not reached the buyer; "
                "cancel the order or start a refund-only instead",
            )
        )
        return Verdict(False, tuple(rules), None)
    if quality:
        days = (
            applied.quality_exchange_days
            if kind is ReturnKind.EXCHANGE
            else applied.quality_return_days
        )
        name = f"quality_{kind.value}"
        label = f"quality {kind.value}"
    else:
        days, name, label = applied.no_reason_days, "no_reason", f"no-reason {kind.value}"
    ends = window_end(delivered_at, days, zone)
    inside = requested_at < ends
    last_day = (ends - timedelta(days=1)).date().isoformat()
    rules.append(
        RuleResult(
            name,
            inside,
            f"{label} window of {days} days after delivery ends with {last_day}: "
            + ("inside" if inside else "too late"),
            {"days": days, "last_day": last_day},
        )
    )
    return Verdict(inside, tuple(rules), ends)
