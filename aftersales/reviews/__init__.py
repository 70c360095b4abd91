"""Buyer reviews, negative-review follow-up cases and rating reports.

Reviews come in through the orders sync's review stream; the negative and
flagged ones open a follow-up case each. This module imports core, orders
and refunds (a remedy is a compensation refund), never a sibling beyond those.
"""

from aftersales.core.auth import MANAGERS
from aftersales.core.i18n import N_
from aftersales.core.modules import Module, ReportLink
from aftersales.reviews import (
    case_api,
    case_routes,
    events,
    replies,
    report_api,
    report_routes,
    service,
    writeback,
)

module = Module(
    name="reviews",
    label=N_("Reviews"),
    models="aftersales.reviews.models",
    migrations="aftersales.reviews.migrations",
    # A compensation on a review case is a refund.
    after=("refunds",),
    labels=events.LABELS,
    # The report's routes come first: "/reviews/report" is not a case.
    routes=[*report_routes.routes, *case_routes.routes],
    api_routes=[*report_api.api_routes, *case_api.api_routes],
    outbox_handlers={service.REPLY_KIND: writeback.deliver},
    phrase_context=replies.phrase_context,
    phrases=replies.PHRASES,
    reports=[ReportLink(N_("Rating report"), "/reviews/report", MANAGERS)],
)
