"""The orders module's stored words: its audit events, order statuses, sorts and sync streams.

Kept beside the module so core's macros never name them; ``core/labels.py``
gathers these maps and pages show them with ``label(kind, value)``.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.i18n import N_
from connectors.base import OrderStatus, Stream

EVENTS: dict[str, str] = {
    "store.created": N_("Store added"),
    "store.updated": N_("Store settings changed"),
    "store.settings_updated": N_("Store settings page saved"),
    "store.csv_imported": N_("Orders imported from a CSV file"),
    "customer.updated": N_("Customer details changed"),
    "contact.decrypted": N_("Buyer's full contact shown (decrypted by the platform)"),
    "order.webhook_applied": N_("Changed by a platform notification"),
}

ORDER_STATUSES: dict[str, str] = {
    OrderStatus.AWAITING_PAYMENT: N_("Awaiting payment"),
    OrderStatus.AWAITING_SHIPMENT: N_("Awaiting shipment"),
    OrderStatus.SHIPPED: N_("Shipped"),
    OrderStatus.COMPLETED: N_("Completed"),
    OrderStatus.CLOSED: N_("Closed"),
}

SORTS: dict[str, str] = {
    "newest": N_("Newest first"),
    "oldest": N_("Oldest first"),
    "paid_high": N_("Highest amount"),
    "paid_low": N_("Lowest amount"),
}

STREAMS: dict[str, str] = {
    Stream.ORDERS: N_("Orders"),
    Stream.AFTER_SALES: N_("After-sales"),
    Stream.REVIEWS: N_("Reviews"),
}

CUSTOMER_TAGS: dict[str, str] = {
    "vip": N_("VIP"),
    "angry": N_("Angry"),
    "difficult": N_("Difficult"),
    "frequent_refunds": N_("Frequent refunds"),
}
"""Tags agents put on buyers, shown in words; any other tag is the agent's own text."""

LABELS: Mapping[str, Mapping[str, str]] = {
    "event": EVENTS,
    "order_status": ORDER_STATUSES,
    "order_sort": SORTS,
    "sync_stream": STREAMS,
    "customer_tag": CUSTOMER_TAGS,
}
