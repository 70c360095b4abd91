"""What a buyer's refund history says about them, for every page that shows the buyer.

A buyer who asks for many refunds is worth a second look before the next
approval, so the queues and case pages mark them. The mark is computed from
the refunds themselves (``Registry.buyer_flags``), never stored as a tag: it
appears with the Nth request and fades when the window moves past them,
while the tags agents set by hand stay theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from tortoise.functions import Count

from aftersales.core import clock
from aftersales.core.i18n import N_
from aftersales.core.modules import BuyerFlag
from aftersales.refunds.models import AD_HOC_KINDS, Refund

FREQUENT_REFUNDS = 3
"""Refund requests within ``WINDOW_DAYS`` from which a buyer is marked."""
WINDOW_DAYS = 90
FLAG_KEY = "frequent_refunds"  # the hand-set tag of the same name (orders' CUSTOMER_TAGS)


async def buyer_flags(customer_ids: Sequence[int]) -> dict[int, list[BuyerFlag]]:
    """ "Frequent refunds" on each buyer with ``FREQUENT_REFUNDS`` requests in ``WINDOW_DAYS``.

    Counts the buyer's own requests (refund only, return and refund), not
    the refunds an agent started for them (shipping, price difference,
    compensation). A customer belongs to one store, so this is per store.
    One grouped query for all the page's buyers.
    """
    since = clock.now() - timedelta(days=WINDOW_DAYS)
    rows = (
        await Refund.filter(order__customer_id__in=list(customer_ids), requested_at__gte=since)
        .exclude(kind__in=[k.value for k in AD_HOC_KINDS])
        .annotate(requests=Count("id"))
        .group_by("order__customer_id")
        .values("order__customer_id", "requests")
    )
    return {
        row["order__customer_id"]: [
            BuyerFlag(
                key=FLAG_KEY,
                label=N_("Frequent refunds"),
                hint=N_("%(count)s refund requests in %(days)s days (marked from %(min)s)"),
                params={"count": row["requests"], "days": WINDOW_DAYS, "min": FREQUENT_REFUNDS},
            )
        ]
        for row in rows
        if row["requests"] >= FREQUENT_REFUNDS
    }
