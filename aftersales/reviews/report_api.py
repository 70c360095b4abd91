"""``GET /api/v1/reports/ratings``: the rating report's figures as JSON.

The same figures as the page and its downloads (``report.rating_report``),
for owners' and supervisors' tokens. Counts are numbers, rates fractions
(0.923) or null when there is nothing to divide by, money strings with two
decimals as everywhere in the API.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core import clock
from aftersales.core.api import DAY, ID_QUERY, api_route, id_param, json_money, json_time, query
from aftersales.core.auth import MANAGERS, requires
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.periods import period_from_days
from aftersales.reviews import report
from aftersales.reviews.models import ReviewOutcome

REPORT_READERS = MANAGERS  # supervisors produce reports, owners read them


def _counts(counts: report.Counts) -> dict[str, Any]:
    return {
        "good": counts.good,
        "neutral": counts.neutral,
        "bad": counts.bad,
        "unrated": counts.unrated,
        "good_rate": counts.rate,
    }


def _row(row: report.Row) -> dict[str, Any]:
    return {"key": row.key, "label": row.label, **_counts(row.now),
            "previous": _counts(row.before)}  # fmt: skip


def _cases(figures: report.CaseFigures) -> dict[str, Any]:
    return {
        "closed": figures.closed,
        "outcomes": {o.value: figures.outcomes.get(o, 0) for o in ReviewOutcome},
        "recovered": figures.recovered,
        "turnaround_rate": figures.turnaround_rate,
        "first_contacts": figures.contacted,
        "first_contact_median_hours": figures.first_contact_median_hours,
        "compensation_paid": json_money(figures.compensation_paid),
        "compensation_offered": json_money(figures.compensation_offered),
        "compensation_per_recovered": (
            json_money(figures.per_recovered) if figures.per_recovered is not None else None
        ),
    }


def _scores(scores: report.Scores | None) -> dict[str, Any] | None:
    if scores is None:
        return None
    return {
        "day": scores.day.isoformat(),
        **{name: str(value) if value is not None else None for name, value in (
            ("description", scores.description), ("service", scores.service),
            ("logistics", scores.logistics))},
    }  # fmt: skip


@requires(*REPORT_READERS)
async def rating_report(request: Request) -> Response:
    """Totals, series, breakdowns, follow-ups and shop scores, each with the period before."""
    q = request.query_params
    group = q.get("group", "day")
    if group not in report.GRAINS:
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name="group",
            choices=", ".join(report.GRAINS),
            code="invalid_parameter",
        )
    settings = request.app.state.settings
    period = period_from_days(q.get("from"), q.get("to"), zone=settings.zone, now=clock.now())
    result = await report.rating_report(
        period, zone=settings.zone, store_id=id_param(q.get("store"), name="store"), grain=group
    )
    return JSONResponse(
        {
            "from": json_time(period.start),
            "to": json_time(period.end),
            "group": group,
            "currency": result.currency,
            "totals": {**_counts(result.totals), "negative": result.negatives},
            "previous": {**_counts(result.previous), "negative": result.previous_negatives},
            "series": [{"key": r.key, **_counts(r.now)} for r in result.series],
            "by_product": [_row(r) for r in result.groups["product"]],
            "by_store": [_row(r) for r in result.groups["store"]],
            "by_reason": [_row(r) for r in result.groups["reason"]],
            "cases": _cases(result.cases),
            "previous_cases": _cases(result.previous_cases),
            "shop_scores": [
                {
                    "store_id": s.store_id,
                    "store": s.store,
                    "latest": _scores(s.now),
                    "previous": _scores(s.before),
                }
                for s in result.scores
            ],
        }
    )


api_routes = [
    api_route(
        "/reports/ratings",
        rating_report,
        summary="Rating report: from, to (shop days), group day|week|month, store",
        roles=REPORT_READERS,
        params=(
            query("from", DAY),
            query("to", DAY),
            query("group", {"type": "string", "enum": list(report.GRAINS)}),
            query("store", ID_QUERY),
        ),
    ),
]
