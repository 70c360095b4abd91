"""The orders list on a 390 px phone in Chinese: placeholders fit, marks show.

A placeholder cut off mid-word ("订单号、买家昵称、手机号（或后") tells the
newcomer less than none; each search box's hint must fit inside its box.
The list's marks (an open refund or return, an unpaid order) must be seen.
Screenshots (the top of the list) at 390 and 1280 px are for a person to look at.
"""

from __future__ import annotations

from playwright.async_api import Browser, Page

from tests.e2e.desks import SCREENSHOTS, RunningDesk
from tests.e2e.walk import sign_in_admin

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


async def cut_placeholders(page: Page) -> list[str]:
    """Visible fields whose placeholder is wider than the room inside the field."""
    return list(
        await page.evaluate(
            """() => {
              const cut = [];
              const ctx = document.createElement("canvas").getContext("2d");
              for (const el of document.querySelectorAll("main [placeholder]")) {
                const box = el.getBoundingClientRect();
                if (box.width === 0) continue;
                const style = getComputedStyle(el);
                ctx.font = `${style.fontSize} ${style.fontFamily}`;
                const room = el.clientWidth - parseFloat(style.paddingLeft)
                  - parseFloat(style.paddingRight) - 24;  // the search field's clear button
                const text = ctx.measureText(el.placeholder).width;
                if (text > room) cut.push(`${el.name}: ${Math.round(text)} > ${Math.round(room)}`);
              }
              return cut;
            }"""
        )
    )


async def test_the_orders_search_hint_fits_and_the_marks_show(
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="zh-CN", viewport=PHONE, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = await context.new_page()
    await sign_in_admin(page, reading_desk)
    for path in ("/orders/", "/refunds/", "/returns/"):
        await page.goto(reading_desk.url + path)
        assert await cut_placeholders(page) == [], path
    await page.goto(reading_desk.url + "/orders/")
    assert await page.locator("a.badge").count() > 0  # the demo has open refunds
    await page.screenshot(path=SCREENSHOTS / "zh-390-orders.png")
    await page.set_viewport_size(DESKTOP)
    await page.goto(reading_desk.url + "/orders/")
    assert await cut_placeholders(page) == [], "the desk's orders search"
    await page.screenshot(path=SCREENSHOTS / "zh-1280-orders.png")
    await context.close()
