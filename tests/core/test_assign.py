"""Taking a case and giving it to a colleague, from the case page and from the queue.

Managers (supervisor, owner, admin) give a case to any active colleague who
works cases; agents and night agents only take cases for themselves. A take
is offered only where it means something: not on a case that is over, not
on one that is already the reader's, and as "take over from X" when X has
it. Every change names the version the page showed (409 when it moved).
"""

from __future__ import annotations

import re

import httpx

from aftersales.core.models import AuditEvent, Role
from aftersales.refunds.models import Refund, RefundStatus
from aftersales.returns.models import ReturnCase, ReturnStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.orders.test_api import bearer
from tests.returns.test_cases import synced_shop


async def _free_refund() -> Refund:
    refund = (
        await Refund.filter(status=RefundStatus.REQUESTED, worked_in__isnull=True)
        .order_by("id")
        .first()
    )
    assert refund is not None
    return refund


def _row(page: str, href: str) -> str:
    start = page.index(f'<a href="{href}">')
    return page[start : page.index("</tr>", start)]


async def test_an_agent_takes_from_the_queue_and_the_button_goes(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await _free_refund()
    queue = (await client.get("/refunds/")).text
    row = _row(queue, f"/refunds/{refund.id}")
    assert f'form="assign-{refund.id}">Take</button>' in row
    assert 'name="assignee"' not in row  # an agent hands nothing out
    form = queue[queue.index(f'id="assign-{refund.id}"') :]
    assert f'name="version" value="{refund.version}"' in form[: form.index("</form>")]

    token = await csrf_from(client, "/refunds/")
    taken = await client.post(
        f"/refunds/{refund.id}/assign",
        data={"csrf_token": token, "version": str(refund.version), "next": "/refunds/"},
        follow_redirects=True,
    )
    assert str(taken.url).endswith("/refunds/") and "The refund is yours." in taken.text
    assert (await Refund.get(id=refund.id)).assignee_id == agent.id
    row = _row(taken.text, f"/refunds/{refund.id}")
    assert "<strong>Yours</strong>" in row and "Take" not in row


async def test_someone_elses_case_reads_take_over_and_a_closed_one_offers_nothing(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    colleague = await create_user(username="wang", role=Role.AGENT, display_name="小王")
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await _free_refund()
    await Refund.filter(id=refund.id).update(assignee_id=colleague.id)
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert "Take over from 小王</button>" in page

    closed = await Refund.filter(status=RefundStatus.REFUNDED).first()
    assert closed is not None
    page = (await client.get(f"/refunds/{closed.id}")).text
    assert f'action="/refunds/{closed.id}/assign"' not in page
    token = await csrf_from(client, f"/refunds/{refund.id}")
    forged = await client.post(
        f"/refunds/{closed.id}/assign",
        data={"csrf_token": token, "version": str(closed.version)},
        follow_redirects=True,
    )
    assert "is closed; there is nothing to take or hand over." in forged.text
    assert (await Refund.get(id=closed.id)).assignee_id is None


async def test_a_supervisor_gives_a_case_to_a_colleague_from_the_case_page(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    supervisor = await create_user(username="boss", role=Role.SUPERVISOR)
    li = await create_user(username="li", role=Role.NIGHT_AGENT, display_name="小李")
    gone = await create_user(username="gone", role=Role.AGENT, display_name="已离职")
    await create_user(username="root", role=Role.ADMIN, display_name="系统管理员")
    gone.is_active = False
    await gone.save(update_fields=["is_active"])
    await sign_in(client, "boss")
    case = await ReturnCase.filter(status=ReturnStatus.REQUESTED).order_by("id").first()
    assert case is not None
    page = (await client.get(f"/returns/{case.id}")).text
    choices = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page)
    names = [name for _id, name in choices]
    assert "小李" in names and "已离职" not in names and "系统管理员" not in names
    token = await csrf_from(client, f"/returns/{case.id}")
    given = await client.post(
        f"/returns/{case.id}/assign",
        data={"csrf_token": token, "version": str(case.version), "assignee": str(li.id)},
        follow_redirects=True,
    )
    assert "Given to 小李." in given.text
    assert (await ReturnCase.get(id=case.id)).assignee_id == li.id
    event = await AuditEvent.get(action="return.given", subject_id=str(case.id))
    assert event.actor_id == supervisor.id and event.data["assignee"] == "li"
    assert "Given to a colleague" in given.text and "→ 小李" in given.text

    # A deactivated colleague is refused, even in a forged post.
    token = await csrf_from(client, f"/returns/{case.id}")
    fresh = await ReturnCase.get(id=case.id)
    refused = await client.post(
        f"/returns/{case.id}/assign",
        data={"csrf_token": token, "version": str(fresh.version), "assignee": str(gone.id)},
        follow_redirects=True,
    )
    assert "cannot be given cases" in refused.text
    assert (await ReturnCase.get(id=case.id)).assignee_id == li.id


async def test_a_supervisor_assigns_from_the_queue_and_an_agent_cannot(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    await create_user(username="boss", role=Role.SUPERVISOR)
    li = await create_user(username="li", role=Role.AGENT, display_name="小李")
    await create_user(username="agent", role=Role.AGENT)
    refund = await _free_refund()

    await sign_in(client, "boss")
    queue = (await client.get("/refunds/")).text
    row = _row(queue, f"/refunds/{refund.id}")
    assert f'<select name="assignee" aria-label="Give to" form="assign-{refund.id}">' in row
    token = await csrf_from(client, "/refunds/")
    await client.post(
        f"/refunds/{refund.id}/assign",
        data={
            "csrf_token": token,
            "version": str(refund.version),
            "assignee": str(li.id),
            "next": "/refunds/?assignee=none",
        },
    )
    assert (await Refund.get(id=refund.id)).assignee_id == li.id
    # "Assign" pressed with the select left on "unassigned" asks for a colleague.
    fresh = await Refund.get(id=refund.id)
    blank = await client.post(
        f"/refunds/{refund.id}/assign",
        data={"csrf_token": token, "version": str(fresh.version), "assignee": ""},
        follow_redirects=True,
    )
    assert "Choose the colleague to give it to." in blank.text
    assert (await Refund.get(id=refund.id)).assignee_id == li.id

    other = await Refund.filter(
        status=RefundStatus.REQUESTED, worked_in__isnull=True, assignee_id=None
    ).first()
    assert other is not None
    await client.post("/logout", data={"csrf_token": token})
    agent_client = client
    await sign_in(agent_client, "agent")
    token = await csrf_from(agent_client, "/refunds/")
    refused = await agent_client.post(
        f"/refunds/{other.id}/assign",
        data={"csrf_token": token, "version": str(other.version), "assignee": str(li.id)},
        follow_redirects=True,
    )
    assert "Only a supervisor or an owner gives a case to a colleague" in refused.text
    assert (await Refund.get(id=other.id)).assignee_id is None


async def test_an_assignment_on_a_stale_version_is_a_409_and_changes_nothing(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    headers = await bearer(Role.SUPERVISOR)
    li = await create_user(username="li", role=Role.AGENT)
    refund = await _free_refund()
    given = await client.post(
        f"/api/v1/refunds/{refund.id}/assign",
        json={"assignee": li.id, "version": refund.version},
        headers=headers,
    )
    assert given.status_code == 200 and given.json()["version"] == refund.version + 1
    stale = await client.post(
        f"/api/v1/refunds/{refund.id}/assign",
        json={"version": refund.version},
        headers=headers,
    )
    assert stale.status_code == 409
    assert (await Refund.get(id=refund.id)).assignee_id == li.id

    case = await ReturnCase.filter(status=ReturnStatus.REQUESTED).first()
    assert case is not None
    stale = await client.post(
        f"/api/v1/returns/{case.id}/assign", json={"version": case.version + 5}, headers=headers
    )
    assert stale.status_code == 409 and (await ReturnCase.get(id=case.id)).assignee_id is None


async def test_an_assignment_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await _free_refund()
    forged = await client.post(f"/refunds/{refund.id}/assign", data={"version": "1"})
    assert forged.status_code == 403
    assert (await Refund.get(id=refund.id)).assignee_id is None
