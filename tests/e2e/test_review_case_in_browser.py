"""An agent follows up a negative review on a phone: logs a contact, explains, closes.

The desk is the README's ``aftersales demo`` on a database seeded first with a
negative review and its follow-up (``tests/e2e/seed_reviews.py``). The demo
platform takes no reply through an API, so the explanation is kept ready to
paste and the agent marks it pasted, as on WooCommerce.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.databases import fresh_database_url
from tests.e2e.desks import SCREENSHOTS, DemoDatabase, RunningDesk
from tests.e2e.test_no_english_in_chinese import VISIBLE_TEXT, english_in, stored_codes

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}
AGENT = ("kefu", "review-desk-2026")


@pytest.fixture
async def demo_database(tmp_path: Path) -> AsyncIterator[DemoDatabase]:
    """The demo's database with one negative review's follow-up (``seed_reviews.py``)."""
    async with fresh_database_url(tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
        env.update({"AFTERSALES_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": url})
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tests.e2e.seed_reviews", str(tmp_path / "seeded.json")],
            env=env,
            cwd=ROOT,
            check=True,
            timeout=120,
        )
        yield DemoDatabase(url)  # empty: the demo loads after the seed


async def test_an_agent_logs_a_contact_explains_from_a_phrase_and_closes(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    case_id = json.loads((demo_desk.log.parent / "seeded.json").read_text())["review_case"]
    demo_desk.add_user(AGENT[0], "agent", AGENT[1])
    context = await browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = await context.new_page()
    await page.goto(demo_desk.url + "/login")
    await page.locator("input[name=username]").fill(AGENT[0])
    await page.locator("input[name=password]").fill(AGENT[1])
    await page.locator("button[type=submit]").click()
    await expect(page.locator(".user-name")).to_be_attached()  # signed in before the goto
    await page.goto(f"{demo_desk.url}/reviews/cases/{case_id}")
    await expect(page.locator("#review")).to_contain_text("洗了一次就起球")
    await expect(page.locator("#windows")).to_contain_text("商家可解释至")
    await expect(page.locator(".manual-platform")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "review-case-390.png", full_page=True)
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert await page.evaluate(overflow) <= 0  # nothing wider than the phone
    codes = stored_codes()
    assert english_in(await page.evaluate(VISIBLE_TEXT), codes) == []  # zh-CN without English

    contact = page.locator("#contact-form")
    await contact.locator("select[name=channel]").select_option(label="电话")
    await contact.locator("select[name=result]").select_option(label="已联系上买家")
    await contact.locator("textarea[name=note]").fill("已致电道歉，买家同意换货")
    await contact.get_by_role("button", name="记录联系").click()
    await expect(page.locator(".flash")).to_contain_text("联系记录已保存。")
    await expect(page.locator("#contacts")).to_contain_text("已致电道歉，买家同意换货")
    await expect(page.locator("h1 .status").first).to_have_text("联系买家中")

    reply = page.locator("#reply-form")
    await reply.locator("details.phrases summary").click()
    await reply.locator("button.phrase", has_text="质量问题：已反馈并改进").click()
    box = reply.locator("textarea[name=reply]")
    await expect(box).to_have_value(re.compile("品控逐件复查"))  # filled in from the case
    assert "[" not in await box.input_value()  # no placeholder left to fill in
    await reply.get_by_role("button", name="保存，待粘贴").click()
    await expect(page.locator(".flash")).to_contain_text("回复已保存")
    await expect(page.locator("textarea.paste-text")).to_contain_text("品控")
    await page.screenshot(path=SCREENSHOTS / "review-case-reply-to-paste-390.png", full_page=True)
    assert english_in(await page.evaluate(VISIBLE_TEXT), codes) == []
    await page.get_by_role("button", name="我已粘贴").click()
    await expect(page.locator("h1 .status").first).to_have_text("已发布解释")

    close = page.locator("#close-form")
    await close.locator("select[name=outcome]").select_option(label="追评转好")
    await close.locator("textarea[name=note]").fill("买家追评说换货很快")
    await close.get_by_role("button", name="结束跟进").click()
    await expect(page.locator(".flash")).to_contain_text("跟进已结束。")
    await expect(page.locator("h1 .status").first).to_have_text("已关闭")
    await expect(page.locator("#close-form")).to_have_count(0)
    await expect(page.locator(".timeline").last).to_contain_text("已关闭")
    await page.screenshot(path=SCREENSHOTS / "review-case-closed-390.png", full_page=True)
    assert english_in(await page.evaluate(VISIBLE_TEXT), codes) == []
    assert await page.evaluate(overflow) <= 0
    await context.close()
