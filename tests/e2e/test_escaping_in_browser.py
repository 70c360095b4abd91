"""Markup in a URL or a product title is shown as text in a real browser, never run."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, Dialog, expect

from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from tests.e2e.desks import RunningDesk

# Runs if a page puts it in the DOM as markup: an image that fails to load.
MARKUP = "<img src=x onerror=alert(document.domain)>"
TITLE = f"{MARKUP} 100% cotton tee"
ORDER = "XSS-E2E-1"


def order_export(path: Path) -> Path:
    """One paid, shipped order in the generic CSV layout, its product titled with markup."""
    paid = datetime.now(UTC) - timedelta(days=2)
    row = {
        "platform_order_id": ORDER,
        "status": "shipped",
        "buyer_id": "xss-buyer",
        "buyer_nick": MARKUP,
        "total_amount": "99.00",
        "paid_amount": "99.00",
        "created_at": paid.isoformat(),
        "paid_at": paid.isoformat(),
        "shipped_at": (paid + timedelta(hours=5)).isoformat(),
        "item_id": f"{ORDER}-1",
        "item_title": TITLE,
        "sku": MARKUP,
        "quantity": "1",
        "unit_price": "99.00",
    }
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    return path


async def test_markup_in_a_url_or_a_product_title_never_runs(
    demo_desk: RunningDesk, browser: Browser, tmp_path: Path
) -> None:
    store = demo_desk.cli("store", "list").split("\t", 1)[0].strip()
    demo_desk.cli("import-csv", "--store", store, str(order_export(tmp_path / "orders.csv")))
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(demo_desk.url + "/login")
    await page.get_by_label("Username").fill(DEMO_USER)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("link", name="Refunds", exact=True)).to_be_visible()

    # A crafted link someone sends the owner: the name comes back as text on a 404.
    answer = await page.goto(demo_desk.url + f"/refunds/report/{MARKUP}.csv")
    assert answer is not None and answer.status == 404
    await page.wait_for_timeout(500)  # time for an image to fail and its handler to run
    assert await page.locator("img[src=x]").count() == 0 and dialogs == [], dialogs
    await expect(page.locator("main")).to_contain_text(MARKUP)

    # Money goes back on the order: the desk starts a compensation and the demo pays it.
    await page.goto(demo_desk.url + f"/orders/?q={ORDER}")
    await page.get_by_role("link", name=ORDER).click()
    await expect(page.locator("main")).to_contain_text(TITLE)
    await page.get_by_role("link", name="Start a refund").click()
    await page.locator("select[name=kind]").select_option("compensation")
    await page.locator("select[name=item]").select_option(f"{ORDER}-1")
    await page.get_by_label("Amount").fill("5")
    await page.get_by_label("What it is for").fill(f"sorry {MARKUP}")
    await page.get_by_role("button", name="Start the refund").click()
    for _ in range(30):
        if await page.locator("h1 .status", has_text="Refunded").count():
            break
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.locator("h1 .status").first).to_have_text("Refunded")

    await page.goto(demo_desk.url + "/refunds/report")
    await expect(page.get_by_role("cell", name=TITLE, exact=False)).to_be_visible()
    await page.wait_for_timeout(500)  # time for an image to fail and its handler to run
    assert await page.locator("img[src=x]").count() == 0, "markup became an element"
    assert dialogs == [], f"a script ran: {dialogs}"
    await context.close()
