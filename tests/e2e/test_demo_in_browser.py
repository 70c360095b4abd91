"""The README's promise: run the demo, open the URL, sign in, see a lived-in desk."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from tests.databases import fresh_database_url
from tests.e2e.desks import SCREENSHOTS, DemoDatabase, RunningDesk


@pytest.fixture
async def demo_database(tmp_path: Path) -> AsyncIterator[DemoDatabase]:
    """An empty database: this desk loads the demo itself, as the README's command does
    (the other browser tests' desks start from a copy of one loaded demo)."""
    async with fresh_database_url(tmp_path) as url:
        yield DemoDatabase(url)


async def test_demo_login_reaches_a_home_page_naming_the_user(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(demo_desk.url)
    await expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "login.png")

    await page.get_by_label("Username").fill(DEMO_USER)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")

    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(demo_desk.url + "/")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("演示店主")
    for tile in ("Paid but not shipped within 48 hours", "Refunds due within 2 hours"):
        await expect(page.locator(".tile", has_text=tile)).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "home.png", full_page=True)

    await page.get_by_role("link", name="Orders", exact=True).click()
    await page.get_by_placeholder("Order number, buyer nick").fill("保温杯")
    await page.get_by_role("button", name="Search").click()
    rows = page.locator("table.list tbody tr")
    await expect(rows.first).to_contain_text("保温杯")
    await page.screenshot(path=SCREENSHOTS / "orders.png", full_page=True)

    await page.get_by_role("link", name="Stores", exact=True).click()
    await page.screenshot(path=SCREENSHOTS / "stores.png", full_page=True)
    await expect(page.get_by_role("link", name="演示小店 Demo Shop")).to_be_visible()
    await page.get_by_role("link", name="演示小店 Demo Shop").click()
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator(".flash")).to_contain_text("Connection works.")
    await page.get_by_label("Sync every (minutes)").fill("10")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".flash")).to_contain_text("Store saved.")
    await expect(page.get_by_label("Sync every (minutes)")).to_have_value("10")
    await page.screenshot(path=SCREENSHOTS / "store.png", full_page=True)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    await context.close()


async def test_a_chinese_browser_gets_the_chinese_desk(
    reading_desk: RunningDesk, browser: Browser
) -> None:
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(reading_desk.url)
    await expect(page.get_by_role("heading", name="登录")).to_be_visible()
    await page.get_by_label("用户名").fill(DEMO_USER)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_text("今天的待办清单")).to_be_visible()
    await expect(page.get_by_text("已付款超过48小时未发货")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "home-zh.png", full_page=True)
    await context.close()
