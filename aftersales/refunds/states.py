"""Which refund status may follow which, on the desk and from the platform.

Two sources move a refund. The desk moves it along ``TRANSITIONS`` and an
illegal move raises, because it means a bug or a stale page. The platform
moves it by what each sync reports (``from_platform``): the platform is
where money moves, so its word wins, with one exception: a decision the desk
made and is still writing back is not undone by a sync that ran before the
platform heard of it.
"""

from __future__ import annotations

from aftersales.core.errors import AfterSalesError
from aftersales.refunds.models import RefundStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED, S.DISPUTED}),
    S.APPROVED: frozenset({S.REFUNDING, S.CANCELLED}),
    S.REFUNDING: frozenset({S.REFUNDED, S.WAITING_RETURN, S.WRITEBACK_FAILED}),
    S.WAITING_RETURN: frozenset({S.REFUNDING, S.CANCELLED, S.DISPUTED}),
    S.WRITEBACK_FAILED: frozenset({S.APPROVED, S.CANCELLED}),
    S.REJECTED: frozenset({S.DISPUTED, S.REQUESTED, S.CANCELLED}),
    S.DISPUTED: frozenset({S.REFUNDED, S.REJECTED, S.CANCELLED}),
    S.REFUNDED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Statuses that carry a desk decision the platform may not have heard yet.
PENDING_WRITEBACK = frozenset({S.APPROVED, S.REFUNDING, S.WRITEBACK_FAILED})


class IllegalTransition(AfterSalesError):
    status = 409
    code = "refund_illegal_transition"


def check(current: S, new: S) -> None:
    """Raise unless the desk may move a refund from ``current`` to ``new``."""
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"A refund cannot go from {current.value} to {new.value}.")


# The platform's own words (Taobao refund statuses; WooCommerce and Shopify
# list only refunds already paid, which the connectors call "refunded").
PLATFORM_STATUS: dict[str, S] = {
    "WAIT_SELLER_AGREE": S.REQUESTED,
    "WAIT_BUYER_RETURN_GOODS": S.WAITING_RETURN,
    "WAIT_SELLER_CONFIRM_GOODS": S.WAITING_RETURN,
    "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS": S.WAITING_RETURN,
    "WAIT_SELLER_CONSIGN_GOODS": S.WAITING_RETURN,
    "EXCHANGE_TRANSFORM_TO_REFUND": S.REQUESTED,
    "SELLER_REFUSE_BUYER": S.REJECTED,
    "CLOSED": S.CANCELLED,
    "SUCCESS": S.REFUNDED,
    "refunded": S.REFUNDED,
    "requested": S.REQUESTED,
    "rejected": S.REJECTED,
}


def from_platform(current: S | None, platform_status: str) -> S:
    """Our status after a sync reported ``platform_status``.

    Unknown words keep the refund where it is (new ones start as requested),
    so a platform adding a status never closes a case by accident.
    """
    reported = PLATFORM_STATUS.get(platform_status)
    if current is None:
        return reported or S.REQUESTED
    if reported is None or current is S.REFUNDED:
        return current
    if current in PENDING_WRITEBACK and reported is S.REQUESTED:
        return current
    return reported
