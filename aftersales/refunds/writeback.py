"""The outbox handler that carries a refund decision to its platform.

It runs in a worker, possibly twice for one decision (a worker killed after
the platform paid but before we recorded it). Each attempt passes the same
idempotency key to the connector, which recognises its own earlier write,
so the buyer is paid once. A refusal the platform will never accept marks
the refund "write-back failed" and stops; anything else is retried.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aftersales.core.errors import Msgid
from aftersales.core.i18n import N_
from aftersales.core.models import Store
from aftersales.core.modules import OutboxContext
from aftersales.core.outbox import PermanentFailure
from aftersales.orders.models import OrderItem
from aftersales.orders.sync import connector_for
from aftersales.refunds import service
from aftersales.refunds.events import STATUSES
from aftersales.refunds.models import RefundLine, RefundStatus
from connectors.base import RefundDecision, RefundWrite, WriteRefused


async def deliver(payload: dict[str, Any], idempotency_key: str, context: OutboxContext) -> dict:
    decision = RefundDecision(payload["decision"])
    refund = await service.start_writeback(int(payload["refund_id"]))
    if refund is None:
        raise PermanentFailure(N_("The refund no longer exists."))
    assert context.settings is not None, "the worker passes its settings"
    if decision is RefundDecision.APPROVE and refund.status is RefundStatus.REFUNDED:
        return {"platform_status": refund.platform_status, "already_done": True}
    expected = (
        RefundStatus.REFUNDING if decision is RefundDecision.APPROVE else RefundStatus.REJECTED
    )
    if refund.status is not expected:
        # The buyer cancelled, or the platform decided first: there is nothing left to say.
        raise PermanentFailure(
            N_("The refund is %(state)s now; the decision was not sent."),
            obj=refund,
            state=Msgid(STATUSES[refund.status]),
        )
    store = await Store.get(id=refund.store_id)
    lines = await RefundLine.filter(refund_id=refund.id)
    items: dict[str, Decimal] = {}
    shipping = Decimal("0.00")
    for line in lines:
        if line.is_shipping:
            shipping += line.amount
        elif line.order_item_id is not None:
            item = await OrderItem.get(id=line.order_item_id)
            items[item.platform_item_id] = (
                items.get(item.platform_item_id, Decimal(0)) + line.amount
            )
    amount = refund.approved_amount or refund.requested_amount
    if sum(items.values(), Decimal(0)) + shipping != amount:
        items, shipping = {}, Decimal("0.00")  # a partial approval: an order-level amount
    write = RefundWrite(
        decision=decision,
        platform_order_id=refund.platform_order_id,
        platform_refund_id=refund.platform_refund_id,
        amount=amount,
        currency=refund.currency,
        reason=refund.decision_note or refund.platform_reason or "refund",
        item_amounts=items,
        shipping_amount=shipping,
        platform_version=refund.platform_updated_at,
    )
    connector = connector_for(store, context.settings.secret_key)
    try:
        result = await connector.decide_refund(write, idempotency_key=idempotency_key)
    except WriteRefused as exc:
        await service.fail_writeback(refund.id, decision, str(exc))
        # ``from exc``: the page says why the platform refused (core.failures reads the cause).
        raise PermanentFailure(N_("The platform refused the write.")) from exc
    finally:
        await connector.aclose()
    await service.finish_writeback(refund.id, decision, result)
    return result.model_dump(mode="json")
