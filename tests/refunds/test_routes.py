"""Refund pages: the queue by due time, decisions from the refund page, rules for supervisors."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
from arq.connections import ArqRedis

from aftersales.core.models import AuditEvent, OutboxMessage, Role
from aftersales.refunds.models import Refund, RefundRules, RefundStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.refunds.test_service import demo_shop


async def test_the_queue_lists_open_requests_soonest_deadline_first(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    page = (await client.get("/refunds/")).text
    open_refunds = await Refund.filter(status=RefundStatus.REQUESTED).order_by("due_at", "id")
    links = re.findall(r'href="/refunds/(\d+)"', page)
    assert [int(i) for i in links[: len(open_refunds)]] == [r.id for r in open_refunds]
    closed = await Refund.filter(status=RefundStatus.REFUNDED).first()
    assert f'href="/refunds/{closed.id}"' not in page  # the default view is open refunds
    everything = (await client.get("/refunds/?status=refunded")).text
    assert f'href="/refunds/{closed.id}"' in everything


async def test_an_agent_approves_from_the_refund_page_and_the_write_back_is_queued(
    client: httpx.AsyncClient, app, redis: ArqRedis
) -> None:
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await Refund.filter(status=RefundStatus.REQUESTED).order_by("due_at").first()
    page = await client.get(f"/refunds/{refund.id}")
    assert "Still refundable" in page.text and "an agent decides" in page.text
    token = await csrf_from(client, f"/refunds/{refund.id}")
    done = await client.post(
        f"/refunds/{refund.id}/approve",
        data={"csrf_token": token, "version": str(refund.version), "amount": "1.00"},
        follow_redirects=True,
    )
    assert "Approved. The platform is being told." in done.text
    decided = await Refund.get(id=refund.id)
    assert (decided.status, decided.approved_amount) == (RefundStatus.APPROVED, Decimal("1.00"))
    message = await OutboxMessage.get(id=decided.writeback_id)
    jobs = [j.decode() for j in await redis.zrange("arq:queue", 0, -1)]
    assert any(j.startswith(f"outbox:{message.id}:") for j in jobs)
    # The same form sent again (a double click, a second tab) changes nothing.
    again = await client.post(
        f"/refunds/{refund.id}/approve",
        data={"csrf_token": token, "version": str(refund.version), "amount": "1.00"},
        follow_redirects=True,
    )
    assert "already approved" in again.text
    assert await OutboxMessage.all().count() == 1


async def test_refusing_needs_a_reason_and_is_audited(client: httpx.AsyncClient, app) -> None:
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    token = await csrf_from(client, f"/refunds/{refund.id}")
    empty = await client.post(
        f"/refunds/{refund.id}/reject",
        data={"csrf_token": token, "reason": " "},
        follow_redirects=True,
    )
    assert "Say why the refund is refused" in empty.text
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED
    await client.post(
        f"/refunds/{refund.id}/reject",
        data={"csrf_token": token, "reason": "包裹已签收，请申请退货退款"},
    )
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REJECTED
    event = await AuditEvent.get(action="refund.rejected")
    assert event.data["note"] == "包裹已签收，请申请退货退款"


async def test_supervisors_edit_rules_and_agents_cannot(client: httpx.AsyncClient, app) -> None:
    store = await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await create_user(username="sup", role=Role.SUPERVISOR)
    await sign_in(client, "agent")
    assert (await client.get(f"/refunds/rules/{store.id}")).status_code == 403
    client.cookies.clear()
    await sign_in(client, "sup")
    token = await csrf_from(client, f"/refunds/rules/{store.id}")
    saved = await client.post(
        f"/refunds/rules/{store.id}",
        data={
            "csrf_token": token,
            "auto_approve": "80",
            "supervisor_above": "300",
            "human_reasons": ["quality", "authenticity"],
        },
        follow_redirects=True,
    )
    assert "Rules saved." in saved.text
    rules = await RefundRules.get(store_id=store.id)
    assert rules.auto_approve_unshipped_up_to == Decimal("80.00")
    assert sorted(rules.human_reasons) == ["authenticity", "quality"]
    bad = await client.post(
        f"/refunds/rules/{store.id}",
        data={"csrf_token": token, "auto_approve": "eighty"},
        follow_redirects=True,
    )
    assert "is not an amount" in bad.text
    assert (await RefundRules.get(store_id=store.id)).auto_approve_unshipped_up_to == Decimal(
        "80.00"
    )


async def test_bulk_approve_takes_eligible_rows_and_leaves_the_rest(
    client: httpx.AsyncClient, app
) -> None:
    store = await demo_shop()
    await RefundRules.create(store=store, auto_approve_unshipped_up_to=Decimal("1000"))
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    requested = await Refund.filter(status=RefundStatus.REQUESTED)
    token = await csrf_from(client, "/refunds/")
    done = await client.post(
        "/refunds/bulk-approve",
        data={"csrf_token": token, "refund": [str(r.id) for r in requested]},
        follow_redirects=True,
    )
    approved = await Refund.filter(status=RefundStatus.APPROVED).count()
    assert approved >= 1
    assert f"{approved} approved, {len(requested) - approved} left for a person." in done.text


async def test_the_queue_pages_through_timed_then_untimed_refunds(app) -> None:
    from aftersales.refunds import queue

    await demo_shop()
    everything = queue.RefundFilters()
    whole = (await queue.search(everything, per_page=1000)).rows
    paged = []
    for page in range(1, 100):
        result = await queue.search(queue.RefundFilters(page=page), per_page=7)
        paged += result.rows
        if page >= result.pages:
            break
    assert [r.refund.id for r in paged] == [r.refund.id for r in whole]
    timed = [r.refund.due_at for r in whole if r.refund.due_at]
    assert timed == sorted(timed) and whole[len(timed)].refund.due_at is None


async def test_an_agent_takes_a_refund_and_finds_it_under_mine(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    token = await csrf_from(client, f"/refunds/{refund.id}")
    taken = await client.post(
        f"/refunds/{refund.id}/assign", data={"csrf_token": token}, follow_redirects=True
    )
    assert "The refund is yours." in taken.text and "Take this refund" not in taken.text
    assert (await Refund.get(id=refund.id)).assignee_id == agent.id
    mine = (await client.get("/refunds/?assignee=me")).text
    assert re.findall(r'href="/refunds/(\d+)"', mine) == [str(refund.id)]
    unassigned = (await client.get("/refunds/?assignee=none")).text
    assert f'href="/refunds/{refund.id}"' not in unassigned
