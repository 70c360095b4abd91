"""Bulk approve ticks only what it may decide, and asks again for every posted row.

A row is eligible when the request is still open, worked here (not in a
return case), one the store's rules would approve by themselves, within the
reader's cap, and free or the reader's own. The server checks each posted id
again: a forged post's ineligible rows are refused by order number with the
reason, and the eligible ones land.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
from tortoise.transactions import in_transaction

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.refunds import intake
from aftersales.refunds.models import Refund, RefundRules, RefundStatus
from connectors.base import AfterSaleKind, AfterSaleRecord, AfterSaleStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_store, create_user
from tests.refunds.test_caps import an_order


async def _requests(amounts: list[str]) -> list[Refund]:
    """Refund-only requests on unshipped orders, taken in before the store had rules."""
    store = await create_store()
    records = []
    for amount in amounts:
        order, item = await an_order(store, unit_price=amount, quantity=1, shipped=False)
        now = clock.now()
        records.append(
            AfterSaleRecord(
                platform_refund_id=f"R-{order.platform_order_id}",
                platform_order_id=order.platform_order_id,
                platform_item_id=item.platform_item_id,
                kind=AfterSaleKind.REFUND_ONLY,
                status=AfterSaleStatus.REQUESTED,
                platform_status="WAIT_SELLER_AGREE",
                requested_amount=Decimal(amount),
                reason="不想要了",
                created_at=now,
                updated_at=now,
            )
        )
    async with in_transaction() as conn:
        await intake.intake(store, records, conn)
    await RefundRules.create(
        store=store,
        auto_approve_unshipped_up_to=Decimal("500"),
        supervisor_above=Decimal("100"),
        night_agent_up_to=Decimal("50"),
    )
    refunds = await Refund.filter(store_id=store.id).order_by("requested_amount")
    assert all(r.status is RefundStatus.REQUESTED for r in refunds)
    return list(refunds)


async def test_only_eligible_rows_are_ticked_and_a_forged_post_lands_only_those(
    client: httpx.AsyncClient, app
) -> None:
    free, elses, worked_there, over_cap = await _requests(["30.00", "40.00", "45.00", "80.00"])
    colleague = await create_user(username="wang", role=Role.AGENT)
    night = await create_user(username="night", role=Role.NIGHT_AGENT)
    await Refund.filter(id=elses.id).update(assignee_id=colleague.id)
    await Refund.filter(id=worked_there.id).update(worked_in="returns:return:999999")

    await sign_in(client, "night")
    page = (await client.get("/refunds/?linked=any")).text
    ticks = {r.id for r in (free, elses, worked_there, over_cap) if f'value="{r.id}"' in page}
    assert ticks == {free.id}

    token = await csrf_from(client, "/refunds/")
    done = await client.post(
        "/refunds/bulk-approve",
        data={
            "csrf_token": token,
            "refund": [str(r.id) for r in (free, elses, worked_there, over_cap)],
        },
        follow_redirects=True,
    )
    assert "1 approved, 3 left for a person." in done.text
    for refund, why in (
        (elses, "a colleague has taken it"),
        (worked_there, "it is worked in its return case"),
        (over_cap, "it is above your cap"),
    ):
        assert f"Refund for order {refund.platform_order_id} was not approved: {why}" in done.text
        assert (await Refund.get(id=refund.id)).status is RefundStatus.REQUESTED
    approved = await Refund.get(id=free.id)
    assert approved.status is RefundStatus.APPROVED and approved.decided_by_id == night.id


async def test_a_row_already_decided_is_refused_by_name(client: httpx.AsyncClient, app) -> None:
    (refund,) = await _requests(["20.00"])
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    token = await csrf_from(client, "/refunds/")
    first = await client.post(
        "/refunds/bulk-approve",
        data={"csrf_token": token, "refund": str(refund.id)},
        follow_redirects=True,
    )
    assert "1 approved, 0 left for a person." in first.text
    again = await client.post(
        "/refunds/bulk-approve",
        data={"csrf_token": token, "refund": str(refund.id)},
        follow_redirects=True,
    )
    assert (
        f"Refund for order {refund.platform_order_id} was not approved: "
        "it is no longer waiting for a decision" in again.text
    )
