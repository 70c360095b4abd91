"""Caps hold by default: a store nobody configured is capped like the rules page says.

Every path that approves or pays (the refund page, the API, bulk approve,
refunds the shop starts, auto-approval at intake) reads the same rules in
force: the store's own, else the desk's defaults (agents up to 300.00, night
agents up to 100.00, refunds the shop starts up to 200.00, no auto-approval).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from tortoise.transactions import in_transaction

from aftersales.core import clock
from aftersales.core.models import AuditEvent, OutboxMessage, Role, Store
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Customer, Order, OrderItem
from aftersales.refunds import intake
from aftersales.refunds.models import Refund, RefundKind, RefundRules, RefundStatus
from connectors.base import AfterSaleKind, AfterSaleRecord, AfterSaleStatus, OrderStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_store, create_user
from tests.orders.test_api import bearer


async def an_order(
    store: Store, *, unit_price: str = "238.00", quantity: int = 2, shipped: bool = True
) -> tuple[Order, OrderItem]:
    """One order of one line (a 16-piece dinner set, 2 x 238.00 = 476.00 by default)."""
    now = clock.now()
    serial = await Order.filter(store_id=store.id).count() + 1
    customer = await Customer.create(
        store=store, platform_buyer_id=f"buyer-{serial}", nick=f"买家{serial}"
    )
    total = Decimal(unit_price) * quantity
    order = await Order.create(
        store=store,
        platform_order_id=f"CAP-{store.id}-{serial}",
        customer=customer,
        status=OrderStatus.SHIPPED if shipped else OrderStatus.AWAITING_SHIPMENT,
        platform_status="WAIT_BUYER_CONFIRM_GOODS" if shipped else "WAIT_SELLER_SEND_GOODS",
        total_amount=total,
        paid_amount=total,
        placed_at=now - timedelta(days=3),
        paid_at=now - timedelta(days=3),
        shipped_at=now - timedelta(days=2) if shipped else None,
        platform_updated_at=now,
        synced_at=now,
    )
    item = await OrderItem.create(
        order=order,
        platform_item_id=f"{order.platform_order_id}-1",
        title="陶瓷餐具 16件套",
        quantity=quantity,
        unit_price=Decimal(unit_price),
        amount=total,
    )
    return order, item


async def a_request(
    order: Order,
    amount: str,
    *,
    kind: RefundKind = RefundKind.REFUND_ONLY,
    status: RefundStatus = RefundStatus.REQUESTED,
) -> Refund:
    """The buyer's own request, as a sync would have stored it."""
    now = clock.now()
    return await Refund.create(
        store_id=order.store_id,  # type: ignore[attr-defined]
        order_id=order.id,
        platform_order_id=order.platform_order_id,
        platform_refund_id=f"R-{order.platform_order_id}-{amount}",
        kind=kind,
        status=status,
        platform_status="WAIT_SELLER_AGREE",
        requested_amount=Decimal(amount),
        reason=ReasonCode.QUALITY,
        requested_at=now,
        updated_at=now,
    )


