"""The owner's rating report: how buyers rate the shop, for what, and what the team turned round.

Every figure is a SQL aggregate (a large shop writes about 100k reviews a
year), grouped by UTC hour and folded into local days, weeks or months in
Python as the refund report does (``refunds.report.Sql`` and
``local_bucket``), and each comes with the same figure for the period just
before, of equal length.

Definitions (DOMAIN.md, "What owners read"; docs/reviews.md, "Rating report"):

- a review counts in the period its buyer rated in (``Review.created_at``);
  its class is the platform's good/neutral/bad, or for stars 4-5 good, 3
  neutral, 1-2 bad; a review with neither is "unrated" and left out of the rate;
- good-review rate (好评率): good / (good + neutral + bad);
- by reason: the reviews the desk takes as negative, once under each reason
  they give (a review may give several, so the rows add up to more than the
  negatives); a negative with no reason counts under "Other";
- case outcomes, turnaround and compensation: cases closed in the period;
  turnaround rate = recovered (revised or a positive follow-up) / closed;
- time to first contact: case opened to first contact, for cases first
  contacted in the period (median, nearest rank);
- compensation paid: the refund ledger's money for the refunds linked to the
  compensation remedies of those closed cases (money that really went back,
  whoever paid it; an offered, refused or unpaid one counts nothing), over the
  recovered reviews;
- shop scores (DSR): the latest snapshot of each store in the period, against
  the latest in the period before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections

from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.models import Store
from aftersales.core.periods import Period
from aftersales.core.reasons import LABELS as REASON_LABELS
from aftersales.core.reasons import ReasonCode
from aftersales.refunds.report import GRAIN_LABELS, GRAINS, Sql, local_bucket
from aftersales.reviews.models import RECOVERED, RemedyKind, ReviewOutcome, ShopScore

__all__ = ["GRAINS", "GRAIN_LABELS", "GROUPS", "RatingReport", "rating_report"]

CENT = Decimal("0.01")
GROUPS = ("product", "store", "reason")
CLASSES = ("good", "neutral", "bad")

# The review's class: the platform's own word, else its stars.
_CLASS = (
    "CASE WHEN r.result IS NOT NULL THEN r.result WHEN r.rating >= 4 THEN 'good' "
    "WHEN r.rating = 3 THEN 'neutral' WHEN r.rating IS NOT NULL THEN 'bad' ELSE 'unrated' END"
)


@dataclass
class Counts:
    good: int = 0
    neutral: int = 0
    bad: int = 0
    unrated: int = 0

    def add(self, kind: str, count: int) -> None:
        name = kind if kind in CLASSES else "unrated"
        setattr(self, name, getattr(self, name) + count)

    @property
    def rated(self) -> int:
        return self.good + self.neutral + self.bad

    @property
    def total(self) -> int:
        return self.rated + self.unrated

    @property
    def rate(self) -> float | None:
        """The good-review rate (好评率); None without a rated review to divide by."""
        return self.good / self.rated if self.rated else None


@dataclass
class Row:
    """One line of a breakdown or of the series: this period against the one before."""

    key: str
    label: str
    now: Counts = field(default_factory=Counts)
    before: Counts = field(default_factory=Counts)
    # True when ``label`` is an ``N_()`` msgid (a reason); else it is data (a
    # product title, a store name) and is never translated.
    msgid: bool = False

    def shown(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.label) if self.msgid else self.label


def translated(rows: list[Row], gettext: Callable[[str], str]) -> list[Row]:
    """The rows with their labels as the reader sees them, for pages."""
    return [replace(row, label=row.shown(gettext), msgid=False) for row in rows]


@dataclass
class CaseFigures:
    """What the team did with the negative reviews whose cases closed in a period."""

    outcomes: dict[ReviewOutcome, int] = field(default_factory=dict)
    contacted: int = 0
    first_contact_median_hours: float | None = None
    compensation_paid: Decimal = Decimal("0.00")
    compensation_offered: Decimal = Decimal("0.00")
    compensations: int = 0

    @property
    def closed(self) -> int:
        return sum(self.outcomes.values())

    @property
    def recovered(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome in RECOVERED)

    @property
    def turnaround_rate(self) -> float | None:
        return self.recovered / self.closed if self.closed else None

    @property
    def per_recovered(self) -> Decimal | None:
        """Compensation paid per recovered review; None when none was recovered."""
        if not self.recovered:
            return None
        return (self.compensation_paid / self.recovered).quantize(CENT)


@dataclass
class Scores:
    day: date
    description: Decimal | None
    service: Decimal | None
    logistics: Decimal | None


@dataclass
class StoreScores:
    """One store's shop scores (DSR); both None: nothing recorded for it."""

    store_id: int
    store: str
    now: Scores | None = None
    before: Scores | None = None


