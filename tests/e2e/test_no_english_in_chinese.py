"""No English sentence on any page of the demo desk in Chinese, as an admin.

Every page of the route-table walk (``tests/e2e/walk.py``) is opened in zh-CN
and everything a reader sees is read: the body text, the tab title, tooltips
(``title``), placeholders, ``aria-label`` (read aloud), button captions and the
options of every select, shown or folded. A run of two English words, or one
snake_case word or enum value, is an English sentence or a raw code leaking
into a Chinese desk (an untranslated msgid, a status printed as its value, a
sentence built in Python).

Latin text that belongs on a Chinese page is removed first, and only that:
the demo's own data, read from the demo modules themselves (so the list
cannot drift), and a short list of names that stay Latin in Chinese software.

The demo never fails, so its database is seeded first (``tests/e2e/seed.py``)
with a refused write-back, a store whose sync cannot reach its platform and an
evidence note; their pages and the evidence summary are read too, and no
exception name (``PlatformError``), audit action (``refund.evidence_added``),
carrier code or platform status may show.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import io
import json
import os
import pkgutil
import re
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

import aftersales
from aftersales import demo as desk_demo
from aftersales.core.modules import all_modules, module_labels
from aftersales.refunds.models import RefundStatus
from aftersales.returns.models import ReturnStatus
from aftersales.returns.policy import LAW_EXCLUDED
from connectors.tracking import CODES as CARRIER_CODES
from tests.databases import fresh_database_url
from tests.e2e.desks import SCREENSHOTS, DemoDatabase, RunningDesk
from tests.e2e.walk import demo_ids, page_urls, sign_in_admin

ROOT = Path(__file__).resolve().parents[2]

# What a reader sees on the page. ``innerText`` leaves out hidden text, the
# insides of file inputs (Chromium's own "Choose File / No file chosen", not
# ours) and collapsed <option>s, so those are read explicitly.
VISIBLE_TEXT = """() => {
  const texts = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll("[title], [placeholder], [aria-label]")) {
    for (const name of ["title", "placeholder", "aria-label"]) {
      if (el.hasAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  for (const el of document.querySelectorAll(
      "input[type=submit], input[type=button], input[type=reset]")) {
    texts.push(el.value);
  }
  for (const option of document.querySelectorAll("option")) texts.push(option.text);
  return texts.join("\\n");
}"""

# The demo's own data that is Latin on purpose: the store's name, which its owner
# wrote in both scripts ("演示小店 Demo Shop"; a test of the demo signs in by it).
# Nothing else needs allowing: product titles carry Latin only as units and sizes
# ("500ml", "T恤"), tracking numbers and order numbers are letters run into digits
# ("YT1000000002"), and neither is ever a run of words. A demo product or buyer
# written in English would be flagged, as it should: the demo is a Chinese shop.
DEMO_DATA = [desk_demo.DEMO_STORE]
# Names that stay Latin in a Chinese UI, each for a reason:
LATIN_NAMES = [
    # File formats and technical terms Chinese software writes in Latin
    # (导出 CSV, API 令牌, 订单 ID): there is no Chinese word a shop would read.
    "CSV",
    "XLSX",
    "JSON",
    "API",
    "URL",
    "ID",
    "SKU",
    # Platform brand names shown as labels: brands keep their own spelling in
    # Chinese UIs (Shopify's and WooCommerce's own Chinese pages do).
    "Shopify",
    "WooCommerce",
    # Taobao Open Platform's names for a store's credentials, as its Chinese console
    # writes them (a Taobao store's page asks for them).
    "App Key",
    "App Secret",
    "SessionKey",
    "sessionKey",
]
TWO_WORDS = re.compile(r"(?<![\w@./:-])[A-Za-z]{2,}(?:[ \t\u00a0]+[A-Za-z]{2,})+(?![\w@/-])")
# An exception's class name (``PlatformError``): capitalised words run together.
CAMEL = re.compile(r"(?<![\w@./:-])[A-Z][a-z]+(?:[A-Z][a-z]+)+(?![\w@/-])")
SNAKE = re.compile(r"(?<![\w@./:-])[A-Za-z]+(?:_[A-Za-z]+)+(?![\w@/-])")
WORD = re.compile(r"(?<![\w@./:-])[a-z]{2,}(?![\w@/-])")


def stored_codes() -> set[str]:
    """Every lowercase code the desk stores: enum values (statuses, kinds, reasons,
    roles), carrier codes and the law's return categories.

    Enums are found by import, not listed, so a status added tomorrow is looked for too.
    """
    values: set[str] = set(CARRIER_CODES) | set(LAW_EXCLUDED)
    for info in pkgutil.walk_packages(aftersales.__path__, "aftersales."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for thing in vars(module).values():
            if isinstance(thing, type) and issubclass(thing, enum.Enum):
                for member in thing:
                    if isinstance(member.value, str) and re.fullmatch(r"[a-z_]{2,}", member.value):
                        values.add(member.value)
    return values


def audit_actions() -> set[str]:
    """Every audit action the modules write (``refund.evidence_added``): codes, never words."""
    return set(module_labels(all_modules()).get("event", {})) - {"*"}


def english_in(text: str, codes: set[str]) -> list[str]:
    """The English word runs and raw codes left once data and Latin names are taken out."""
    found = [action for action in audit_actions() if action in text]
    for allowed in DEMO_DATA:
        text = text.replace(allowed, " ")
    for name in LATIN_NAMES:
        text = re.sub(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", " ", text)
    found += TWO_WORDS.findall(text) + SNAKE.findall(text) + CAMEL.findall(text)
    found += [word for word in WORD.findall(text) if word in codes]
    return sorted(set(found))


@pytest.fixture
async def demo_database(tmp_path: Path) -> AsyncIterator[DemoDatabase]:
    """The demo's database with what the demo never shows (``tests/e2e/seed.py``)."""
    async with fresh_database_url(tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
        env.update({"AFTERSALES_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": url})
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tests.e2e.seed", str(tmp_path / "seeded.json")],
            env=env,
            cwd=ROOT,
            check=True,
            timeout=120,
        )
        yield DemoDatabase(url)  # empty: the demo loads after the seed


async def read_page(page: Page) -> str:
    return str(await page.evaluate(VISIBLE_TEXT))


async def one_case_per_status(page: Page, desk: RunningDesk) -> list[str]:
    """Each queue filtered by each status, and the first case it lists.

    The walk opens one refund and one return; a decided case shows other
    words (its rule, the write-back, a longer timeline), so every state the
    demo reaches is read too.
    """
    urls: list[str] = []
    for queue, statuses in (("/refunds/", RefundStatus), ("/returns/", ReturnStatus)):
        for status in statuses:
            listing = f"{queue}?status={status.value}"
            urls.append(listing)
            answer = await page.request.get(desk.url + listing)
            if found := re.search(rf'href="{queue}(\d+)"', await answer.text()):
                urls.append(queue + found.group(1))
    return urls


def after(urls: list[str], listing: str) -> str:
    """The case page the walk opened from ``listing`` (the queue filtered by a status)."""
    following = urls[urls.index(listing) + 1]
    assert not following.startswith(listing.split("?")[0] + "?"), f"{listing} lists no case"
    return following


async def test_no_english_on_any_chinese_page(demo_desk: RunningDesk, browser: Browser) -> None:
    context = await browser.new_context(
        locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = await context.new_page()
    await sign_in_admin(page, demo_desk)
    codes = stored_codes()
    assert {"requested", "approved", "waiting_return", "zhongtong", "custom"} <= codes
    english: dict[str, list[str]] = {}
    ids = await demo_ids(page, demo_desk)
    by_status = await one_case_per_status(page, demo_desk)
    seeded = json.loads((demo_desk.log.parent / "seeded.json").read_text())
    failed_refund = f"/refunds/{seeded['failed_refund']}"
    failing_store = f"/orders/stores/{seeded['failing_store']}"
    urls = page_urls(ids) + by_status + [failed_refund, failing_store]
    read = 0
    for url in urls:
        response = await page.goto(demo_desk.url + url)
        assert response is not None and response.status < 400, f"{url}: {response}"
        text = await read_page(page)
        read += len(text)
        if found := english_in(text, codes):
            english[url] = found
    # The seeded failures read as sentences, the exception folded away for managers.
    await page.goto(demo_desk.url + failed_refund)
    await expect(page.locator(".writeback.failed")).to_contain_text("发送失败")
    await expect(page.get_by_text("演示店铺拒绝了这次操作")).to_be_visible()
    key = page.locator("details.technical .idempotency-key")
    await expect(key).to_be_hidden()  # folded until the admin opens it
    await page.locator("details.technical summary").first.click()
    await expect(key).to_have_text(re.compile(r"^refund:\d+:approve:v\d+$"))
    await page.goto(demo_desk.url + failing_store)
    await expect(page.locator("table.sync")).to_contain_text("无法连接淘宝（连接被拒绝）")
    # The evidence summary is for the platform's arbitrator: Chinese words, no codes.
    pack = await page.request.get(
        f"{demo_desk.url}/refunds/{seeded['evidence_refund']}/evidence.zip"
    )
    with zipfile.ZipFile(io.BytesIO(await pack.body())) as archive:
        summary = archive.read("summary.txt").decode()
    assert "已联系快递拦截包裹" in summary and "已添加举证材料" in summary, summary
    if found := english_in(summary, codes):
        english["evidence summary.txt"] = found
    # Pages whose words this test had translated (platform status, the stored rule,
    # carriers, the law's categories), kept for a person to look at.
    shown = {
        "order-detail": f"/orders/{ids['order_id']}",
        "refunds-refunded": "/refunds/?status=refunded",
        "refund-refunded": after(by_status, "/refunds/?status=refunded"),
        "return-replacement-shipped": after(by_status, "/returns/?status=replacement_shipped"),
        "refund-writeback-failed": failed_refund,
        "store-sync-failed": failing_store,
    }
    for name, url in shown.items():
        await page.goto(demo_desk.url + url)
        await page.screenshot(path=SCREENSHOTS / f"zh-chinese-{name}.png", full_page=True)
    await context.close()
    assert read > 20_000, f"only {read} characters read: is the page text collected?"
    report = "\n".join(f"{url}: {found}" for url, found in english.items())
    assert english == {}, f"English on zh-CN pages:\n{report}"


def test_the_check_sees_english_and_spares_data() -> None:
    """The heuristic itself: sentences and codes are caught, the demo's data is not."""
    codes = {"waiting_return", "requested"}
    assert english_in("退款 Refund queue 待处理", codes) == ["Refund queue"]
    assert english_in("状态：waiting_return", codes) == ["waiting_return"]
    assert english_in("状态 requested", codes) == ["requested"]
    assert english_in("WAIT_SELLER_AGREE", codes) == ["WAIT_SELLER_AGREE"]
    assert english_in("同步失败 PlatformError: …", codes) == ["PlatformError"]
    assert english_in("处理记录 refund.evidence_added", codes) == ["refund.evidence_added"]
    clean = f"{desk_demo.DEMO_STORE} 导出 CSV 店铺 Shopify 不锈钢保温杯 500ml"
    assert english_in(clean + " YT1000000002 http://x/hooks/demo/1 a@b.cn", codes) == []
