"""The returns report adds up: its case total is the sum of the rows it shows."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.returns import demo as returns_demo
from aftersales.returns.models import ReturnCase, ReturnStatus
from tests.conftest import sign_in
from tests.factories import create_user
from tests.orders.test_api import bearer
from tests.returns.test_cases import synced_shop

pytestmark = pytest.mark.usefixtures("clean_db")


def tile(page: str, label: str) -> int:
    found = re.search(
        r'<span class="value">(\d+)</span>\s*<span class="label">' + re.escape(label), page
    )
    assert found, f"no tile {label!r}"
    return int(found.group(1))


async def test_the_case_total_is_the_sum_of_the_rows_refused_cases_included(
    client: httpx.AsyncClient, app
) -> None:
    store = await synced_shop()
    owner = await create_user(username="boss", role=Role.OWNER)
    await returns_demo.seed(store, owner)
    refused = await ReturnCase.filter(status=ReturnStatus.REJECTED).count()
    assert refused, "the demo has a refused case"
    today = clock.now().date()
    days = f"from={today - timedelta(days=90)}&to={today + timedelta(days=1)}"
    await sign_in(client, "boss")
    page = (await client.get(f"/returns/report?{days}")).text
    total = tile(page, "Return and exchange cases")
    table = page[page.index('class="list by-reason"') :]
    table = table[: table.index("</tbody>")]
    rows = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', table)]
    assert total == await ReturnCase.all().count()
    assert sum(rows) == total
    assert "Refused by the shop" in table
    assert tile(page, "Refused by the shop") == refused
    parts = [tile(page, label) for label in ("Returns", "Exchanges", "Refused by the shop")]
    assert sum(parts) == total
    chinese = await client.get(f"/returns/report?{days}", headers={"Accept-Language": "zh-CN"})
    assert "店铺拒绝" in chinese.text
    body = (
        await client.get(f"/api/v1/reports/returns?{days}", headers=await bearer(Role.OWNER))
    ).json()
    assert body["cases"] == total == sum(body["by_reason"].values()) + body["refused"]
