"""The rating report's pages: the report, each table as CSV, all of them as XLSX.

Owners and supervisors read it (``MANAGERS``). The period picker is a GET
form: it changes nothing, so it carries no CSRF token.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aftersales.core import clock
from aftersales.core.api import number_or_none
from aftersales.core.auth import MANAGERS, requires
from aftersales.core.errors import AfterSalesError, NotFound
from aftersales.core.export import csv_response, xlsx_response
from aftersales.core.i18n import N_
from aftersales.core.i18n import gettext as _
from aftersales.core.models import Store
from aftersales.core.periods import period_from_days
from aftersales.core.templating import flash, render
from aftersales.reviews import charts, export, report
from aftersales.reviews.events import OUTCOMES
from aftersales.reviews.models import ReviewOutcome


async def _report(request: Request) -> report.RatingReport:
    q = request.query_params
    settings = request.app.state.settings
    period = period_from_days(q.get("from"), q.get("to"), zone=settings.zone, now=clock.now())
    grain = q.get("grain", "day")
    return await report.rating_report(
        period,
        zone=settings.zone,
        store_id=number_or_none(q.get("store", "")),
        grain=grain if grain in report.GRAINS else "day",
    )


def _days(request: Request, result: report.RatingReport) -> tuple[str, str]:
    zone = request.app.state.settings.zone
    first = result.period.start.astimezone(zone).date()
    last = (result.period.end.astimezone(zone) - timedelta(days=1)).date()
    return first.isoformat(), last.isoformat()


@requires(*MANAGERS)
async def report_page(request: Request) -> Response:
    try:
        result = await _report(request)
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse("/reviews/report", status_code=303)
    first, last = _days(request, result)
    groups = {name: report.translated(rows, _) for name, rows in result.groups.items()}
    series = report.translated(result.series, _)
    query = urlencode({"from": first, "to": last, **{
        k: v for k, v in request.query_params.items() if k in ("store", "grain")
    }})  # fmt: skip
    grain = _(report.GRAIN_LABELS[result.grain])
    empty = _("No reviews in this period.")
    return render(
        request,
        "reviews/report.html",
        {
            "r": result,
            "groups": groups,
            "first": first,
            "last": last,
            "query": query,
            "stores": await Store.all().order_by("id"),
            "store_id": request.query_params.get("store", ""),
            "grains": report.GRAINS,
            "grain_labels": report.GRAIN_LABELS,
            "outcomes": [(o, OUTCOMES[o]) for o in ReviewOutcome],
            "rate_svg": charts.rate_chart(
                series,
                title=_("Good-review rate per %(grain)s") % {"grain": grain},
                label=_("Good-review rate %"),
                empty=empty,
            ),
            "counts_svg": charts.counts_chart(
                series,
                title=_("Reviews per %(grain)s") % {"grain": grain},
                labels=(_("Bad reviews"), _("Neutral reviews"), _("Good reviews")),
                empty=empty,
            ),
            "reason_svg": charts.reason_chart(
                groups["reason"],
                title=_("Negative reviews by reason"),
                now_label=_("This period"),
                before_label=_("Previous period"),
                empty=_("No negative reviews in this period."),
            ),
        },
    )


@requires(*MANAGERS)
async def report_csv(request: Request) -> Response:
    table = request.path_params["table"]
    if table not in export.TABLES:
        raise NotFound(N_("There is no report table %(table)s."), table=table)
    result = await _report(request)
    first, last = _days(request, result)
    zone = request.app.state.settings.zone
    body = export.to_csv(export.tables(result, _)[table], zone=zone)
    return csv_response(body, f"ratings-{table}-{first}-{last}.csv")


@requires(*MANAGERS)
async def report_xlsx(request: Request) -> Response:
    result = await _report(request)
    first, last = _days(request, result)
    names = {key: _(label) for key, label in export.TABLE_NAMES.items()}
    zone = request.app.state.settings.zone
    body = export.to_xlsx(export.tables(result, _), names, zone=zone)
    return xlsx_response(body, f"ratings-{first}-{last}.xlsx")


routes = [
    Route("/report", report_page),
    Route("/report.xlsx", report_xlsx),
    Route("/report/{table}.csv", report_csv),
]
