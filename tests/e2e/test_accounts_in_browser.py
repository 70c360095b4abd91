"""An admin revokes a token and deactivates an agent in a real browser, in Chinese, on a
desktop and on a phone; the agent's open session and token stop working at once."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.e2e.desks import SCREENSHOTS, RunningDesk

ADMIN, ADMIN_PASSWORD = "laoban", "admin-pass-2026"
AGENT, AGENT_PASSWORD = "xiaowang", "agent-pass-2026"


async def signed_in(
    browser: Browser, desk: RunningDesk, username: str, password: str, width: int
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    page = await context.new_page()
    await page.goto(desk.url + "/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator(".user-name")).to_have_text(username)
    return context, page


async def api_status(desk: RunningDesk, token: str) -> int:
    async with httpx.AsyncClient(base_url=desk.url) as api:
        response = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        return response.status_code


async def fits(page: Page) -> None:
    """Nothing sticks out sideways, at this width nor at 360 px (the narrowest phone we serve)."""
    size = page.viewport_size
    assert size is not None
    for width in (size["width"], 360):
        await page.set_viewport_size({"width": width, "height": size["height"]})
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{page.url} is {overflow}px too wide at {width}px"
    await page.set_viewport_size(size)


async def test_an_admin_revokes_a_token_and_deactivates_an_agent(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    demo_desk.cli("user", "add", ADMIN, "--role", "admin", "--password", ADMIN_PASSWORD)
    demo_desk.cli("user", "add", AGENT, "--role", "agent", "--password", AGENT_PASSWORD)
    token = demo_desk.cli("token", "create", AGENT, "--label", "ERP 导出").split()[-1]
    assert await api_status(demo_desk, token) == 200

    agent_context, agent_page = await signed_in(
        browser, demo_desk, AGENT, AGENT_PASSWORD, width=390
    )

    context, page = await signed_in(browser, demo_desk, ADMIN, ADMIN_PASSWORD, width=1280)
    await page.get_by_role("link", name="用户", exact=True).click()
    await expect(page.get_by_role("heading", name="用户", exact=True)).to_be_visible()
    row = page.locator("table.users tbody tr", has_text=AGENT)
    await expect(row).to_contain_text("客服")
    await expect(row).to_contain_text("启用中")
    await page.screenshot(path=SCREENSHOTS / "users-zh-1280.png", full_page=True)

    await row.get_by_role("link", name=AGENT).click()
    # A token made here is shown once, on this page only.
    await page.get_by_label("新令牌的用途").fill("对账脚本")
    await page.get_by_role("button", name="创建令牌").click()
    shown = await page.locator(".token-once code.secret").inner_text()
    assert shown.startswith("as_") and await api_status(demo_desk, shown) == 200
    await page.screenshot(path=SCREENSHOTS / "user-token-zh-1280.png", full_page=True)
    await page.reload()
    await expect(page.locator(".token-once")).to_have_count(0)
    await expect(page.locator("table.tokens tbody tr")).to_have_count(2)
    tokens = page.locator("table.tokens tbody tr", has_text="ERP 导出")
    await expect(tokens).to_contain_text(token[:8])
    await tokens.get_by_role("button", name="吊销").click()
    await expect(page.locator(".flash")).to_have_text("令牌已吊销，不能再使用。")
    await expect(tokens).to_contain_text("吊销")
    await expect(tokens.get_by_role("button", name="吊销")).to_have_count(0)
    assert await api_status(demo_desk, token) == 401
    assert await api_status(demo_desk, shown) == 200  # only the one revoked stops

    await page.get_by_role("button", name="停用").click()
    await expect(page.locator(".flash")).to_have_text("已停用：该用户的会话和令牌都已失效。")
    await expect(page.locator("h1 .status")).to_have_text("已停用")
    await expect(page.get_by_role("button", name="启用")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "user-zh-1280.png", full_page=True)
    assert await api_status(demo_desk, shown) == 401  # deactivation stops the rest

    # The agent's open session ended: the next click lands on the sign-in page.
    await agent_page.reload()
    await expect(agent_page.get_by_role("button", name="登录")).to_be_visible()
    await agent_page.get_by_label("用户名").fill(AGENT)
    await agent_page.get_by_label("密码").fill(AGENT_PASSWORD)
    await agent_page.get_by_role("button", name="登录").click()
    await expect(agent_page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    await agent_context.close()

    # The same pages on a phone.
    phone, phone_page = await signed_in(browser, demo_desk, ADMIN, ADMIN_PASSWORD, width=390)
    await phone_page.goto(demo_desk.url + "/users/")
    await expect(phone_page.locator("table.users tbody tr", has_text=AGENT)).to_contain_text(
        "已停用"
    )
    await fits(phone_page)
    await phone_page.screenshot(path=SCREENSHOTS / "users-zh-390.png", full_page=True)
    await phone_page.locator("table.users").get_by_role("link", name=AGENT).click()
    await expect(phone_page.locator("h1 .status")).to_have_text("已停用")
    await fits(phone_page)
    await phone_page.screenshot(path=SCREENSHOTS / "user-zh-390.png", full_page=True)
    await phone_page.goto(demo_desk.url + "/account")
    await fits(phone_page)
    await phone_page.screenshot(path=SCREENSHOTS / "account-zh-390.png", full_page=True)
    await phone.close()
    await context.close()
