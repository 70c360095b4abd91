"""The refund ledger: money that went back, and what may still go back.

Every payment to a buyer is a ledger row, whoever made it (the desk's
write-back or the platform), so remainders and reports count money paid
outside the desk the same as money paid through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from aftersales.core import clock, modules
from aftersales.orders.models import Order, OrderItem
from aftersales.refunds import states
from aftersales.refunds.models import LedgerEntry, LedgerSource, Refund, RefundLine


@dataclass(frozen=True)
class Refundable:
    """What may still go back to the buyer, for the order and for one item."""

    order: Decimal
    item: Decimal | None = None

    @property
    def limit(self) -> Decimal:
        return self.order if self.item is None else min(self.order, self.item)


async def refundable(refund: Refund, *, conn: BaseDBAsyncClient | None = None) -> Refundable | None:
    """Paid minus refunded minus decided-but-unpaid, per order and per item.

    None when the order has not synced yet: nothing can be checked, so
    nothing may be approved. Money counts from the ledger (every payment,
    from the desk or the platform) plus approvals still being written back.
    """
    if refund.order_id is None:
        # The request may have synced before its order (the two streams sync side by
        # side): link it now that the order is here, rather than wait for a re-read.
        found = await Order.get_or_none(
            store_id=refund.store_id, platform_order_id=refund.platform_order_id
        ).using_db(conn)
        if found is None:
            return None
        await Refund.filter(id=refund.id, order_id=None).using_db(conn).update(order_id=found.id)
        refund.order_id = found.id
    order = await Order.get(id=refund.order_id).using_db(conn)
    paid_back = [
        (e.amount, e.order_item_id)
        for e in await LedgerEntry.filter(order_id=order.id).using_db(conn)
    ]
    reserved = [
        r
        for r in await Refund.filter(
            order_id=order.id, status__in=list(states.PENDING_WRITEBACK)
        ).using_db(conn)
        if r.id != refund.id
    ]
    order_left = (
        order.paid_amount
        - sum((a for a, _ in paid_back), Decimal(0))
        - sum((r.approved_amount or Decimal(0) for r in reserved), Decimal(0))
    )
    item_left = None
    if refund.platform_item_id:
        item = await OrderItem.get_or_none(
            order_id=order.id, platform_item_id=refund.platform_item_id
        ).using_db(conn)
        if item is not None:
            item_left = (
                item.amount
                - sum((a for a, i in paid_back if i == item.id), Decimal(0))
                - sum(
                    (
                        r.approved_amount or Decimal(0)
                        for r in reserved
                        if r.platform_item_id == refund.platform_item_id
                    ),
                    Decimal(0),
                )
            )
    return Refundable(order=max(order_left, Decimal(0)), item=item_left)


async def lock_order(order_id: int | None, conn: BaseDBAsyncClient) -> None:
    """Serialise decisions on one order, so two refunds cannot both spend its remainder."""
    if order_id is not None and conn.capabilities.dialect == "postgres":
        # The whole row: Tortoise drops FOR UPDATE from a values_list() query,
        # which left this lock a plain read (two decisions both spent the remainder).
        await Order.filter(id=order_id).select_for_update().using_db(conn).first()


async def pay_out(refund: Refund, source: LedgerSource, conn: BaseDBAsyncClient) -> None:
    """The money went back: one ledger row per line (or one for the order), once.

    Every path that settles a refund (our write-back, a sync of the
    platform's word) comes through here, so this is where the refund
    emits ``refund_settled``, once, in the transaction that settled it.
    """
    if await LedgerEntry.filter(refund_id=refund.id).using_db(conn).exists():
        return
    amount = refund.approved_amount or refund.requested_amount
    lines = await RefundLine.filter(refund_id=refund.id).using_db(conn)
    total_lines = sum((line.amount for line in lines), Decimal(0))
    at = refund.refunded_at or clock.now()
    if lines and total_lines == amount:
        parts = [(line.amount, line.order_item_id) for line in lines]
    elif len(lines) == 1:
        parts = [(amount, lines[0].order_item_id)]
    elif not lines and refund.platform_item_id and refund.order_id is not None:
        # A request that arrived before its order synced has no lines: its item
        # still counts against that item's remainder.
        item = await OrderItem.get_or_none(
            order_id=refund.order_id, platform_item_id=refund.platform_item_id
        ).using_db(conn)
        parts = [(amount, item.id if item else None)]
    else:
        parts = [(amount, None)]
    for part, item_id in parts:
        await LedgerEntry.create(
            refund_id=refund.id,
            store_id=refund.store_id,
            order_id=refund.order_id,
            order_item_id=item_id,
            amount=part,
            currency=refund.currency,
            source=source,
            at=at,
            using_db=conn,
        )
    await modules.emit("refund_settled", refund_id=refund.id, source=source.value)
