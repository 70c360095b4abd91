"""Rating report speed on a large shop's year: 100,000 reviews, 10,000 follow-ups.

Fills a fresh database (three stores, reviews every five minutes or so over
a year, one in ten negative with one or two reasons, a follow-up case for
each negative, closed with an outcome, one in five with a paid compensation)
and times ``rating_report`` (what the page, the downloads and the API run)
for the default 30 days, a quarter and a year, by day. Target: under 1 s for
30 days. Best of three runs, after one warm-up.

    .venv/bin/python -m bench.ratings                    # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.ratings
"""

from __future__ import annotations

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
from aftersales.core.periods import Period  # noqa: E402
from aftersales.reviews.report import rating_report  # noqa: E402
from bench.desk import fresh_desk  # noqa: E402

END = datetime(2026, 11, 23, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
REVIEWS, STEP = 100_000, 315  # seconds between reviews: a year


async def fill() -> None:
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"

    def seq(n: int) -> str:
        if pg:
            return f"generate_series(1, {n}) AS s(n)"
        return (
            f"(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {n}) "
            "SELECT n FROM c) s"
        )

    def at(seconds: str) -> str:
        if pg:
            return f"(timestamptz '2025-11-23 00:00:00+00' + ({seconds}) * interval '1 second')"
        return f"(datetime('2025-11-23 00:00:00', '+' || ({seconds}) || ' seconds') || '+00:00')"

    now = "now()" if pg else "'2026-11-23 00:00:00+00:00'"
    yes, no = ("true", "false") if pg else ("1", "0")
    money = "numeric" if pg else "TEXT"
    reasons = (
        'CASE n % 4 WHEN 0 THEN \'[{"reason": "quality", "confidence": 0.9}]\' '
        'WHEN 1 THEN \'[{"reason": "logistics", "confidence": 0.8}, '
        '{"reason": "service", "confidence": 0.7}]\' '
        'WHEN 2 THEN \'[{"reason": "size_fit", "confidence": 0.9}]\' ELSE \'[]\' END'
    )
    result = "CASE WHEN n % 10 = 0 THEN 'bad' WHEN n % 10 = 5 THEN 'neutral' ELSE 'good' END"
    negative = f"CASE WHEN n % 5 = 0 THEN {yes} ELSE {no} END"
    script = [
        "INSERT INTO stores (name, platform, credentials_encrypted, timezone, settings, enabled, "
        f"created_at) SELECT '店' || n, 'demo', '', 'Asia/Shanghai', '{{}}', {yes}, {now} "
        f"FROM {seq(3)}",
        "INSERT INTO reviews (store_id, platform_review_id, platform_order_id, platform_item_id, "
        "product_title, reviewer_nick, rating, result, text, created_at, platform_updated_at, "
        "synced_at, negative, sentiment, confidence, reasons, model_version) "
        f"SELECT 1 + n % 3, 'r' || n, 'T' || n, 'i' || (n % 500), '商品' || (n % 500), 'b' || n, "
        f"NULL, {result}, '', {at(f'n * {STEP}')}, {at(f'n * {STEP}')}, {now}, {negative}, "
        "'negative', 0.9, "
        f"{'CAST(' + reasons + ' AS jsonb)' if pg else reasons}, 'bench' FROM {seq(REVIEWS)}",
        "INSERT INTO review_cases (store_id, platform_order_id, platform_status, currency, "
        "reason, buyer_text, escalated, decision_note, version, requested_at, updated_at, "
        "review_id, status, "
        "outcome, buyer_nick, first_contact_at, reply_text, reply_state, action_keys, "
        "close_note, closed_at) "
        f"SELECT store_id, platform_order_id, '', 'CNY', 'other', '', {no}, '', 1, created_at, "
        "created_at, id, 'closed', CASE id % 4 WHEN 0 THEN 'revised' WHEN 1 THEN "
        "'positive_follow_up' ELSE 'unchanged' END, '', created_at, '', 'none', '{}', '', "
        f"created_at FROM reviews WHERE negative AND id % 2 = 0",
        "INSERT INTO refunds (store_id, platform_order_id, kind, status, platform_status, "
        "currency, requested_amount, approved_amount, reason, platform_reason, buyer_text, "
        "escalated, auto_agreed, disputed, decision_note, rule, writeback_error, "
        "intercept_parcel, version, requested_at, updated_at, refunded_at, review_case_id) "
        f"SELECT store_id, platform_order_id, 'compensation', 'refunded', '', 'CNY', "
        f"CAST(10 AS {money}), CAST(10 AS {money}), 'other', '', '', {no}, {no}, {no}, '', '', "
        f"'', {no}, 1, requested_at, requested_at, requested_at, id FROM review_cases "
        "WHERE id % 5 = 0",
        "INSERT INTO refund_ledger (refund_id, store_id, amount, currency, source, at) "
        "SELECT id, store_id, approved_amount, 'CNY', 'desk', refunded_at FROM refunds",
        "INSERT INTO review_remedies (case_id, kind, amount, offer, refund_id, offered_at) "
        "SELECT review_case_id, 'compensation', approved_amount, '', id, requested_at "
        "FROM refunds",
        "ANALYZE",
    ]
    for statement in script:
        await conn.execute_script(statement)


async def best(period: Period, runs: int = 3) -> tuple[float, int]:
    await rating_report(period, zone=ZONE)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        report = await rating_report(period, zone=ZONE)
        times.append(time.perf_counter() - started)
    return min(times), report.totals.total


async def main() -> None:
    async with fresh_desk() as (_settings, name):
        started = time.perf_counter()
        await fill()
        print(f"{name}: filled in {time.perf_counter() - started:.1f} s")
        for days in (30, 91, 365):
            seconds, reviews = await best(Period(END - timedelta(days=days), END))
            print(
                f"{name}: rating_report, {days} days ({reviews} reviews): {seconds * 1000:.0f} ms"
            )
        await db.close_db()


if __name__ == "__main__":
    asyncio.run(main())
