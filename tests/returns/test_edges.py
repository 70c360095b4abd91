"""Edges a review found: what inspection may pay, caps, repeated steps, sync that must not stall."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from tortoise.transactions import in_transaction

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import SyncError
from aftersales.refunds import service as refunds
from aftersales.refunds.models import Refund, RefundRules
from aftersales.returns import intake, service
from aftersales.returns.models import InspectionResult, ReturnCase, ReturnLine, ReturnStatus
from aftersales.returns.policy import ReturnKind
from connectors.base import AfterSaleKind, AfterSaleRecord, AfterSaleStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.returns.test_api_flow import a_shipped_item
from tests.returns.test_cases import ADDRESS, synced_shop

pytestmark = pytest.mark.usefixtures("clean_db")


async def received_case(agent, *, kind: ReturnKind = ReturnKind.RETURN) -> ReturnCase:
    order, item = await a_shipped_item()
    case = await service.open_case(
        order.id, kind=kind, lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    await service.approve(case.id, actor=agent, return_address=ADDRESS)
    return await service.receive(case.id, actor=agent)


async def test_a_wrong_item_pays_nothing_and_cannot_be_counted_good() -> None:
    await synced_shop()
    boss = await create_user(role=Role.SUPERVISOR)
    case = await received_case(boss)
    line = await ReturnLine.get(case_id=case.id)
    with pytest.raises(service.InvalidInput, match="has no good units"):
        await service.inspect(case.id, actor=boss, lines=[service.LineInspection(
            line.id, received_good=1, result=InspectionResult.WRONG_ITEM)])  # fmt: skip
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.RECEIVED
    wrong = service.LineInspection(
        line.id, received_good=0, result=InspectionResult.WRONG_ITEM, note="寄回的是别家的鞋"
    )
    case = await service.inspect(case.id, actor=boss, lines=[wrong])
    assert case.status is ReturnStatus.INSPECTED and case.refund_id is None
    closed = await service.close(case.id, actor=boss, note="寄错商品，已与买家沟通")
    assert closed.status is ReturnStatus.CLOSED
    with pytest.raises(service.AlreadyDone):
        await service.close(case.id, actor=boss, note="again")
    assert (await ReturnCase.get(id=case.id)).close_reason == "寄错商品，已与买家沟通"


async def test_paying_more_than_came_back_needs_the_inspectors_cap() -> None:
    store = await synced_shop()
    await RefundRules.create(store=store, supervisor_above=Decimal("1.00"))
    boss = await create_user(role=Role.SUPERVISOR)
    agent = await create_user(role=Role.AGENT)
    case = await received_case(boss)
    line = await ReturnLine.get(case_id=case.id)
    missing = [service.LineInspection(line.id, received_good=0, result=InspectionResult.MISSING)]
    with pytest.raises(refunds.NeedsSupervisor):
        await service.inspect(case.id, actor=agent, lines=missing, refund_amount="50.00")
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.RECEIVED
    assert not await Refund.filter(order_id=case.order_id).exists()
    paid = await service.inspect(case.id, actor=boss, lines=missing, refund_amount="50.00")
    assert (await Refund.get(id=paid.refund_id)).approved_amount == Decimal("50.00")


async def test_approving_a_desk_return_over_the_agents_cap_needs_a_supervisor() -> None:
    store = await synced_shop()
    await RefundRules.create(store=store, supervisor_above=Decimal("1.00"))
    agent = await create_user(role=Role.AGENT)
    order, item = await a_shipped_item()
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    with pytest.raises(refunds.NeedsSupervisor):
        await service.approve(case.id, actor=agent, return_address=ADDRESS)
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.REQUESTED


async def test_tracking_on_an_approved_case_and_closing_a_received_one() -> None:
    await synced_shop()
    boss = await create_user(role=Role.SUPERVISOR)
    case = await ReturnCase.filter(
        kind=ReturnKind.RETURN, status=ReturnStatus.REQUESTED, refund_id__not_isnull=True
    ).first()
    case = await service.approve(case.id, actor=boss, return_address=ADDRESS)
    assert case.status is ReturnStatus.APPROVED
    case = await service.add_tracking(case.id, carrier="中通", tracking_no="75310001", actor=boss)
    assert case.status is ReturnStatus.IN_TRANSIT
    case = await service.receive(case.id, actor=boss)
    case = await service.close(case.id, actor=boss, note="买家在平台撤销，包裹原样退回")
    assert case.status is ReturnStatus.CLOSED


async def test_an_exchange_with_nothing_back_ships_no_replacement() -> None:
    await synced_shop()
    boss = await create_user(role=Role.SUPERVISOR)
    case = await received_case(boss, kind=ReturnKind.EXCHANGE)
    line = await ReturnLine.get(case_id=case.id)
    await service.inspect(case.id, actor=boss, lines=[service.LineInspection(
        line.id, received_good=0, result=InspectionResult.MISSING)])  # fmt: skip
    with pytest.raises(service.InvalidInput, match="Nothing came back"):
        await service.ship_replacement(
            case.id, actor=boss, carrier="中通", tracking_no="75319990001"
        )
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.INSPECTED


async def test_a_platform_request_joins_the_case_an_agent_opened_and_a_bad_one_does_not_stall(
) -> None:  # fmt: skip
    store = await synced_shop()
    agent = await create_user()
    order, item = await a_shipped_item()
    await ReturnCase.filter(order_id=order.id).delete()
    desk = await service.open_case(
        order.id, kind=ReturnKind.RETURN,
        lines=[service.LineRequest(item.platform_item_id, item.quantity)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    now = clock.now()

    def request(number: str, item_id: str) -> AfterSaleRecord:
        return AfterSaleRecord(
            platform_refund_id=number, platform_order_id=order.platform_order_id,
            platform_item_id=item_id, kind=AfterSaleKind.RETURN_AND_REFUND,
            status=AfterSaleStatus.REQUESTED, platform_status="WAIT_SELLER_AGREE",
            requested_amount=item.unit_price, created_at=now - timedelta(hours=1),
            updated_at=now - timedelta(hours=1),
        )  # fmt: skip

    other_order, other_item = await a_shipped_item()
    good = AfterSaleRecord(
        **{**request("RMA-OK", other_item.platform_item_id).model_dump(),
           "platform_order_id": other_order.platform_order_id}
    )  # fmt: skip
    async with in_transaction() as conn:
        await intake.intake(store, [request("RMA-SAME", item.platform_item_id)], conn)
    joined = await ReturnCase.get(id=desk.id)
    assert joined.platform_return_id == "RMA-SAME"
    assert await ReturnCase.filter(order_id=order.id).count() == 1
    # A second request for units the open case already holds cannot be taken: it is
    # kept as a sync error and the request beside it still lands.
    async with in_transaction() as conn:
        await intake.intake(store, [request("RMA-MORE", item.platform_item_id), good], conn)
    assert not await ReturnCase.exists(platform_return_id="RMA-MORE")
    assert await ReturnCase.exists(platform_return_id="RMA-OK")
    error = await SyncError.get(record_id="RMA-MORE")
    assert "can come back" in error.message


async def test_odd_digits_in_the_policy_form_are_refused_not_a_crash(
    client: httpx.AsyncClient, app
) -> None:
    store = await synced_shop()
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    token = await csrf_from(client, f"/returns/policy/{store.id}")
    answer = await client.post(
        f"/returns/policy/{store.id}",
        data={"csrf_token": token, "rows": "1", "no_reason_days": "²", "cat_0_name": "x",
              "cat_0_no_reason_days": "²"},
        follow_redirects=True,
    )  # fmt: skip
    assert answer.status_code == 200 and "whole numbers of days" in answer.text
