"""A supervisor hands a refund to a colleague from the queue on a 390 px phone, in Chinese.

The queue row's "who works it" cell holds the colleague select and its
button (they submit a form of their own, outside the bulk-approve form);
the row then names the colleague. A refund its return case works shows
"worked in" with a link instead of any control. Screenshots of both queues
at 390 and 1280 px are for a person to look at.
"""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.desks import SCREENSHOTS, RunningDesk
from tests.e2e.walk import sign_in_admin

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


async def test_a_manager_assigns_a_refund_from_the_queue_on_a_phone(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    demo_desk.cli(
        "user", "add", "xiaowang", "--role", "agent", "--password", "xiaowang-pass-2026",
        "--display-name", "小王",
    )  # fmt: skip
    context = await browser.new_context(
        locale="zh-CN", viewport=PHONE, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = await context.new_page()
    await sign_in_admin(page, demo_desk)
    await page.goto(demo_desk.url + "/refunds/")
    row = page.locator("table.refunds tbody tr").filter(has=page.locator("select[name=assignee]"))
    await expect(row.first).to_be_visible()
    first = row.first
    number = (await first.locator("td.key a").inner_text()).strip()
    await first.locator("select[name=assignee]").select_option(label="小王")
    await first.get_by_role("button", name="分配").click()
    await expect(page.locator(".flash")).to_contain_text("已分给 小王。")
    assert page.url.endswith("/refunds/")
    given = page.locator("table.refunds tbody tr").filter(has_text=number)
    await expect(given.locator("select[name=assignee] option[selected]")).to_have_text("小王")
    # The controls fit the phone: nothing sticks out of the row's card.
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await given.locator("td.assign").scroll_into_view_if_needed()
    await page.evaluate("() => window.scrollBy(0, 200)")  # the row's card, from its top
    await page.screenshot(path=SCREENSHOTS / "refund_queue_390.png", full_page=False)

    # A refund its return case works: a link to the case, no control.
    await page.goto(demo_desk.url + "/refunds/?linked=only")
    linked = page.locator("table.refunds tbody tr .worked-in a")
    assert await linked.count() > 0, "the demo has return-and-refunds"
    href = await linked.first.get_attribute("href")
    assert href and href.startswith("/returns/")
    assert await page.locator("table.refunds tbody tr select[name=assignee]").count() == 0
    # Its own page points to the case and offers no decision of its own.
    await page.locator("table.refunds tbody tr td.key a").first.click()
    await expect(page.locator(".worked-in")).to_contain_text("在退货工单中处理")
    assert await page.get_by_role("button", name="同意").count() == 0
    await page.screenshot(path=SCREENSHOTS / "refund_linked_390.png", full_page=False)

    await page.goto(demo_desk.url + "/returns/")
    await expect(page.locator("table.returns tbody tr").first).to_be_visible()
    await page.locator("table.returns tbody tr").first.scroll_into_view_if_needed()
    await page.screenshot(path=SCREENSHOTS / "return_queue_390.png", full_page=False)
    # The case page: the same controls in a card of their own, above its history.
    await page.locator("table.returns tbody tr td.key a").first.click()
    card = page.locator("section.assign")
    await card.locator("select[name=assignee]").select_option(label="小王")
    await card.get_by_role("button", name="分配").click()
    await expect(page.locator(".flash")).to_contain_text("已分给 小王。")
    await page.locator("section.assign").scroll_into_view_if_needed()
    await page.screenshot(path=SCREENSHOTS / "return_case_assign_390.png", full_page=False)

    await page.set_viewport_size(DESKTOP)
    await page.goto(demo_desk.url + "/refunds/")
    await page.screenshot(path=SCREENSHOTS / "refund_queue_1280.png", full_page=False)
    await page.goto(demo_desk.url + "/returns/")
    await page.screenshot(path=SCREENSHOTS / "return_queue_1280.png", full_page=False)
    await context.close()
