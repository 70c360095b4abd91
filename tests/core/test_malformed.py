"""Malformed requests are a 4xx, never a 500: huge and negative ids, broken bodies, odd dates,
NaN amounts, over-long strings, and a platform record too long for its column.

The walk at the top visits every route of the app (pages as a signed-in
admin, the API with an owner's token), so a route added tomorrow is covered.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from aftersales.core import service
from aftersales.core.config import Settings
from aftersales.core.models import Role, Store
from aftersales.orders import sync
from aftersales.orders.models import Order, OrderItem, SyncError
from aftersales.refunds.models import Refund, RefundStatus
from connectors.base import Stream
from tests.conftest import csrf_from, sign_in
from tests.factories import create_demo_desk, create_user
from tests.fakes.serve import serve
from tests.fakes.woocommerce import FakeWooShop, make_app
from tests.orders.test_sync_handoff import woo_store

HUGE = str(2**63)
BAD_IDS = (HUGE, "99999999999999999999999999", str(2**31), "-1", "0")
BAD_QUERY = {
    "page": HUGE,
    "per_page": HUGE,
    "store": HUGE,
    "store_id": HUGE,
    "order": HUGE,
    "order_id": HUGE,
    "assignee": HUGE,
    "from": "0001-01-01",
    "to": "9999-12-31",
    "min": "NaN",
    "max": "-Infinity",
    "min_amount": "NaN",
    "max_amount": "1e999999",
}
# Signing out ends the walk's session; health is a 503 while no worker runs (by design).
SKIPPED = ("/logout", "/healthz", "/api/v1/openapi.json")
PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def _walk(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str]]]:
    found: list[tuple[str, set[str]]] = []
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            found += _walk(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            found.append((prefix + route.path, set(route.methods or {"GET"}) - {"HEAD"}))
    return found


def _paths_with(path: str, bad: str) -> str:
    return PARAM.sub(lambda m: bad if m.group(2) == "id" else "x", path)


async def _no_server_errors(
    client: httpx.AsyncClient, app: Any, *, api: bool, headers: dict[str, str], csrf: str
) -> int:
    tried = 0
    failures = []
    for path, methods in _walk(list(app.routes)):
        if path.startswith("/api/v1") != api or path in SKIPPED:
            continue
        targets = [_paths_with(path, bad) for bad in BAD_IDS] if "{" in path else [path]
        for target in targets:
            for method in sorted(methods):
                if method == "GET":
                    response = await client.get(target, params=BAD_QUERY, headers=headers)
                else:
                    response = await client.request(
                        method,
                        target,
                        headers=headers,
                        **({"json": {"version": 2**63}} if api else {"data": {"csrf_token": csrf}}),
                    )
                tried += 1
                if response.status_code >= 500:
                    failures.append(f"{method} {target}: {response.status_code}")
                if "{" in path and "id}" in path:
                    # An id no row can have is simply not there.
                    assert response.status_code in (303, 404), (method, target, response.text[:200])
    assert not failures, failures
    return tried


async def test_every_page_survives_huge_and_negative_ids(
    client: httpx.AsyncClient, app: Any, clean_db: Settings
) -> None:
    await create_demo_desk(clean_db)
    admin = await create_user(username="root", role=Role.ADMIN)
    await sign_in(client, admin.username)
    csrf = await csrf_from(client, "/account")
    tried = await _no_server_errors(client, app, api=False, headers={}, csrf=csrf)
    assert tried > 100


async def test_every_api_route_survives_huge_and_negative_ids(
    client: httpx.AsyncClient, app: Any, clean_db: Settings
) -> None:
    _owner, token = await create_demo_desk(clean_db)
    headers = {"Authorization": f"Bearer {token}"}
    tried = await _no_server_errors(client, app, api=True, headers=headers, csrf="")
    assert tried > 50


async def test_a_huge_refund_id_to_approve_is_a_json_404(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    owner = await create_user(role=Role.OWNER)
    token = await service.create_token(owner, "script")
    response = await client.post(
        f"/api/v1/refunds/{HUGE}/approve", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_broken_multipart_login_is_a_400_page_in_the_users_language(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/login")
    broken = [
        ("multipart/form-data", b"username=a&password=b"),  # no boundary
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nfoo\r\n\r\nb\r\n--xyz--"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\n"),
    ]
    for content_type, body in broken:
        response = await client.post(
            "/login",
            content=body,
            headers={"Content-Type": content_type, "Accept-Language": "zh-CN"},
        )
        assert response.status_code == 400, response.text[:300]
        assert "无法读取表单" in response.text


async def test_a_wrong_method_on_the_api_is_a_405_naming_the_allowed_ones(
    client: httpx.AsyncClient,
) -> None:
    owner = await create_user(role=Role.OWNER)
    token = await service.create_token(owner, "script")
    response = await client.delete("/api/v1/refunds", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_dates_at_the_ends_of_the_calendar_are_refused(
    client: httpx.AsyncClient, clean_db: Settings, day: str
) -> None:
    owner = await create_user(role=Role.OWNER)
    token = await service.create_token(owner, "script")
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"}
    for path in ("/api/v1/reports/refunds", "/api/v1/reports/returns"):
        response = await client.get(path, params={"from": day, "to": day}, headers=headers)
        assert response.status_code == 400, (path, response.text)
        assert "1970-01-01" in response.json()["error"]["message"]
        assert "日期" in response.json()["error"]["message"]
    api = await client.get(
        "/api/v1/orders", params={"placed_from": day + "T00:00:00"}, headers=headers
    )
    assert api.status_code == 400
    await sign_in(client, owner.username)
    for path in ("/refunds/report", "/returns/report", "/orders/"):
        # The refund report flashes its errors over the default period; the others are a 400.
        page = await client.get(path, params={"from": day}, follow_redirects=True)
        assert page.status_code in (200, 400), (path, page.status_code)
        assert "2999-12-31" in page.text, path


async def test_nan_infinity_and_negative_amounts_are_refused(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    _owner, token = await create_demo_desk(clean_db)
    headers = {"Authorization": f"Bearer {token}"}
    for value in ("NaN", "Infinity", "-5", "1e999999", "sNaN"):
        listed = await client.get("/api/v1/refunds", params={"min_amount": value}, headers=headers)
        assert listed.status_code == 400, (value, listed.text)
        assert listed.json()["error"]["code"] == "invalid_amount"
    # One worked on the refund page (a return-and-refund's is decided in its return case).
    refund = await Refund.filter(status=RefundStatus.REQUESTED, worked_in__isnull=True).first()
    assert refund is not None
    for value in ("NaN", "Infinity", "-5", "1e999999"):
        approved = await client.post(
            f"/api/v1/refunds/{refund.id}/approve", json={"amount": value}, headers=headers
        )
        assert approved.status_code == 400, (value, approved.text)
    assert (await Refund.get(id=refund.id)).status == refund.status

    store = await Store.first()
    assert store is not None
    await sign_in(client, "owner")
    csrf = await csrf_from(client, f"/refunds/rules/{store.id}")
    for value in ("NaN", "Infinity", "-5", "1e999999"):
        saved = await client.post(
            f"/refunds/rules/{store.id}",
            data={"csrf_token": csrf, "auto_approve": value},
            follow_redirects=True,
        )
        assert saved.status_code == 200, value
        assert "is not an amount" in saved.text or "zero or more" in saved.text, value
    rules = await client.get(f"/refunds/rules/{store.id}")
    assert "NaN" not in rules.text and "Infinity" not in rules.text


async def test_a_20000_character_store_name_is_refused_and_nothing_is_created(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    owner = await create_user(role=Role.OWNER)
    token = await service.create_token(owner, "script")
    name = "店" * 20_000
    response = await client.post(
        "/api/v1/stores",
        json={"name": name, "platform": "demo"},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_long"
    assert "20000" in response.json()["error"]["message"]
    await sign_in(client, owner.username)
    csrf = await csrf_from(client, "/orders/stores/")
    page = await client.post(
        "/orders/stores/", data={"csrf_token": csrf, "name": name, "platform": "demo"}
    )
    assert page.status_code == 400
    # Shorter than any form field may be, still longer than the column: the form says so.
    page = await client.post(
        "/orders/stores/",
        data={"csrf_token": csrf, "name": "店" * 200, "platform": "demo"},
        follow_redirects=True,
    )
    assert page.status_code == 200 and "at most 128 characters" in page.text
    assert await Store.all().count() == 0


async def test_over_long_notes_in_the_api_are_refused(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    _owner, token = await create_demo_desk(clean_db)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    assert refund is not None
    response = await client.post(
        f"/api/v1/refunds/{refund.id}/reject",
        json={"reason": "太长" * 10_000},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_long"
    assert (await Refund.get(id=refund.id)).status == refund.status


async def test_a_platform_record_too_long_for_its_column_is_a_sync_error_and_the_rest_lands(
    clean_db: Settings,
) -> None:
    shop = FakeWooShop()
    shop.seed(5, start=datetime.now(UTC) - timedelta(days=3), refund_every=0)
    shop.orders[1002]["line_items"][0]["sku"] = "S" * 505
    shop.orders[1003]["billing"]["first_name"] = "名" * 300
    with serve(make_app(shop)) as url:
        store = await woo_store(shop, url, clean_db)
        connector = sync.connector_for(store, clean_db.secret_key)
        result = await sync.sync_stream(store, Stream.ORDERS, connector)
        await connector.aclose()
    assert result.bad_records == 2
    landed = set(await Order.filter(store_id=store.id).values_list("platform_order_id", flat=True))
    assert landed == {"1000", "1001", "1004"}
    errors = {e.record_id: e.message for e in await SyncError.filter(store_id=store.id)}
    assert set(errors) == {"1002", "1003"}
    assert "505" in errors["1002"] and "sku" in errors["1002"]
    assert await OrderItem.filter(order__store_id=store.id).count() == 3


async def test_openapi_describes_ids_parameters_bodies_and_every_status(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    approve = document["paths"]["/api/v1/refunds/{refund_id}/approve"]["post"]
    (refund_id,) = [p for p in approve["parameters"] if p["in"] == "path"]
    assert refund_id["schema"] == {"type": "integer", "format": "int64", "minimum": 1}
    assert {"200", "400", "401", "403", "404", "409", "422"} <= set(approve["responses"])
    assert "application/json" in approve["requestBody"]["content"]
    listing = document["paths"]["/api/v1/refunds"]["get"]
    assert {"page", "per_page", "store_id", "min_amount"} <= {
        p["name"] for p in listing["parameters"]
    }
    assert "201" in document["paths"]["/api/v1/refunds"]["post"]["responses"]
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]


async def test_an_over_long_note_in_a_page_form_is_a_400_and_changes_nothing(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    await create_demo_desk(clean_db)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    assert refund is not None
    await sign_in(client, "owner")
    csrf = await csrf_from(client, f"/refunds/{refund.id}")
    response = await client.post(
        f"/refunds/{refund.id}/reject",
        data={"csrf_token": csrf, "reason": "太长" * 10_000},
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 400
    assert "20000" in response.text and "10000" in response.text
    assert (await Refund.get(id=refund.id)).status == RefundStatus.REQUESTED


async def test_a_505_character_order_id_in_a_csv_import_is_a_bad_row_and_the_rest_lands(
    clean_db: Settings,
) -> None:
    from aftersales.orders.service import create_store, import_orders
    from tests.orders.test_import_and_stores import HEADER, ROWS

    store = await create_store(name="导入店", platform="csv", secret_key=clean_db.secret_key)
    long_id = "9" * 505
    rows = [ROWS[0], ROWS[2].replace('="3003"', f'="{long_id}"')]
    result = await import_orders(store, (HEADER + "".join(rows)).encode("gbk"))
    assert set(await Order.filter(store=store).values_list("platform_order_id", flat=True)) == {
        "3001"
    }
    (bad,) = result.errors
    assert "platform_order_id is 505 characters" in bad.message


async def test_a_value_longer_than_its_column_in_a_lookup_is_a_400(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    """The net under every check: Tortoise refuses the value, the desk answers 400, not 500."""
    _owner, token = await create_demo_desk(clean_db)
    order = await Order.first()
    assert order is not None
    response = await client.get(
        "/api/v1/returns/policy-check",
        params={"order_id": order.id, "item_id": "x" * 300},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_long"
    assert "超出" in response.json()["error"]["message"]


# -- found in the review after the merge ------------------------------------------------


@pytest.mark.parametrize("value", ["--5", "+-1", "5-", "٣"])
async def test_a_number_with_odd_signs_or_digits_is_a_400_not_a_crash(
    client: httpx.AsyncClient, value: str
) -> None:
    owner = await create_user(role=Role.OWNER)
    token = await service.create_token(owner, "script")
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/orders", "/api/v1/refunds", "/api/v1/returns"):
        answer = await client.get(path, params={"page": value}, headers=headers)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["error"]["code"] == "invalid_parameter"
    await sign_in(client, owner.username)
    page = await client.get("/orders/", params={"page": value})
    assert page.status_code < 500


async def test_a_json_body_nested_past_reason_or_over_a_mebibyte_is_a_400(
    client: httpx.AsyncClient, clean_db: Settings
) -> None:
    _owner, token = await create_demo_desk(clean_db)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    assert refund is not None
    deep = b'{"note": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = await client.post(f"/api/v1/refunds/{refund.id}/reject", content=deep, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_json"
    huge = b'{"note": "' + b"x" * (1024 * 1024 + 1) + b'"}'
    answer = await client.post(f"/api/v1/refunds/{refund.id}/reject", content=huge, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "body_too_large"
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED


async def test_a_csrf_token_outside_ascii_is_refused_not_a_crash(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/login")
    form = await client.post("/login", data={"username": "x", "password": "y", "csrf_token": "é"})
    assert form.status_code == 403
    header = await client.post(
        "/login", data={"username": "x", "password": "y"}, headers={"X-CSRF-Token": "令牌".encode()}
    )
    assert header.status_code == 403
