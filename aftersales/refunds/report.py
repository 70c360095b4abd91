"""The owner's refund report: how much went back, why, for what, by whom, how fast.

Every figure is a SQL aggregate over the ledger (money that really went
back, whoever paid it) and the refunds table, so a year of a large shop is
a handful of indexed queries rather than rows walked in Python
(``bench/reports.py`` measures it against one hand-written statement).
Each figure comes with the same figure for the period just before.

Definitions (DOMAIN.md, "What owners read"):

- refund amount: ledger entries dated in the period;
- refund rate by amount: refund amount / amount paid on orders paid in the
  period; by orders: orders with money back / orders paid;
- dispute refund rate: refunds paid after the platform stepped in / orders
  paid; quality refund rate: refunds paid for a quality reason / orders paid;
- time to decision: request to the desk's decision; time to money back:
  request to payment; median and 90th percentile (nearest rank);
- misses: refunds the platform agreed because our answer came too late.

Amounts of one currency only (a shop's own); buckets are days, weeks
(Monday first) or months in the desk's time zone at the period's start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from aftersales.core.db import sqlite_value
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.periods import Period
from aftersales.core.reasons import LABELS, QUALITY_REASONS, ReasonCode

CENT = Decimal("0.01")
GRAINS = ("day", "week", "month")
GRAIN_LABELS = {"day": N_("day"), "week": N_("week"), "month": N_("month")}
GROUPS = ("reason", "sku", "store", "agent")


@dataclass
class Totals:
    refunded: Decimal = Decimal("0.00")
    refunds: int = 0
    refunded_orders: int = 0
    paid: Decimal = Decimal("0.00")
    paid_orders: int = 0
    disputed: int = 0
    quality: int = 0
    auto_agreed: int = 0

    @property
    def amount_rate(self) -> float | None:
        return float(self.refunded / self.paid) if self.paid else None

    @property
    def order_rate(self) -> float | None:
        return self.refunded_orders / self.paid_orders if self.paid_orders else None

    @property
    def dispute_rate(self) -> float | None:
        return self.disputed / self.paid_orders if self.paid_orders else None

    @property
    def quality_rate(self) -> float | None:
        return self.quality / self.paid_orders if self.paid_orders else None


@dataclass
class Row:
    """One line of a breakdown: this period against the one before."""

    key: str
    label: str
    amount: Decimal
    refunds: int
    previous_amount: Decimal = Decimal("0.00")
    previous_refunds: int = 0
    paid: Decimal | None = None  # series rows: paid in the bucket, for the rate
    # True when ``label`` is an ``N_()`` msgid (a reason, "(whole order)"); else it is
    # data (a product title, a store name, a username) and is never translated.
    msgid: bool = False

    @property
    def rate(self) -> float | None:
        return float(self.amount / self.paid) if self.paid else None

    def shown(self, gettext: Callable[[str], str]) -> str:
        """The label as a reader sees it: msgids in their language, data as it is."""
        return gettext(self.label) if self.msgid else self.label


def translated(rows: list[Row], gettext: Callable[[str], str]) -> list[Row]:
    """The rows with their labels as the reader sees them (``Row.shown``), for pages."""
    return [replace(row, label=row.shown(gettext), msgid=False) for row in rows]


@dataclass
class Timing:
    decided: int = 0
    decision_median_hours: float | None = None
    decision_p90_hours: float | None = None
    paid: int = 0
    money_median_hours: float | None = None
    money_p90_hours: float | None = None


@dataclass
class Miss:
    refund_id: int
    platform_order_id: str
    amount: Decimal
    due_at: datetime | None
    refunded_at: datetime | None


@dataclass
class RefundReport:
    period: Period
    currency: str
    grain: str
    totals: Totals
    previous: Totals
    series: list[Row]
    groups: dict[str, list[Row]]
    timing: Timing
    previous_timing: Timing
    misses: list[Miss] = field(default_factory=list)


# -- SQL for both databases -------------------------------------------------------------------


class Sql:
    """The few places SQLite and PostgreSQL differ, and parameter numbering."""

    def __init__(self, conn: BaseDBAsyncClient, zone: ZoneInfo, at: datetime) -> None:
        self.conn = conn
        self.postgres = conn.capabilities.dialect == "postgres"
        offset = zone.utcoffset(at.replace(tzinfo=None)) or timedelta(0)
        self.minutes = int(offset.total_seconds() // 60)

    def value(self, value: Any) -> Any:
        return value if self.postgres else sqlite_value(value)

    def hour(self, column: str) -> str:
        """The UTC hour of a time: cheap to group by.

        Folding hours into local days in Python (``local_bucket``) is much
        faster than converting every row's time in SQL, and follows the
        zone's real offset at each hour, summer time included. Times are
        stored in UTC, so on SQLite the hour is the text's first 13 characters.
        """
        if self.postgres:
            return f"date_trunc('hour', {column} AT TIME ZONE 'UTC')"
        return f"substr({column}, 1, 13)"

    def hours(self, start: str, end: str) -> str:
        if self.postgres:
            return f"EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0"
        return f"(julianday({end}) - julianday({start})) * 24.0"

    def money(self, column: str) -> str:
        # SQLite keeps decimals as text; CAST keeps its SUM numeric.
        return column if self.postgres else f"CAST({column} AS REAL)"

    async def rows(self, sql: str, params: list[Any]) -> list[Any]:
        if self.postgres:
            parts = sql.split("?")
            sql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        _, rows = await self.conn.execute_query(sql, [self.value(p) for p in params])
        return list(rows)


def local_bucket(hour: str | datetime, zone: ZoneInfo, grain: str) -> str:
    """The local day, week (its Monday) or month, as ``YYYY-MM-DD``, of a UTC hour
    (text ``YYYY-MM-DD HH`` from SQLite, a naive UTC timestamp from PostgreSQL)."""
    if not isinstance(hour, datetime):
        hour = datetime.strptime(hour, "%Y-%m-%d %H")
    local = hour.replace(tzinfo=UTC).astimezone(zone).date()
    if grain == "week":
        local -= timedelta(days=local.weekday())
    elif grain == "month":
        local = local.replace(day=1)
    return local.isoformat()


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


# -- the report -------------------------------------------------------------------------------


async def refund_report(
    period: Period,
    *,
    zone: ZoneInfo,
    currency: str | None = None,
    store_id: int | None = None,
    grain: str = "day",
    misses_limit: int = 200,
) -> RefundReport:
    if grain not in GRAINS:
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name="grain",
            choices=", ".join(GRAINS),
            code="invalid_parameter",
        )
    sql = Sql(connections.get("default"), zone, period.start)
    currency = currency or await _main_currency(sql, period, store_id)
    scope = _Scope(sql, period, currency, store_id, zone)
    return RefundReport(
        period=period,
        currency=currency,
        grain=grain,
        totals=await scope.totals(period),
        previous=await scope.totals(period.previous),
        series=await scope.series(grain),
        groups={group: await scope.breakdown(group) for group in GROUPS},
        timing=await scope.timing(period),
        previous_timing=await scope.timing(period.previous),
        misses=await scope.misses(misses_limit),
    )


async def _main_currency(sql: Sql, period: Period, store_id: int | None) -> str:
    where, params = "paid_at >= ? AND paid_at < ?", [period.start, period.end]
    if store_id:
        where, params = where + " AND store_id = ?", [*params, store_id]
    rows = await sql.rows(
        f"SELECT currency, COUNT(*) FROM orders WHERE {where} GROUP BY currency "
        "ORDER BY COUNT(*) DESC LIMIT 1",
        params,
    )
    return str(rows[0][0]) if rows else "CNY"


class _Scope:
    """The filters every query shares: currency and, optionally, one store."""

    def __init__(
        self, sql: Sql, period: Period, currency: str, store_id: int | None, zone: ZoneInfo
    ) -> None:
        self.sql, self.period, self.currency, self.store_id = sql, period, currency, store_id
        self.zone = zone
        self._paid: dict[Period, list[Any]] = {}

    async def paid_hours(self, period: Period) -> list[Any]:
        """(UTC hour, amount paid, orders paid): one pass over the period's orders, shared
        by the totals and the series."""
        if period not in self._paid:
            m = self.sql.money
            where, params = self._where("o", "paid_at", period)
            hour = self.sql.hour("o.paid_at")
            self._paid[period] = await self.sql.rows(
                f"SELECT {hour}, SUM({m('o.paid_amount')}), COUNT(*) FROM orders o "
                f"WHERE {where} GROUP BY 1",
                params,
            )
        return self._paid[period]

    def _where(self, alias: str, column: str, period: Period) -> tuple[str, list[Any]]:
        where = f"{alias}.{column} >= ? AND {alias}.{column} < ? AND {alias}.currency = ?"
        params: list[Any] = [period.start, period.end, self.currency]
        if self.store_id:
            where += f" AND {alias}.store_id = ?"
            params.append(self.store_id)
        return where, params

    async def totals(self, period: Period) -> Totals:
        m = self.sql.money
        where, params = self._where("l", "at", period)
        (money,) = await self.sql.rows(
            f"SELECT SUM({m('l.amount')}), COUNT(DISTINCT l.refund_id), "
            f"COUNT(DISTINCT l.order_id) FROM refund_ledger l WHERE {where}",
            params,
        )
        hours = await self.paid_hours(period)
        paid = (sum((_dec(h[1]) for h in hours), Decimal(0)), sum(int(h[2]) for h in hours))
        where, params = self._where("r", "refunded_at", period)
        quality = ", ".join(f"'{r.value}'" for r in sorted(QUALITY_REASONS))
        (kinds,) = await self.sql.rows(
            "SELECT SUM(CASE WHEN r.disputed THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN r.reason IN ({quality}) THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN r.auto_agreed THEN 1 ELSE 0 END) "
            f"FROM refunds r WHERE {where} AND r.status = 'refunded'",
            params,
        )
        return Totals(
            refunded=_dec(money[0]),
            refunds=int(money[1] or 0),
            refunded_orders=int(money[2] or 0),
            paid=_dec(paid[0]),
            paid_orders=int(paid[1] or 0),
            disputed=int(kinds[0] or 0),
            quality=int(kinds[1] or 0),
            auto_agreed=int(kinds[2] or 0),
        )

    async def series(self, grain: str) -> list[Row]:
        m = self.sql.money
        where, params = self._where("l", "at", self.period)
        hour = self.sql.hour("l.at")
        refunded: dict[str, list[Any]] = {}
        # A refund's ledger rows are written together, so its hour is one hour:
        # distinct refunds per hour add up to distinct refunds per bucket.
        for h, amount, count in await self.sql.rows(
            f"SELECT {hour}, SUM({m('l.amount')}), COUNT(DISTINCT l.refund_id) "
            f"FROM refund_ledger l WHERE {where} GROUP BY 1",
            params,
        ):
            into = refunded.setdefault(local_bucket(h, self.zone, grain), [Decimal(0), 0])
            into[0] += _dec(amount)
            into[1] += int(count)
        paid: dict[str, Decimal] = {}
        for h, amount, _count in await self.paid_hours(self.period):
            key = local_bucket(h, self.zone, grain)
            paid[key] = paid.get(key, Decimal(0)) + _dec(amount)
        return [
            Row(
                key=key,
                label=key,
                amount=refunded[key][0] if key in refunded else Decimal("0.00"),
                refunds=refunded[key][1] if key in refunded else 0,
                paid=paid.get(key, Decimal("0.00")),
            )
            for key in sorted(set(refunded) | set(paid))
        ]

    async def breakdown(self, group: str) -> list[Row]:
        """Refund amount by one dimension, this period and the one before, in one query."""
        m = self.sql.money
        previous = self.period.previous
        where, params = self._where("l", "at", Period(previous.start, self.period.end))
        key, label, joins = {
            "reason": ("r.reason", "r.reason", "JOIN refunds r ON r.id = l.refund_id"),
            "sku": (
                "COALESCE(i.title, '') || ' / ' || COALESCE(i.sku, '')",
                "COALESCE(i.title, '') || ' / ' || COALESCE(i.sku, '')",
                "LEFT JOIN order_items i ON i.id = l.order_item_id",
            ),
            "store": ("s.id", "s.name", "JOIN stores s ON s.id = l.store_id"),
            "agent": (
                "COALESCE(u.username, '')",
                "COALESCE(u.username, '')",
                "JOIN refunds r ON r.id = l.refund_id LEFT JOIN users u ON u.id = r.decided_by_id",
            ),
        }[group]
        now_case = f"CASE WHEN l.at >= ? THEN {m('l.amount')} ELSE 0 END"
        before_case = f"CASE WHEN l.at < ? THEN {m('l.amount')} ELSE 0 END"
        rows = await self.sql.rows(
            f"SELECT {key}, MIN({label}), SUM({now_case}), "
            "COUNT(DISTINCT CASE WHEN l.at >= ? THEN l.refund_id END), "
            f"SUM({before_case}), COUNT(DISTINCT CASE WHEN l.at < ? THEN l.refund_id END) "
            f"FROM refund_ledger l {joins} WHERE {where} GROUP BY {key}",
            [self.period.start] * 4 + params,
        )
        result = []
        for r in rows:
            text, is_msgid = _label(group, r[0], r[1])
            result.append(
                Row(
                    key=str(r[0]),
                    label=text,
                    msgid=is_msgid,
                    amount=_dec(r[2]),
                    refunds=int(r[3] or 0),
                    previous_amount=_dec(r[4]),
                    previous_refunds=int(r[5] or 0),
                )
            )
        return sorted(result, key=lambda row: (-row.amount, -row.previous_amount, row.key))

    async def timing(self, period: Period) -> Timing:
        decided = await self._percentiles("decided_at", period)
        paid = await self._percentiles("refunded_at", period)
        return Timing(
            decided=decided[0],
            decision_median_hours=decided[1],
            decision_p90_hours=decided[2],
            paid=paid[0],
            money_median_hours=paid[1],
            money_p90_hours=paid[2],
        )

    async def _percentiles(
        self, column: str, period: Period
    ) -> tuple[int, float | None, float | None]:
        """Count, median and 90th percentile (nearest rank) of request-to-``column`` hours."""
        where, params = self._where("r", column, period)
        hours = self.sql.hours("r.requested_at", f"r.{column}")
        rows = await self.sql.rows(
            "SELECT n, h, rn FROM (SELECT h, ROW_NUMBER() OVER (ORDER BY h) AS rn, "
            f"COUNT(*) OVER () AS n FROM (SELECT {hours} AS h FROM refunds r WHERE {where}) d) "
            "ranked WHERE rn = CAST((n + 1) / 2 AS INTEGER) OR rn = CAST((9 * n + 9) / 10 AS "
            "INTEGER) ORDER BY rn",
            params,
        )
        if not rows:
            return 0, None, None
        count = int(rows[0][0])
        by_rank = {int(r[2]): float(r[1]) for r in rows}
        return count, by_rank.get((count + 1) // 2), by_rank.get((9 * count + 9) // 10)

    async def misses(self, limit: int) -> list[Miss]:
        where, params = self._where("r", "refunded_at", self.period)
        rows = await self.sql.rows(
            "SELECT r.id, r.platform_order_id, r.approved_amount, r.due_at, r.refunded_at "
            f"FROM refunds r WHERE {where} AND r.auto_agreed ORDER BY r.refunded_at LIMIT {limit}",
            params,
        )
        return [Miss(int(r[0]), str(r[1]), _dec(r[2]), _time(r[3]), _time(r[4])) for r in rows]


def _label(group: str, key: Any, label: Any) -> tuple[str, bool]:
    """A group's label and whether it is a msgid (True) or the data itself (False)."""
    if group == "reason":
        code = str(key)
        return (LABELS[ReasonCode(code)], True) if code in set(ReasonCode) else (code, False)
    if group == "agent" and not label:
        return N_("(rules or the platform)"), True
    if group == "sku" and str(label) == " / ":
        return N_("(whole order)"), True
    return str(label), False


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
