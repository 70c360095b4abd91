"""The policy editor speaks in words: the law's categories by name, an address box that fits."""

from __future__ import annotations

import re

import httpx

from aftersales.core.models import Role, Store
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.returns.test_cases import synced_shop


async def test_categories_read_in_chinese_and_a_saved_policy_keeps_them(
    client: httpx.AsyncClient, app
) -> None:
    store = await synced_shop()
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    client.headers["Accept-Language"] = "zh-CN"
    page = (await client.get(f"/returns/policy/{store.id}")).text
    for word in ("<strong>定制</strong>", "生鲜易腐", "数字化", "报纸期刊"):
        assert word in page, word
    shown = re.sub(r"<[^>]+>", " ", page)  # what a reader sees, not the form's hidden values
    for code in ("custom", "perishable", "digital", "periodical"):
        assert code not in shown, code
    box = re.search(r'<textarea class="address" name="return_address" rows="(\d+)"', page)
    assert box and int(box.group(1)) >= 4

    token = await csrf_from(client, f"/returns/policy/{store.id}")
    form = dict(re.findall(r'<input type="hidden" name="(cat_\d+_name)" value="([^"]+)"', page))
    rows = re.search(r'name="rows" value="(\d+)"', page)
    assert rows and form
    address = "售后仓 李四\n13900000000\n浙江省杭州市余杭区仓前街道 1 号"
    saved = await client.post(
        f"/returns/policy/{store.id}",
        data={"csrf_token": token, "rows": rows.group(1), "return_address": address, **form,
              "cat_0_keywords": "定制、刻字", "cat_0_excluded": "no"},
        follow_redirects=True,
    )  # fmt: skip
    assert "退换货政策已保存。" in saved.text
    settings = (await Store.get(id=store.id)).settings
    assert settings["return_address"] == address
    first = form["cat_0_name"]
    assert settings["returns_policy"]["categories"][first] == {"excluded": False}
