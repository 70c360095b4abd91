"""The receiving page's list: parcels the carrier delivered that the warehouse has not scanned."""

from __future__ import annotations

from datetime import timedelta

import httpx

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.core.reasons import ReasonCode
from aftersales.returns import parcels, service
from aftersales.returns.models import ReturnStatus, ReturnTracking
from aftersales.returns.policy import ReturnKind
from connectors.tracking import TrackingEvent, TrackingResult, TrackingState
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.returns.test_api_flow import a_shipped_item, open_return
from tests.returns.test_cases import ADDRESS, synced_shop


async def _delivered(agent, tracking_no: str, carrier: str, days_ago: int):
    """A return the carrier says reached the shop ``days_ago`` days ago."""
    if days_ago == 0:
        case, _order, _item = await open_return(
            agent, kind=ReturnKind.RETURN, reason=ReasonCode.CHANGED_MIND
        )
    else:
        order, item = await a_shipped_item()
        case = await service.open_case(
            order.id,
            kind=ReturnKind.RETURN,
            lines=[service.LineRequest(item.platform_item_id, 1)],
            reason=ReasonCode.CHANGED_MIND,
            actor=agent,
        )
    await service.approve(case.id, actor=agent, return_address=ADDRESS)
    await service.add_tracking(case.id, carrier=carrier, tracking_no=tracking_no, actor=agent)
    tracking = await ReturnTracking.get(case_id=case.id, active=True)
    signed = clock.now() - timedelta(days=days_ago, hours=1)
    event = TrackingEvent(at=signed, text="【仓库】已签收", state=TrackingState.DELIVERED)
    result = TrackingResult(
        carrier=tracking.carrier, tracking_no=tracking_no, state=TrackingState.DELIVERED,
        delivered=True, events=[event],
    )  # fmt: skip
    moved = await service.record_tracking(tracking.id, result)
    assert moved is not None and moved.status is ReturnStatus.DELIVERED
    return moved


async def test_delivered_parcels_wait_oldest_first_until_scanned(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    recent = await _delivered(agent, "4312345678901", "yunda", days_ago=0)
    old = await _delivered(agent, "75310001", "zhongtong", days_ago=4)
    listed = await parcels.delivered_not_received()
    ids = [w.case.id for w in listed]
    assert ids.index(old.id) < ids.index(recent.id)  # the longest waiting first
    assert next(w for w in listed if w.case.id == old.id).days_waiting == 4

    await sign_in(client, "agent")
    client.headers["Accept-Language"] = "zh-CN"
    page = (await client.get("/returns/receiving")).text
    assert "已签收，仓库未收货" in page
    assert page.index("75310001") < page.index("4312345678901")
    assert "中通快递" in page and "韵达" in page and "zhongtong" not in page
    assert "4 天" in page and f'href="/returns/{old.id}"' in page
    # The home tile counts the very list it links to.
    home = (await client.get("/")).text
    tile = f'href="/returns/receiving#delivered">\n  <span class="value">{len(listed)}</span>'
    assert tile in home

    token = await csrf_from(client, f"/returns/{old.id}")
    await client.post(
        f"/returns/{old.id}/receive", data={"csrf_token": token, "version": str(old.version)}
    )
    after = (await client.get("/returns/receiving")).text
    assert "75310001" not in after.split("已收货，等待质检")[0] and "4312345678901" in after
    assert old.id not in [w.case.id for w in await parcels.delivered_not_received()]
