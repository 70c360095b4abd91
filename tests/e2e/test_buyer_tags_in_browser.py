"""The buyers' tags on the refund queue, on a 390 px phone and at 1280 px, in Chinese.

The demo knows a few buyers (``aftersales.demo.DEMO_BUYERS``) and one asks
for refunds often; their chips must be seen on the queue, in words (情绪激动,
频繁退款, never ``angry``), and wrap inside the phone's width rather than push
the row sideways. Screenshots are for a person to look at.
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from tests.e2e.desks import SCREENSHOTS, RunningDesk
from tests.e2e.walk import sign_in_admin

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def test_the_refund_queue_shows_the_buyers_chips_in_chinese_on_a_phone(
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="zh-CN", viewport=PHONE, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = await context.new_page()
    await sign_in_admin(page, reading_desk)
    await page.goto(reading_desk.url + "/refunds/?status=any")
    chips = page.locator("table.refunds .buyer-tags .chip")
    assert await chips.count() >= 2, "the demo's known buyers have chips on the queue"
    texts = [t.strip() for t in await chips.all_inner_texts()]
    assert all(CHINESE.search(t) or t == "VIP" for t in texts), texts
    assert "情绪激动" in texts and "angry" not in texts
    flag = page.locator("table.refunds .chip.flag").first
    await expect(flag).to_have_text("频繁退款")
    assert "90 天内" in (await flag.get_attribute("title") or "")
    for box in [await chip.bounding_box() for chip in await chips.all()]:
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    angry = page.locator("table.refunds .chip", has_text="情绪激动").first
    await angry.scroll_into_view_if_needed()
    await expect(angry).to_be_visible()
    await page.evaluate("window.scrollBy(0, 200)")  # the row's card in the middle of the shot
    await page.screenshot(path=SCREENSHOTS / "buyer_tags_queue_390.png")

    # The refund page of that buyer: the chips, the notes, the folded form.
    await angry.locator("xpath=ancestor::tr").locator("a[href^='/refunds/']").click()
    card = page.locator(".buyer-context")
    await expect(card).to_contain_text("已经打过两次电话")
    await card.scroll_into_view_if_needed()
    await page.screenshot(path=SCREENSHOTS / "buyer_card_refund_390.png")

    await page.set_viewport_size(DESKTOP)
    # The demo's tagged buyers with open requests return their goods: their refunds are
    # worked in the return cases, listed here on asking.
    await page.goto(reading_desk.url + "/refunds/?linked=any")
    await expect(page.locator("table.refunds .chip").first).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "buyer_tags_queue_1280.png")
    await context.close()


async def test_the_owner_tags_a_buyer_from_the_refund_page_on_a_phone(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="zh-CN", viewport=PHONE, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = await context.new_page()
    await page.goto(demo_desk.url + "/login")
    await page.get_by_label("用户名").fill(DEMO_USER)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator(".user-name")).to_be_attached()  # signed in before the goto
    await page.goto(demo_desk.url + "/refunds/")
    await page.locator("table.refunds td.key a").first.click()
    refund_url = page.url
    card = page.locator(".buyer-context")
    await card.get_by_text("编辑标签与备注").click()
    await card.get_by_label("难沟通").check()
    await card.get_by_label("给同事的备注").fill("周末不方便接电话")
    await card.scroll_into_view_if_needed()
    await page.screenshot(path=SCREENSHOTS / "buyer_card_edit_390.png")
    await card.get_by_role("button", name="保存买家信息").click()
    assert page.url == refund_url  # back on the refund, not on the buyer's page
    await expect(page.locator(".flash")).to_contain_text("买家信息已保存。")
    await expect(card.locator(".chip")).to_contain_text(["难沟通"])
    await expect(card.locator(".buyer-notes")).to_have_text("周末不方便接电话")
    await context.close()
