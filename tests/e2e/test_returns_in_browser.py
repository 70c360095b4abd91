"""The warehouse scans a return parcel and records its inspection in a real browser."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from aftersales.returns.demo import TRACKING
from tests.e2e.desks import SCREENSHOTS, RunningDesk


async def test_the_warehouse_scans_a_parcel_and_records_the_inspection(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    demo_desk.cli("user", "add", "cangku", "--role", "agent", "--password", "warehouse-2026")
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(demo_desk.url + "/login")
    await page.locator("input[name=username]").fill("cangku")
    await page.locator("input[name=password]").fill("warehouse-2026")
    await page.locator("button[type=submit]").click()
    await page.get_by_role("link", name="收货质检").click()
    await page.screenshot(path=SCREENSHOTS / "returns-receiving.png", full_page=True)

    # The scanner types the label's number and presses Enter.
    _, number = TRACKING["delivered"]
    scan = page.get_by_label("扫描或输入运单号或订单号")
    await expect(scan).to_be_focused()
    await scan.fill(number)
    await scan.press("Enter")
    await expect(page.locator("h1 .status")).to_have_text("已送达仓库")
    await expect(page.get_by_text("已扫描。请逐件检查并记录寄回情况。")).to_be_visible()
    good = page.locator("#inspect input[name^=good_]").first
    await expect(good).to_be_focused()  # the count is ready for the keyboard
    await page.locator("#inspect input[name^=note_]").first.fill("吊牌完好，无污渍")
    await page.get_by_role("button", name="记录质检").click()
    await expect(page.locator(".flash")).to_contain_text("质检已记录。")
    await expect(page.locator("h1 .status")).to_have_text("已发起退款")
    await expect(page.locator("table.lines")).to_contain_text("合格")
    await expect(page.locator("table.lines")).to_contain_text("吊牌完好，无污渍")
    await page.screenshot(path=SCREENSHOTS / "return-inspected.png", full_page=True)
    await context.close()


async def test_the_owner_reads_the_returns_queue_and_the_policy(
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(reading_desk.url + "/login")
    await page.get_by_label("Username").fill(DEMO_USER)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("Returns awaiting receipt")).to_be_visible()
    await page.get_by_role("link", name="Returns", exact=True).click()
    rows = page.locator("table.returns tbody tr")
    await expect(rows.first).not_to_contain_text("No cases match.")
    await page.screenshot(path=SCREENSHOTS / "returns-queue.png", full_page=True)
    await rows.first.get_by_role("link").click()
    await expect(page.locator("section.policy li").first).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "return-detail.png", full_page=True)
    await page.goto(reading_desk.url + "/returns/policy/1")
    await expect(page.get_by_label("No-reason return (days)")).to_have_value("7")
    await page.screenshot(path=SCREENSHOTS / "returns-policy.png", full_page=True)
    await context.close()
