"""A carrier reads the same on every page, however the platform or the agent wrote it.

Return pages named carriers through their own map, which knew codes only: a
tracking number the platform synced as 中通快递 read 中通快递 on an English
page, while the order page (``carrier()``) said ZTO Express.
"""

from __future__ import annotations

import httpx

from aftersales.core import modules
from aftersales.core.models import Role
from aftersales.returns.models import ReturnTracking
from tests.conftest import sign_in
from tests.factories import create_user
from tests.returns.test_cases import synced_shop
from tests.returns.test_receiving_list import _delivered

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


async def test_a_carrier_the_platform_wrote_in_chinese_reads_in_english_on_return_pages(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    case = await _delivered(agent, "75310001", "zhongtong", days_ago=1)
    await ReturnTracking.filter(case_id=case.id).update(carrier="中通快递")  # the platform's word
    await sign_in(client, "agent")
    for path in (f"/returns/{case.id}", "/returns/receiving"):
        english = (await client.get(path, headers=EN)).text
        assert "ZTO Express" in english and "中通快递" not in english, path
        chinese = (await client.get(path, headers=ZH)).text
        assert "中通快递" in chinese and "ZTO Express" not in chinese, path


def test_carriers_have_one_naming_not_a_label_kind() -> None:
    assert "carrier" not in modules.current().labels()
