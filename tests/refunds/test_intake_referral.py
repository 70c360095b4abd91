"""A sync that ends a request ends its wait for a supervisor too.

The platform's word is saved by intake as it comes, not through a desk
decision: the buyer withdraws, the platform agrees by itself, a dispute
opens. Each leaves nothing for the supervisor to decide, so the referral
leaves "waiting for me", and the home tile counts what the list shows.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from tortoise.transactions import in_transaction

from aftersales.core import clock, referrals, waiting
from aftersales.core.models import AuditEvent, Referral, Role, Store
from aftersales.orders.models import Order
from aftersales.refunds import intake, service
from aftersales.refunds.models import Refund, RefundStatus
from connectors.base import AfterSaleKind, AfterSaleRecord, AfterSaleStatus
from tests.factories import create_store, create_user
from tests.orders.test_api import bearer
from tests.refunds.test_caps import an_order

pytestmark = pytest.mark.usefixtures("app")


def _record(order: Order, number: str, status: AfterSaleStatus, words: str) -> AfterSaleRecord:
    now = clock.now()
    return AfterSaleRecord(
        platform_refund_id=number,
        platform_order_id=order.platform_order_id,
        platform_item_id=f"{order.platform_order_id}-1",
        kind=AfterSaleKind.REFUND_ONLY,
        status=status,
        platform_status=words,
        requested_amount=Decimal("476.00"),
        reason="不想要了",
        created_at=now - timedelta(hours=2),
        updated_at=now,
    )


async def _sync(store: Store, record: AfterSaleRecord) -> None:
    async with in_transaction() as conn:
        await intake.intake(store, [record], conn)


async def _sent(store: Store, number: str) -> tuple[Order, Refund, Referral]:
    """A request over the agent's cap, synced and sent to a supervisor."""
    order, _ = await an_order(store)
    await _sync(store, _record(order, number, AfterSaleStatus.REQUESTED, "WAIT_SELLER_AGREE"))
    refund = await Refund.get(platform_refund_id=number)
    agent = await create_user(role=Role.AGENT)
    referral = await service.refer(refund.id, actor=agent, note="金额超出我的权限")
    return order, refund, referral


@pytest.mark.parametrize(
    ("status", "words", "after"),
    [
        (AfterSaleStatus.CANCELLED, "CLOSED", RefundStatus.CANCELLED),
        (AfterSaleStatus.REFUNDED, "SUCCESS", RefundStatus.REFUNDED),
    ],
)
async def test_a_request_the_platform_ends_leaves_waiting_for_me(
    status: AfterSaleStatus, words: str, after: RefundStatus
) -> None:
    store = await create_store()
    boss = await create_user(role=Role.SUPERVISOR)
    order, refund, referral = await _sent(store, "R-ends")
    assert [w.referral.id for w in await referrals.waiting_for(boss)] == [referral.id]

    await _sync(store, _record(order, "R-ends", status, words))

    assert (await Refund.get(id=refund.id)).status is after
    closed = await Referral.get(id=referral.id)
    assert closed.open_ref is None and closed.outcome == after.value
    assert closed.closed_at is not None and closed.closed_by_id is None  # the platform did
    assert await referrals.waiting_for(boss) == []
    assert [t.value for t in await waiting.dashboard_tiles(boss)] == [0]
    timeline = await AuditEvent.filter(subject_type="refund", subject_id=str(refund.id))
    assert "referral.closed" in [e.action for e in timeline]


async def test_a_sync_that_changes_nothing_keeps_the_wait() -> None:
    store = await create_store()
    boss = await create_user(role=Role.SUPERVISOR)
    order, _, referral = await _sent(store, "R-same")
    await _sync(store, _record(order, "R-same", AfterSaleStatus.REQUESTED, "WAIT_SELLER_AGREE"))
    assert [w.referral.id for w in await referrals.waiting_for(boss)] == [referral.id]


async def test_the_tile_counts_the_list_with_an_ended_case_among_them(
    client: httpx.AsyncClient,
) -> None:
    store = await create_store()
    boss = await create_user(role=Role.SUPERVISOR)
    order, _, _ = await _sent(store, "R-gone")
    _, _, kept = await _sent(store, "R-kept")
    await _sync(store, _record(order, "R-gone", AfterSaleStatus.CANCELLED, "CLOSED"))

    listed = await referrals.waiting_for(boss)
    assert [w.referral.id for w in listed] == [kept.id]
    assert [t.value for t in await waiting.dashboard_tiles(boss)] == [len(listed)] == [1]
    api = (await client.get("/api/v1/waiting", headers=await bearer(Role.SUPERVISOR))).json()
    assert api["total"] == 1 and [i["id"] for i in api["items"]] == [kept.id]


async def test_a_referral_left_on_an_ended_case_is_closed_not_listed() -> None:
    """The backstop: a case ended by a path that forgot its referral (older data)."""
    store = await create_store()
    boss = await create_user(role=Role.SUPERVISOR)
    _, refund, referral = await _sent(store, "R-old")
    # How rows looked before intake closed referrals: the status saved, the referral open.
    await Refund.filter(id=refund.id).update(status=RefundStatus.CANCELLED)

    assert await referrals.waiting_for(boss) == []
    closed = await Referral.get(id=referral.id)
    assert closed.open_ref is None and closed.outcome == referrals.ENDED
    assert [t.value for t in await waiting.dashboard_tiles(boss)] == [0]
    assert await AuditEvent.exists(
        subject_type="refund", subject_id=str(refund.id), action="referral.closed"
    )
