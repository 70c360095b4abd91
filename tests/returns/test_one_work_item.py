"""One request, one work item: a return-and-refund is worked in its return case.

The buyer asked once, the desk holds two rows for it (the refund carries the
money, the return case the goods). The refund queue shows such a refund as
linked to its case, not as a second item two agents could pick up: no take,
no bulk tick, not counted as work on the home tiles, one badge on its order,
no competing decision on its page, while the return case still decides and
settles the refund through the refunds service.
"""

from __future__ import annotations

import re

import httpx

from aftersales.core.models import Role
from aftersales.orders.models import Order
from aftersales.refunds import links
from aftersales.refunds import service as refunds
from aftersales.refunds.models import OPEN_STATUSES, Refund, RefundStatus
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnStatus
from aftersales.returns.policy import ReturnKind
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.orders.test_api import bearer
from tests.returns.test_cases import synced_shop


async def _linked() -> tuple[ReturnCase, Refund]:
    """A platform return-and-refund still waiting for a decision, and its refund."""
    case = (
        await ReturnCase.filter(
            kind=ReturnKind.RETURN, status=ReturnStatus.REQUESTED, refund_id__not_isnull=True
        )
        .order_by("id")
        .first()
    )
    assert case is not None, "the demo shop has a return-and-refund request"
    return case, await Refund.get(id=case.refund_id)


def _listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<a href="/refunds/(\d+)">', page)]


async def test_returns_writes_the_link_when_it_opens_the_case(app) -> None:
    await synced_shop()
    case, refund = await _linked()
    assert refund.worked_in == f"returns:return:{case.id}"
    resolved = await links.working_case(refund)
    assert resolved is not None and resolved.href == f"/returns/{case.id}"