async def test_a_night_agent_cannot_approve_476_on_a_store_without_rules(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    order, _item = await an_order(store)
    refund = await a_request(order, "476.00")
    assert not await RefundRules.filter(store_id=store.id).exists()

    await create_user(username="night", role=Role.NIGHT_AGENT)
    await sign_in(client, "night")
    token = await csrf_from(client, f"/refunds/{refund.id}")
    page = await client.post(
        f"/refunds/{refund.id}/approve",
        data={"csrf_token": token, "version": str(refund.version)},
        follow_redirects=True,
    )
    assert "Refunds above 100.00 need a supervisor; this one is 476.00." in page.text
    # Part of it is still above the night cap; 100.00 is within it.
    partial = await client.post(
        f"/refunds/{refund.id}/approve",
        data={"csrf_token": token, "version": str(refund.version), "amount": "150.00"},
        follow_redirects=True,
    )
    assert "Refunds above 100.00 need a supervisor" in partial.text
    unchanged = await Refund.get(id=refund.id)
    assert (unchanged.status, unchanged.decided_by_id) == (RefundStatus.REQUESTED, None)
    assert not await OutboxMessage.exists()

    night = await bearer(Role.NIGHT_AGENT)
    api = await client.post(f"/api/v1/refunds/{refund.id}/approve", json={}, headers=night)
    assert api.status_code == 403 and api.json()["error"]["code"] == "refund_needs_supervisor"
    chinese = await client.post(
        f"/api/v1/refunds/{refund.id}/approve",
        json={},
        headers={**night, "Accept-Language": "zh-CN"},
    )
    assert chinese.status_code == 403 and "需主管审批" in chinese.json()["error"]["message"]
    agent = await client.post(
        f"/api/v1/refunds/{refund.id}/approve", json={}, headers=await bearer(Role.AGENT)
    )
    assert agent.status_code == 403 and "above 300.00" in agent.json()["error"]["message"]
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED
    assert not await OutboxMessage.exists()

    boss = await client.post(
        f"/api/v1/refunds/{refund.id}/approve", json={}, headers=await bearer(Role.SUPERVISOR)
    )
    assert boss.status_code == 200 and boss.json()["amount_approved"] == "476.00"


async def test_an_agent_cannot_start_a_compensation_for_the_whole_order(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    order, _item = await an_order(store)
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    token = await csrf_from(client, f"/refunds/new?order={order.id}")
    page = await client.post(
        "/refunds/new",
        data={"csrf_token": token, "order": str(order.id), "kind": "compensation",
              "amount": "476.00", "reason": "quality", "note": "整单补偿"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Refunds above 200.00 need a supervisor; this one is 476.00." in page.text
    body = {"order_id": order.id, "kind": "compensation", "amount": "201.00",
            "reason": "quality", "note": "补偿"}  # fmt: skip
    api = await client.post("/api/v1/refunds", json=body, headers=await bearer(Role.AGENT))
    assert api.status_code == 403 and api.json()["error"]["code"] == "refund_needs_supervisor"
    night = await client.post(
        "/api/v1/refunds", json={**body, "amount": "120.00"}, headers=await bearer(Role.NIGHT_AGENT)
    )
    assert night.status_code == 403 and "above 100.00" in night.json()["error"]["message"]
    assert not await Refund.filter(order_id=order.id).exists()  # refused: it never existed

    within = await client.post(
        "/api/v1/refunds", json={**body, "amount": "200.00"}, headers=await bearer(Role.AGENT)
    )
    assert within.status_code == 201 and within.json()["amount_approved"] == "200.00"
    boss = await client.post(
        "/api/v1/refunds", json={**body, "amount": "276.00"}, headers=await bearer(Role.SUPERVISOR)
    )
    assert boss.status_code == 201 and boss.json()["amount_approved"] == "276.00"


async def test_without_rules_nothing_is_auto_approved_or_bulk_approved(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    order, item = await an_order(store, unit_price="9.90", quantity=1, shipped=False)
    now = clock.now()
    record = AfterSaleRecord(
        platform_refund_id="R-small",
        platform_order_id=order.platform_order_id,
        platform_item_id=item.platform_item_id,
        kind=AfterSaleKind.REFUND_ONLY,
        status=AfterSaleStatus.REQUESTED,
        platform_status="WAIT_SELLER_AGREE",
        requested_amount=Decimal("9.90"),
        reason="不想要了",
        created_at=now,
        updated_at=now,
    )
    async with in_transaction() as conn:
        await intake.intake(store, [record], conn)
    refund = await Refund.get(platform_refund_id="R-small")
    assert refund.status is RefundStatus.REQUESTED and refund.decided_at is None
    assert not await OutboxMessage.exists()

    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    token = await csrf_from(client, "/refunds/")
    bulk = await client.post(
        "/refunds/bulk-approve",
        data={"csrf_token": token, "refund": str(refund.id)},
        follow_redirects=True,
    )
    assert "0 approved, 1 left for a person." in bulk.text
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED


async def test_the_rules_page_shows_the_defaults_in_force_until_a_supervisor_saves(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    await create_user(username="boss", role=Role.SUPERVISOR)
    await sign_in(client, "boss")
    page = (await client.get(f"/refunds/rules/{store.id}")).text
    assert 'id="rules-default"' in page
    for name, value in (("supervisor_above", "300.00"), ("night_agent_up_to", "100.00"),
                        ("ad_hoc_agent_up_to", "200.00")):  # fmt: skip
        assert f'name="{name}" value="{value}"' in page
    assert 'name="auto_approve" value=""' in page
    assert page.count("· default") == 4

    token = await csrf_from(client, f"/refunds/rules/{store.id}")
    await client.post(
        f"/refunds/rules/{store.id}",
        data={"csrf_token": token, "auto_approve": "", "supervisor_above": "500",
              "night_agent_up_to": "100", "ad_hoc_agent_up_to": "200"},
    )  # fmt: skip
    saved = (await client.get(f"/refunds/rules/{store.id}")).text
    assert 'id="rules-default"' not in saved and "· default" not in saved
    assert 'name="supervisor_above" value="500.00"' in saved
    changed = await AuditEvent.get(action="refund.rules_changed")
    assert changed.data["before"]["supervisor_above"] == "300.00"

    # The saved rules are now what the money paths read: an agent approves 476.00.
    order, _item = await an_order(store)
    refund = await a_request(order, "476.00")
    agent = await client.post(
        f"/api/v1/refunds/{refund.id}/approve", json={}, headers=await bearer(Role.AGENT)
    )
    assert agent.status_code == 200 and agent.json()["status"] == "approved"


@pytest.mark.parametrize("role", [Role.AGENT, Role.NIGHT_AGENT])
async def test_an_agent_is_stopped_in_chinese_on_the_page_too(
    client: httpx.AsyncClient, app, role: Role
) -> None:
    store = await create_store()
    order, _item = await an_order(store)
    refund = await a_request(order, "476.00")
    await create_user(username="cn", role=role)
    await sign_in(client, "cn")
    token = await csrf_from(client, f"/refunds/{refund.id}")
    page = await client.post(
        f"/refunds/{refund.id}/approve",
        data={"csrf_token": token, "version": str(refund.version)},
        headers={"Accept-Language": "zh-CN"},
        follow_redirects=True,
    )
    limit = "100.00" if role is Role.NIGHT_AGENT else "300.00"
    assert f"超过 {limit} 的退款需主管审批；本笔为 476.00。" in page.text
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED
