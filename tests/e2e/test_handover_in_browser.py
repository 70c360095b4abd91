"""A night agent signs in on a phone, is shown the handover first, reads back the urgent
items and takes the list over; the print view renders. Real browser, in Chinese."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.e2e.desks import SCREENSHOTS, RunningDesk
from tests.e2e.test_send_to_supervisor import DESK, PHONE, sign_in

DEMO_PASSWORD = "demo-desk-2026"  # the demo team signs in with the demo password
READBACKS = ("我会在约定时间给买家回电话，说明退款进度", "一小时内核实破损照片并回复买家")


async def test_a_night_agent_reads_back_the_urgent_items_and_takes_the_handover_over(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(locale="zh-CN", viewport=PHONE)
    page = await context.new_page()
    await sign_in(page, demo_desk.url, "chen.night", DEMO_PASSWORD)

    # Home: the handover is the first thing on the page, before every tile.
    notice = page.locator("ul.notices a.notice").first
    await expect(notice).to_contain_text("交班：共")
    # The demo's two urgent promises, and any urgent follow-up its angry buyers have open.
    await expect(notice).to_contain_text(re.compile(r"[2-9] 项紧急"))
    first = await page.evaluate(
        "() => { const n = document.querySelector('ul.notices');"
        " const t = document.querySelector('.tile');"
        " return !t || !!(n.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING); }"
    )
    assert first, "the handover notice comes before the home tiles"
    await page.screenshot(path=SCREENSHOTS / "handover_home_390.png", full_page=True)
    await notice.click()

    urgent = page.locator("li.handover-item.urgent")
    await expect(urgent.first).to_be_visible()
    count = await urgent.count()
    assert count >= 2, f"{count} urgent items"
    await expect(page.locator("h1")).to_contain_text(f"{count} 项紧急")
    lines = [*READBACKS, *(f"今晚十点前跟进第 {n} 项并回复买家" for n in range(3, count + 1))]
    await page.screenshot(path=SCREENSHOTS / "handover_incoming_390.png", full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the handover scrolls sideways at 390 px ({width} px)"

    # The list cannot be taken over while urgent items are unread.
    await page.get_by_role("button", name="确认接班").click()
    await expect(page.locator("#acknowledge .form-error")).to_contain_text(f"还剩 {count} 条")

    for line in lines:
        item = page.locator("li.handover-item.urgent:has(form.readback-form)").first
        await item.get_by_label("请复述：你将做什么，何时完成？").fill(line)
        await item.get_by_role("button", name="复述确认").click()
        await expect(page.locator("q.readback", has_text=line)).to_have_count(1)
    await expect(page.locator("form.readback-form")).to_have_count(0)

    await page.get_by_role("button", name="确认接班").click()
    await expect(page.locator(".handover-meta")).to_contain_text("确认接班")
    await expect(page.locator("#acknowledge")).to_have_count(0)
    await page.screenshot(path=SCREENSHOTS / "handover_acknowledged_390.png", full_page=True)

    # Home no longer asks for it.
    await page.goto(demo_desk.url + "/")
    await expect(page.locator("ul.notices a.notice", has_text="交班：共")).to_have_count(0)

    # The print view: every item, the read-backs, no forms.
    await page.goto(demo_desk.url + "/handover/")
    await page.get_by_role("link", name="打印").click()
    await expect(page.locator("article.handover-print")).to_have_count(1)
    await expect(page.locator("article.handover-print form")).to_have_count(0)
    for line in READBACKS:
        await expect(page.get_by_text(line)).to_have_count(1)
    await page.screenshot(path=SCREENSHOTS / "handover_print_390.png", full_page=True)
    await page.set_viewport_size(DESK)
    await page.screenshot(path=SCREENSHOTS / "handover_print_1280.png", full_page=True)
    await context.close()
