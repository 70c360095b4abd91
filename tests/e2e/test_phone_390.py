"""Every page of the desk fits a 390 px phone (iPhone 12-15) in Chinese, as an admin.

The pages are those of the route-table walk in ``tests/e2e/walk.py``.
One browser, one context, one tab: the whole walk stays well under a minute.

Besides the width, the phone shell itself is checked: the top menu folds
behind a button that works without script, queue rows read as labelled cards
with thumb-sized links, and printing drops the menu and the controls. The
screenshots at 390 and 1280 px are for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.e2e.desks import SCREENSHOTS, RunningDesk
from tests.e2e.walk import NOT_PAGES, demo_ids, page_paths, page_urls, sign_in_admin

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Opened at both widths and kept as screenshots (name -> how to find the path).
SHOWN = ("home", "refund-queue", "refund-detail", "return-queue", "return-detail")
TOUCH = 44  # px: the smallest control a thumb hits reliably (WCAG 2.5.5, Apple HIG)


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
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="zh-CN", viewport=PHONE, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = await context.new_page()
    await sign_in_admin(page, reading_desk)
    ids = await demo_ids(page, reading_desk)
    urls = page_urls(ids)

    wide: dict[str, int] = {}
    for url in urls:
        response = await page.goto(reading_desk.url + url)
        assert response is not None and response.status < 400, f"{url}: {response}"
        if overflow := await too_wide(page):
            wide[url] = overflow
            name = url.strip("/").replace("/", "-") or "home"
            await page.screenshot(path=SCREENSHOTS / f"too-wide-390-{name}.png", full_page=True)
    assert wide == {}, f"pages wider than a 390 px phone (px too wide): {wide}"

    # The menu folds away behind one button and opens without any script.
    await page.goto(reading_desk.url + "/")
    nav = page.locator(".topbar nav")
    await expect(nav).to_be_hidden()
    await page.locator(".topbar .menu-button").click()
    await expect(nav.get_by_role("link", name="退款", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="退出")).to_be_visible()
    assert await too_wide(page) == 0
    await page.screenshot(path=SCREENSHOTS / "zh-390-menu-open.png")

    # Queues are cards: each cell carries its column's name, links are thumb-sized.
    for queue in ("/refunds/", "/returns/"):
        await page.goto(reading_desk.url + queue)
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
            await page.goto(reading_desk.url + path)
            if viewport is PHONE:
                assert await small_controls(page) == [], path
            await page.screenshot(
                path=SCREENSHOTS / f"zh-{viewport['width']}-{name}.png", full_page=True
            )
    # The wide desk keeps its one-line menu and its table queue.
    await page.goto(reading_desk.url + "/refunds/")
    await expect(page.locator(".topbar nav")).to_be_visible()
    await expect(page.locator(".topbar .menu-button")).to_be_hidden()
    await expect(page.locator("table.list.stack thead")).to_be_visible()

    # On paper: no menu, no buttons or fields, black text, links as their words.
    await page.emulate_media(media="print")
    await page.goto(reading_desk.url + shown["refund-detail"])
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
