"""A return parcel the carrier could not be asked about reads as a sentence, not an exception."""

from __future__ import annotations

import re
import socket

import httpx

from aftersales.core.models import Role
from aftersales.returns import parcels, service
from aftersales.returns.models import ReturnTracking
from connectors.tracking import Kuaidi100
from tests.conftest import sign_in
from tests.factories import create_user
from tests.returns.test_api_flow import open_return
from tests.returns.test_cases import ADDRESS, synced_shop

DETAILS = re.compile(r'<details class="technical">.*?</details>', re.S)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_parcel_check_that_failed_reads_in_words_with_details_for_managers(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await create_user(username="boss", role=Role.SUPERVISOR)
    case, _order, _item = await open_return(agent)
    await service.approve(case.id, actor=agent, return_address=ADDRESS)
    await service.add_tracking(case.id, carrier="中通快递", tracking_no="75310002", actor=agent)
    # The tracking service is down: nobody listens where it should answer.
    provider = Kuaidi100(
        customer="c", key="k", base_url=f"http://127.0.0.1:{closed_port()}", max_attempts=1
    )
    try:
        await parcels.poll(provider)
    finally:
        await provider.aclose()
    tracking = await ReturnTracking.get(case_id=case.id)
    assert tracking.check_error.startswith("PlatformError")

    await sign_in(client, "agent")
    page = (await client.get(f"/returns/{case.id}", headers={"Accept-Language": "zh-CN"})).text
    assert "中通快递 75310002" in page and "暂时无法向快递公司查询此包裹" in page
    assert "PlatformError" not in page and "zhongtong" not in page

    await sign_in(client, "boss")
    page = (await client.get(f"/returns/{case.id}", headers={"Accept-Language": "zh-CN"})).text
    assert "PlatformError" in "".join(DETAILS.findall(page))
