"""The time left on a queue row, in a real browser: rendered by the server, kept by desk.js."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.desks import SCREENSHOTS, RunningDesk
from tests.e2e.walk import sign_in_admin


async def test_the_queue_countdown_is_there_without_script_and_ticks_with_it(
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="zh-CN",
        viewport={"width": 1280, "height": 900},
        extra_http_headers={"Accept-Language": "zh-CN"},
    )
    page = await context.new_page()
    await sign_in_admin(page, reading_desk)
    # The demo's refunds due within a day are return-and-refunds, worked in their return
    # cases: the queue lists them on asking (``linked=any``), countdown included.
    await page.goto(reading_desk.url + "/refunds/?linked=any")
    first = page.locator(".countdown[data-due]").first
    text = await first.inner_text()
    assert text.startswith(("剩 ", "已超时 ")), text
    await page.screenshot(path=SCREENSHOTS / "zh-1280-refund-queue-countdown.png")
    # Three days pass on the page: desk.js says it is overdue, in Chinese, in the alert colour.
    await first.evaluate(
        """span => {
          span.dataset.now = new Date(Date.parse(span.dataset.due) + 3 * 86400000).toISOString();
          tickCountdowns();
        }"""
    )
    await expect(first).to_have_text("已超时 3 天")
    await expect(first).to_have_class("countdown alert")
    # A deadline tomorrow morning turns "today" (the notice colour) once the store's
    # midnight passes on the page, without a reload.
    await first.evaluate(
        """span => {
          const midnight = Date.parse("2026-12-02T16:00:00Z");  // 00:00 in Shanghai
          span.dataset.dayEnd = new Date(midnight).toISOString();
          span.dataset.due = new Date(midnight + 10 * 3600000).toISOString();
          span.dataset.now = new Date(midnight - 3600000).toISOString();
          span.className = "countdown plain";
          tickCountdowns();
        }"""
    )
    await expect(first).to_have_class("countdown plain")
    await first.evaluate(
        """span => {
          span.dataset.now = new Date(Date.parse(span.dataset.dayEnd) + 60000).toISOString();
          tickCountdowns();
        }"""
    )
    await expect(first).to_have_class("countdown notice")
    await expect(first).to_have_text("剩 9 小时 59 分")
    await context.close()