@dataclass
class RatingReport:
    period: Period
    grain: str
    currency: str
    totals: Counts
    previous: Counts
    negatives: int
    previous_negatives: int
    series: list[Row]
    groups: dict[str, list[Row]]
    cases: CaseFigures
    previous_cases: CaseFigures
    scores: list[StoreScores]

    @property
    def any_scores(self) -> bool:
        return any(s.now or s.before for s in self.scores)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


async def rating_report(
    period: Period, *, zone: ZoneInfo, store_id: int | None = None, grain: str = "day"
) -> RatingReport:
    if grain not in GRAINS:
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name="group",
            choices=", ".join(GRAINS),
            code="invalid_parameter",
        )
    sql = Sql(connections.get("default"), zone, period.start)
    scope = _Scope(sql, period, store_id, zone)
    totals, negatives = await scope.totals(period)
    previous, previous_negatives = await scope.totals(period.previous)
    return RatingReport(
        period=period,
        grain=grain,
        currency=await scope.currency(),
        totals=totals,
        previous=previous,
        negatives=negatives,
        previous_negatives=previous_negatives,
        series=await scope.series(grain),
        groups={group: await scope.breakdown(group) for group in GROUPS},
        cases=await scope.cases(period),
        previous_cases=await scope.cases(period.previous),
        scores=await scope.scores(),
    )


