"""Property: whatever the order and the sequence of refunds, money never goes over what was paid.

Hypothesis builds orders (several lines, a discount) and sequences of
refund requests on a line or on the whole order, each approved by a
supervisor and sometimes paid. A small model of the rule, written apart
from the desk's code, says which approvals must pass; the desk must agree
with it on every step, and the books must stay within paid amounts per
order and per line.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aftersales.core import clock
from aftersales.core.models import Role
from aftersales.orders.models import Customer, Order, OrderItem
from aftersales.refunds import service
from aftersales.refunds.models import LedgerEntry, Refund, RefundKind, RefundStatus
from connectors.base import AfterSaleStatus, OrderStatus, RefundDecision, RefundWriteResult
from tests.factories import create_store, create_user

CENT = Decimal("0.01")
cents = st.integers(min_value=1, max_value=20_000).map(lambda c: Decimal(c) * CENT)
# Requests sized like the lines, so that two of them on one line often go over it.
asks = st.integers(min_value=1, max_value=15_000).map(lambda c: Decimal(c) * CENT)
serial = itertools.count(1)


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[list[Decimal], Decimal, list[tuple[int | None, Decimal, bool]]]:
    lines = draw(st.lists(cents, min_size=1, max_size=3))
    discount = draw(st.integers(min_value=0, max_value=int(sum(lines) * 100) - 1)) * CENT
    steps = draw(
        st.lists(
            st.tuples(
                st.one_of(st.none(), st.integers(min_value=0, max_value=len(lines) - 1)),
                asks,
                st.booleans(),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return lines, discount, steps


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
# Found by this test: money paid on a request without lines must still count against its item.
@example(
    scenario=(
        [Decimal("0.01"), Decimal("0.01")],
        Decimal("0.00"),
        [(0, Decimal("0.01"), True), (0, Decimal("0.01"), False)],
    )
)
async def test_approvals_never_exceed_what_was_paid(clean_db, scenario) -> None:
    lines, discount, steps = scenario
    n = next(serial)
    store = await create_store(name=f"店{n}")
    boss = await create_user(role=Role.SUPERVISOR)
    now = clock.now()
    buyer = await Customer.create(store=store, platform_buyer_id=f"b{n}", nick="买家")
    paid = sum(lines, Decimal(0)) - discount
    order = await Order.create(
        store=store,
        platform_order_id=f"T{n}",
        customer=buyer,
        status=OrderStatus.COMPLETED,
        platform_status="TRADE_FINISHED",
        total_amount=sum(lines, Decimal(0)),
        paid_amount=paid,
        placed_at=now,
        paid_at=now,
        shipped_at=now,
        platform_updated_at=now,
        synced_at=now,
    )
    items = [
        await OrderItem.create(
            order=order,
            platform_item_id=f"{n}-{i}",
            title="商品",
            quantity=1,
            unit_price=amount,
            amount=amount,
        )
        for i, amount in enumerate(lines)
    ]
    # The model: what is left per order and per line, kept apart from the desk's code.
    order_left = paid
    line_left = list(lines)
    for step, (line, amount, pay) in enumerate(steps):
        refund = await Refund.create(
            store=store,
            order=order,
            platform_order_id=order.platform_order_id,
            platform_refund_id=f"R{n}-{step}",
            platform_item_id=items[line].platform_item_id if line is not None else None,
            kind=RefundKind.REFUND_ONLY,
            status=RefundStatus.REQUESTED,
            requested_amount=amount,
            requested_at=now,
            updated_at=now,
        )
        allowed = min(order_left, line_left[line]) if line is not None else order_left
        try:
            await service.approve(refund.id, actor=boss)
        except service.AmountExceedsRefundable:
            assert amount > allowed, (amount, allowed)
            continue
        assert amount <= allowed, (amount, allowed)
        order_left -= amount
        if line is not None:
            line_left[line] -= amount
        if pay:
            await service.start_writeback(refund.id)
            await service.finish_writeback(
                refund.id,
                RefundDecision.APPROVE,
                RefundWriteResult(status=AfterSaleStatus.REFUNDED, platform_status="SUCCESS"),
            )
    # The books: paid out plus promised never above paid, for the order and each line.
    paid_out = sum((e.amount for e in await LedgerEntry.filter(order_id=order.id)), Decimal(0))
    promised = sum(
        (
            r.approved_amount
            for r in await Refund.filter(order_id=order.id, status=RefundStatus.REFUNDING)
        ),
        Decimal(0),
    ) + sum(
        (
            r.approved_amount
            for r in await Refund.filter(order_id=order.id, status=RefundStatus.APPROVED)
        ),
        Decimal(0),
    )
    assert paid_out + promised == paid - order_left <= paid
    for index, item in enumerate(items):
        taken = sum(
            (
                r.approved_amount
                for r in await Refund.filter(
                    order_id=order.id, platform_item_id=item.platform_item_id
                ).exclude(approved_amount=None)
            ),
            Decimal(0),
        )
        assert taken == lines[index] - line_left[index] <= item.amount
