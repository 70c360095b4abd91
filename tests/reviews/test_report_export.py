"""The rating report's downloads hold the figures the page shows, and open as spreadsheets."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import httpx
import openpyxl
import pytest

from aftersales.core.models import Role, Store
from aftersales.reviews import export
from aftersales.reviews.models import ShopScore
from aftersales.reviews.report import rating_report
from tests.conftest import sign_in
from tests.factories import create_user
from tests.reviews import report_factories as make
from tests.reviews.test_report import FIRST, LAST, ZONE, known_shop, local, period

pytestmark = pytest.mark.usefixtures("clean_db")
QUERY = f"from={FIRST}&to={LAST}"


def rows_of(answer: httpx.Response) -> list[list[str]]:
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


async def _owner(client: httpx.AsyncClient) -> None:
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")


async def test_each_csv_holds_the_page_figures(client: httpx.AsyncClient, app) -> None:
    shop = await known_shop()
    await ShopScore.create(store=shop.one, day=LAST, description=Decimal("4.85"),
                           service=Decimal("4.90"), logistics=Decimal("4.60"),
                           captured_at=local(LAST))  # fmt: skip
    await _owner(client)
    summary = {
        r[0]: r[1:] for r in rows_of(await client.get(f"/reviews/report/summary.csv?{QUERY}"))
    }
    assert summary["Good-review rate"] == ["71.4%", "75.0%"]
    assert summary["Bad reviews"] == ["3", "1"]
    assert summary["Turnaround rate"] == ["66.7%", "0.0%"]
    assert summary["Median hours to first contact"] == ["2.0", "3.0"]
    assert summary["Compensation paid"] == ["18.00", "0.00"]
    assert summary["Compensation per recovered review"] == ["9.00", ""]
    page = (await client.get(f"/reviews/report?{QUERY}")).text
    for shown in ("71.4%", "75.0%", "66.7%", "¥9.00", "¥18.00"):
        assert shown in page, "the page shows what the file says"

    reasons = rows_of(await client.get(f"/reviews/report/reason.csv?{QUERY}"))
    by_reason = {r[0]: r for r in reasons[1:]}
    assert by_reason["Quality problem"][1:4] == ["0", "1", "1"], "neutral and bad, not good"
    assert set(by_reason) == {"Quality problem", "Delivery problem", "Size or fit", "Other"}
    products = {
        r[1]: r for r in rows_of(await client.get(f"/reviews/report/product.csv?{QUERY}"))[1:]
    }
    assert products["item-2"][0] == "牛仔裤" and products["item-2"][5] == "0.0%"
    series = rows_of(await client.get(f"/reviews/report/series.csv?{QUERY}"))
    assert sum(int(r[1]) for r in series[1:]) == 10, "good reviews per day add up"
    outcomes = {
        r[0]: r[1:] for r in rows_of(await client.get(f"/reviews/report/outcomes.csv?{QUERY}"))
    }
    assert outcomes["Revised by the buyer"] == ["1", "0"]
    assert outcomes["Unchanged"] == ["1", "1"]
    scores = rows_of(await client.get(f"/reviews/report/scores.csv?{QUERY}"))
    assert scores[1][:5] == ["一号店", str(LAST), "4.85", "4.90", "4.60"]
    assert (await client.get(f"/reviews/report/nothing.csv?{QUERY}")).status_code == 404


async def test_the_workbook_has_a_sheet_per_table_with_numbers_as_numbers(
    client: httpx.AsyncClient, app
) -> None:
    await known_shop()
    await _owner(client)
    answer = await client.get(f"/reviews/report.xlsx?{QUERY}")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == [str(n) for n in export.TABLE_NAMES.values()]
    summary = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_row=2)}
    result = await rating_report(period(), zone=ZONE)
    assert summary["Good-review rate"] == pytest.approx(result.totals.rate)
    assert summary["Compensation per recovered review"] == pytest.approx(9.0)
    assert summary["Good reviews"] == 10
    by_product = book["By product"]
    for row in by_product.iter_rows(min_row=2):
        assert row[0].data_type == "s"
        assert all(c.data_type == "n" for c in row[2:]), "counts and rates are numbers"


async def test_a_formula_looking_title_stays_text(client: httpx.AsyncClient, app) -> None:
    formula = '=HYPERLINK("http://evil.example/","点我")'
    await known_shop()
    store = await Store.all().order_by("id").first()
    await make.review(store, local(LAST - timedelta(days=1)), result="bad", item="x",
                      title=formula)  # fmt: skip
    await _owner(client)
    products = rows_of(await client.get(f"/reviews/report/product.csv?{QUERY}"))
    assert ["'" + formula] == [r[0] for r in products[1:] if formula in r[0]]
    book = openpyxl.load_workbook(
        io.BytesIO((await client.get(f"/reviews/report.xlsx?{QUERY}")).content)
    )
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert formula in {c.value for c in cells}
