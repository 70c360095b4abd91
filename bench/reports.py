"""Refund report speed: the desk's report against one hand-written SQL statement, same run.

Fills a fresh database with 1,000,000 orders over a year (three stores) and
150,000 refunds on them (about 120,000 paid, so as many ledger rows), then
times

1. ``refund_report``: what the page and the API run (totals against the
   previous period, daily series, breakdowns by reason, SKU, store and
   agent, nearest-rank timing, misses);
2. one hand-written statement computing the same figures (a UNION ALL of
   the same aggregates, tagged by part) — the baseline.

for the default 30-day view and for a whole quarter, and prints both times
and their ratio. Targets: report under 1 s, at most 1.5x the hand-written
statement. Best of five runs each, after one warm-up.

    .venv/bin/python -m bench.reports                    # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.reports
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tortoise import connections  # noqa: E402

from aftersales.core import db  # noqa: E402
from aftersales.core.reasons import QUALITY_REASONS, ReasonCode  # noqa: E402
from aftersales.refunds.report import Period, Sql, refund_report  # noqa: E402
from bench.desk import fresh_desk  # noqa: E402

END = datetime(2026, 11, 23, tzinfo=UTC)
START = END - timedelta(days=365)
ZONE = ZoneInfo("Asia/Shanghai")
REASONS = [r.value for r in ReasonCode]


async def fill(orders: int, refunds: int) -> None:
    """Generate rows inside the database (generate_series, a recursive CTE): fast to fill."""
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"
    step = int(365 * 86400 / orders)

    def seq(n: int) -> str:
        if pg:
            return f"generate_series(1, {n}) AS s(n)"
        return (
            f"(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {n}) "
            "SELECT n FROM c) s"
        )

    def at(base: str, seconds: str) -> str:
        if pg:
            return f"({base} + ({seconds}) * interval '1 second')"
        return f"(datetime({base}, '+' || ({seconds}) || ' seconds') || '+00:00')"

    start = "timestamptz '2025-11-23 00:00:00+00'" if pg else "'2025-11-23 00:00:00'"
    money = "numeric" if pg else "TEXT"
    now = "now()" if pg else "'2026-11-23 00:00:00+00:00'"
    script = [
        "INSERT INTO stores (name, platform, credentials_encrypted, timezone, settings, enabled, "
        f"created_at) SELECT '店' || n, 'demo', '', 'Asia/Shanghai', '{{}}', "
        f"{'true' if pg else 1}, "
        f"{now} FROM {seq(3)}",
        "INSERT INTO users (username, display_name, password_hash, role, is_active, created_at) "
        f"SELECT 'agent' || n, '', 'x', 'agent', {'true' if pg else 1}, {now} FROM {seq(10)}",
        "INSERT INTO customers (store_id, platform_buyer_id, nick, tags, notes) "
        f"SELECT 1 + n % 3, 'b' || n, '买家' || n, '[]', '' FROM {seq(50000)}",
        "INSERT INTO orders (store_id, platform_order_id, customer_id, status, platform_status, "
        "currency, total_amount, paid_amount, placed_at, paid_at, shipped_at, "
        "platform_updated_at, synced_at) "
        f"SELECT 1 + n % 3, 'T' || n, 1 + n % 50000, 'completed', 'TRADE_FINISHED', 'CNY', "
        f"CAST(50 + n % 500 AS {money}), CAST(50 + n % 500 AS {money}), "
        f"{at(start, f'n * {step}')}, "
        f"CASE WHEN n % 20 = 0 THEN NULL ELSE {at(start, f'n * {step} + 600')} END, "
        f"{at(start, f'n * {step} + 86400')}, {at(start, f'n * {step} + 86400')}, {now} "
        f"FROM {seq(orders)}",
        "INSERT INTO order_items (order_id, platform_item_id, title, sku, quantity, unit_price, "
        f"amount) SELECT n, 'i' || n, '商品' || (n % 200), 'SKU-' || (n % 1000), 1, "
        f"CAST(50 + n % 500 AS {money}), CAST(50 + n % 500 AS {money}) FROM {seq(orders)}",
    ]
    # Refunds spread evenly over the orders, so every period has its share.
    order = f"(CAST(n AS BIGINT) * {orders} / {refunds})"
    requested = at(start, f"{order} * {step} + 86400 + (n % 7200)")
    decided = at(start, f"{order} * {step} + 86400 + (n % 7200) + (n % 48) * 3600")
    paid = at(start, f"{order} * {step} + 86400 + (n % 7200) + (n % 48) * 3600 + (n % 24) * 3600")
    status = (
        "CASE WHEN n % 10 < 8 THEN 'refunded' WHEN n % 10 = 8 THEN 'rejected' ELSE 'requested' END"
    )
    reason = (
        "CASE n % 12 " + " ".join(f"WHEN {i} THEN '{r}'" for i, r in enumerate(REASONS)) + " END"
    )
    truthy = ("true", "false") if pg else ("1", "0")
    script.append(
        "INSERT INTO refunds (store_id, order_id, platform_order_id, platform_refund_id, "
        "platform_item_id, kind, status, platform_status, currency, requested_amount, "
        "approved_amount, reason, platform_reason, buyer_text, due_at, escalated, auto_agreed, "
        "disputed, decided_by_id, decided_at, decision_note, rule, writeback_error, "
        "intercept_parcel, version, requested_at, updated_at, refunded_at) "
        f"SELECT 1 + {order} % 3, {order}, 'T' || {order}, 'R' || n, 'i' || {order}, "
        f"'refund_only', {status}, '', 'CNY', CAST(10 + n % 300 AS {money}), "
        f"CASE WHEN n % 10 < 9 THEN CAST(10 + n % 300 AS {money}) END, {reason}, '', '', NULL, "
        f"{truthy[1]}, CASE WHEN n % 97 = 0 THEN {truthy[0]} ELSE {truthy[1]} END, "
        f"CASE WHEN n % 50 = 0 THEN {truthy[0]} ELSE {truthy[1]} END, "
        f"CASE WHEN n % 10 = 9 THEN NULL WHEN n % 5 = 0 THEN NULL ELSE 1 + n % 10 END, "
        f"CASE WHEN n % 10 < 9 THEN {decided} END, '', '', '', {truthy[1]}, 1, {requested}, "
        f"{requested}, CASE WHEN n % 10 < 8 THEN {paid} END FROM {seq(refunds)}"
    )
    script.append(
        "INSERT INTO refund_ledger (refund_id, store_id, order_id, order_item_id, amount, "
        "currency, source, at) SELECT id, store_id, order_id, order_id, approved_amount, "
        "currency, 'desk', refunded_at FROM refunds WHERE status = 'refunded'"
    )
    for statement in script:
        await conn.execute_script(statement)
    if pg:
        await conn.execute_script("ANALYZE")
    else:
        await conn.execute_script("ANALYZE")


def hand_written(sql: Sql, period: Period) -> tuple[str, list[object]]:
    """One statement with the report's figures: what a careful analyst would write by hand."""
    prev = period.previous
    m = sql.money
    quality = ", ".join(f"'{r.value}'" for r in sorted(QUALITY_REASONS))
    parts: list[str] = []
    params: list[object] = []

    def add(text: str, *values: object) -> None:
        parts.append(text)
        params.extend(values)

    for tag, p in (("now", period), ("before", prev)):
        add(
            f"SELECT '{tag}:refunded', '', SUM({m('amount')}), COUNT(DISTINCT refund_id), "
            "COUNT(DISTINCT order_id) FROM refund_ledger WHERE at >= ? AND at < ? AND currency = ?",
            p.start, p.end, "CNY",
        )  # fmt: skip
        if tag == "before":  # this period's paid totals are the sum of its paid series
            add(
                f"SELECT '{tag}:paid', '', SUM({m('paid_amount')}), COUNT(*), 0 FROM orders "
                "WHERE paid_at >= ? AND paid_at < ? AND currency = ?",
                p.start, p.end, "CNY",
            )  # fmt: skip
        add(
            f"SELECT '{tag}:kinds', '', SUM(CASE WHEN disputed THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN reason IN ({quality}) THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN auto_agreed THEN 1 ELSE 0 END) FROM refunds "
            "WHERE refunded_at >= ? AND refunded_at < ? AND currency = ? AND status = 'refunded'",
            p.start, p.end, "CNY",
        )  # fmt: skip
        for column in ("decided_at", "refunded_at"):
            hours = sql.hours("requested_at", column)
            add(
                f"SELECT '{tag}:{column}', '', h, rn, n FROM (SELECT h, ROW_NUMBER() OVER "
                f"(ORDER BY h) AS rn, COUNT(*) OVER () AS n FROM (SELECT {hours} AS h FROM "
                f"refunds WHERE {column} >= ? AND {column} < ? AND currency = ?) d) r "
                "WHERE rn = CAST((n + 1) / 2 AS INTEGER) OR rn = CAST((9 * n + 9) / 10 AS INTEGER)",
                p.start, p.end, "CNY",
            )  # fmt: skip
    # Series as UTC hours, folded into local days by the reader: the fast way, as the report.
    hour = sql.hour("at")
    add(
        f"SELECT 'series', CAST({hour} AS TEXT), SUM({m('amount')}), COUNT(DISTINCT refund_id), 0 "
        f"FROM refund_ledger WHERE at >= ? AND at < ? AND currency = ? GROUP BY {hour}",
        period.start, period.end, "CNY",
    )  # fmt: skip
    hour = sql.hour("paid_at")
    add(
        f"SELECT 'paid_series', CAST({hour} AS TEXT), SUM({m('paid_amount')}), COUNT(*), 0 "
        "FROM orders "
        f"WHERE paid_at >= ? AND paid_at < ? AND currency = ? GROUP BY {hour}",
        period.start, period.end, "CNY",
    )  # fmt: skip
    groups = {
        "reason": ("r.reason", "JOIN refunds r ON r.id = l.refund_id"),
        "sku": ("COALESCE(i.title, '') || ' / ' || COALESCE(i.sku, '')",
                "LEFT JOIN order_items i ON i.id = l.order_item_id"),
        "store": ("s.name", "JOIN stores s ON s.id = l.store_id"),
        "agent": ("COALESCE(u.username, '')",
                  "JOIN refunds r ON r.id = l.refund_id "
                  "LEFT JOIN users u ON u.id = r.decided_by_id"),
    }  # fmt: skip
    for name, (key, joins) in groups.items():
        add(
            f"SELECT '{name}', {key}, SUM(CASE WHEN l.at >= ? THEN {m('l.amount')} ELSE 0 END), "
            f"SUM(CASE WHEN l.at < ? THEN {m('l.amount')} ELSE 0 END), "
            f"COUNT(DISTINCT l.refund_id) FROM refund_ledger l {joins} "
            f"WHERE l.at >= ? AND l.at < ? AND l.currency = ? GROUP BY {key}",
            period.start, period.start, prev.start, period.end, "CNY",
        )  # fmt: skip
    add(
        "SELECT 'misses', platform_order_id, approved_amount, id, 0 FROM refunds "
        "WHERE refunded_at >= ? AND refunded_at < ? AND currency = ? AND auto_agreed",
        period.start, period.end, "CNY",
    )  # fmt: skip
    return " UNION ALL ".join(parts), params


