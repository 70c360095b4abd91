"""A return worth more than the agent's cap goes to a supervisor from the return case."""

from __future__ import annotations

import httpx

from aftersales.core import referrals
from aftersales.core.models import Referral, Role
from aftersales.core.reasons import ReasonCode
from aftersales.returns import service
from aftersales.returns.models import ReturnStatus
from aftersales.returns.policy import ReturnKind
from tests.conftest import csrf_from, sign_in
from tests.factories import create_store, create_user
from tests.orders.test_api import bearer
from tests.refunds.test_caps import an_order
from tests.returns.test_cases import ADDRESS


async def test_an_agent_sends_a_return_over_the_cap_and_the_approval_closes_it(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()  # the default rules: agents up to 300.00
    order, item = await an_order(store)  # 2 x 238.00 = 476.00
    agent = await create_user(username="agent", role=Role.AGENT)
    boss = await create_user(username="boss", role=Role.SUPERVISOR)
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 2)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    await sign_in(client, "agent")
    page = (await client.get(f"/returns/{case.id}")).text
    assert "Over your 300.00 cap: a supervisor decides." in page
    assert f'action="/returns/{case.id}/approve"' not in page
    token = await csrf_from(client, f"/returns/{case.id}")
    sent = await client.post(
        f"/returns/{case.id}/refer",
        data={"csrf_token": token, "version": str(case.version), "note": "两件都坏了"},
        follow_redirects=True,
    )
    assert 'id="referral"' in sent.text and "两件都坏了" in sent.text
    assert f'action="/returns/{case.id}/refer"' not in sent.text
    waiting = await referrals.waiting_for(boss)
    assert [(w.referral.case_id, w.referral.amount) for w in waiting] == [(case.id, 476)]
    assert waiting[0].case is not None and waiting[0].case.href == f"/returns/{case.id}"
    await service.approve(case.id, actor=boss, return_address=ADDRESS)
    referral = await Referral.get(module="returns", case_id=case.id)
    assert referral.closed_by_id == boss.id and referral.open_ref is None
    assert referral.outcome == ReturnStatus.AWAITING_SHIPMENT.value
    assert await referrals.waiting_for(boss) == []


async def test_the_api_sends_a_return_once(client: httpx.AsyncClient, app) -> None:
    store = await create_store()
    order, item = await an_order(store)
    agent = await create_user(role=Role.AGENT)
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 2)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    headers = await bearer(Role.AGENT)
    sent = await client.post(
        f"/api/v1/returns/{case.id}/refer", json={"note": "坏了", "version": case.version},
        headers=headers,
    )  # fmt: skip
    assert sent.status_code == 201 and sent.json()["case"] == f"returns:return:{case.id}"
    assert sent.json()["amount"] == "476.00"
    again = await client.post(f"/api/v1/returns/{case.id}/refer", json={}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "referral_already_open"
    stale = await client.post(
        f"/api/v1/returns/{case.id}/refer", json={"version": case.version + 5}, headers=headers
    )
    assert stale.status_code == 409
