"""Every page a night agent opens on a phone fits its screen: nothing wider than 360 px.

Wide lists scroll sideways inside their own box; the page itself never does,
so the top bar, filters and buttons stay within reach of a thumb.
"""

from __future__ import annotations

from playwright.async_api import Browser, expect

from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from tests.e2e.desks import SCREENSHOTS, RunningDesk

PAGES = (
    "/",
    "/orders/",
    "/orders/stores/",
    "/refunds/",
    "/refunds/report",
    "/returns/",
    "/returns/receiving",
    "/returns/report",
    "/reviews/report",
    "/account",
)


async def test_every_main_page_fits_a_360_px_phone_in_chinese(
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="zh-CN",
        viewport={"width": 360, "height": 780},
        extra_http_headers={"Accept-Language": "zh-CN"},
    )
    page = await context.new_page()
    await page.goto(reading_desk.url + "/login")
    await page.locator("input[name=username]").fill(DEMO_USER)
    await page.locator("input[name=password]").fill(DEMO_PASSWORD)
    await page.locator("button[type=submit]").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("演示店主")

    paths = list(PAGES)
    await page.goto(reading_desk.url + "/refunds/")
    paths.append(
        str(
            await page.locator("table.refunds tbody a[href^='/refunds/']").first.get_attribute(
                "href"
            )
        )
    )
    await page.goto(reading_desk.url + "/returns/")
    paths.append(str(await page.locator("tbody a[href^='/returns/']").first.get_attribute("href")))
    SCREENSHOTS.mkdir(exist_ok=True)
    too_wide = {}
    for path in paths:
        response = await page.goto(reading_desk.url + path)
        assert response is not None and response.status == 200, path
        width = await page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            too_wide[path] = width
        name = path.strip("/").replace("/", "-") or "home"
        await page.screenshot(path=str(SCREENSHOTS / f"phone-360-{name}.png"), full_page=True)
        # The queues' status filter speaks Chinese too (it said "Open" as a verb before).
        assert "Still open" not in await page.content()
    assert too_wide == {}
    await context.close()
