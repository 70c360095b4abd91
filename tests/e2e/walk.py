"""The walk over every page of the demo desk, shared by the browser tests that read them all.

The pages are not listed by hand: the app's own route table is walked (as
``tests/core/test_escaping.py`` does), so a page a module adds tomorrow is
checked too, and a new path parameter without an id here fails the test.
"""

from __future__ import annotations

import re
import tempfile

from playwright.async_api import Page, expect
from starlette.routing import BaseRoute, Mount, Route

from aftersales.core.config import Settings
from aftersales.core.web import create_app
from tests.e2e.desks import RunningDesk

ADMIN, ADMIN_PASSWORD = "laoban", "admin-pass-2026"
NOT_PAGES = ("/api/v1", "/static", "/hooks")  # JSON, files, signed webhooks
PROBES = ("/healthz",)  # JSON for a load balancer
PARAM = re.compile(r"{(\w+)(?::\w+)?}")
# Routes that answer a file, not a page: nothing to lay out or read.
DOWNLOADS = re.compile(r"\.(xlsx|csv|zip|jsonl)$|/evidence/{evidence_id|/photos/{photo_id")
# Pages that need a query to show their form (an order to start a case from).
QUERIES = {"/refunds/new": "?order={order_id}", "/returns/new": "?order={order_id}"}


def page_paths() -> list[str]:
    """Every GET route the desk mounts, with its ``{param}`` placeholders."""
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings.from_env({"AFTERSALES_DATA_DIR": data_dir}))
    found: list[str] = []

    def walk(routes: list[BaseRoute], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount) and route.path not in NOT_PAGES:
                walk(list(route.routes), prefix + route.path)
            elif (
                isinstance(route, Route)
                and "GET" in (route.methods or ())
                and prefix + route.path not in PROBES
            ):
                found.append(prefix + route.path)

    walk(list(app.routes), "")
    return found


async def first_id(page: Page, url: str, pattern: str) -> str:
    """The first id a listing page links to (``/refunds/(\\d+)`` on the queue, ...)."""
    answer = await page.request.get(url)
    assert answer.ok, url
    found = re.search(pattern, await answer.text())
    assert found, f"{url} links to nothing like {pattern}"
    return found.group(1)


async def demo_ids(page: Page, desk: RunningDesk) -> dict[str, str]:
    """An id for every path parameter, read off the demo desk's own pages."""
    base = desk.url
    order_id = await first_id(page, base + "/orders/", r'href="/orders/(\d+)"')
    return {
        "order_id": order_id,
        "store_id": await first_id(page, base + "/orders/stores/", r'href="/orders/stores/(\d+)"'),
        "customer_id": await first_id(
            page, f"{base}/orders/{order_id}", r'href="/orders/customers/(\d+)"'
        ),
        "user_id": await first_id(page, base + "/users/", r'href="/users/(\d+)"'),
        "refund_id": await first_id(page, base + "/refunds/", r'href="/refunds/(\d+)"'),
        "case_id": await first_id(page, base + "/returns/", r'href="/returns/(\d+)"'),
        "handover_id": await first_id(page, base + "/handover/diary", r'href="/handover/(\d+)"'),
    }


def page_urls(ids: dict[str, str]) -> list[str]:
    """Every page of the walk with its ids filled in, downloads left out."""
    urls: list[str] = []
    for path in page_paths():
        if DOWNLOADS.search(path):
            continue
        names = PARAM.findall(path)
        assert set(names) <= set(ids), f"{path}: give the test an id for {names}"
        urls.append(PARAM.sub(lambda m: ids[m.group(1)], path + QUERIES.get(path, "")))
    assert len(urls) > 15, urls
    return urls


async def sign_in_admin(page: Page, desk: RunningDesk) -> None:
    """Add the admin to the demo desk and sign in on the Chinese login form."""
    desk.add_user(ADMIN, "admin", ADMIN_PASSWORD)
    await page.goto(desk.url + "/login")
    await page.get_by_label("用户名").fill(ADMIN)
    await page.get_by_label("密码").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator(".user-name")).to_have_text(ADMIN)
