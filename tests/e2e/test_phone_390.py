"""Every page of the desk fits a 390 px phone (iPhone 12-15) in Chinese, as an admin.

The pages are not listed by hand: the app's own route table is walked (as
``tests/core/test_escaping.py`` does), so a page a module adds tomorrow is
checked too, and a new path parameter without an id here fails the test.
One browser, one context, one tab: the whole walk stays well under a minute.

Besides the width, the phone shell itself is checked: the top menu folds
behind a button that works without script, queue rows read as labelled cards
with thumb-sized links, and printing drops the menu and the controls. The
screenshots at 390 and 1280 px are for a person to look at.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from playwright.async_api import Browser, Page, expect
from starlette.routing import BaseRoute, Mount, Route

from aftersales.core.config import Settings
from aftersales.core.web import create_app
from tests.e2e.conftest import SCREENSHOTS, RunningDesk

ADMIN, ADMIN_PASSWORD = "laoban", "admin-pass-2026"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NOT_PAGES = ("/api/v1", "/static", "/hooks")  # JSON, files, signed webhooks
PROBES = ("/healthz",)  # JSON for a load balancer
PARAM = re.compile(r"{(\w+)(?::\w+)?}")
# Routes that answer a file, not a page: nothing to lay out.
DOWNLOADS = re.compile(r"\.(xlsx|csv|zip)$|/evidence/{evidence_id|/photos/{photo_id")
# Opened at both widths and kept as screenshots (name -> how to find the path).
SHOWN = ("home", "refund-queue", "refund-detail", "return-queue", "return-detail")
# Pages that need a query to show their form (an order to start a case from).
QUERIES = {"/refunds/new": "?order={order_id}", "/returns/new": "?order={order_id}"}
TOUCH = 44  # px: the smallest control a thumb hits reliably (WCAG 2.5.5, Apple HIG)


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
    }


async def too_wide(page: Page) -> int:
    """How many px the page sticks out sideways (0 when it fits)."""
    return int(
        await page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")
    )


async def small_controls(page: Page) -> list[str]:
    """Visible buttons, fields and list links shorter than a thumb (checkboxes count by
    their label, which is what a finger presses)."""
    return list(
        await page.evaluate(
            """(touch) => {
              const small = [];
              const targets = document.querySelectorAll(
                "main button, main input:not([type=hidden]), main select, main textarea, " +
                "main a.button, table.list a, .pager a, .topbar .menu-button");
              for (const el of targets) {
                let box = el.getBoundingClientRect();
                if (box.width === 0 && box.height === 0) continue;  // hidden
                if (el.type === "checkbox" || el.type === "radio") {
                  const label = el.closest("label");
                  if (label) box = label.getBoundingClientRect();
                }
                if (box.height < touch - 0.5) {
                  small.push(`${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}: ` +
                             `${Math.round(box.height)}px`);
                }
              }
              return small;
            }""",
            TOUCH,
        )
    )


async def test_every_page_fits_a_390_px_phone_in_chinese(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    demo_desk.cli("user", "add", ADMIN, "--role", "admin", "--password", ADMIN_PASSWORD)
    context = await browser.new_context(
        locale="zh-CN", viewport=PHONE, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = await context.new_page()
    await page.goto(demo_desk.url + "/login")
    await page.get_by_label("用户名").fill(ADMIN)
    await page.get_by_label("密码").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator(".user-name")).to_have_text(ADMIN)

    ids = await demo_ids(page, demo_desk)
    urls: list[str] = []
    for path in page_paths():
        if DOWNLOADS.search(path):
            continue
        names = PARAM.findall(path)
        assert set(names) <= set(ids), f"{path}: give the test an id for {names}"
        urls.append(PARAM.sub(lambda m: ids[m.group(1)], path + QUERIES.get(path, "")))
    assert len(urls) > 15, urls

    wide: dict[str, int] = {}
    for url in urls:
        response = await page.goto(demo_desk.url + url)
        assert response is not None and response.status < 400, f"{url}: {response}"
        if overflow := await too_wide(page):
            wide[url] = overflow
            name = url.strip("/").replace("/", "-") or "home"
            await page.screenshot(path=SCREENSHOTS / f"too-wide-390-{name}.png", full_page=True)
    assert wide == {}, f"pages wider than a 390 px phone (px too wide): {wide}"

    # The menu folds away behind one button and opens without any script.
    await page.goto(demo_desk.url + "/")
    nav = page.locator(".topbar nav")
    await expect(nav).to_be_hidden()
    await page.locator(".topbar .menu-button").click()
    await expect(nav.get_by_role("link", name="退款", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="退出")).to_be_visible()
    assert await too_wide(page) == 0
    await page.screenshot(path=SCREENSHOTS / "zh-390-menu-open.png")

    # Queues are cards: each cell carries its column's name, links are thumb-sized.
    for queue in ("/refunds/", "/returns/"):
        await page.goto(demo_desk.url + queue)
        first_row = page.locator("table.list.stack tbody tr").first
        await expect(first_row.locator("td[data-label='订单号']")).to_be_visible()
        assert await first_row.evaluate("tr => getComputedStyle(tr).display") != "table-row"
        label = await first_row.locator("td[data-label='订单号']").evaluate(
            "td => getComputedStyle(td, '::before').content"
        )
        assert label == '"订单号"', label
        assert await small_controls(page) == [], queue

    shown = {
        "home": "/",
        "refund-queue": "/refunds/",
        "refund-detail": f"/refunds/{ids['refund_id']}",
        "return-queue": "/returns/",
        "return-detail": f"/returns/{ids['case_id']}",
    }
    assert tuple(shown) == SHOWN
    for viewport in (PHONE, DESKTOP):
        await page.set_viewport_size(viewport)
        for name, path in shown.items():
            await page.goto(demo_desk.url + path)
            if viewport is PHONE:
                assert await small_controls(page) == [], path
            await page.screenshot(
                path=SCREENSHOTS / f"zh-{viewport['width']}-{name}.png", full_page=True
            )
    # The wide desk keeps its one-line menu and its table queue.
    await page.goto(demo_desk.url + "/refunds/")
    await expect(page.locator(".topbar nav")).to_be_visible()
    await expect(page.locator(".topbar .menu-button")).to_be_hidden()
    await expect(page.locator("table.list.stack thead")).to_be_visible()

    # On paper: no menu, no buttons or fields, black text, links as their words.
    await page.emulate_media(media="print")
    await page.goto(demo_desk.url + shown["refund-detail"])
    await expect(page.locator(".topbar nav")).to_be_hidden()
    await expect(page.locator("main button").first).to_be_hidden()
    assert await page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    link = page.locator("main a[href^='/orders/']").first
    assert await link.evaluate("a => getComputedStyle(a).color") == "rgb(0, 0, 0)"
    await page.screenshot(path=SCREENSHOTS / "zh-print-refund-detail.png", full_page=True)
    await context.close()


def test_the_walk_finds_the_desk_pages() -> None:
    """The route walk sees the queues and detail pages (so the check above means something)."""
    paths = page_paths()
    for path in ("/", "/refunds/", "/refunds/{refund_id:id}", "/returns/{case_id:id}"):
        assert path in paths, paths
    assert not any(p.startswith(NOT_PAGES) for p in paths)
    assert Path(SCREENSHOTS).name == "screenshots"
