"""The refusals of the returns module, each with a stable code and the case it is about.

The warehouse and the agents read these on a phone at the bench, so each
says in the reader's language what state the case is in (its label, never
the stored value) and what to do instead. Cap refusals are the refunds
module's ``NeedsSupervisor``: one cap for every money path.
"""

from __future__ import annotations

import re

from aftersales.core.errors import AfterSalesError, Conflict, InvalidInput, Msgid
from aftersales.core.i18n import N_
from aftersales.refunds.errors import status_label as refund_status_label
from aftersales.refunds.models import RefundStatus
from aftersales.returns.events import STATUSES
from aftersales.returns.models import InspectionResult, ReturnStatus
from connectors import tracking


def status_label(status: ReturnStatus) -> Msgid:
    """A case status as an error parameter: its label, translated with the message."""
    return Msgid(STATUSES.get(status, N_("Other")))


class AlreadyDone(Conflict):
    """The case is not (or no longer) in the state this step needs: 409, reload."""

    code = "return_already_done"
    msgid = N_(
        "This case changed since you opened it (another agent, the warehouse or a sync); "
        "reload and try again."
    )


class WrongState(AlreadyDone):
    """A step the case's state does not allow; the message says what the step needs.

    ``message`` is a msgid with ``%(state)s``; the code stays
    ``return_already_done`` so scripts need only one.
    """

    msgid = N_("This case is already “%(state)s”; nothing was changed.")

    def __init__(self, case: object, status: ReturnStatus, message: str | None = None) -> None:
        super().__init__(message, obj=case, state=status_label(status))


class RequestFinished(AlreadyDone):
    """The platform's own request behind the case is settled: nothing is left to decide."""

    msgid = N_(
        "The platform's request is “%(state)s”: there is no return to approve. Close the "
        "case with a note."
    )

    def __init__(self, case: object, status: RefundStatus, message: str | None = None) -> None:
        super().__init__(message, obj=case, state=refund_status_label(status))


class NotDelivered(AfterSalesError):
    """A desk return on an order that never shipped: the buyer has nothing to send back."""

    status = 400
    code = "return_not_delivered"
    msgid = N_(
        "This order has not shipped, so the buyer has nothing to send back. "
        "Cancel the order or start a refund-only instead."
    )

    def __init__(self, order: object) -> None:
        super().__init__(obj=order)


class QuantityExceedsReturnable(InvalidInput):
    """More units than the order has left once other open cases took theirs."""

    code = "return_quantity_exceeds_returnable"
    msgid = N_(
        "%(item)s: between 1 and %(left)s can come back (%(ordered)s ordered, %(elsewhere)s "
        "in other open cases)."
    )

    def __init__(self, item: object, *, title: str, left: int, ordered: int) -> None:
        super().__init__(obj=item, item=title, left=left, ordered=ordered, elsewhere=ordered - left)


class GoodUnitsOnLostLine(InvalidInput):
    """A line inspected as missing or the wrong item cannot have good units back."""

    code = "return_good_units_on_lost_line"
    msgid = N_("%(item)s: a missing line has no good units; set good to 0.")
    wrong_item_msgid = N_("%(item)s: a wrong item line has no good units; set good to 0.")

    def __init__(self, line: object, *, title: str, result: InspectionResult) -> None:
        wrong = result is InspectionResult.WRONG_ITEM
        super().__init__(self.wrong_item_msgid if wrong else None, obj=line, item=title)


class TrackingRefused(InvalidInput):
    """A return or replacement tracking number the carrier's rules refuse."""

    code = "invalid_tracking_number"
    msgid = N_("Tracking number not accepted: a tracking number is 8 to 32 letters and digits.")
    unknown_carrier_msgid = N_("Tracking number not accepted: unknown carrier '%(carrier)s'.")
    wrong_prefix_msgid = N_(
        "Tracking number not accepted: %(carrier)s numbers start with %(prefixes)s."
    )

    def __init__(self, *, carrier: str, number: str) -> None:
        """Says which rule the number broke (``connectors.tracking`` holds the rules)."""
        try:
            code = tracking.carrier_code(carrier)
        except ValueError:
            super().__init__(self.unknown_carrier_msgid, carrier=carrier, number=number)
            return
        cleaned = re.sub(r"\s+", "", number).upper()
        prefixes = tracking.PREFIXES.get(code)
        if prefixes and re.fullmatch(r"[A-Z0-9]{8,32}", cleaned):
            joined = ", ".join(prefixes)
            super().__init__(self.wrong_prefix_msgid, carrier=code, prefixes=joined, number=number)
            return
        super().__init__(carrier=code, number=number)
