"""Buyer reviews, negative-review follow-up cases and rating reports.

Reviews come in through the orders sync's review stream; the negative and
flagged ones open a follow-up case each. This module imports core, orders
and refunds (a remedy is a compensation refund), never a sibling beyond those.
"""

from aftersales.core.auth import EVERYONE, MANAGERS
from aftersales.core.i18n import N_
from aftersales.core.modules import Module, NavEntry, ReportLink
from aftersales.core.setting_fields import SettingField
from aftersales.reviews import (
    api,
    case_api,
    case_routes,
    classify,
    desk,
    events,
    intake,
    jobs,
    replies,
    report_api,
    report_routes,
    routes,
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
    # -- intake, cases, queue and browser (intake.py, deadlines.py, desk.py, routes.py, api.py)
    record_handlers={"reviews": intake.intake},
    functions=jobs.functions,
    cron_jobs=jobs.cron_jobs,
    store_settings=intake.STORE_SETTINGS,
    store_setting_fields=[
        SettingField(
            "review_negative_threshold",
            N_("Negative review at or below"),
            N_("A star rating at or below this counts as negative and opens a follow-up."),
            minimum=1,
            maximum=5,
            unit=N_("stars"),
        )
    ],
    nav=[
        NavEntry(N_("Negative reviews"), "/reviews/", EVERYONE),
        NavEntry(N_("All reviews"), "/reviews/all", EVERYONE),
    ],
    dashboard_tiles=desk.dashboard_tiles,
    handover_items=desk.handover_items,
    resolve_case=desk.resolve_case,
    resolve_cases=desk.resolve_cases,
    order_events=desk.order_events,
    order_badges=desk.order_badges,
    # rv-actions: the case page and its steps, replies through the outbox, the phrases.
    outbox_handlers={service.REPLY_KIND: writeback.deliver},
    phrase_context=replies.phrase_context,
    phrases=replies.PHRASES,
    # Every part's pages and API (the report's first: "/reviews/report" is not a case).
    routes=[*report_routes.routes, *routes.routes, *case_routes.routes],
    api_routes=[*report_api.api_routes, *api.api_routes, *case_api.api_routes],
    reports=[ReportLink(N_("Rating report"), "/reviews/report", MANAGERS)],
    # The classifier's model and segmenter load once, at start-up, off the loop.
    on_startup=classify.warm_up,
)
