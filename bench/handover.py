"""Handover drafting speed: the desk's draft against one hand-written SQL statement, same run.

Fills a fresh database with three stores and 50,000 open cases mixed (open
refunds, some with a parcel to intercept and some worked by a return case;
open return cases; open promises), with closed ones beside them and
deadlines spread from a day ago to 30 days ahead, so a few percent fall due
in the night shift or are overdue. A day shift (09:00-18:00) and a night
shift (18:00-09:00) in Asia/Shanghai; the night-to-day handover of the same
morning is drafted first and some of its cases closed since, so the
day-to-night draft carries over and closes items as it would on the desk.
Then it times

1. ``drafting.ensure_drafted`` for the day-to-night change at 17:45: the
   modules' ``handover_items`` hooks, the buyer flags, the carry-over from
   the morning's handover and the entries written (each run drafts a fresh
   handover: the one before is deleted and the morning's entries reopened,
   not timed);
2. one hand-written statement selecting the same items (a UNION ALL of the
   refunds, return cases and promises the hooks pick, with the columns they
   read) — the baseline.

and prints both times and their ratio. The refs drafted must be the refs the
statement selects, or the bench stops. Targets: drafting under 1 s, at most
2x the statement. Best of five runs each, after one warm-up.

    .venv/bin/python -m bench.handover                    # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.handover
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tortoise import connections  # noqa: E402

from aftersales.core import clock, db, modules  # noqa: E402
from aftersales.core.config import Settings  # noqa: E402
from aftersales.core.modules import Registry  # noqa: E402
from aftersales.handover import drafting  # noqa: E402
from aftersales.handover.models import Handover, HandoverEntry, Shift  # noqa: E402
from aftersales.refunds.models import OPEN_STATUSES as REFUND_OPEN  # noqa: E402
from aftersales.refunds.models import Refund, RefundStatus  # noqa: E402
from aftersales.returns.models import OPEN_STATUSES as RETURN_OPEN  # noqa: E402
from tests.databases import fresh_database_url  # noqa: E402

T = TypeVar("T")

# 2026-12-02 in Asia/Shanghai (UTC+8, no daylight saving): the day shift ends at 18:00
# (10:00 UTC), the night shift at 09:00 the next morning (01:00 UTC).
MORNING = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # night -> day, 09:00 local
EVENING = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # day -> night, 18:00 local
DRAFTED = EVENING - drafting.DRAFT_AHEAD  # 17:45 local, when the job drafts it
SPREAD = 31 * 86400  # deadlines from a day before the draft to 30 days after it

REFUND_STATUSES = [  # by n % 12 for the open four in five
    "requested", "requested", "requested", "requested", "requested", "approved",
    "waiting_return", "waiting_return", "refunding", "writeback_failed", "disputed", "requested",
]  # fmt: skip
RETURN_STATUSES = [  # by m % 7 for the open five in six
    "requested", "approved", "awaiting_shipment", "in_transit", "delivered", "received",
    "inspected",
]  # fmt: skip


async def fill(refunds: int, returns: int, promises: int, customers: int) -> None:
    """Generate rows inside the database (generate_series, a recursive CTE): fast to fill.

    Refund ``n``: open unless ``n % 5 == 0`` (refunded, rejected or
    cancelled); a parcel to intercept when ``n % 97 == 0``; worked by return
    case ``m`` when ``n == 6m - 5`` (the first ``refunds / 6`` return cases,
    on the refund's order). Return case ``m``: open unless ``m % 6 == 0``.
    Promise ``p``: open unless ``p % 5 == 0`` (kept); forty more were broken
    at this evening's shift change. A quarter of the promises name no buyer.
    """
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"
    true, false = ("true", "false") if pg else ("1", "0")
    money = "numeric" if pg else "TEXT"

    def seq(n: int) -> str:
        if pg:
            return f"generate_series(1, {n}) AS s(n)"
        return (
            f"(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {n}) "
            "SELECT n FROM c) s"
        )

    def at(base: datetime, seconds: str) -> str:
        text = base.strftime("%Y-%m-%d %H:%M:%S")
        if pg:
            return f"(timestamptz '{text}+00' + ({seconds}) * interval '1 second')"
        return f"(datetime('{text}', ({seconds}) || ' seconds') || '+00:00')"

    def case(expr: str, values: list[str]) -> str:
        return (
            f"CASE {expr} "
            + " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
            + " END"
        )

    now = at(DRAFTED, "0")
    since = DRAFTED - timedelta(days=1)
    due = "(CAST(n AS BIGINT) * 104729) % " + str(SPREAD)  # spread evenly, in no id order
    linked = refunds // 6
    orders = refunds + returns
    script = [
        "INSERT INTO stores (name, platform, credentials_encrypted, timezone, settings, enabled, "
        f"created_at) SELECT '店' || n, 'demo', '', 'Asia/Shanghai', '{{}}', {true}, {now} "
        f"FROM {seq(3)}",
        "INSERT INTO users (username, display_name, password_hash, role, is_active, created_at) "
        f"SELECT 'agent' || n, '', 'x', 'agent', {true}, {now} FROM {seq(10)}",
        "INSERT INTO customers (store_id, platform_buyer_id, nick, tags, notes) "
        f"SELECT 1 + n % 3, 'b' || n, '买家' || n, '[]', '' FROM {seq(customers)}",
        "INSERT INTO orders (store_id, platform_order_id, customer_id, status, platform_status, "
        "currency, total_amount, paid_amount, placed_at, paid_at, shipped_at, "
        "platform_updated_at, synced_at) "
        f"SELECT 1 + (1 + (n - 1) % {customers}) % 3, 'T' || n, 1 + (n - 1) % {customers}, "
        "'shipped', 'WAIT_BUYER_CONFIRM_GOODS', 'CNY', "
        f"CAST(50 + n % 500 AS {money}), CAST(50 + n % 500 AS {money}), "
        f"{at(since, '-(n % 864000) - 86400')}, {at(since, '-(n % 864000) - 86000')}, "
        f"{at(since, '-(n % 864000)')}, {now}, {now} FROM {seq(orders)}",
        "INSERT INTO refunds (store_id, order_id, platform_order_id, platform_refund_id, "
        "platform_item_id, kind, status, platform_status, currency, requested_amount, "
        "reason, platform_reason, buyer_text, due_at, escalated, auto_agreed, disputed, "
        "assignee_id, decision_note, rule, writeback_error, intercept_parcel, worked_in, "
        "version, requested_at, updated_at) "
        f"SELECT o.store_id, n, 'T' || n, 'R' || n, 'i' || n, "
        f"CASE WHEN n % 6 = 1 THEN 'return_and_refund' ELSE 'refund_only' END, "
        f"CASE WHEN n % 5 = 0 THEN {case('n % 3', ['refunded', 'rejected', 'cancelled'])} "
        f"ELSE {case('n % 12', REFUND_STATUSES)} END, '', 'CNY', "
        f"CAST(10 + n % 300 AS {money}), 'quality', '', '', {at(since, due)}, "
        f"{false}, {false}, {false}, CASE WHEN n % 4 = 0 THEN NULL ELSE 1 + n % 10 END, "
        f"'', '', '', CASE WHEN n % 97 = 0 THEN {true} ELSE {false} END, "
        f"CASE WHEN n % 6 = 1 AND n <= {6 * linked} THEN 'returns:return:' || ((n + 5) / 6) END, "
        f"1, {at(since, '-(n % 172800)')}, {now} "
        f"FROM {seq(refunds)} JOIN orders o ON o.id = n",
        "INSERT INTO return_cases (store_id, order_id, refund_id, platform_order_id, "
        "platform_return_id, kind, status, platform_status, reason, buyer_text, policy_rules, "
        "policy_explanation, return_address, currency, price_difference_note, due_at, "
        "escalated, decision_note, action_keys, close_reason, version, assignee_id, "
        "requested_at, updated_at) "
        f"SELECT o.store_id, o.id, CASE WHEN n <= {linked} THEN 6 * n - 5 END, "
        "o.platform_order_id, 'RMA' || n, "
        "CASE WHEN n % 4 = 0 THEN 'exchange' ELSE 'return' END, "
        f"CASE WHEN n % 6 = 0 THEN {case('n % 2', ['closed', 'cancelled'])} "
        f"ELSE {case('n % 7', RETURN_STATUSES)} END, '', 'size_fit', '', '[]', '', '', 'CNY', "
        f"'', {at(since, due.replace('104729', '7919'))}, {false}, '', '{{}}', '', 1, "
        f"CASE WHEN n % 3 = 0 THEN NULL ELSE 1 + n % 10 END, {at(since, '-(n % 172800)')}, "
        f"{now} FROM {seq(returns)} "
        f"JOIN orders o ON o.id = CASE WHEN n <= {linked} THEN 6 * n - 5 ELSE {refunds} + n END",
        "INSERT INTO promises (ref, customer_id, text, due_at, status, made_by_id, made_at, "
        "closed_at, note) "
        "SELECT CASE WHEN n % 3 = 0 THEN 'refunds:refund:' || n ELSE '' END, "
        f"CASE WHEN n % 4 = 0 THEN NULL ELSE 1 + n % {customers} END, "
        "'晚上九点后给买家回电话 ' || n, "
        f"{at(since, due.replace('104729', '15485863'))}, "
        "CASE WHEN n % 5 = 0 THEN 'kept' ELSE 'open' END, 1 + n % 10, "
        f"{at(since, '-(n % 172800)')}, CASE WHEN n % 5 = 0 THEN {now} END, '' "
        f"FROM {seq(promises)}",
        "INSERT INTO promises (ref, customer_id, text, due_at, status, made_by_id, made_at, "
        "closed_at, note) "
        f"SELECT '', 1 + n, '下午三点前补发 ' || n, {at(EVENING, '-3600 - n * 60')}, 'broken', "
        f"1, {at(EVENING, '-86400')}, {at(EVENING, '0')}, '' FROM {seq(40)}",
    ]
    for statement in script:
        await conn.execute_script(statement)
    await conn.execute_script("ANALYZE")


def hand_written(pg: bool) -> tuple[str, list[Any]]:
    """The items the hooks pick, in one statement: what a careful analyst would write by hand.

    Refunds: open, due before the night shift ends or a parcel still to stop
    on a request, and not worked by a case of another enabled module.
    Return cases: open and due before the night shift ends. Promises: open
    and due before then, or broken at this shift change. Each part reads the
    columns its hook turns into an item.
    """
    end, start = EVENING + timedelta(hours=15), EVENING
    refund_open = ", ".join(f"'{s.value}'" for s in sorted(REFUND_OPEN))
    return_open = ", ".join(f"'{s.value}'" for s in sorted(RETURN_OPEN))
    working = " OR ".join(f"worked_in LIKE '{m.name}:%'" for m in _working_modules())
    statement = (
        "SELECT 'refunds:refund:' || id AS ref, status, due_at, assignee_id, intercept_parcel, "
        "platform_order_id, requested_amount, currency, NULL AS kind, NULL AS text, "
        "CAST(NULL AS INTEGER) AS customer_id FROM refunds "
        f"WHERE status IN ({refund_open}) "
        "AND (due_at < ? OR (intercept_parcel AND status = 'requested')) "
        f"AND (worked_in IS NULL OR NOT ({working})) "
        "UNION ALL "
        "SELECT 'returns:return:' || id, status, due_at, assignee_id, NULL, platform_order_id, "
        "NULL, NULL, kind, NULL, NULL FROM return_cases "
        f"WHERE status IN ({return_open}) AND due_at < ? "
        "UNION ALL "
        "SELECT 'handover:promise:' || id, status, due_at, NULL, NULL, ref, NULL, NULL, NULL, "
        "text, customer_id FROM promises "
        "WHERE (status = 'open' AND due_at < ?) OR (status = 'broken' AND closed_at = ?) "
        "ORDER BY 3"
    )
    if pg:
        parts = statement.split("?")
        statement = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
    return statement, [end, end, end, start]


def _working_modules() -> list[modules.Module]:
    return [m for m in modules.current().modules if m.resolve_case is not None]


async def best_of(
    runs: int, make: Callable[[], Awaitable[T]], *, between: Any = None
) -> tuple[float, T]:
    times, result = [], None
    for _ in range(runs + 1):  # the first run warms the caches and is not counted
        if between is not None:
            await between()
        started = time.perf_counter()
        result = await make()
        times.append(time.perf_counter() - started)
    assert result is not None
    return min(times[1:]), result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refunds", type=int, default=30_000, help="of them 4 in 5 open")
    parser.add_argument("--returns", type=int, default=16_800, help="of them 5 in 6 open")
    parser.add_argument("--promises", type=int, default=15_000, help="of them 4 in 5 open")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="pyinstrument one draft")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with fresh_database_url(Path(tmp)) as url:
            settings = Settings.from_env(
                {"AFTERSALES_DATA_DIR": tmp, "DATABASE_URL": url, "REDIS_URL": "redis://x"}
            )
            kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
            await db.migrate(settings)
            await db.close_db()
            await db.init_db(settings)
            registry = modules.install(Registry.build(settings))
            clock.travel(DRAFTED - clock.now())
            try:
                await run(args, kind, registry)
            finally:
                clock.reset()
                await db.close_db()


async def run(args: argparse.Namespace, kind: str, registry: Registry) -> None:
    conn = connections.get("default")
    pg = conn.capabilities.dialect == "postgres"
    started = time.perf_counter()
    await fill(args.refunds, args.returns, args.promises, args.customers)
    _, counted = await conn.execute_query(
        "SELECT (SELECT COUNT(*) FROM refunds WHERE status IN ("
        + ", ".join(f"'{s.value}'" for s in REFUND_OPEN)
        + ")), (SELECT COUNT(*) FROM return_cases WHERE status IN ("
        + ", ".join(f"'{s.value}'" for s in RETURN_OPEN)
        + ")), (SELECT COUNT(*) FROM promises WHERE status = 'open'), "
        "(SELECT COUNT(*) FROM refunds WHERE worked_in IS NOT NULL AND status IN ("
        + ", ".join(f"'{s.value}'" for s in REFUND_OPEN)
        + "))"
    )
    refunds, returns, promises, worked = (counted[0][i] for i in range(4))
    print(
        f"database: {kind}; {refunds + returns + promises} open cases: {refunds} refunds "
        f"({worked} worked by a return case), {returns} return cases, {promises} promises "
        f"(filled in {time.perf_counter() - started:.0f}s)"
    )
    day = await Shift.create(name="白班", start_minute=9 * 60, end_minute=18 * 60, position=0)
    night = await Shift.create(name="夜班", start_minute=18 * 60, end_minute=9 * 60, position=1)
    shifts = [day, night]
    (morning,) = drafting.shift_changes(shifts, MORNING - timedelta(minutes=1), MORNING)
    (evening,) = drafting.shift_changes(shifts, EVENING - timedelta(minutes=1), EVENING)
    assert (morning.outgoing.shift_id, evening.outgoing.shift_id) == (night.id, day.id)

    # This morning's handover, then a tenth of its refunds settled during the day: the
    # evening's draft carries the rest over and marks those done.
    before, _ = await drafting.ensure_drafted(registry, morning, MORNING - drafting.DRAFT_AHEAD)
    listed = await HandoverEntry.filter(handover_id=before.id, module="refunds").values_list(
        "ref", flat=True
    )
    morning_all = await HandoverEntry.filter(handover_id=before.id).count()
    settled = [int(str(ref).rsplit(":", 1)[1]) for ref in listed][::10]
    await Refund.filter(id__in=settled).update(status=RefundStatus.REFUNDED)
    morning_items = len(listed)

    async def fresh() -> None:
        await HandoverEntry.filter(handover__key=evening.outgoing.key).delete()
        await Handover.filter(key=evening.outgoing.key).delete()
        await HandoverEntry.filter(handover_id=before.id).update(state="open", done_at=None)

    async def draft() -> Handover:
        handover, created = await drafting.ensure_drafted(registry, evening, DRAFTED)
        assert created
        return handover

    statement, params = hand_written(pg)

    async def select() -> list[Any]:
        _, rows = await conn.execute_query(statement, params)
        return list(rows)

    if args.profile:
        from pyinstrument import Profiler

        await fresh()
        profiler = Profiler(async_mode="enabled")
        profiler.start()
        await draft()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))

    hand_s, rows = await best_of(args.runs, select)
    draft_s, handover = await best_of(args.runs, draft, between=fresh)
    drafted = set(await HandoverEntry.filter(handover_id=handover.id).values_list("ref", flat=True))
    selected = {row[0] for row in rows}
    assert drafted == selected, (
        f"drafted {len(drafted)} items, the statement selects {len(selected)}: "
        f"only drafted {sorted(drafted - selected)[:5]}, only selected "
        f"{sorted(selected - drafted)[:5]}"
    )
    entries = await HandoverEntry.filter(handover_id=handover.id).values_list("severity", flat=True)
    overdue = sum(1 for s in entries if s == "overdue")
    closed = await HandoverEntry.filter(handover_id=before.id, state="done").count()
    carried = await HandoverEntry.filter(handover_id=before.id, state="carried").count()
    print(
        f"draft {draft_s * 1000:7.1f} ms | hand-written statement {hand_s * 1000:7.1f} ms "
        f"({len(rows)} rows) | ratio {draft_s / hand_s:.2f} (target <= 2) | "
        f"under 1 s: {'yes' if draft_s < 1 else 'NO'} | {len(drafted)} items "
        f"({overdue} overdue); the morning's {morning_all} items ({morning_items} refunds): "
        f"{carried} carried over, {closed} closed since"
    )


if __name__ == "__main__":
    asyncio.run(main())
