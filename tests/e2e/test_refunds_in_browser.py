"""An agent works the refund queue in a real browser, and the demo platform pays."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from tests.e2e.desks import SCREENSHOTS, RunningDesk


async def test_an_agent_approves_a_refund_from_the_queue(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    demo_desk.cli("user", "add", "xiaowang", "--role", "agent", "--password", "agent-pass-2026")
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(demo_desk.url + "/login")
    await page.get_by_label("Username").fill("xiaowang")
    await page.get_by_label("Password").fill("agent-pass-2026")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="Refunds", exact=True).click()
    # A refund-only request: a return-and-refund would wait for its goods (tests for returns).
    await page.goto(demo_desk.url + "/refunds/?kind=refund_only")
    rows = page.locator("table.refunds tbody tr")
    await expect(rows.first).to_contain_text("Requested")
    await page.screenshot(path=SCREENSHOTS / "refunds-queue.png", full_page=True)

    await rows.first.get_by_role("link").click()
    await expect(page.get_by_text("Still refundable")).to_be_visible()
    await page.get_by_label("Note (kept in the audit trail)").fill("buyer called, agreed")
    await page.get_by_role("button", name="Approve").click()
    await expect(page.locator(".flash")).to_contain_text("Approved. The platform is being told.")
    # The desk's own worker carries the decision to the (demo) platform: reload until paid.
    for _ in range(30):
        if await page.locator("h1 .status", has_text="Refunded").count():
            break
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.locator("h1 .status").first).to_have_text("Refunded")
    await expect(page.get_by_text("paid by the desk")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "refund-detail.png", full_page=True)
    await context.close()


async def test_the_owner_reads_the_refund_report(
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(reading_desk.url + "/login")
    await page.get_by_label("用户名").fill(DEMO_USER)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    # Reports live behind one menu entry that lists each module's report.
    await page.get_by_role("link", name="报表", exact=True).click()
    await page.get_by_role("link", name="退款报表").click()
    await expect(page.get_by_role("heading", name="退款报表")).to_be_visible()
    await expect(page.locator("section.chart svg")).to_have_count(2)
    await expect(page.locator(".tile").first).to_contain_text("¥")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="下载 XLSX").click()
    assert (await download.value).suggested_filename.endswith(".xlsx")
    await page.screenshot(path=SCREENSHOTS / "refund-report-zh.png", full_page=True)
    await context.close()
