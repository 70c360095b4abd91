"""The refund report's SQL agrees with the same figures counted in Python from the rows."""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from aftersales.core import clock
from aftersales.core.models import Role, User
from aftersales.core.reasons import QUALITY_REASONS
from aftersales.orders.models import Order, OrderItem
from aftersales.refunds import service
from aftersales.refunds.models import LedgerEntry, Refund, RefundStatus
from aftersales.refunds.report import Period, refund_report
from connectors.base import AfterSaleStatus, RefundDecision, RefundWriteResult
from tests.conftest import sign_in
from tests.factories import create_user
from tests.orders.test_api import bearer
from tests.refunds.test_service import NOW, demo_shop

pytestmark = pytest.mark.usefixtures("clean_db")
ZONE = ZoneInfo("Asia/Shanghai")


def nearest_rank(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


async def shop_with_desk_refunds() -> None:
    """The demo shop, plus refunds decided and paid through the desk by two agents."""
    await demo_shop(rules={"supervisor_above": None})  # saved without caps: both agents decide
    agents = [await create_user(username="王", role=Role.SUPERVISOR), await create_user()]
    for n, refund in enumerate(await Refund.filter(status=RefundStatus.REQUESTED)):
        clock.travel(timedelta(hours=3))
        await service.approve(refund.id, actor=agents[n % 2], amount="1.00" if n % 3 else None)
        if n % 4:
            await service.start_writeback(refund.id)
            await service.finish_writeback(
                refund.id,
                RefundDecision.APPROVE,
                RefundWriteResult(status=AfterSaleStatus.REFUNDED, platform_status="SUCCESS"),
            )


async def test_totals_and_breakdowns_match_the_rows() -> None:
    await shop_with_desk_refunds()
    period = Period(NOW - timedelta(days=30), clock.now() + timedelta(hours=1))
    report = await refund_report(period, zone=ZONE)

    entries = [e for e in await LedgerEntry.all() if period.start <= e.at < period.end]
    assert entries, "the period has money going back"
    assert report.totals.refunded == sum((e.amount for e in entries), Decimal(0))
    assert report.totals.refunds == len({e.refund_id for e in entries})
    orders = [o for o in await Order.all() if o.paid_at and period.start <= o.paid_at < period.end]
    assert report.totals.paid == sum((o.paid_amount for o in orders), Decimal(0))
    assert report.totals.paid_orders == len(orders)
    assert report.totals.order_rate == pytest.approx(
        len({e.order_id for e in entries}) / len(orders)
    )
    refunds = {r.id: r for r in await Refund.all()}
    paid_refunds = [
        r
        for r in refunds.values()
        if r.status is RefundStatus.REFUNDED and period.start <= r.refunded_at < period.end
    ]
    assert report.totals.quality == sum(r.reason in QUALITY_REASONS for r in paid_refunds)

    by_reason: dict[str, Decimal] = defaultdict(Decimal)
    by_agent: dict[str, Decimal] = defaultdict(Decimal)
    by_item: dict[int | None, Decimal] = defaultdict(Decimal)
    users = {u.id: u.username for u in await User.all()}
    for e in entries:
        refund = refunds[e.refund_id]
        by_reason[refund.reason.value] += e.amount
        by_agent[users.get(refund.decided_by_id, "")] += e.amount
        by_item[e.order_item_id] += e.amount
    assert {r.key: r.amount for r in report.groups["reason"] if r.refunds} == dict(by_reason)
    assert {r.key: r.amount for r in report.groups["agent"] if r.refunds} == dict(by_agent)
    assert "王" in {r.key for r in report.groups["agent"]}
    items = {i.id: f"{i.title} / {i.sku or ''}" for i in await OrderItem.all()}
    want_sku: dict[str, Decimal] = defaultdict(Decimal)
    for item_id, amount in by_item.items():
        want_sku[items[item_id] if item_id else " / "] += amount
    assert {r.key: r.amount for r in report.groups["sku"] if r.refunds} == dict(want_sku)
    assert sum((r.amount for r in report.series), Decimal(0)) == report.totals.refunded
    days = [r.key for r in report.series]
    assert days == sorted(days) and all(len(d) == 10 for d in days)


async def test_timing_is_the_nearest_rank_median_and_p90() -> None:
    await shop_with_desk_refunds()
    period = Period(NOW - timedelta(days=30), clock.now() + timedelta(hours=1))
    report = await refund_report(period, zone=ZONE)
    decided = [
        (r.decided_at - r.requested_at).total_seconds() / 3600
        for r in await Refund.all()
        if r.decided_at and period.start <= r.decided_at < period.end
    ]
    assert report.timing.decided == len(decided) > 0
    assert report.timing.decision_median_hours == pytest.approx(nearest_rank(decided, 0.5))
    assert report.timing.decision_p90_hours == pytest.approx(nearest_rank(decided, 0.9))
    paid = [
        (r.refunded_at - r.requested_at).total_seconds() / 3600
        for r in await Refund.all()
        if r.refunded_at and period.start <= r.refunded_at < period.end
    ]
    assert report.timing.money_p90_hours == pytest.approx(nearest_rank(paid, 0.9))


async def test_the_previous_period_and_weekly_buckets() -> None:
    await shop_with_desk_refunds()
    end = clock.now() + timedelta(hours=1)
    period = Period(end - timedelta(days=14), end)
    report = await refund_report(period, zone=ZONE, grain="week")
    before = [e for e in await LedgerEntry.all() if period.previous.start <= e.at < period.start]
    assert report.previous.refunded == sum((e.amount for e in before), Decimal(0))
    assert all(datetime.fromisoformat(r.key).weekday() == 0 for r in report.series), (
        "weeks start on Monday"
    )
    reasons_before = sum((r.previous_amount for r in report.groups["reason"]), Decimal(0))
    assert reasons_before == report.previous.refunded


async def test_a_refund_the_platform_agreed_after_our_deadline_is_listed_as_a_miss() -> None:
    store = await demo_shop()
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    late = refund.due_at + timedelta(minutes=10)
    await Refund.filter(id=refund.id).update(
        status=RefundStatus.REFUNDED, refunded_at=late, auto_agreed=True, approved_amount=Decimal(1)
    )
    report = await refund_report(
        Period(late - timedelta(days=1), late + timedelta(days=1)), zone=ZONE, store_id=store.id
    )
    assert [m.refund_id for m in report.misses] == [refund.id]
    assert report.totals.auto_agreed == 1


def test_a_period_must_make_sense() -> None:
    with pytest.raises(service.InvalidInput):
        Period(NOW, NOW)
    with pytest.raises(service.InvalidInput):
        Period(NOW - timedelta(days=800), NOW)
    assert Period(NOW - timedelta(days=7), NOW).previous == Period(
        NOW - timedelta(days=14), NOW - timedelta(days=7)
    )
    assert NOW.tzinfo is UTC


async def test_owners_read_the_report_page_with_charts_and_agents_do_not(
    client: httpx.AsyncClient, app
) -> None:
    await shop_with_desk_refunds()
    await create_user(username="owner", role=Role.OWNER)
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    assert (await client.get("/refunds/report")).status_code == 403
    assert 'href="/refunds/report"' not in (await client.get("/refunds/")).text
    client.cookies.clear()
    await sign_in(client, "owner")
    today = clock.now().astimezone(ZONE).date()
    page = await client.get(f"/refunds/report?from={today - timedelta(days=29)}&to={today}")
    assert page.status_code == 200
    assert page.text.count("<svg") == 2 and "<script" not in page.text
    result = await refund_report(Period(*_days(today - timedelta(days=29), today)), zone=ZONE)
    assert f"¥{result.totals.refunded:,.2f}" in page.text
    bad = await client.get("/refunds/report?from=yesterday", follow_redirects=True)
    assert "Dates are written YYYY-MM-DD." in bad.text


def _days(first, last) -> tuple[datetime, datetime]:
    start = datetime.combine(first, datetime.min.time(), tzinfo=ZONE).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=ZONE)
    return start, end.astimezone(UTC)


