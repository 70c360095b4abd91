"""An agent refuses a refund with a team quick reply, filled in from the case, in a real browser."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from aftersales.refunds.replies import PHRASES
from tests.e2e.desks import SCREENSHOTS, RunningDesk

AGENT, PASSWORD = "xiaoli", "agent-pass-2026"
TOO_MUCH = next(p for p in PHRASES if p.key == "refunds.refuse.too_much.zh")
SHIPPED = next(p for p in PHRASES if p.key == "refunds.refuse.shipped.zh")


async def _sign_in(page: Page, desk: RunningDesk) -> None:
    await page.goto(desk.url + "/login")
    await page.get_by_label("用户名").fill(AGENT)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    # Everyone has the phrase library in the menu.
    await expect(page.locator("nav a[href='/phrases/']")).to_have_text("快捷短语")


async def test_an_agent_refuses_a_refund_with_a_team_phrase_filled_from_the_case(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    demo_desk.cli("user", "add", AGENT, "--role", "agent", "--password", PASSWORD)
    desk = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await desk.new_page()
    await _sign_in(page, demo_desk)
    await page.goto(demo_desk.url + "/refunds/?kind=refund_only&status=requested")
    await page.locator("table.refunds tbody tr a[href^='/refunds/']").first.click()
    refund_url = page.url

    # What the case says, read off the page as the agent reads it.
    nick = (await page.locator("a[href^='/orders/customers/']").first.inner_text()).strip()
    order_no = (await page.locator("dd > a[href^='/orders/']").first.inner_text()).strip()
    amount = (await page.locator("dd.amount").first.inner_text()).strip()
    shipped = (await page.locator("dt:text-is('已发货') + dd").first.inner_text()).strip()
    expected = (
        TOO_MUCH.body.replace("{buyer_nick}", nick)
        .replace("{order_no}", order_no)
        .replace("{amount}", amount)
    )

    picker = page.locator("form[action$='/reject'] details.phrases")
    await picker.locator("summary").click()
    await expect(picker.locator("[data-phrase-insert]").first).to_be_visible()
    # A reply that says the goods shipped warns on an order that has not.
    warning = picker.locator("[data-phrase-insert]", has_text=SHIPPED.title).locator(
        ".phrase-warning"
    )
    await expect(warning).to_have_count(1 if shipped in ("", "-") else 0)
    await picker.scroll_into_view_if_needed()
    await page.screenshot(path=SCREENSHOTS / "phrase_picker_1280.png")

    # On a phone: the same picker, opened from the keyboard shortcut, fits 390 px.
    phone = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    phone_page = await phone.new_page()
    await _sign_in(phone_page, demo_desk)
    await phone_page.goto(refund_url)
    phone_picker = phone_page.locator("form[action$='/reject'] details.phrases")
    await phone_page.locator("form[action$='/reject'] textarea[name=reason]").focus()
    await phone_page.keyboard.press("Alt+KeyP")
    await expect(phone_picker).to_have_attribute("open", "")
    await phone_picker.locator("summary").scroll_into_view_if_needed()
    width = await phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    await phone_page.screenshot(path=SCREENSHOTS / "phrase_picker_390.png")
    await phone_page.keyboard.press("Alt+Digit1")
    reason = phone_page.locator("form[action$='/reject'] textarea[name=reason]")
    await expect(reason).not_to_have_value("")
    await phone_page.goto(demo_desk.url + "/phrases/")
    await expect(phone_page.locator(".phrase-card").first).to_be_visible()
    width = await phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the phrases page is {width} px wide on a 390 px phone"
    await phone_page.screenshot(path=SCREENSHOTS / "phrases_zh_390.png")
    await phone.close()

    # One click puts the reply in, filled in; sending it is what the buyer reads.
    await picker.locator("[data-phrase-insert]", has_text=TOO_MUCH.title).click()
    textarea = page.locator("form[action$='/reject'] textarea[name=reason]")
    await expect(textarea).to_have_value(expected)
    assert "【请填写" not in expected
    await expect(page.locator(".phrase-alert")).to_be_hidden()
    await page.locator("form[action$='/reject'] button[type=submit]").click()
    await expect(page.locator(".flash")).to_be_visible()
    refusals = await page.locator("ol.timeline q").all_inner_texts()
    assert expected in refusals, refusals

    # The use is counted on the team's list.
    await page.goto(demo_desk.url + "/phrases/?category=refuse")
    card = page.locator(".phrase-card", has_text=TOO_MUCH.title)
    await expect(card).to_contain_text("已用 1 次")
    await page.screenshot(path=SCREENSHOTS / "phrases_zh_1280.png", full_page=True)
    await desk.close()
