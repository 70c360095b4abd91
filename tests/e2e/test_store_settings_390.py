"""A store's settings page and the receiving list on a 390 px phone and a desk, in Chinese.

The owner reaches the settings from the store page, a bad number is refused
in Chinese and a good one saved; the warehouse sees the demo's delivered,
unscanned parcel with its carrier in words and how long it has waited. The
screenshots are for a person to look at (a date input reads 年/月/日 too).
"""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.desks import SCREENSHOTS, RunningDesk
from tests.e2e.test_phone_390 import small_controls, too_wide
from tests.e2e.walk import sign_in_admin

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


async def test_store_settings_and_the_receiving_list_fit_a_phone(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="zh-CN", viewport=PHONE, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = await context.new_page()
    await sign_in_admin(page, demo_desk)
    await page.goto(demo_desk.url + "/orders/stores/")
    await page.locator('main a[href^="/orders/stores/"]').first.click()
    await page.get_by_role("link", name="店铺设置").click()
    await expect(page.locator("h1")).to_contain_text("店铺设置")
    assert await too_wide(page) == 0
    assert await small_controls(page) == []
    address = page.locator('textarea[name="returns.return_address"]')
    box = await address.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 80  # several lines, the column's width
    await expect(page.get_by_text("同步间隔", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="退换货政策")).to_be_visible()

    interval = page.locator('input[name="orders.sync_interval_minutes"]')
    await interval.evaluate("el => el.removeAttribute('min')")  # as a form without the hint
    await interval.fill("0")
    await page.get_by_role("button", name="保存设置").click()
    await expect(page.locator(".flash.alert")).to_contain_text("同步间隔须在 1 到 1440 之间")
    await page.locator('input[name="orders.sync_interval_minutes"]').fill("10")
    await address.fill("售后仓 李四 13900000000\n浙江省杭州市余杭区仓前街道 1 号")
    await page.get_by_role("button", name="保存设置").click()
    await expect(page.locator(".flash")).to_contain_text("设置已保存")
    await page.screenshot(path=SCREENSHOTS / "store_settings_390.png", full_page=True)
    settings_url = page.url

    # The return policy, from the same page: categories in words, an address that fits.
    await page.get_by_role("link", name="退换货政策").click()
    await expect(page.locator("main")).to_contain_text("生鲜易腐")
    policy_box = await page.locator('textarea[name="return_address"]').bounding_box()
    assert policy_box and policy_box["width"] > 300 and policy_box["height"] > 80
    assert await too_wide(page) == 0
    await page.screenshot(path=SCREENSHOTS / "return_policy_390.png", full_page=True)

    await page.goto(demo_desk.url + "/returns/receiving")
    delivered = page.locator("table.delivered tbody tr")
    await expect(delivered.first).to_contain_text("圆通")
    await expect(delivered.first).to_contain_text("YT1000000002")
    await expect(delivered.first).to_contain_text("天")
    assert await too_wide(page) == 0
    await page.screenshot(path=SCREENSHOTS / "receiving_list_390.png", full_page=True)

    # A date input in a Chinese Chromium reads year/month/day (see conftest.Browsers).
    await page.goto(demo_desk.url + "/returns/report")
    await page.locator('input[type="date"]').first.screenshot(
        path=SCREENSHOTS / "date_input_zh_390.png"
    )

    await page.set_viewport_size(DESKTOP)
    await page.goto(settings_url)
    await page.screenshot(path=SCREENSHOTS / "store_settings_1280.png", full_page=True)
    await page.goto(demo_desk.url + "/returns/receiving")
    await page.screenshot(path=SCREENSHOTS / "receiving_list_1280.png", full_page=True)
    await context.close()
