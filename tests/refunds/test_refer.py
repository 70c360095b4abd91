"""Send to supervisor through the pages and the API: the rule sentence, the send, the list."""

from __future__ import annotations

import httpx

from aftersales.core.models import Referral, Role
from aftersales.refunds import service
from aftersales.refunds.models import Refund, RefundStatus
from tests.conftest import csrf_from, sign_in
from tests.core.test_referrals import over_night_cap
from tests.factories import create_user
from tests.orders.test_api import bearer
from tests.refunds.test_service import demo_shop


async def test_over_the_night_cap_the_page_offers_send_to_supervisor_not_approve(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    await create_user(username="night", role=Role.NIGHT_AGENT)
    await sign_in(client, "night")
    refund = await over_night_cap()
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert "Over your 100.00 night cap: a supervisor decides." in page
    assert f'action="/refunds/{refund.id}/refer"' in page
    assert f'action="/refunds/{refund.id}/approve"' not in page  # it would only be refused
    token = await csrf_from(client, f"/refunds/{refund.id}")
    sent = await client.post(
        f"/refunds/{refund.id}/refer",
        data={"csrf_token": token, "version": str(refund.version), "note": "买家很着急"},
        follow_redirects=True,
    )
    assert "Sent to a supervisor. It waits in their list until they decide." in sent.text
    assert 'id="referral"' in sent.text and "买家很着急" in sent.text
    assert f'action="/refunds/{refund.id}/refer"' not in sent.text  # no second send
    again = await client.post(
        f"/refunds/{refund.id}/refer",
        data={"csrf_token": token, "version": str(refund.version), "note": "again"},
        follow_redirects=True,
    )
    assert "already sent this to a supervisor" in again.text
    assert await Referral.filter(case_id=refund.id).count() == 1
    assert (await client.get("/waiting/")).status_code == 403  # an agent has no such list


async def test_an_agent_within_the_cap_reads_you_decide_and_approves(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await over_night_cap()
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert "Within your 300.00 cap: you decide." in page
    assert f'action="/refunds/{refund.id}/approve"' in page
    assert f'action="/refunds/{refund.id}/refer"' not in page


async def test_the_supervisor_sees_the_count_the_list_and_approving_empties_it(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    night = await create_user(username="night", role=Role.NIGHT_AGENT, display_name="夜班小王")
    await create_user(username="boss", role=Role.SUPERVISOR)
    refund = await over_night_cap()
    await service.refer(refund.id, actor=night, note="买家很着急")
    await sign_in(client, "boss")
    home = (await client.get("/")).text
    assert 'href="/waiting/"' in home and "Waiting for me" in home
    listed = (await client.get("/waiting/")).text
    assert f'href="/refunds/{refund.id}"' in listed
    assert "夜班小王" in listed and "买家很着急" in listed
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert "Your role has no cap: you decide." in page and "夜班小王" in page
    token = await csrf_from(client, f"/refunds/{refund.id}")
    assert f'name="version" value="{refund.version + 1}"' in page  # the send moved it
    await client.post(
        f"/refunds/{refund.id}/approve",
        data={"csrf_token": token, "version": str(refund.version + 1)},
    )
    assert (await Refund.get(id=refund.id)).status is RefundStatus.APPROVED
    assert 'id="waiting-empty"' in (await client.get("/waiting/")).text


async def test_the_api_explains_refers_lists_and_refuses(client: httpx.AsyncClient, app) -> None:
    await demo_shop()
    night = await bearer(Role.NIGHT_AGENT)
    boss = await bearer(Role.SUPERVISOR)
    agent = await bearer(Role.AGENT)
    refund = await over_night_cap()
    rule = (await client.get(f"/api/v1/refunds/{refund.id}/decision", headers=night)).json()
    assert rule["rule"] == {
        "decides": "supervisor",
        "message": "Over your 100.00 night cap: a supervisor decides.",
        "limit": "100.00",
    }
    assert rule["referral"] is None
    mine = (await client.get(f"/api/v1/refunds/{refund.id}/decision", headers=agent)).json()
    assert mine["rule"]["decides"] == "you" and mine["rule"]["limit"] == "300.00"
    bad = await client.post(f"/api/v1/refunds/{refund.id}/refer", json={"note": 5}, headers=night)
    assert bad.status_code == 400
    sent = await client.post(
        f"/api/v1/refunds/{refund.id}/refer",
        json={"note": "please", "version": refund.version},
        headers=night,
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["case"] == f"refunds:refund:{refund.id}" and body["note"] == "please"
    assert body["case_version"] == refund.version + 1  # what the next decision sends
    twice = await client.post(f"/api/v1/refunds/{refund.id}/refer", json={}, headers=agent)
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "referral_already_open"
    assert (await client.get("/api/v1/waiting", headers=agent)).status_code == 403
    listed = (await client.get("/api/v1/waiting", headers=boss)).json()
    assert listed["total"] == 1 and listed["items"][0]["case_id"] == refund.id
    item = listed["items"][0]
    assert item["amount"] == f"{refund.requested_amount:.2f}" and item["note"] == "please"
    assert item["href"] == f"/refunds/{refund.id}" and item["from_user"] is not None
    missing = await client.post("/api/v1/refunds/2147483647/refer", json={}, headers=night)
    assert missing.status_code == 404
    approved = await client.post(
        f"/api/v1/refunds/{refund.id}/approve",
        json={"version": body["case_version"]},
        headers=boss,
    )
    assert approved.status_code == 200
    assert (await client.get("/api/v1/waiting", headers=boss)).json()["total"] == 0
    closed = (await client.get(f"/api/v1/refunds/{refund.id}/decision", headers=boss)).json()
    assert closed["rule"] is None and closed["referral"] is None