async def test_every_table_exports_as_csv_and_all_as_xlsx(client: httpx.AsyncClient, app) -> None:
    await shop_with_desk_refunds()
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    today = clock.now().astimezone(ZONE).date()
    query = f"from={today - timedelta(days=29)}&to={today}"
    result = await refund_report(Period(*_days(today - timedelta(days=29), today)), zone=ZONE)
    for table in ("summary", "series", "reason", "sku", "store", "agent", "misses"):
        answer = await client.get(f"/refunds/report/{table}.csv?{query}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        expected = {"summary": 14, "series": len(result.series), "misses": len(result.misses)}
        assert len(rows) - 1 == expected.get(table, len(result.groups.get(table, [])))
    reason_rows = list(
        csv.reader(io.StringIO((await client.get(f"/refunds/report/reason.csv?{query}")).text))
    )
    assert sum(Decimal(r[1]) for r in reason_rows[1:]) == result.totals.refunded
    assert (await client.get(f"/refunds/report/nothing.csv?{query}")).status_code == 404
    book = await client.get(f"/refunds/report.xlsx?{query}")
    assert book.status_code == 200
    with zipfile.ZipFile(io.BytesIO(book.content)) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        assert all(name in workbook for name in ("Summary", "By reason", "Missed deadlines"))
        assert len([n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]) == 7


async def test_the_report_api_groups_as_asked(client: httpx.AsyncClient, app) -> None:
    await shop_with_desk_refunds()
    headers = await bearer(Role.OWNER)
    today = clock.now().astimezone(ZONE).date()
    query = f"from={today - timedelta(days=29)}&to={today}"
    result = await refund_report(Period(*_days(today - timedelta(days=29), today)), zone=ZONE)
    body = (
        await client.get(f"/api/v1/reports/refunds?{query}&group_by=reason", headers=headers)
    ).json()
    assert body["totals"]["refunded"] == f"{result.totals.refunded:.2f}"
    assert {i["key"]: i["refunded"] for i in body["items"]} == {
        r.key: f"{r.amount:.2f}" for r in result.groups["reason"]
    }
    days = (
        await client.get(f"/api/v1/reports/refunds?{query}&group_by=day", headers=headers)
    ).json()
    assert [i["key"] for i in days["items"]] == [r.key for r in result.series]
    bad = await client.get("/api/v1/reports/refunds?group_by=colour", headers=headers)
    assert bad.status_code == 400
    agent = await client.get("/api/v1/reports/refunds", headers=await bearer(Role.AGENT))
    assert agent.status_code == 403
