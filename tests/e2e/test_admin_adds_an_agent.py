"""An admin adds an agent in the browser, in Chinese; the agent signs in with the password
the admin gave, sees their display name in the header and picks a password of their own,
after which the admin's one no longer opens the desk."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.e2e.desks import SCREENSHOTS, RunningDesk
from tests.e2e.test_accounts_in_browser import fits, signed_in

ADMIN, ADMIN_PASSWORD = "laoban", "admin-pass-2026"
AGENT, DISPLAY, FIRST, OWN = "xiaozhou", "周小舟", "first-pass-2026", "zhou-own-pass-2026"


async def sign_in(page: Page, desk: RunningDesk, username: str, password: str) -> None:
    await page.goto(desk.url + "/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()


async def test_an_admin_adds_an_agent_who_signs_in_and_changes_the_password(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    demo_desk.cli("user", "add", ADMIN, "--role", "admin", "--password", ADMIN_PASSWORD)
    context, page = await signed_in(browser, demo_desk, ADMIN, ADMIN_PASSWORD, width=1280)
    await page.goto(demo_desk.url + "/users/")
    await page.get_by_label("用户名").fill(AGENT)
    await page.get_by_label("显示名称").fill(DISPLAY)
    await page.get_by_label("角色").select_option("agent")
    await page.get_by_label("初始密码（至少 10 个字符）").fill(FIRST)
    await page.get_by_role("button", name="添加用户").click()
    await expect(page.locator(".flash").first).to_contain_text(AGENT)
    await expect(page.get_by_role("heading", name=DISPLAY)).to_be_visible()
    await expect(page.locator("#profile select[name=role]")).to_have_value("agent")
    await page.screenshot(path=SCREENSHOTS / "user-added-zh-1280.png", full_page=True)
    await page.goto(demo_desk.url + "/users/")
    row = page.locator("table.users tbody tr", has_text=AGENT)
    await expect(row).to_contain_text(DISPLAY)
    await expect(row).to_contain_text("客服")

    # A blank first password: the desk picks one and shows it once.
    await page.get_by_label("用户名").fill("xiaoli")
    await page.get_by_label("角色").select_option("night_agent")
    await page.get_by_role("button", name="添加用户").click()
    picked = await page.locator("#first-password").inner_text()
    assert len(picked) >= 10
    await page.screenshot(path=SCREENSHOTS / "user-first-password-zh-1280.png", full_page=True)
    await page.reload()
    await expect(page.locator("#first-password")).to_have_count(0)
    await context.close()

    # The agent, on a phone: signed in with the given password, named in the header.
    phone = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    agent_page = await phone.new_page()
    await sign_in(agent_page, demo_desk, AGENT, FIRST)
    await expect(agent_page.locator(".user-name")).to_have_text(DISPLAY)
    await agent_page.goto(demo_desk.url + "/account")
    await agent_page.get_by_label("当前密码").fill(FIRST)
    await agent_page.get_by_label("新密码（至少 10 个字符）").fill(OWN)
    await agent_page.get_by_label("再次输入新密码").fill(OWN)
    await agent_page.get_by_role("button", name="修改密码").click()
    await expect(agent_page.locator(".flash").first).to_have_text(
        "密码已修改，其他设备上的登录均已退出。"
    )
    await fits(agent_page)
    await agent_page.screenshot(path=SCREENSHOTS / "account-changed-zh-390.png", full_page=True)
    await phone.close()

    # The admin's password no longer works; the agent's own does.
    fresh = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    again = await fresh.new_page()
    await sign_in(again, demo_desk, AGENT, FIRST)
    await expect(again.get_by_role("alert")).to_contain_text("用户名或密码错误")
    await sign_in(again, demo_desk, AGENT, OWN)
    await expect(again.locator(".user-name")).to_have_text(DISPLAY)
    await again.goto(demo_desk.url + "/account")
    await again.screenshot(path=SCREENSHOTS / "account-zh-1280.png", full_page=True)
    await fresh.close()

    # The admin's pages on a phone.
    admin_phone, admin_page = await signed_in(browser, demo_desk, ADMIN, ADMIN_PASSWORD, width=390)
    await admin_page.goto(demo_desk.url + "/users/")
    await fits(admin_page)
    await admin_page.screenshot(path=SCREENSHOTS / "users-add-zh-390.png", full_page=True)
    await admin_page.locator("table.users").get_by_role("link", name=AGENT).click()
    await expect(admin_page.get_by_role("heading", name=DISPLAY)).to_be_visible()
    await fits(admin_page)
    await admin_page.screenshot(path=SCREENSHOTS / "user-profile-zh-390.png", full_page=True)
    await admin_phone.close()
