"""``GET /api/v1/reports/ratings`` answers the report's figures, and 4xx for a bad question."""

from __future__ import annotations

import httpx
import pytest

from aftersales.core.models import Role
from tests.orders.test_api import bearer
from tests.reviews.test_report import FIRST, LAST, known_shop

pytestmark = pytest.mark.usefixtures("clean_db")
URL = "/api/v1/reports/ratings"


async def test_the_api_gives_the_figures_the_page_gives(client: httpx.AsyncClient, app) -> None:
    shop = await known_shop()
    headers = await bearer(Role.OWNER)
    answer = await client.get(f"{URL}?from={FIRST}&to={LAST}&group=week", headers=headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["group"] == "week"
    t = body["totals"]
    assert (t["good"], t["neutral"], t["bad"], t["unrated"], t["negative"]) == (10, 1, 3, 1, 4)
    assert t["good_rate"] == pytest.approx(10 / 14)
    assert body["previous"]["good_rate"] == pytest.approx(0.75)
    assert sum(s["good"] for s in body["series"]) == 10
    reasons = {r["key"]: (r["bad"] + r["neutral"] + r["good"], r["previous"]["bad"])
               for r in body["by_reason"]}  # fmt: skip
    assert reasons["quality"] == (2, 1)
    jeans = next(p for p in body["by_product"] if p["key"] == "item-2")
    assert (jeans["label"], jeans["bad"], jeans["good_rate"]) == ("牛仔裤", 1, 0.0)
    cases = body["cases"]
    assert cases["outcomes"] == {"revised": 1, "positive_follow_up": 1, "unchanged": 1,
                                 "malicious": 0, "window_expired": 0}  # fmt: skip
    assert cases["turnaround_rate"] == pytest.approx(2 / 3)
    assert cases["first_contact_median_hours"] == pytest.approx(2.0)
    assert (cases["compensation_paid"], cases["compensation_per_recovered"]) == ("18.00", "9.00")
    assert body["previous_cases"]["compensation_per_recovered"] is None
    assert {s["store"]: s["latest"] for s in body["shop_scores"]} == {
        "一号店": None,
        "二号店": None,
    }

    one = (await client.get(f"{URL}?from={FIRST}&to={LAST}&store={shop.two.id}",
                            headers=headers)).json()  # fmt: skip
    assert (one["totals"]["good"], one["totals"]["bad"]) == (2, 1)
    assert [s["store_id"] for s in one["shop_scores"]] == [shop.two.id]


@pytest.mark.parametrize(
    "query",
    [
        "group=colour",
        "from=2026-11-20&to=2026-11-01",
        "from=0001-01-01",
        "to=9999-12-31",
        "from=2020-01-01&to=2026-01-01",
        "from=yesterday",
        "store=0",
        "store=99999999999999999999",
    ],
)
async def test_a_bad_question_is_a_400_with_a_message(
    client: httpx.AsyncClient, app, query: str
) -> None:
    answer = await client.get(f"{URL}?{query}", headers=await bearer(Role.OWNER))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"]


async def test_agents_may_not_read_it_and_strangers_must_sign_in(
    client: httpx.AsyncClient, app
) -> None:
    assert (await client.get(URL, headers=await bearer(Role.AGENT))).status_code == 403
    assert (await client.get(URL)).status_code == 401
    assert (await client.get(URL, headers=await bearer(Role.SUPERVISOR))).status_code == 200
