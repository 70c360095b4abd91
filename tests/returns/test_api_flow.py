"""Return cases walked end to end through the API, as a client (or the warehouse) would."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from aftersales.core import outbox
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, Role, User
from aftersales.core.modules import OutboxContext
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, OrderItem, Shipment, ShipmentDirection
from aftersales.refunds import module as refunds_module
from aftersales.refunds.models import LedgerEntry, Refund, RefundStatus
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnStatus, ReturnTracking
from aftersales.returns.policy import ReturnKind
from connectors import demo
from tests.orders.test_api import bearer
from tests.refunds.test_service import demo_shop

pytestmark = pytest.mark.usefixtures("clean_db")


@pytest.fixture(autouse=True)
def fresh_demo_platform() -> None:
    demo.DECISIONS.clear()
    demo.DECISIONS_BY_KEY.clear()


async def a_shipped_item(*, min_quantity: int = 1) -> tuple[Order, OrderItem]:
    """A shipped order with no after-sale yet, so the whole item can come back."""
    taken = set(await Refund.all().values_list("order_id", flat=True))
    taken |= set(await ReturnCase.all().values_list("order_id", flat=True))
    for order in await Order.filter(shipped_at__not_isnull=True).order_by("id"):
        if order.id in taken:
            continue
        item = await OrderItem.filter(order_id=order.id, quantity__gte=min_quantity).first()
        if item is not None:
            return order, item
    raise AssertionError("the demo shop has no free shipped order")


async def open_return(
    actor: User,
    *,
    kind: ReturnKind = ReturnKind.RETURN,
    reason: ReasonCode = ReasonCode.CHANGED_MIND,
    quantity: int = 1,
    min_quantity: int = 1,
) -> tuple[ReturnCase, Order, OrderItem]:
    """A new case on a free shipped order, opened through the service as an agent would."""
    order, item = await a_shipped_item(min_quantity=min_quantity)
    case = await service.open_case(
        order.id,
        kind=kind,
        lines=[service.LineRequest(item.platform_item_id, quantity)],
        reason=reason,
        actor=actor,
    )
    return case, order, item


async def deliver_all(settings: Settings) -> None:
    handlers = dict(refunds_module.outbox_handlers)
    for message in await OutboxMessage.filter(status=OutboxStatus.PENDING):
        await outbox.deliver(message.id, handlers, context=OutboxContext(settings=settings))


async def test_a_return_walks_to_exactly_one_refund_even_when_inspection_is_retried(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await demo_shop()
    headers = await bearer(Role.AGENT)
    order, item = await a_shipped_item()
    opened = await client.post(
        "/api/v1/returns",
        json={
            "order_id": order.id,
            "kind": "return",
            "reason": "quality",
            "buyer_text": "开线了",
            "lines": [{"platform_item_id": item.platform_item_id, "quantity": 1}],
        },
        headers=headers,
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["status"] == "requested" and case["policy"]["rules"]
    assert case["due_at"].endswith("Z")  # the platform's answer timer
    url = f"/api/v1/returns/{case['id']}"

    approved = await client.post(
        f"{url}/approve",
        json={"return_address": "浙江省杭州市余杭区仓前街道 1 号 售后仓", "shipping_payer": "shop",
              "shipping_cost": "12.00"},
        headers=headers,
    )  # fmt: skip
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "awaiting_shipment"
    assert approved.json()["buyer_ship_by"] is not None

    bad = await client.post(
        f"{url}/tracking", json={"carrier": "顺丰", "tracking_no": "12345"}, headers=headers
    )
    assert bad.status_code == 400 and "Tracking number" in bad.json()["error"]["message"]
    tracked = await client.post(
        f"{url}/tracking", json={"carrier": "顺丰", "tracking_no": "SF1234567890"}, headers=headers
    )
    assert tracked.json()["status"] == "in_transit"
    assert tracked.json()["confirm_receipt_by"] == tracked.json()["due_at"]
    assert tracked.json()["trackings"][0]["tracking_no"] == "SF1234567890"

    received = await client.post(f"{url}/receive", json={}, headers=headers)
    assert received.json()["status"] == "received"
    line_id = received.json()["lines"][0]["id"]

    inspection = {"lines": [{"line_id": line_id, "received_good": 1, "note": "完好"}]}
    key = {**headers, "Idempotency-Key": "inspect-1"}
    first = await client.post(f"{url}/inspect", json=inspection, headers=key)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "refund_triggered"
    again = await client.post(f"{url}/inspect", json=inspection, headers=key)
    assert again.status_code == 200 and again.json()["refund_id"] == first.json()["refund_id"]
    no_key = await client.post(f"{url}/inspect", json=inspection, headers=headers)
    assert no_key.status_code == 409
    assert no_key.json()["error"]["code"] == "return_already_done"

    await deliver_all(settings)
    refunds = await Refund.filter(order_id=order.id)
    assert len(refunds) == 1
    assert refunds[0].status is RefundStatus.REFUNDED
    assert refunds[0].approved_amount == item.unit_price
    assert len(demo.DECISIONS_BY_KEY) == 1  # the platform was told once
    assert [e.amount for e in await LedgerEntry.filter(order_id=order.id)] == [item.unit_price]

    shown = (await client.get(url, headers=headers)).json()
    assert shown["refund_id"] == refunds[0].id
    assert shown["lines"][0]["result"] == "accepted" and shown["lines"][0]["restock"] is True
    assert shown["shipping_payer"] == "shop" and shown["shipping_cost"] == "12.00"


async def test_an_exchange_ends_with_a_replacement_shipment_and_no_refund(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await demo_shop()
    headers = await bearer(Role.AGENT)
    order, item = await a_shipped_item()
    before = await Refund.filter(order_id=order.id).count()
    price = item.unit_price + Decimal("10.00")
    case = (
        await client.post(
            "/api/v1/returns",
            json={
                "order_id": order.id,
                "kind": "exchange",
                "reason": "size_fit",
                "lines": [{"platform_item_id": item.platform_item_id, "quantity": 1,
                           "replacement_sku": "XL-BLUE", "replacement_price": f"{price:.2f}"}],
            },
            headers=headers,
        )
    ).json()  # fmt: skip
    url = f"/api/v1/returns/{case['id']}"
    address = {"return_address": "浙江省杭州市余杭区 售后仓"}
    assert (await client.post(f"{url}/approve", json=address, headers=headers)).status_code == 200
    await client.post(f"{url}/tracking", json={"carrier": "yuantong", "tracking_no": "YT88889999"},
                      headers=headers)  # fmt: skip
    received = (await client.post(f"{url}/receive", json={}, headers=headers)).json()
    line_id = received["lines"][0]["id"]
    inspected = await client.post(
        f"{url}/inspect", json={"lines": [{"line_id": line_id, "received_good": 1}]},
        headers=headers,
    )  # fmt: skip
    assert inspected.json()["status"] == "inspected" and inspected.json()["refund_id"] is None
    assert inspected.json()["due_at"] is not None  # the replacement is now owed
    shipped = await client.post(
        f"{url}/ship-replacement",
        json={"carrier": "中通", "tracking_no": "ZT7766554433"},
        headers=headers,
    )
    assert shipped.status_code == 200, shipped.text
    body = shipped.json()
    assert body["status"] == "replacement_shipped" and body["refund_id"] is None
    assert (body["price_difference"], body["price_difference_note"]) == (
        "10.00",
        "difference_buyer_pays",  # a code; pages label it (returns.events.NOTES)
    )
    shipment = await Shipment.get(id=body["replacement_shipment_id"])
    assert (shipment.direction, shipment.tracking_no) == (
        ShipmentDirection.OUTBOUND,
        "ZT7766554433",
    )
    await deliver_all(settings)
    assert await Refund.filter(order_id=order.id).count() == before
    closed = await client.post(f"{url}/close", json={"note": "换货完成"}, headers=headers)
    assert closed.json()["status"] == "closed"
    # The buyer's tracking number outlives the case.
    assert await ReturnTracking.filter(case_id=case["id"]).count() == 1


async def test_policy_check_explains_its_verdict(client: httpx.AsyncClient) -> None:
    await demo_shop()
    headers = await bearer(Role.AGENT)
    order, item = await a_shipped_item()
    answer = await client.get(
        f"/api/v1/returns/policy-check?order_id={order.id}&item_id={item.platform_item_id}"
        "&reason=quality&kind=exchange",
        headers=headers,
    )
    body = answer.json()
    assert answer.status_code == 200
    assert body["delivery_estimated"] is True and body["rules"][0]["rule"] == "delivery_estimated"
    assert any(r["rule"] == "quality_exchange" for r in body["rules"])
    missing = await client.get(
        f"/api/v1/returns/policy-check?order_id={order.id}&item_id=nope", headers=headers
    )
    assert missing.status_code == 400


async def test_illegal_steps_answer_409_and_change_nothing(client: httpx.AsyncClient) -> None:
    await demo_shop()
    headers = await bearer(Role.AGENT)
    order, item = await a_shipped_item()
    case = (
        await client.post(
            "/api/v1/returns",
            json={"order_id": order.id, "lines": [{"platform_item_id": item.platform_item_id,
                                                   "quantity": 1}]},
            headers=headers,
        )
    ).json()  # fmt: skip
    url = f"/api/v1/returns/{case['id']}"
    for step in ("receive", "inspect", "ship-replacement"):
        answer = await client.post(f"{url}/{step}", json={"lines": []}, headers=headers)
        assert answer.status_code in (400, 409), (step, answer.text)
    assert (await ReturnCase.get(id=case["id"])).status is ReturnStatus.REQUESTED
    too_many = await client.post(
        "/api/v1/returns",
        json={"order_id": order.id, "lines": [{"platform_item_id": item.platform_item_id,
                                               "quantity": item.quantity}]},
        headers=headers,
    )  # fmt: skip
    assert too_many.status_code == 400 and "other open cases" in too_many.json()["error"]["message"]
