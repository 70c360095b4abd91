"""The API lists the orders behind each morning check, and refuses a check it does not know."""

from __future__ import annotations

import httpx

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.orders import service
from tests.orders.test_api import bearer
from tests.orders.test_routes import NOW, demo_orders  # noqa: F401  (fixture)


async def test_each_morning_check_lists_as_many_orders_as_its_tile_counts(
    client: httpx.AsyncClient,
    demo_orders,  # noqa: F811
) -> None:
    clock.travel(NOW - clock.now())
    headers = await bearer(Role.AGENT)
    counts = await service.morning_counts()
    expected = {
        "unpaid_over_a_day": counts.unpaid_over_a_day,
        "late_shipment": counts.late_shipments,
        "last_24_hours": counts.placed_today,
    }
    assert all(expected.values()), expected
    for check, count in expected.items():
        body = (await client.get(f"/api/v1/orders?check={check}", headers=headers)).json()
        assert body["total"] == count, check
    wrong = await client.get("/api/v1/orders?check=everything", headers=headers)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "invalid_parameter"
    chinese = await client.get(
        "/api/v1/orders?check=everything", headers={**headers, "Accept-Language": "zh-CN"}
    )
    assert "未知的检查项" in chinese.json()["error"]["message"]
