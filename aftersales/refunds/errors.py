"""The refusals of the refunds module, each with a stable code and the refund it is about.

An agent reads these at the moment of decision, so each says in the
reader's language what was refused and what to do instead; scripts read
``code`` and ``details`` (the amounts, the refund's id). Amounts are passed
formatted (``money``), statuses as their label (``status_label``, from
``events.py``), never as the stored value.
"""

from __future__ import annotations

from decimal import Decimal

from aftersales.core.errors import (
    AfterSalesError,
    Conflict,
    InvalidInput,
    Msgid,
    PermissionDenied,
    money,
)
from aftersales.core.i18n import N_
from aftersales.refunds.events import STATUSES
from aftersales.refunds.models import Refund, RefundStatus


def status_label(status: RefundStatus) -> Msgid:
    """A refund status as an error parameter: its label, translated with the message."""
    return Msgid(STATUSES.get(status, N_("Other")))


REFUND_OVER_CAP = N_("Refunds above %(limit)s need a supervisor; this one is %(amount)s.")


class AlreadyDecided(Conflict):
    """Someone (an agent, the auto-approval rule, a sync) decided this refund first."""

    code = "refund_already_decided"
    msgid = N_("Another decision on this refund came first; nothing was changed.")


# Why a decision found nothing to decide, in words for each status a refund may
# already be in (a sentence each reads better than a label in quotes, in both
# languages).
ALREADY: dict[RefundStatus, str] = {
    RefundStatus.REQUESTED: N_("This refund is still waiting for a decision; nothing was changed."),
    RefundStatus.APPROVED: N_("This refund is already approved; nothing was changed."),
    RefundStatus.WAITING_RETURN: N_(
        "This refund already waits for the goods to come back; nothing was changed."
    ),
    RefundStatus.REFUNDING: N_("This refund is already being paid; nothing was changed."),
    RefundStatus.REFUNDED: N_("This refund is already paid; nothing was changed."),
    RefundStatus.WRITEBACK_FAILED: N_(
        "This refund is already decided and the platform has not heard of it yet; "
        "nothing was changed."
    ),
    RefundStatus.REJECTED: N_("This refund is already refused; nothing was changed."),
    RefundStatus.CANCELLED: N_("This refund is already cancelled; nothing was changed."),
    RefundStatus.DISPUTED: N_("The platform has stepped in on this refund; nothing was changed."),
}


def already_decided(refund: Refund) -> AlreadyDecided:
    """The refusal for a decision on a refund no longer open for it."""
    return AlreadyDecided(ALREADY.get(refund.status, AlreadyDecided.msgid), obj=refund)


class AmountExceedsRefundable(AfterSalesError):
    """More than the order (or the item) still has left to refund: the ledger refuses."""

    status = 422
    code = "refund_amount_exceeds_refundable"
    msgid = N_(
        "Only %(limit)s of this order can still be refunded; %(asked)s was asked. "
        "Nothing was changed."
    )
    item_msgid = N_(
        "Only %(limit)s of this order item can still be refunded; %(asked)s was asked. "
        "Nothing was changed."
    )

    def __init__(
        self, refund: object, *, asked: Decimal, limit: Decimal, item: bool = False
    ) -> None:
        super().__init__(
            self.item_msgid if item else self.msgid,
            obj=refund,
            asked=money(asked),
            limit=money(limit),
        )


class AmountExceedsRequested(InvalidInput):
    """An approval for more than the buyer asked: that is a new refund, not this one."""

    code = "refund_amount_exceeds_requested"
    msgid = N_(
        "The buyer asked for %(requested)s; approve at most that (start a separate "
        "refund for more)."
    )

    def __init__(self, refund: object, *, requested: Decimal, asked: Decimal) -> None:
        super().__init__(obj=refund, requested=money(requested), asked=money(asked))


class NeedsSupervisor(PermissionDenied):
    """An amount above the actor's cap: a supervisor decides it (403)."""

    code = "refund_needs_supervisor"
    msgid = REFUND_OVER_CAP

    def __init__(
        self, subject: object, *, cap: Decimal, amount: Decimal, message: str | None = None
    ) -> None:
        """``message`` is the caller's own msgid with ``%(limit)s`` and ``%(amount)s``."""
        super().__init__(message, obj=subject, limit=money(cap), amount=money(amount))


class OrderNotSynced(InvalidInput):
    """The ledger needs the order's lines and payments; without them nothing is refundable."""

    code = "refund_order_not_synced"
    msgid = N_("The order of this refund has not synced yet; sync the store first.")

    def __init__(self, refund: object) -> None:
        super().__init__(obj=refund)


class PlatformCannotStart(InvalidInput):
    """The store's platform takes no refund the shop starts through its API."""

    code = "refund_platform_cannot_start"
    msgid = N_(
        "A %(platform)s store cannot start a refund through its API; pay it on the "
        "platform and it will sync here."
    )

    def __init__(self, store: object, *, platform: str) -> None:
        super().__init__(obj=store, platform=platform)


class PlatformCannotRefuse(InvalidInput):
    """The store's platform takes no refusal through its API (``Capabilities.refuse_refund``):
    the refusal is a back-office step, and the request stays open here until it syncs."""

    code = "refund_platform_cannot_refuse"
    msgid = N_(
        "A %(platform)s store takes no refusal through its API: refuse the request in "
        "the platform's back office, and the refusal will sync here."
    )

    def __init__(self, refund: object, *, platform: str) -> None:
        super().__init__(obj=refund, platform=platform)


class WritebackNotFailed(Conflict):
    """A retry of a write-back that is still on its way: retrying would send it twice."""

    code = "refund_writeback_not_failed"
    msgid = N_("The write-back is not failed; it is still being delivered.")

    def __init__(self, refund: object) -> None:
        super().__init__(obj=refund)


class WorkedInCase(Conflict):
    """A decision or a take on a refund another case works (a return-and-refund's return case).

    The buyer asked once, so the desk answers once: the return case decides
    the goods and, through this module, the money; a second agent deciding
    the same request from the refund page would race it.
    """

    code = "refund_worked_in_case"
    msgid = N_("This refund is worked in %(case)s; decide and take it there. Nothing was changed.")

    def __init__(self, refund: object, *, case: str) -> None:
        super().__init__(obj=refund, case=case)


class NotForBulk(Conflict):
    """A ticked row the bulk approval may not decide: each refusal says why, the rest land."""

    code = "refund_not_for_bulk"
    msgid = N_("Refund for order %(order)s was not approved: %(why)s")

    def __init__(self, refund: Refund, *, why: str) -> None:
        super().__init__(obj=refund, order=refund.platform_order_id, why=Msgid(why))
