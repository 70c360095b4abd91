"""The owner reads the rating report in a real browser, on a phone (390x844) and a desktop."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from tests.databases import fresh_database_url
from tests.e2e.desks import SCREENSHOTS, DemoDatabase, RunningDesk
from tests.e2e.seed_ratings import SEEDED_STORE
from tests.e2e.test_phone_390 import too_wide

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def demo_database(tmp_path: Path) -> AsyncIterator[DemoDatabase]:
    """The demo's database with a month of reviews (``tests/e2e/seed_ratings.py``)."""
    async with fresh_database_url(tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
        env.update({"AFTERSALES_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": url})
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tests.e2e.seed_ratings"],
            env=env,
            cwd=ROOT,
            check=True,
            timeout=120,
        )
        yield DemoDatabase(url)  # empty: the demo loads after the seed


async def test_the_owner_reads_the_rating_report_on_a_phone_and_a_desktop(
    demo_desk: RunningDesk, browser: Browser
) -> None:
    for width, height, name in ((390, 844, "phone"), (1280, 900, "desktop")):
        context = await browser.new_context(
            locale="zh-CN",
            viewport={"width": width, "height": height},
            extra_http_headers={"Accept-Language": "zh-CN"},
        )
        page = await context.new_page()
        await page.goto(demo_desk.url + "/login")
        await page.get_by_label("用户名").fill(DEMO_USER)
        await page.get_by_label("密码").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await expect(page.locator(".user-name")).to_be_attached()  # signed in before the goto
        await page.goto(demo_desk.url + "/reports/")
        await page.get_by_role("link", name="评价报表").click()
        await expect(page.get_by_role("heading", name="评价报表", exact=True)).to_be_visible()
        # The seeded store's figures, apart from the demo shop's own reviews.
        await page.locator("select[name=store]").select_option(label=SEEDED_STORE)
        await page.get_by_role("button", name="显示").click()
        # 40 good of 50 rated this period: 80.0%; the month before 9 of 10.
        rate = page.locator(".tile").first
        await expect(rate).to_contain_text("80.0%")
        await expect(rate).to_contain_text("好评率")
        await expect(rate).to_contain_text("90.0%")
        await expect(page.locator("section.chart svg")).to_have_count(3)
        follow_ups = page.locator("section.card", has_text="中差评跟进")
        await expect(follow_ups).to_contain_text("挽回率")
        await expect(follow_ups).to_contain_text("66.7%")  # revised + positive, of six
        await expect(page.locator("section.card", has_text="店铺评分")).to_contain_text("4.82")
        await expect(page.locator("section.card", has_text="按原因")).to_contain_text("质量问题")
        assert await too_wide(page) == 0, f"the report is wider than a {width} px screen"
        # The period picker is a GET form: a week by week view of the same days.
        await page.locator("select[name=grain]").select_option("week")
        await page.get_by_role("button", name="显示").click()
        await expect(page).to_have_url(re.compile(r"grain=week"))
        await expect(page.locator(".tile").first).to_contain_text("80.0%")
        await page.screenshot(path=SCREENSHOTS / f"rating-report-{name}.png", full_page=True)
        if name == "desktop":
            async with page.expect_download() as download:
                await page.get_by_role("link", name="下载 XLSX").click()
            assert (await download.value).suggested_filename.endswith(".xlsx")
        await context.close()
