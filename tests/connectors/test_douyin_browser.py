"""In a real browser: an owner connects a Douyin store from the form (in Chinese), a
未发货仅退款 request syncs in, an agent approves it, and the fake records one
``afterSale.operate`` of type 401. (Here rather than in tests/e2e: no file outside
the connectors' tests may name a platform; the e2e fixtures are imported.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, expect

from tests.e2e.desks import RunningDesk
from tests.e2e.walk import sign_in_admin
from tests.fakes.douyin import FakeDouyinShop, douyin_app
from tests.fakes.serve import serve


def real_clock() -> datetime:
    return datetime.now(UTC)


async def test_a_douyin_store_connected_in_the_browser_gets_its_refund_approved_once(
    demo_desk: RunningDesk,
    browser: Browser,
) -> None:
    shop = FakeDouyinShop(now=real_clock)
    shop.seed(30, start=real_clock() - timedelta(days=2), days=2)
    order = sorted(shop.orders.values(), key=lambda o: o.order_id)[0]
    order.order_status = 2  # 备货中: paid, not shipped
    # 未发货仅退款, asked a minute ago: inside the overlap a second sync reads again.
    sale = shop.add_aftersale(order, "2", at=real_clock() - timedelta(minutes=1))
    demo_desk.add_user("xiaowang", "agent", "agent-pass-2026")
    with serve(douyin_app(shop)) as url:
        context = await browser.new_context(
            locale="zh-CN",
            viewport={"width": 390, "height": 844},
            extra_http_headers={"Accept-Language": "zh-CN"},
        )
        page = await context.new_page()
        await sign_in_admin(page, demo_desk)
        await page.goto(demo_desk.url + "/orders/stores/")
        connect = page.locator('details[data-platform="douyin"]')
        await connect.locator("summary").click()
        await expect(connect).to_contain_text("自用型应用")
        await connect.locator('input[name="name"]').fill("抖店旗舰店")
        await connect.locator('input[name="base_url"]').fill(url)
        await connect.locator('input[name="app_key"]').fill(shop.app_key)
        await connect.locator('input[name="app_secret"]').fill(shop.app_secret)
        await connect.locator('input[name="shop_id"]').fill(shop.shop_id)
        await connect.get_by_role("button", name="接入").click()
        await expect(page.locator("h1")).to_contain_text("抖店旗舰店")
        store_page = page.url
        await page.get_by_role("button", name="立即同步").click()
        for _ in range(60):
            if shop.calls["afterSale.List"] and shop.calls["order.searchList"] >= 2:
                break
            await page.wait_for_timeout(500)
        assert shop.calls["afterSale.List"], demo_desk.log.read_text()[-3000:]
        # The two streams sync side by side; a request read before its order is linked
        # to it when read again, so the owner syncs once more (see docs/platforms.md).
        await page.wait_for_timeout(2000)
        await page.goto(store_page)
        await page.get_by_role("button", name="立即同步").click()
        for _ in range(60):
            if shop.calls["afterSale.List"] >= 2:
                break
            await page.wait_for_timeout(500)
        await page.wait_for_timeout(1000)
        await context.close()

        context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await page.goto(demo_desk.url + "/login")
        await page.get_by_label("Username").fill("xiaowang")
        await page.get_by_label("Password").fill("agent-pass-2026")
        await page.get_by_role("button", name="Sign in").click()
        # A goto before the sign-in's redirect lands would cancel it and read /login.
        await expect(page.locator(".user-name")).to_be_attached()
        row = page.locator("table.refunds tbody tr", has_text=order.order_id)
        for _ in range(60):
            await page.goto(demo_desk.url + "/refunds/?kind=refund_only")
            if await row.count():
                break
            await page.wait_for_timeout(500)
        assert await row.count(), demo_desk.log.read_text()[-6000:]
        await row.first.get_by_role("link").first.click()
        for _ in range(60):  # the orders stream syncs beside the after-sales one
            if await page.get_by_text("Still refundable").count():
                break
            await page.wait_for_timeout(500)
            await page.reload()
        await page.get_by_role("button", name="Approve").click()
        await expect(page.locator(".flash")).to_contain_text(
            "Approved. The platform is being told."
        )
        for _ in range(60):
            if shop.operations:
                break
            await page.wait_for_timeout(500)
        await page.wait_for_timeout(1500)  # a second write would have come by now
        await context.close()
    assert shop.operations == [(sale.aftersale_id, 401)], demo_desk.log.read_text()[-3000:]
