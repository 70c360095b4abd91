"""A night agent sends a refund over their cap to a supervisor, who approves it from
"waiting for me", in a real browser, in Chinese, at a phone's width and a desk's."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.e2e.desks import SCREENSHOTS, RunningDesk

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
NOTE = "老顾客，照片显示确有破损，建议全额退"


async def sign_in(page: Page, url: str, username: str, password: str) -> None:
    await page.goto(url + "/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    # A goto before the sign-in's redirect lands would cancel it and read /login.
    await expect(page.locator(".user-name")).to_be_attached()


async def both_widths(page: Page, name: str) -> None:
    """Screenshots at a desk's width and a phone's, the page left at the desk's."""
    await page.set_viewport_size(DESK)
    await page.screenshot(path=SCREENSHOTS / f"{name}_1280.png", full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=SCREENSHOTS / f"{name}_390.png", full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways at 390 px ({width} px)"
    await page.set_viewport_size(DESK)


async def test_a_night_agent_sends_a_refund_over_the_cap_and_a_supervisor_approves_it(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    demo_desk.cli("user", "add", "yeban", "--role", "night_agent", "--password", "night-pass-2026",
                  "--display-name", "夜班小李")  # fmt: skip
    demo_desk.cli("user", "add", "zhuguan", "--role", "supervisor", "--password", "boss-pass-2026",
                  "--display-name", "主管老周")  # fmt: skip

    night = await browser.new_context(locale="zh-CN", viewport=DESK)
    page = await night.new_page()
    await sign_in(page, demo_desk.url, "yeban", "night-pass-2026")
    # Over the night agents' 100.00 (the default rules), within a day agent's 300.00.
    await page.goto(demo_desk.url + "/refunds/?kind=refund_only&min=100.01&max=300")
    await page.locator("table.refunds tbody tr").first.get_by_role("link").first.click()
    refund_path = re.sub(r"^https?://[^/]+", "", page.url)
    rule = page.locator("#decision-rule")
    await expect(rule).to_have_text("超过你的夜班权限 100.00：由主管决定。")
    await expect(page.get_by_role("button", name="同意", exact=True)).to_have_count(0)
    await page.get_by_label("给主管的备注（原因、你的建议）").fill(
        "老顾客，照片显示确有破损，建议全额退"
    )
    await both_widths(page, "refund_send_to_supervisor")
    await page.get_by_role("button", name="交给主管").click()
    await expect(page.locator(".flash")).to_contain_text("已交给主管")
    await expect(page.locator("#referral")).to_contain_text("夜班小李")
    await expect(page.locator("#referral")).to_contain_text(NOTE)
    await expect(page.get_by_role("button", name="交给主管")).to_have_count(0)  # no second send
    await night.close()

    boss = await browser.new_context(locale="zh-CN", viewport=DESK)
    page = await boss.new_page()
    await sign_in(page, demo_desk.url, "zhuguan", "boss-pass-2026")
    tile = page.locator('a.tile[href="/waiting/"]')
    await expect(tile.locator(".value")).to_have_text("1")
    await tile.click()
    cards = page.locator("#waiting > li")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("夜班小李")
    await expect(cards.first).to_contain_text(NOTE)
    await expect(cards.first.locator(".amount")).to_contain_text("¥")
    await both_widths(page, "waiting_for_me")
    await cards.first.get_by_role("link", name="打开并处理").click()
    assert page.url.endswith(refund_path)
    await expect(page.locator("#decision-rule")).to_have_text("你的角色没有金额上限：由你决定。")
    await expect(page.locator("#referral")).to_contain_text("夜班小李")
    await page.screenshot(path=SCREENSHOTS / "refund_sent_supervisor_decides_1280.png")
    await page.get_by_role("button", name="同意", exact=True).click()
    await expect(page.locator(".flash")).to_contain_text("已同意，正在回传平台。")
    await expect(page.locator("h1 .status").first).not_to_have_text("待处理")
    await page.goto(demo_desk.url + "/waiting/")
    await expect(page.locator("#waiting-empty")).to_be_visible()
    await page.goto(demo_desk.url + "/")
    await expect(page.locator('a.tile[href="/waiting/"] .value')).to_have_text("0")
    await boss.close()
