"""The refunds API: listing, decisions, idempotency keys, role limits, rules, escalation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx

from aftersales.core import clock
from aftersales.core.models import OutboxMessage, Role
from aftersales.refunds import ledger, service
from aftersales.refunds.models import OPEN_STATUSES, Refund, RefundStatus
from tests.orders.test_api import bearer
from tests.refunds.test_service import demo_shop


async def test_the_list_carries_the_documented_fields_sorted_by_due(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    headers = await bearer(Role.AGENT)
    body = (await client.get("/api/v1/refunds?status=open", headers=headers)).json()
    assert body["total"] == await Refund.filter(status__in=[s.value for s in OPEN_STATUSES]).count()
    first = body["items"][0]
    for name in ("id", "order_id", "kind", "status", "platform_status", "amount_requested",
                 "amount_approved", "currency", "reason", "due_at"):  # fmt: skip
        assert name in first
    assert first["amount_requested"].count(".") == 1 and first["due_at"].endswith("Z")
    dues = [i["due_at"] for i in body["items"] if i["due_at"]]
    assert dues == sorted(dues)
    bad = await client.get("/api/v1/refunds?status=lost", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"
    one = (await client.get(f"/api/v1/refunds/{first['id']}", headers=headers)).json()
    assert one == first


async def test_approve_twice_is_409_unless_the_idempotency_key_repeats(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    headers = await bearer(Role.AGENT)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    url = f"/api/v1/refunds/{refund.id}/approve"
    first = await client.post(
        url, json={"note": "ok"}, headers={**headers, "Idempotency-Key": "a1"}
    )
    assert first.status_code == 200 and first.json()["status"] == "approved"
    repeat = await client.post(
        url, json={"note": "ok"}, headers={**headers, "Idempotency-Key": "a1"}
    )
    assert repeat.status_code == 200 and repeat.json() == first.json()
    other = await client.post(url, json={}, headers={**headers, "Idempotency-Key": "a2"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "refund_already_decided"
    no_key = await client.post(url, json={}, headers=headers)
    assert no_key.status_code == 409
    assert await OutboxMessage.all().count() == 1


async def test_more_than_refundable_is_422_with_a_code_and_changes_nothing(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    headers = await bearer(Role.SUPERVISOR)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    # A second refund on the same order already took most of the money.
    other = await Refund.create(
        store_id=refund.store_id,
        order_id=refund.order_id,
        platform_order_id=refund.platform_order_id,
        kind=refund.kind,
        status=RefundStatus.APPROVED,
        requested_amount=Decimal("1.00"),
        approved_amount=Decimal("1.00"),
        requested_at=clock.now(),
        updated_at=clock.now(),
    )
    left = (await ledger.refundable(refund)).limit
    too_much = f"{left + Decimal('0.01'):.2f}"
    answer = await client.post(
        f"/api/v1/refunds/{refund.id}/approve", json={"amount": too_much}, headers=headers
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "refund_amount_exceeds_refundable"
    assert f"Only {left:.2f}" in answer.json()["error"]["message"]
    assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED
    assert not await OutboxMessage.exists()
    assert other.id != refund.id


async def test_role_limits_through_the_api(client: httpx.AsyncClient, app) -> None:
    await demo_shop(rules={"supervisor_above": Decimal("40.00"), "night_agent_up_to": "10.00"})
    refund = await Refund.filter(
        status=RefundStatus.REQUESTED, requested_amount__gt=Decimal("40.00")
    ).first()
    url = f"/api/v1/refunds/{refund.id}/approve"
    night = await client.post(url, json={"amount": "20.00"}, headers=await bearer(Role.NIGHT_AGENT))
    assert night.status_code == 403 and night.json()["error"]["code"] == "refund_needs_supervisor"
    agent = await client.post(url, json={}, headers=await bearer(Role.AGENT))
    assert agent.status_code == 403
    boss = await client.post(url, json={}, headers=await bearer(Role.SUPERVISOR))
    assert (
        boss.status_code == 200
        and boss.json()["amount_approved"] == boss.json()["amount_requested"]
    )


async def test_auto_approved_requests_show_their_rule_in_the_api(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop(rules={"auto_approve_unshipped_up_to": Decimal("1000.00")})
    headers = await bearer(Role.AGENT)
    body = (await client.get("/api/v1/refunds?status=approved", headers=headers)).json()
    assert body["total"] >= 1
    assert all(
        i["rule"] == "refund only, not shipped, amount up to 1000.00: auto-approved"
        for i in body["items"]
    )


async def test_overdue_requests_escalate_and_list_as_overdue(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    headers = await bearer(Role.AGENT)
    soon = (await client.get("/api/v1/refunds?due=overdue", headers=headers)).json()
    assert soon["total"] == 0
    first = await Refund.filter(status=RefundStatus.REQUESTED).order_by("due_at").first()
    clock.travel(first.due_at - clock.now() + timedelta(minutes=5))
    assert await service.sweep_deadlines() >= 1
    late = (await client.get("/api/v1/refunds?due=overdue", headers=headers)).json()
    assert first.id in [i["id"] for i in late["items"]]
    assert all(i["escalated"] for i in late["items"])


async def test_reject_needs_a_reason(client: httpx.AsyncClient, app) -> None:
    await demo_shop()
    headers = await bearer(Role.AGENT)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    url = f"/api/v1/refunds/{refund.id}/reject"
    empty = await client.post(url, json={}, headers=headers)
    assert empty.status_code == 400
    done = await client.post(url, json={"reason": "已发货，请申请退货退款"}, headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "rejected"
