"""zh-CN and English: the browser's choice, the user's setting, and a complete catalog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from babel.messages.pofile import read_po

from aftersales.core import i18n
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user

ROOT = Path(__file__).resolve().parents[2]


def test_negotiate_honours_quality_values() -> None:
    assert i18n.negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert i18n.negotiate("en-US,en;q=0.9,zh-CN;q=0.5") == "en"
    assert i18n.negotiate("fr;q=1.0, zh-TW;q=0.7") == "zh_CN"
    assert i18n.negotiate("de") == "en"
    assert i18n.negotiate("") == "en"
    assert i18n.negotiate("q=;;,,*") == "en"


async def test_login_page_speaks_the_browsers_language(client: httpx.AsyncClient) -> None:
    chinese = await client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "登录" in chinese.text and 'lang="zh-CN"' in chinese.text
    english = await client.get("/login", headers={"Accept-Language": "en-GB"})
    assert "Sign in" in english.text and "登录" not in english.text


async def test_the_users_setting_beats_the_browser(client: httpx.AsyncClient) -> None:
    user = await create_user()
    await sign_in(client, user.username)
    token = await csrf_from(client, "/account")
    saved = await client.post(
        "/account/language", data={"csrf_token": token, "locale": "zh_CN"}, follow_redirects=True
    )
    assert "语言已保存" in saved.text
    home = await client.get("/", headers={"Accept-Language": "en"})
    assert "今天的待办清单" in home.text
    assert "订单" in home.text  # nav and tiles are translated too


def test_every_ui_string_has_a_chinese_translation(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "N_", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    po = ROOT / "aftersales/locale/zh_CN/LC_MESSAGES/messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else m.string[0])
    }
    assert wanted, "extraction found nothing"
    missing = sorted(wanted - translated)
    assert not missing, f"untranslated (run scripts/i18n): {missing}"
