"""``GET /api/v1/reviews`` and ``GET /api/v1/review-cases``: paging, filters, bad input."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.orders.models import Customer, Order
from aftersales.reviews.models import Review, ReviewCase, ReviewCaseStatus
from connectors.base import OrderStatus, ReviewResult
from tests.factories import create_store
from tests.orders.test_api import bearer
from tests.reviews.intake_helpers import record, take

pytestmark = pytest.mark.usefixtures("clean_db")


async def a_shop() -> int:
    store = await create_store()
    buyer = await Customer.create(
        store=store, platform_buyer_id="b1", nick="小王", phone="13800001111",
        address="浙江省杭州市西湖区文一路 1 号", tags=[],
    )  # fmt: skip
    now = clock.now()
    await Order.create(
        store=store, platform_order_id="T100", customer=buyer, status=OrderStatus.COMPLETED,
        platform_status="TRADE_FINISHED", total_amount="10.00", paid_amount="10.00",
        placed_at=now - timedelta(days=9), platform_updated_at=now, synced_at=now,
    )  # fmt: skip
    records = [
        record(rid=f"G{n}", created_at=now - timedelta(hours=n + 1), result=ReviewResult.GOOD,
               text="很好")
        for n in range(7)
    ] + [
        record(rid="B1", created_at=now - timedelta(days=1), result=ReviewResult.BAD,
               text="发错货", order="T100", nick="小王"),
        record(rid="N1", created_at=now - timedelta(days=2), result=ReviewResult.NEUTRAL,
               text="一般"),
    ]  # fmt: skip
    await take(store, records)
    return store.id


async def test_reviews_page_by_cursor_to_the_end_and_filter(client: httpx.AsyncClient) -> None:
    store_id = await a_shop()
    headers = await bearer(Role.AGENT)
    seen: list[int] = []
    cursor = ""
    for _ in range(5):
        answer = await client.get(f"/api/v1/reviews?limit=4{cursor}", headers=headers)
        assert answer.status_code == 200
        body = answer.json()
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert len(seen) == 9 and len(set(seen)) == 9 and seen == sorted(seen, reverse=True)

    bad = (await client.get("/api/v1/reviews?result=bad", headers=headers)).json()["items"]
    (item,) = bad
    assert item["platform_review_id"] == "B1" and item["reviewer_nick"] == "小王"
    assert item["platform_order_id"] == "T100" and item["order_id"] is not None
    text = str(item)
    assert "13800001111" not in text and "文一路" not in text  # the nick only, nothing personal
    got = await client.get(f"/api/v1/reviews?store_id={store_id}&q=一般", headers=headers)
    assert [i["platform_review_id"] for i in got.json()["items"]] == ["N1"]

    # By reason (a JSON list on the row), paged by the cursor all the same.
    tagged = ["G1", "G3", "G5", "B1"]
    await Review.all().update(reasons=[])
    await Review.filter(platform_review_id__in=tagged).update(
        reasons=[{"reason": "wrong_or_missing", "confidence": 0.7}]
    )
    found: list[str] = []
    cursor = ""
    for _ in range(5):  # 4 tagged, 3 a page: two pages, then no cursor
        body = (
            await client.get(f"/api/v1/reviews?reason=wrong_or_missing&limit=3{cursor}",
                             headers=headers)
        ).json()  # fmt: skip
        found += [i["platform_review_id"] for i in body["items"]]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert sorted(found) == sorted(tagged)


@pytest.mark.parametrize(
    "query",
    [
        "cursor=99999999999999999999",
        "store_id=99999999999",
        "limit=0",
        "limit=100000",
        "result=awful",
        "rating=6",
        "from=2026-13-40",
    ],
)
async def test_a_bad_reviews_parameter_is_a_400_naming_it(
    client: httpx.AsyncClient, query: str
) -> None:
    headers = await bearer(Role.AGENT)
    answer = await client.get(f"/api/v1/reviews?{query}", headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_parameter"


async def test_review_cases_by_due_time_filtered_and_paged(client: httpx.AsyncClient) -> None:
    store_id = await a_shop()
    headers = await bearer(Role.SUPERVISOR)
    answer = (await client.get("/api/v1/review-cases?status=open", headers=headers)).json()
    assert answer["total"] == 2
    assert [i["due_at"] for i in answer["items"]] == sorted(i["due_at"] for i in answer["items"])
    first = answer["items"][0]
    assert first["status"] == "new" and first["buyer_nick"] in ("小王", "买家甲")
    assert "phone" not in first and "address" not in first

    case = await ReviewCase.get(review__platform_review_id="B1")
    await ReviewCase.filter(id=case.id).update(status=ReviewCaseStatus.CLOSED)
    still = (await client.get("/api/v1/review-cases?status=open", headers=headers)).json()
    assert still["total"] == 1
    paged = await client.get(
        f"/api/v1/review-cases?store_id={store_id}&per_page=1&page=2", headers=headers
    )
    assert paged.json()["page"] == 2 and len(paged.json()["items"]) == 1
    for query in ("store_id=99999999999", "status=lost", "due=tomorrow", "page=0"):
        refused = await client.get(f"/api/v1/review-cases?{query}", headers=headers)
        assert refused.status_code == 400, query
    assert (await client.get("/api/v1/review-cases")).status_code == 401
