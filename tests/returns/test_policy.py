"""The return policy on a table of cases: windows, exclusions, overrides, midnight edges."""

# ruff: noqa: E501  (the table reads best one case to a line)

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aftersales.core.errors import InvalidInput
from aftersales.core.reasons import ReasonCode as R
from aftersales.returns.policy import CategoryPolicy, Policy, ReturnKind, check

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
RET, EXC = ReturnKind.RETURN, ReturnKind.EXCHANGE


def sh(text: str) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


DEFAULT = Policy()
GENEROUS = Policy(
    no_reason_days=15,
    categories={
        "apparel": CategoryPolicy(no_reason_days=30),
        "custom": CategoryPolicy(excluded=False),  # this shop takes engraved pens back
        "electronics": CategoryPolicy(quality_exchange_days=30),
    },
    keywords={
        "apparel": ("T恤", "卫衣"),
        "custom": ("刻字",),
        "electronics": ("耳机",),
        "perishable": ("鲜果",),
    },
)

# (policy, kind, reason, delivered, requested, title, allowed, rule that decided)
CASES = [
    # No-reason window: delivered on the 1st, 7 days means through the 8th, local time.
    (DEFAULT, RET, R.CHANGED_MIND, "2026-11-01 15:00", "2026-11-08 23:59:59", "保温杯", True, "no_reason"),
    (DEFAULT, RET, R.CHANGED_MIND, "2026-11-01 15:00", "2026-11-09 00:00:00", "保温杯", False, "no_reason"),
    (DEFAULT, RET, R.CHANGED_MIND, "2026-11-01 00:00", "2026-11-08 23:59:59", "保温杯", True, "no_reason"),
    (DEFAULT, RET, R.CHANGED_MIND, "2026-11-01 23:59", "2026-11-09 00:00:01", "保温杯", False, "no_reason"),
    (DEFAULT, RET, R.SIZE_FIT, "2026-11-01 10:00", "2026-11-02 10:00", "保温杯", True, "no_reason"),
    (DEFAULT, RET, R.PRICE, "2026-11-01 10:00", "2026-11-20 10:00", "保温杯", False, "no_reason"),
    (DEFAULT, RET, R.OTHER, "2026-11-01 10:00", "2026-11-05 10:00", "保温杯", True, "no_reason"),
    (DEFAULT, RET, R.NOT_RECEIVED, "2026-11-01 10:00", "2026-11-12 10:00", "保温杯", False, "no_reason"),
    (DEFAULT, EXC, R.SIZE_FIT, "2026-11-01 10:00", "2026-11-08 20:00", "纯棉T恤", True, "no_reason"),
    (DEFAULT, EXC, R.SIZE_FIT, "2026-11-01 10:00", "2026-11-09 08:00", "纯棉T恤", False, "no_reason"),
    # Quality: return 7 days, exchange 15.
    (DEFAULT, RET, R.QUALITY, "2026-11-01 10:00", "2026-11-08 23:00", "保温杯", True, "quality_return"),
    (DEFAULT, RET, R.QUALITY, "2026-11-01 10:00", "2026-11-09 01:00", "保温杯", False, "quality_return"),
    (DEFAULT, EXC, R.QUALITY, "2026-11-01 10:00", "2026-11-09 01:00", "保温杯", True, "quality_exchange"),
    (DEFAULT, EXC, R.QUALITY, "2026-11-01 10:00", "2026-11-16 23:59", "保温杯", True, "quality_exchange"),
    (DEFAULT, EXC, R.QUALITY, "2026-11-01 10:00", "2026-11-17 00:00", "保温杯", False, "quality_exchange"),
    (DEFAULT, RET, R.DAMAGED, "2026-11-01 10:00", "2026-11-03 10:00", "陶瓷餐具", True, "quality_return"),
    (DEFAULT, EXC, R.WRONG_OR_MISSING, "2026-11-01 10:00", "2026-11-14 10:00", "陶瓷餐具", True, "quality_exchange"),
    (DEFAULT, RET, R.NOT_AS_DESCRIBED, "2026-11-01 10:00", "2026-11-10 10:00", "陶瓷餐具", False, "quality_return"),
    (DEFAULT, RET, R.AUTHENTICITY, "2026-11-01 10:00", "2026-11-06 10:00", "蓝牙耳机", True, "quality_return"),
    # Categories the law excludes from no-reason returns; quality still counts.
    (DEFAULT, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-11-02 10:00", "定制刻字钢笔", False, "excluded_category"),
    (DEFAULT, RET, R.QUALITY, "2026-11-01 10:00", "2026-11-02 10:00", "定制刻字钢笔", True, "quality_return"),
    (DEFAULT, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-11-02 10:00", "新疆阿克苏苹果 5斤", False, "excluded_category"),
    (DEFAULT, RET, R.DAMAGED, "2026-11-01 10:00", "2026-11-02 10:00", "新疆阿克苏苹果 5斤", True, "quality_return"),
    (DEFAULT, EXC, R.SIZE_FIT, "2026-11-01 10:00", "2026-11-02 10:00", "定制刻字钢笔", False, "excluded_category"),
    (DEFAULT, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-11-02 10:00", "游戏兑换码", False, "excluded_category"),
    (DEFAULT, RET, R.CHANGED_MIND, None, "2026-11-02 10:00", "定制刻字钢笔", False, "excluded_category"),
    # Not delivered yet: nothing can come back; a refund-only or a cancel is the way.
    (DEFAULT, RET, R.CHANGED_MIND, None, "2026-11-02 10:00", "保温杯", False, "not_delivered"),
    (DEFAULT, EXC, R.QUALITY, None, "2026-12-30 10:00", "保温杯", False, "not_delivered"),
    # A generous store: 15 days no-reason, 30 for apparel, custom goods taken back.
    (GENEROUS, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-11-16 23:59", "保温杯", True, "no_reason"),
    (GENEROUS, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-11-17 00:00", "保温杯", False, "no_reason"),
    (GENEROUS, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-12-01 23:59", "纯棉T恤 白", True, "no_reason"),
    (GENEROUS, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-12-02 00:00", "纯棉T恤 白", False, "no_reason"),
    (GENEROUS, EXC, R.SIZE_FIT, "2026-11-01 10:00", "2026-11-25 10:00", "加绒卫衣", True, "no_reason"),
    (GENEROUS, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-11-03 10:00", "刻字钢笔", True, "no_reason"),
    (GENEROUS, RET, R.CHANGED_MIND, "2026-11-01 10:00", "2026-11-03 10:00", "鲜果礼盒 苹果", False, "excluded_category"),
    (GENEROUS, EXC, R.QUALITY, "2026-11-01 10:00", "2026-11-30 10:00", "降噪耳机", True, "quality_exchange"),
    (GENEROUS, EXC, R.QUALITY, "2026-12-01 10:00", "2027-01-01 00:00", "降噪耳机", False, "quality_exchange"),
    (GENEROUS, RET, R.QUALITY, "2026-11-01 10:00", "2026-11-09 00:00", "降噪耳机", False, "quality_return"),
    # Month and year ends.
    (DEFAULT, RET, R.CHANGED_MIND, "2026-12-28 09:00", "2027-01-04 23:59", "保温杯", True, "no_reason"),
    (DEFAULT, RET, R.CHANGED_MIND, "2026-12-28 09:00", "2027-01-05 00:00", "保温杯", False, "no_reason"),
    (DEFAULT, EXC, R.QUALITY, "2027-02-20 09:00", "2027-03-07 23:59", "保温杯", True, "quality_exchange"),
    (DEFAULT, EXC, R.QUALITY, "2027-02-20 09:00", "2027-03-08 00:00", "保温杯", False, "quality_exchange"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "kind", "reason", "delivered", "requested", "title", "allowed", "rule"), CASES
)
def test_the_policy_table(policy, kind, reason, delivered, requested, title, allowed, rule) -> None:
    verdict = check(
        policy,
        kind=kind,
        reason=reason,
        requested_at=sh(requested),
        delivered_at=sh(delivered) if delivered else None,
        zone=SH,
        item_title=title,
    )
    assert verdict.allowed is allowed, verdict.explanation
    assert verdict.rules[-1].rule == rule
    assert verdict.rules[-1].passed is allowed
    assert verdict.explanation  # always says why


def test_windows_count_in_the_store_zone_not_utc() -> None:
    # Delivered at 23:30 on the 1st in Shanghai: that is the 1st there, though 15:30 UTC.
    delivered = datetime(2026, 11, 1, 15, 30, tzinfo=UTC)
    last = datetime(2026, 11, 8, 15, 59, tzinfo=UTC)  # 23:59 on the 8th in Shanghai
    kw = {"kind": RET, "reason": R.CHANGED_MIND, "delivered_at": delivered}
    assert check(DEFAULT, requested_at=last, zone=SH, **kw).allowed
    assert not check(DEFAULT, requested_at=last.replace(hour=16, minute=0), zone=SH, **kw).allowed
    # The same instant is the 1st in New York too, and its window ends at New York's midnight,
    # across the change back from summer time on 1 November 2026.
    ends = check(DEFAULT, requested_at=last, zone=NY, **kw).window_ends
    assert ends == datetime(2026, 11, 9, 0, 0, tzinfo=NY)
    assert ends.utcoffset().total_seconds() == -5 * 3600


def test_the_law_is_a_floor_and_settings_are_checked() -> None:
    with pytest.raises(InvalidInput, match="law's 7 days"):
        Policy(no_reason_days=5)
    with pytest.raises(InvalidInput, match="law's 15 days"):
        Policy(categories={"apparel": CategoryPolicy(quality_exchange_days=10)})
    with pytest.raises(InvalidInput, match="malformed"):
        Policy.from_settings({"no_reason_days": "a week"})
    parsed = Policy.from_settings(
        {"no_reason_days": 10, "categories": {"apparel": {"no_reason_days": 20}}}
    )
    assert parsed.no_reason_days == 10
    assert parsed.for_category("apparel")[0].no_reason_days == 20
    assert Policy.from_settings(None) == Policy()


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 40
