"""One settings page per store: every module's settings and the timers, saved or refused whole."""

from __future__ import annotations

import re

import httpx
import pytest
from markupsafe import escape

from aftersales.core import cases
from aftersales.core.errors import ConfigError
from aftersales.core.models import AuditEvent, Role, Store
from aftersales.core.modules import Module, Registry
from aftersales.core.setting_fields import SettingField
from tests.conftest import csrf_from, sign_in
from tests.factories import create_store, create_user

ADDRESS = "张三 13800000000\n浙江省杭州市余杭区仓前街道 1 号 售后仓"


def _form_of(page: str) -> dict[str, str]:
    """The values the settings form would send as the page shows them."""
    form = dict(re.findall(r'<input type="(?:number|text)" name="([^"]+)" value="([^"]*)"', page))
    for name, options in re.findall(r'<select name="([^"]+)">(.*?)</select>', page, re.S):
        form[name] = re.findall(r'<option value="([^"]*)" selected>', options)[0]
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        form[name] = text
    return form


async def test_the_page_shows_every_modules_settings_and_saves_them(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    assert (
        f'href="/orders/stores/{store.id}/settings"'
        in (await client.get(f"/orders/stores/{store.id}")).text
    )
    page = (await client.get(f"/orders/stores/{store.id}/settings")).text
    registry: Registry = app.state.registry
    for module, fields in registry.store_setting_fields():
        for field in fields:
            assert f'name="{module.name}.{field.key}"' in page
            assert escape(field.label) in page and escape(field.help) in page
    for timer in cases.timer_fields():
        assert f'name="timer.{timer.key}"' in page and escape(timer.label) in page
    # The rules with pages of their own are linked from here too.
    assert f'href="/refunds/rules/{store.id}"' in page
    assert f'href="/returns/policy/{store.id}"' in page

    form = _form_of(page)
    assert form["orders.sync_interval_minutes"] == "5"  # the declared default
    token = await csrf_from(client, f"/orders/stores/{store.id}/settings")
    form.update({
        "csrf_token": token, "store.name": "杭州旗舰店", "store.timezone": "Asia/Tokyo",
        "orders.sync_interval_minutes": "15", "orders.history_days": "30",
        "orders.buyer_language": "en", "returns.return_address": ADDRESS,
        "timer.return_confirm_days": "12",
    })  # fmt: skip
    saved = await client.post(
        f"/orders/stores/{store.id}/settings", data=form, follow_redirects=True
    )
    assert saved.status_code == 200 and "Settings saved." in saved.text
    fresh = await Store.get(id=store.id)
    assert (fresh.name, fresh.timezone) == ("杭州旗舰店", "Asia/Tokyo")
    assert fresh.settings["sync_interval_minutes"] == 15
    assert fresh.settings["history_days"] == 30
    assert fresh.settings["buyer_language"] == "en"
    assert fresh.settings["return_address"] == ADDRESS
    assert cases.timer(fresh, "return_confirm_days") == 12
    assert cases.timer(fresh, "refund_shipped_days") == cases.TIMER_DEFAULTS["refund_shipped_days"]
    assert registry.store_setting(fresh, "orders", "buyer_language") == "en"
    audit = await AuditEvent.get(action="store.settings_updated", subject_id=str(store.id))
    assert audit.data["changed"]["orders.sync_interval_minutes"][1] == 15
    assert audit.data["changed"]["timer.return_confirm_days"] == [10, 12]
    assert "store.name" in audit.data["changed"]
    # The page shows what was saved, the address on its own lines.
    again = (await client.get(f"/orders/stores/{store.id}/settings")).text
    assert "杭州旗舰店" in again and "张三 13800000000\n浙江省" in again


async def test_a_bad_value_is_refused_in_the_readers_language_and_nothing_changes(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    page = (await client.get(f"/orders/stores/{store.id}/settings")).text
    before = (await Store.get(id=store.id)).settings
    token = await csrf_from(client, f"/orders/stores/{store.id}/settings")
    form = {**_form_of(page), "csrf_token": token, "returns.return_address": ADDRESS}
    for bad, words in (
        ({"orders.sync_interval_minutes": "0"}, "同步间隔须在 1 到 1440 之间。"),
        ({"timer.return_ship_days": "seven"}, "买家寄回退货的时限须为整数。"),
        ({"orders.buyer_language": "klingon"}, "请为买家语言选择给出的选项之一。"),
        ({"store.timezone": "Mars/Olympus"}, "请为时区选择给出的选项之一。"),
        ({"store.name": "  "}, "店铺需要一个名称。"),
    ):
        refused = await client.post(
            f"/orders/stores/{store.id}/settings",
            data={**form, **bad},
            headers={"Accept-Language": "zh-CN"},
        )
        assert refused.status_code == 400, bad
        assert words in refused.text
        if "seven" in bad.values():  # the form comes back with what was typed, to correct
            assert 'value="seven"' in refused.text
    fresh = await Store.get(id=store.id)
    assert fresh.settings == before and fresh.name == store.name
    assert await AuditEvent.filter(action="store.settings_updated").count() == 0


async def test_agents_may_not_open_or_save_it_and_supervisors_may_not_rename(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    await create_user(username="agent", role=Role.AGENT)
    await create_user(username="owner", role=Role.OWNER)
    await create_user(username="super", role=Role.SUPERVISOR)
    await sign_in(client, "owner")
    token = await csrf_from(client, f"/orders/stores/{store.id}/settings")
    no_csrf = await client.post(
        f"/orders/stores/{store.id}/settings", data={"orders.sync_interval_minutes": "9"}
    )
    assert no_csrf.status_code == 403
    await client.get("/logout")
    client.cookies.clear()

    await sign_in(client, "agent")
    assert (await client.get(f"/orders/stores/{store.id}/settings")).status_code == 403
    token = await csrf_from(client, "/")
    refused = await client.post(
        f"/orders/stores/{store.id}/settings",
        data={"csrf_token": token, "orders.sync_interval_minutes": "9"},
    )
    assert refused.status_code == 403
    assert "sync_interval_minutes" not in (await Store.get(id=store.id)).settings
    await client.get("/logout")
    client.cookies.clear()

    await sign_in(client, "super")
    page = (await client.get(f"/orders/stores/{store.id}/settings")).text
    assert 'name="store.name"' not in page and store.name in page  # shown, not editable
    token = await csrf_from(client, f"/orders/stores/{store.id}/settings")
    renamed = await client.post(
        f"/orders/stores/{store.id}/settings",
        data={**_form_of(page), "csrf_token": token, "store.name": "改名"},
    )
    assert renamed.status_code == 403
    assert (await Store.get(id=store.id)).name == store.name
    saved = await client.post(
        f"/orders/stores/{store.id}/settings",
        data={**_form_of(page), "csrf_token": token, "orders.sync_interval_minutes": "9"},
        follow_redirects=True,
    )
    assert "Settings saved." in saved.text
    assert (await Store.get(id=store.id)).settings["sync_interval_minutes"] == 9
    audit = await AuditEvent.get(action="store.settings_updated")
    assert audit.data["changed"] == {"orders.sync_interval_minutes": [5, 9]}


def test_a_module_describes_only_settings_it_declares() -> None:
    loose = Module(
        name="loose",
        label="Loose",
        store_settings={"kept": 1},
        store_setting_fields=[SettingField("kept", "Kept"), SettingField("other", "Other")],
    )
    with pytest.raises(ConfigError):
        Registry([loose])
    fine = Module(
        name="fine", label="Fine", store_settings={"kept": 1},
        store_setting_fields=[SettingField("kept", "Kept", minimum=1, maximum=3)],
    )  # fmt: skip
    [(module, fields)] = Registry([fine]).store_setting_fields()
    assert module is fine and fields[0].parse(" 2 ") == 2
