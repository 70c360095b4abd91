"""The returns module's stored words: its audit events, statuses, kinds and parcel states.

Beside the enums so a new status or event is labelled where it is added;
``core/labels.py`` gathers these maps and pages show them with
``label(kind, value)``, so core's shared macros never name a return word.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.i18n import N_
from aftersales.core.labels import FALLBACK, NOTE, NOTE_PATTERN
from aftersales.returns.models import InspectionResult, ReturnStatus, ShippingPayer
from aftersales.returns.policy import ReturnKind
from connectors.tracking import TrackingState

EVENTS: dict[str, str] = {
    "return.requested": N_("Request opened"),
    "return.approved": N_("Approved"),
    "return.rejected": N_("Refused"),
    "return.tracking": N_("Return tracking number"),
    "return.delivered": N_("Carrier delivered it"),
    "return.received": N_("Received at the warehouse"),
    "return.inspected": N_("Inspected"),
    "return.refund_triggered": N_("Refund triggered"),
    "return.replacement_shipped": N_("Replacement shipped"),
    "return.closed": N_("Closed"),
    "return.cancelled": N_("Cancelled"),
    "return.escalated": N_("Escalated: past its deadline"),
    "return.platform_changed": N_("Changed on the platform"),
    "return.platform_agreed": N_("The platform has the approval"),
    "return.assigned": N_("Taken by an agent"),
    "return.given": N_("Given to a colleague"),
    "return.tracking_refused": N_("Tracking number from the platform refused"),
    "return.photo_added": N_("Photo added"),
    "return.policy_changed": N_("Return policy changed"),
}

STATUSES: dict[str, str] = {
    ReturnStatus.REQUESTED: N_("Requested"),
    ReturnStatus.APPROVED: N_("Approved, telling the platform"),
    ReturnStatus.REJECTED: N_("Refused"),
    ReturnStatus.AWAITING_SHIPMENT: N_("Waiting for the buyer to ship"),
    ReturnStatus.IN_TRANSIT: N_("Parcel on its way"),
    ReturnStatus.DELIVERED: N_("Delivered to the warehouse"),
    ReturnStatus.RECEIVED: N_("Received, to inspect"),
    ReturnStatus.INSPECTED: N_("Inspected"),
    ReturnStatus.REFUND_TRIGGERED: N_("Refund triggered"),
    ReturnStatus.REPLACEMENT_SHIPPED: N_("Replacement shipped"),
    ReturnStatus.CLOSED: N_("Closed"),
    ReturnStatus.CANCELLED: N_("Cancelled"),
}

KINDS: dict[str, str] = {
    ReturnKind.RETURN: N_("Return"),
    ReturnKind.EXCHANGE: N_("Exchange"),
}

INSPECTION_RESULTS: dict[str, str] = {
    InspectionResult.ACCEPTED: N_("Accepted"),
    InspectionResult.DAMAGED: N_("Damaged"),
    InspectionResult.MISSING: N_("Missing"),
    InspectionResult.WRONG_ITEM: N_("Wrong item"),
}

SHIPPING_PAYERS: dict[str, str] = {
    ShippingPayer.BUYER: N_("Buyer"),
    ShippingPayer.SHOP: N_("Shop"),
    ShippingPayer.INSURANCE: N_("Freight insurance"),
}

# What the carrier says about a return parcel; a state the tracker adds later is "unknown".
PARCEL_STATES: dict[str, str] = {
    TrackingState.IN_TRANSIT: N_("in transit"),
    TrackingState.COLLECTED: N_("collected"),
    TrackingState.PROBLEM: N_("problem parcel"),
    TrackingState.DELIVERED: N_("delivered"),
    TrackingState.REFUSED: N_("refused by the receiver"),
    TrackingState.OUT_FOR_DELIVERY: N_("out for delivery"),
    TrackingState.RETURNING: N_("going back to the sender"),
    TrackingState.TRANSFERRED: N_("handed to another carrier"),
    TrackingState.UNKNOWN: N_("unknown"),
    FALLBACK: N_("unknown"),
}

# The categories the law names (policy.LAW_EXCLUDED); a store's own categories show
# as the owner typed them (``label_or_value``).
RETURN_CATEGORIES: dict[str, str] = {
    "custom": N_("Custom-made"),
    "perishable": N_("Perishable"),
    "digital": N_("Digital"),
    "periodical": N_("Newspapers and periodicals"),
}
# Why the desk itself closed a case or wrote a note: stored as the code, shown as the label.
NOTES: dict[str, str] = {
    "refunded": N_("Refunded"),
    "refunded_on_platform": N_("Refunded on the platform"),
    "withdrawn_on_platform": N_("Withdrawn on the platform"),
    "buyer_did_not_ship": N_("The buyer did not ship the return in time"),
    "cancelled": N_("Cancelled"),
    "cancelled_by_buyer": N_("Cancelled by the buyer"),
    "cheaper_replacement": N_("Exchange: the replacement is cheaper"),
    "difference_refunded": N_("Refunded to the buyer"),
    "difference_on_platform": N_("Refund it to the buyer on the platform"),
    "difference_buyer_pays": N_("The buyer pays it through a price-difference link"),
    # The English the desk wrote before it wrote codes, on rows that still hold it.
    "refunded on the platform": N_("Refunded on the platform"),
    "withdrawn on the platform": N_("Withdrawn on the platform"),
    "the buyer did not ship the return in time": N_("The buyer did not ship the return in time"),
    "cancelled by the buyer": N_("Cancelled by the buyer"),
}

# Old desk-written sentences with data in them (labels.NOTE_PATTERN).
NOTE_PATTERNS: dict[str, str] = {
    r"Return to: (?P<address>.+)": N_("Return to: %(address)s"),
    r"Exchange case \d+: cheaper replacement": N_("Exchange: the replacement is cheaper"),
    r"refunded -?[\d.]+ \(refund \d+\)": N_("Refunded to the buyer"),
    r"refund -?[\d.]+ to the buyer on the platform": N_("Refund it to the buyer on the platform"),
    r"buyer pays -?[\d.]+ through a price-difference link": N_(
        "The buyer pays it through a price-difference link"
    ),
}


LABELS: Mapping[str, Mapping[str, str]] = {
    "event": EVENTS,
    "return_status": STATUSES,
    "return_kind": KINDS,
    "inspection_result": INSPECTION_RESULTS,
    "shipping_payer": SHIPPING_PAYERS,
    "parcel_state": PARCEL_STATES,
    "return_category": RETURN_CATEGORIES,
    NOTE: NOTES,
    NOTE_PATTERN: NOTE_PATTERNS,
}
