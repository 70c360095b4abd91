"""The Content-Security-Policy blocks nothing the desk itself needs, in a real browser."""

from __future__ import annotations

from playwright.async_api import Browser, ConsoleMessage, Page, expect

from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from tests.e2e.desks import RunningDesk

# Report every violation into a list the test reads back, before any page script runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


async def violations(page: Page) -> list[str]:
    return await page.evaluate("window.__cspViolations || []")


async def test_the_demo_desk_runs_under_its_csp_without_a_single_violation(
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            console.append(message.text)

    page.on("console", on_console)
    seen: list[str] = []

    async def visit(path: str) -> None:
        response = await page.goto(reading_desk.url + path)
        assert response is not None and response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        seen.extend(await violations(page))

    await visit("/login")
    await page.get_by_label("Username").fill(DEMO_USER)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("演示店主")
    seen.extend(await violations(page))

    for path in ("/", "/orders/", "/orders/stores/", "/refunds/", "/returns/", "/account"):
        await visit(path)

    # The report's charts keep their look with pygal's styles from /static/charts.css.
    await visit("/refunds/report")
    title = page.locator(".pygal-chart .title").first
    assert await title.evaluate("e => getComputedStyle(e).fontSize") == "14px"
    await visit("/returns/report")
    await visit("/reviews/report")

    # A quick reply still fills the refusal on a refund page (static/desk.js).
    await visit("/refunds/")
    links = page.locator("table.refunds tbody tr a[href^='/refunds/']")
    hrefs = [await links.nth(n).get_attribute("href") for n in range(await links.count())]
    for href in hrefs:
        await visit(str(href))
        picker = page.locator("details.phrases")
        if await picker.count():
            break
    else:
        raise AssertionError("no refund in the demo can be refused")
    await picker.locator("summary").click()
    reply = picker.locator("[data-phrase-insert]").first
    choice = await reply.get_attribute("data-text")
    await reply.click()
    await expect(page.locator("textarea[name=reason]")).to_have_value(str(choice))
    seen.extend(await violations(page))

    # The receiving page's scanner field still has the focus.
    await visit("/returns/receiving")
    await expect(page.locator("input[name=q]")).to_be_focused()

    seen.extend(await violations(page))
    assert seen == []
    assert console == []
    await context.close()