async def best_of(runs: int, make: object) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs + 1):  # the first run warms the caches and is not counted
        started = time.perf_counter()
        result = await make()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times[1:]), result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--refunds", type=int, default=150_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    async with fresh_desk() as (_settings, kind):
        started = time.perf_counter()
        await fill(args.orders, args.refunds)
        conn = connections.get("default")
        _, counted = await conn.execute_query(
            "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM refunds), "
            "(SELECT COUNT(*) FROM refund_ledger)"
        )
        orders, refunds, ledger = counted[0][0], counted[0][1], counted[0][2]
        print(
            f"database: {kind}; {orders} orders, {refunds} refunds, {ledger} ledger rows "
            f"(filled in {time.perf_counter() - started:.0f}s)"
        )
        for label, days in (("30 days", 30), ("quarter", 91)):
            period = Period(END - timedelta(days=days), END)
            sql = Sql(conn, ZONE, period.start)
            statement, params = hand_written(sql, period)
            hand_s, rows = await best_of(
                args.runs, lambda s=sql, q=statement, p=params: s.rows(q, p)
            )
            report_s, report = await best_of(
                args.runs,
                lambda p=period: refund_report(p, zone=ZONE, currency="CNY", grain="day"),
            )
            print(
                f"{label:8s} report {report_s * 1000:7.1f} ms | hand-written statement "
                f"{hand_s * 1000:7.1f} ms ({len(rows)} rows) | ratio {report_s / hand_s:.2f} "
                f"(target <= 1.5) | under 1 s: {'yes' if report_s < 1 else 'NO'} | "
                f"refunded {report.totals.refunded} in {report.totals.refunds} refunds"  # type: ignore[attr-defined]
            )
        await db.close_db()


if __name__ == "__main__":
    asyncio.run(main())