class _Scope:
    """The filters every query shares: the period and, optionally, one store."""

    def __init__(self, sql: Sql, period: Period, store_id: int | None, zone: ZoneInfo) -> None:
        self.sql, self.period, self.store_id, self.zone = sql, period, store_id, zone

    def _where(self, alias: str, column: str, period: Period) -> tuple[str, list[Any]]:
        where = f"{alias}.{column} >= ? AND {alias}.{column} < ?"
        params: list[Any] = [period.start, period.end]
        if self.store_id:
            where += f" AND {alias}.store_id = ?"
            params.append(self.store_id)
        return where, params

    async def currency(self) -> str:
        where, params = self._where("c", "closed_at", Period(self.period.previous.start,
                                                             self.period.end))  # fmt: skip
        rows = await self.sql.rows(
            f"SELECT c.currency, COUNT(*) FROM review_cases c WHERE {where} "
            "GROUP BY c.currency ORDER BY COUNT(*) DESC LIMIT 1",
            params,
        )
        return str(rows[0][0]) if rows else "CNY"

    async def totals(self, period: Period) -> tuple[Counts, int]:
        where, params = self._where("r", "created_at", period)
        counts, negatives = Counts(), 0
        for kind, count, negative in await self.sql.rows(
            f"SELECT {_CLASS}, COUNT(*), SUM(CASE WHEN r.negative THEN 1 ELSE 0 END) "
            f"FROM reviews r WHERE {where} GROUP BY 1",
            params,
        ):
            counts.add(str(kind), int(count))
            negatives += int(negative or 0)
        return counts, negatives

    async def series(self, grain: str) -> list[Row]:
        where, params = self._where("r", "created_at", self.period)
        hour = self.sql.hour("r.created_at")
        buckets: dict[str, Row] = {}
        for h, kind, count in await self.sql.rows(
            f"SELECT {hour}, {_CLASS}, COUNT(*) FROM reviews r WHERE {where} GROUP BY 1, 2",
            params,
        ):
            key = local_bucket(h, self.zone, grain)
            buckets.setdefault(key, Row(key=key, label=key)).now.add(str(kind), int(count))
        return [buckets[key] for key in sorted(buckets)]

    async def breakdown(self, group: str) -> list[Row]:
        """Counts by one dimension, this period and the one before, in one query."""
        both = Period(self.period.previous.start, self.period.end)
        where, params = self._where("r", "created_at", both)
        if group == "product":
            key, label, joins = "r.platform_item_id", "MIN(r.product_title)", ""
        elif group == "store":
            key, label, joins = "r.store_id", "MIN(s.name)", "JOIN stores s ON s.id = r.store_id"
        else:
            key, label, joins = self._reason_key(), "''", self._reason_join()
            where += " AND r.negative"
        now = "CASE WHEN r.created_at >= ? THEN 1 ELSE 0 END"
        rows: dict[str, Row] = {}
        for k, text, is_now, kind, count in await self.sql.rows(
            f"SELECT {key}, {label}, {now}, {_CLASS}, COUNT(*) FROM reviews r {joins} "
            f"WHERE {where} GROUP BY 1, 3, 4",
            [self.period.start, *params],
        ):
            row = self._row(rows, group, k, text)
            (row.now if int(is_now) else row.before).add(str(kind), int(count))
        if group == "reason":  # a negative review without a reason is "Other"
            for is_now, kind, count in await self.sql.rows(
                f"SELECT {now}, {_CLASS}, COUNT(*) FROM reviews r WHERE {where} "
                f"AND {self._no_reasons()} GROUP BY 1, 2",
                [self.period.start, *params],
            ):
                row = self._row(rows, group, ReasonCode.OTHER.value, "")
                (row.now if int(is_now) else row.before).add(str(kind), int(count))
        return sorted(rows.values(), key=lambda r: (-r.now.total, -r.before.total, r.key))

    def _row(self, rows: dict[str, Row], group: str, key: Any, text: Any) -> Row:
        code = str(key if key is not None else "")
        if group == "reason" and code not in set(ReasonCode):
            code = ReasonCode.OTHER.value  # a reason the desk no longer knows
        if code not in rows:
            if group == "reason":
                rows[code] = Row(code, REASON_LABELS[ReasonCode(code)], msgid=True)
            elif group == "product" and not code:
                rows[code] = Row(code, N_("(no product given)"), msgid=True)
            else:
                rows[code] = Row(code, str(text or code))
        return rows[code]

    def _reason_join(self) -> str:
        if self.sql.postgres:
            return "CROSS JOIN LATERAL jsonb_array_elements(r.reasons) AS j(value)"
        return "JOIN json_each(r.reasons) j"

    def _reason_key(self) -> str:
        """The reason code of one element: ``{"reason": code, "confidence": x}``, or a bare code."""
        if self.sql.postgres:
            return (
                "CASE WHEN jsonb_typeof(j.value) = 'object' THEN j.value->>'reason' "
                "ELSE j.value #>> '{}' END"
            )
        return "CASE WHEN j.type = 'object' THEN json_extract(j.value, '$.reason') ELSE j.value END"

    def _no_reasons(self) -> str:
        if self.sql.postgres:
            return "jsonb_array_length(r.reasons) = 0"
        return "json_array_length(r.reasons) = 0"

    async def cases(self, period: Period) -> CaseFigures:
        figures = CaseFigures()
        where, params = self._where("c", "closed_at", period)
        for outcome, count in await self.sql.rows(
            f"SELECT c.outcome, COUNT(*) FROM review_cases c WHERE {where} "
            "AND c.status = 'closed' AND c.outcome IS NOT NULL GROUP BY 1",
            params,
        ):
            if str(outcome) in set(ReviewOutcome):
                figures.outcomes[ReviewOutcome(str(outcome))] = int(count)
        m = self.sql.money
        remedies = (
            "FROM review_remedies m JOIN review_cases c ON c.id = m.case_id "
            f"WHERE m.kind = '{RemedyKind.COMPENSATION.value}' AND c.status = 'closed' AND {where}"
        )
        ((offered, compensations),) = await self.sql.rows(
            f"SELECT SUM({m('m.amount')}), COUNT(*) {remedies}", params
        )
        ((paid,),) = await self.sql.rows(
            f"SELECT SUM({m('l.amount')}) FROM refund_ledger l WHERE l.refund_id IN "
            f"(SELECT m.refund_id {remedies} AND m.refund_id IS NOT NULL)",
            params,
        )
        figures.compensation_offered, figures.compensation_paid = _dec(offered), _dec(paid)
        figures.compensations = int(compensations or 0)
        figures.contacted, figures.first_contact_median_hours = await self._median_contact(period)
        return figures

    async def _median_contact(self, period: Period) -> tuple[int, float | None]:
        """Count and median (nearest rank) of case-opened-to-first-contact hours."""
        where, params = self._where("c", "first_contact_at", period)
        hours = self.sql.hours("c.requested_at", "c.first_contact_at")
        rows = await self.sql.rows(
            "SELECT n, h FROM (SELECT h, ROW_NUMBER() OVER (ORDER BY h) AS rn, "
            f"COUNT(*) OVER () AS n FROM (SELECT {hours} AS h FROM review_cases c "
            f"WHERE {where}) d) ranked WHERE rn = CAST((n + 1) / 2 AS INTEGER)",
            params,
        )
        return (int(rows[0][0]), float(rows[0][1])) if rows else (0, None)

    async def scores(self) -> list[StoreScores]:
        """Each store's latest shop scores in the period and in the one before."""
        first = self.period.previous.start.astimezone(self.zone).date()
        start = self.period.start.astimezone(self.zone).date()
        last = (self.period.end.astimezone(self.zone) - timedelta(microseconds=1)).date()
        stores = Store.all().order_by("id")
        if self.store_id:
            stores = stores.filter(id=self.store_id)
        result = {s.id: StoreScores(s.id, s.name) for s in await stores}
        snapshots = ShopScore.filter(
            store_id__in=list(result), day__gte=first, day__lte=last
        ).order_by("day")
        for snap in await snapshots:
            scores = Scores(snap.day, snap.description, snap.service, snap.logistics)
            if snap.day >= start:
                result[snap.store_id].now = scores
            else:
                result[snap.store_id].before = scores
        return list(result.values())
