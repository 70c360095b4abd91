"""A return case follows its refund's money: the ``refund_settled`` event closes it.

The returns module subscribes to the refunds module's domain event (on its
manifest) instead of polling the refunds table each minute for cases whose
refund was paid: the case closes in the same transaction that settled the
refund, and returns never asks the refunds tables what happened.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from aftersales.core import clock
from aftersales.core.errors import AfterSalesError
from aftersales.refunds.models import Refund
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnStatus


async def on_refund_settled(*, refund_id: int, source: str) -> None:
    """Close each case that was waiting for this refund's money.

    Settled by our write-back, the case closes as ``refunded``. Settled on the
    platform (a sync), it closes in the platform's words, exactly as returns
    intake closes a case whose platform request says refunded, so the case
    reads the same whichever of the two gets there first.
    """
    cases = await ReturnCase.filter(refund_id=refund_id, status=ReturnStatus.REFUND_TRIGGERED)
    for case in cases:
        try:
            if source == "platform":
                await _closed_on_platform(case, refund_id)
            else:
                # ``refunded``: a code, shown as its label (returns.events.NOTES).
                await service.close(
                    case.id, actor=None, note="refunded", expected_version=case.version
                )
        except AfterSalesError:
            continue  # someone moved the case meanwhile; their move stands


async def _closed_on_platform(case: ReturnCase, refund_id: int) -> None:
    refund = await Refund.get(id=refund_id)
    async with in_transaction() as conn:
        await service.move(
            case,
            ReturnStatus.CLOSED,
            conn,
            action="platform_changed",
            actor=None,
            data={"platform_status": refund.platform_status},
            platform=True,
            due_at=None,
            closed_at=clock.now(),
            close_reason="refunded_on_platform",
        )