async def test_the_refund_queue_lists_it_as_linked_not_as_work(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case, refund = await _linked()

    work = (await client.get("/refunds/")).text
    assert refund.id not in _listed(work)
    linked = await Refund.filter(status__in=OPEN_STATUSES).filter(links.linked()).count()
    assert f"{linked} more refunds match, worked in their return cases:" in work
    assert 'href="?linked=only"' in work

    page = (await client.get("/refunds/?linked=only")).text
    assert refund.id in _listed(page)
    row = page[page.index(f'<a href="/refunds/{refund.id}">') :]
    row = row[: row.index("</tr>")]
    title = f"Return for order {case.platform_order_id}"
    assert f'Worked in <a href="/returns/{case.id}">{title}</a>' in row
    assert f'value="{refund.id}"' not in page  # no bulk tick
    assert f'form="assign-{refund.id}"' not in page and "Take</button>" not in row
    assert f'id="assign-{refund.id}"' not in page


async def test_home_tiles_count_what_their_lists_show(client: httpx.AsyncClient, app) -> None:
    from datetime import timedelta

    from aftersales.core import clock

    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    _case, linked = await _linked()
    free = await Refund.filter(status=RefundStatus.REQUESTED, worked_in__isnull=True).first()
    assert free is not None
    soon = clock.now() + timedelta(minutes=30)
    await Refund.filter(id__in=[linked.id, free.id]).update(due_at=soon)

    counts = await refunds.counts()
    soon_page = (await client.get("/refunds/?due=soon")).text
    assert len(_listed(soon_page)) == counts.due_soon
    assert free.id in _listed(soon_page) and linked.id not in _listed(soon_page)
    overdue_page = (await client.get("/refunds/?due=overdue")).text
    assert len(_listed(overdue_page)) == counts.overdue
    home = (await client.get("/")).text
    tile = re.search(
        r'href="/refunds/\?due=soon">\s*<span class="value">(\d+)</span>\s*'
        r'<span class="label">Refunds due within 2 hours',
        home,
    )
    assert tile and int(tile.group(1)) == counts.due_soon == len(_listed(soon_page))


async def test_its_order_shows_one_badge_the_return_case(client: httpx.AsyncClient, app) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case, refund = await _linked()
    order = await Order.get(id=case.order_id)
    page = (await client.get("/orders/", params={"q": order.platform_order_id})).text
    start = page.index(f'<a href="/orders/{order.id}">')
    row = page[start : page.index("</tr>", start)]
    assert row.count('class="badge') == 1
    assert f'href="/returns/{case.id}">Return open</a>' in row
    assert f"/refunds/{refund.id}" not in row


async def test_the_refund_page_points_to_the_case_and_offers_no_decision(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case, refund = await _linked()
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert "decided in its return case" in page
    assert f'href="/returns/{case.id}"' in page
    for action in ("approve", "reject", "assign"):
        assert f'action="/refunds/{refund.id}/{action}"' not in page

    # A forged post from an old page or a script decides nothing and says where to go.
    token = await csrf_from(client, f"/refunds/{refund.id}")
    approved = await client.post(
        f"/refunds/{refund.id}/approve",
        data={"csrf_token": token, "version": str(refund.version)},
        follow_redirects=True,
    )
    assert f"This refund is worked in Return for order {case.platform_order_id}" in approved.text
    taken = await client.post(
        f"/refunds/{refund.id}/assign", data={"csrf_token": token}, follow_redirects=True
    )
    assert "decide and take it there" in taken.text
    fresh = await Refund.get(id=refund.id)
    assert fresh.status is RefundStatus.REQUESTED and fresh.assignee_id is None

    # The case is where it is taken: and then it is the agent's.
    token = await csrf_from(client, f"/returns/{case.id}")
    await client.post(
        f"/returns/{case.id}/assign", data={"csrf_token": token, "version": str(case.version)}
    )
    assert (await ReturnCase.get(id=case.id)).assignee_id == agent.id


async def test_the_api_names_the_case_and_refuses_a_second_decision(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    case, refund = await _linked()
    headers = await bearer(Role.SUPERVISOR)
    got = (await client.get(f"/api/v1/refunds/{refund.id}", headers=headers)).json()
    assert got["worked_in"] == f"returns:return:{case.id}"
    refused = await client.post(f"/api/v1/refunds/{refund.id}/approve", json={}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "refund_worked_in_case"


async def test_the_return_case_still_decides_and_settles_its_refund(app) -> None:
    await synced_shop()
    supervisor = await create_user(role=Role.SUPERVISOR)
    case, refund = await _linked()
    await service.approve(case.id, actor=supervisor, return_address="杭州市西湖区 仓库 2 号")
    assert (await Refund.get(id=refund.id)).status is RefundStatus.APPROVED


async def test_a_case_that_ends_hands_what_is_left_back_to_the_refund_queue(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case, refund = await _linked()
    await service.cancel(case.id, actor=agent, note="买家电话说不退了")
    fresh = await Refund.get(id=refund.id)
    assert fresh.worked_in is None and fresh.status is RefundStatus.REQUESTED
    assert refund.id in _listed((await client.get("/refunds/")).text)
    history = (await client.get(f"/refunds/{refund.id}")).text
    assert "Back to the refund queue: its return case ended" in history


async def test_the_handover_lists_it_once_as_the_return_case(app) -> None:
    from datetime import timedelta

    from aftersales.core import clock
    from aftersales.core.modules import HandoverWindow
    from aftersales.refunds import module as refunds_module
    from aftersales.returns import module as returns_module

    await synced_shop()
    case, refund = await _linked()
    start = clock.now()
    window = HandoverWindow(start=start, end=start + timedelta(days=30))
    refund_items = {i.href for i in await refunds_module.handover_items(window)}
    return_items = {i.href for i in await returns_module.handover_items(window)}
    assert f"/refunds/{refund.id}" not in refund_items
    assert f"/returns/{case.id}" in return_items


async def test_the_migration_links_the_refunds_of_running_cases(app) -> None:
    """The backfill of ``returns/0002``: run again on rows with their link wiped."""
    import importlib

    from tortoise import connections

    migration = importlib.import_module("aftersales.returns.migrations.0002_refunds_worked_in")
    await synced_shop()
    case, refund = await _linked()
    ended = await ReturnCase.filter(refund_id__not_isnull=True).exclude(id=case.id).first()
    assert ended is not None
    await ReturnCase.filter(id=ended.id).update(status=ReturnStatus.CANCELLED)
    await Refund.all().update(worked_in=None)
    await connections.get("default").execute_script(migration.LINK)
    assert (await Refund.get(id=refund.id)).worked_in == f"returns:return:{case.id}"
    assert (await Refund.get(id=ended.refund_id)).worked_in is None
