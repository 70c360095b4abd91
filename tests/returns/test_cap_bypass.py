"""No cap bypass through returns: the money a return pays is decided within a cap.

The story a review found: an agent refused at 318.00 on the refund page went
to the return case instead (approve, receive, inspect) and the inspection
paid 476.00. Now approving a return checks the approver's cap against the
refund it leads to, and the inspection that pays checks the inspector's cap
(over it: 403, nothing saved, a supervisor inspects). Whoever commits the
money is the refund's decider and the audit's actor.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, OutboxMessage, Role
from aftersales.core.reasons import ReasonCode
from aftersales.refunds.models import LedgerEntry, Refund, RefundKind, RefundStatus
from aftersales.refunds.service import NeedsSupervisor
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnLine, ReturnStatus
from aftersales.returns.policy import ReturnKind
from tests.conftest import csrf_from, sign_in
from tests.factories import create_store, create_user
from tests.orders.test_api import bearer
from tests.refunds.test_caps import a_request, an_order
from tests.returns.test_api_flow import deliver_all
from tests.returns.test_cases import ADDRESS


async def _post(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> str:
    token = await csrf_from(client, path.rsplit("/", 1)[0])
    page = await client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)
    return page.text


async def test_refused_at_318_on_the_refund_page_the_return_route_pays_nothing_either(
    client: httpx.AsyncClient, app, settings: Settings
) -> None:
    store = await create_store()  # no rules saved: the defaults hold (agents up to 300.00)
    order, item = await an_order(store)  # 2 x 238.00 = 476.00
    refund = await a_request(order, "318.00")
    agent = await create_user(username="agent", role=Role.AGENT)
    boss = await create_user(username="boss", role=Role.SUPERVISOR)

    await sign_in(client, "agent")
    page = await _post(client, f"/refunds/{refund.id}/approve", {"version": str(refund.version)})
    assert "Refunds above 300.00 need a supervisor; this one is 318.00." in page
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED

    # The return route: a case for both units of the order, worth 476.00.
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 2)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    page = await _post(
        client, f"/returns/{case.id}/approve",
        {"version": str(case.version), "return_address": ADDRESS},
    )  # fmt: skip
    assert "Returns worth more than 300.00 need a supervisor; this one is 476.00." in page
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.REQUESTED
    page = await _post(client, f"/returns/{case.id}/receive", {"version": str(case.version)})
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.REQUESTED

    # A supervisor agrees to take the goods back; the agent receives and inspects them.
    await service.approve(case.id, actor=boss, return_address=ADDRESS)
    approved = await ReturnCase.get(id=case.id)
    line = await ReturnLine.get(case_id=case.id)
    page = await _post(
        client, f"/returns/{case.id}/inspect",
        {"version": str(approved.version), f"good_{line.id}": "2", f"damaged_{line.id}": "0"},
    )  # fmt: skip
    assert "This inspection would refund 476.00, above your cap of 300.00. Nothing was saved" in (
        page
    )
    held = await ReturnCase.get(id=case.id)
    assert held.status is ReturnStatus.RECEIVED and held.refund_id is None  # parcel is in
    assert held.inspected_at is None and (await ReturnLine.get(id=line.id)).result is None
    # No money moved beyond the agent's cap: only the buyer's untouched request exists.
    assert [r.id for r in await Refund.filter(order_id=order.id)] == [refund.id]
    assert not await OutboxMessage.exists()
    assert not await LedgerEntry.exists()

    # The supervisor inspects; the refund is theirs.
    await client.post("/logout", data={"csrf_token": await csrf_from(client, "/")})
    await sign_in(client, "boss")
    page = await _post(
        client, f"/returns/{case.id}/inspect",
        {"version": str(held.version), f"good_{line.id}": "2", f"damaged_{line.id}": "0"},
    )  # fmt: skip
    assert "Inspection recorded." in page
    done = await ReturnCase.get(id=case.id)
    assert done.status is ReturnStatus.REFUND_TRIGGERED
    paid = await Refund.get(id=done.refund_id)
    assert (paid.approved_amount, paid.decided_by_id) == (Decimal("476.00"), boss.id)
    approval = await AuditEvent.get(action="refund.approved", subject_id=str(paid.id))
    assert approval.actor_id == boss.id
    await deliver_all(settings)
    assert [e.amount for e in await LedgerEntry.filter(order_id=order.id)] == [Decimal("476.00")]
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED


async def test_the_same_story_through_the_api_on_a_request_the_platform_already_agreed(
    client: httpx.AsyncClient, app, settings: Settings
) -> None:
    store = await create_store()
    order, item = await an_order(store, unit_price="318.00", quantity=1)
    refund = await a_request(order, "318.00", kind=RefundKind.RETURN_AND_REFUND)
    agent, boss = await bearer(Role.AGENT), await bearer(Role.SUPERVISOR)
    refused = await client.post(f"/api/v1/refunds/{refund.id}/approve", json={}, headers=agent)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "refund_needs_supervisor"

    # The platform's back office agreed the return meanwhile; the desk case follows it.
    await Refund.filter(id=refund.id).update(
        status=RefundStatus.WAITING_RETURN, platform_status="WAIT_BUYER_RETURN_GOODS"
    )
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.QUALITY, actor=None, refund_id=refund.id,
    )  # fmt: skip
    url = f"/api/v1/returns/{case.id}"
    approve = await client.post(f"{url}/approve", json={"return_address": ADDRESS}, headers=agent)
    assert approve.status_code == 403, approve.text
    assert approve.json()["error"]["code"] == "refund_needs_supervisor"
    assert "318.00" in approve.json()["error"]["message"]
    approved = await client.post(f"{url}/approve", json={"return_address": ADDRESS}, headers=boss)
    assert approved.status_code == 200, approved.text

    received = await client.post(f"{url}/receive", json={}, headers=agent)
    assert received.status_code == 200 and received.json()["status"] == "received"
    line_id = received.json()["lines"][0]["id"]
    inspection = {"lines": [{"line_id": line_id, "received_good": 1}]}
    over = await client.post(f"{url}/inspect", json=inspection, headers=agent)
    assert over.status_code == 403 and over.json()["error"]["code"] == "refund_needs_supervisor"
    assert "above your cap of 300.00" in over.json()["error"]["message"]
    still = await Refund.get(id=refund.id)
    assert (still.status, still.decided_by_id) == (RefundStatus.WAITING_RETURN, None)
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.RECEIVED
    assert not await OutboxMessage.exists() and not await LedgerEntry.exists()

    inspected = await client.post(f"{url}/inspect", json=inspection, headers=boss)
    assert inspected.status_code == 200 and inspected.json()["status"] == "refund_triggered"
    paid = await Refund.get(id=refund.id)
    boss_id = (await AuditEvent.get(action="return.inspected")).actor_id
    assert paid.approved_amount == Decimal("318.00")
    assert paid.decided_by_id == boss_id is not None
    await deliver_all(settings)
    assert [e.amount for e in await LedgerEntry.filter(order_id=order.id)] == [Decimal("318.00")]


async def test_the_refund_an_inspection_triggers_is_credited_to_the_inspector(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    order, item = await an_order(store)
    boss = await create_user(role=Role.SUPERVISOR)
    opener = await create_user(role=Role.AGENT)
    inspector = await create_user(role=Role.AGENT)
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.QUALITY, actor=opener,
    )  # fmt: skip
    await service.approve(case.id, actor=boss, return_address=ADDRESS)
    await service.receive(case.id, actor=opener)
    line = await ReturnLine.get(case_id=case.id)
    done = await service.inspect(
        case.id, actor=inspector, lines=[service.LineInspection(line.id, received_good=1)]
    )
    refund = await Refund.get(id=done.refund_id)
    assert (refund.approved_amount, refund.decided_by_id) == (Decimal("238.00"), inspector.id)
    for action in ("refund.started", "refund.approved"):
        event = await AuditEvent.get(action=action, subject_id=str(refund.id))
        assert event.actor_id == inspector.id
    assert "inspected by" in refund.rule and inspector.username in refund.rule


async def test_an_inspector_typing_more_than_came_back_is_held_to_the_cap_for_shop_refunds(
    client: httpx.AsyncClient, app
) -> None:
    """More than the goods' value is money the shop chooses to give (found in review):
    an agent typing it is held to the 200.00 cap on refunds the shop starts, not 300.00."""
    store = await create_store()
    order, item = await an_order(store, unit_price="100.00", quantity=3)
    boss = await create_user(role=Role.SUPERVISOR)
    agent = await create_user(role=Role.AGENT)
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    await service.approve(case.id, actor=agent, return_address=ADDRESS)
    await service.receive(case.id, actor=agent)
    line = await ReturnLine.get(case_id=case.id)
    good = [service.LineInspection(line.id, received_good=1)]
    with pytest.raises(NeedsSupervisor, match=r"200\.00"):
        await service.inspect(case.id, actor=agent, lines=good, refund_amount="250.00")
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.RECEIVED
    assert not await Refund.filter(order_id=order.id).exists()
    done = await service.inspect(case.id, actor=boss, lines=good, refund_amount="250.00")
    refund = await Refund.get(id=done.refund_id)
    assert (refund.approved_amount, refund.decided_by_id) == (Decimal("250.00"), boss.id)
