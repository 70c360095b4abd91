"""The rating report's tables, for CSV (one table) or XLSX (all tables, a sheet each).

The same figures the page shows, written by ``core.export`` (rates as
``Rate`` so Excel formats them as percentages, hours as ``Hours``); labels
are translated for the reader.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from aftersales.core.export import Hours, Rate, Table, to_csv, to_xlsx
from aftersales.core.i18n import N_
from aftersales.reviews.events import OUTCOMES
from aftersales.reviews.models import ReviewOutcome
from aftersales.reviews.report import RatingReport, Row, Scores

__all__ = ["TABLES", "TABLE_NAMES", "Table", "tables", "to_csv", "to_xlsx"]
TABLES = ("summary", "series", "product", "store", "reason", "outcomes", "scores")
TABLE_NAMES = {
    "summary": N_("Summary"),
    "series": N_("Over time"),
    "product": N_("By product"),
    "store": N_("By store"),
    "reason": N_("By reason"),
    "outcomes": N_("Follow-up outcomes"),
    "scores": N_("Shop scores"),
}


def tables(report: RatingReport, _: Callable[[str], str]) -> dict[str, Table]:
    """The report's tables, in the order the page shows them."""
    t, p = report.totals, report.previous
    c, pc = report.cases, report.previous_cases
    summary: list[list[object]] = [
        [_("Good reviews"), t.good, p.good],
        [_("Neutral reviews"), t.neutral, p.neutral],
        [_("Bad reviews"), t.bad, p.bad],
        [_("Reviews without a rating"), t.unrated, p.unrated],
        [_("Good-review rate"), Rate(t.rate), Rate(p.rate)],
        [_("Negative reviews"), report.negatives, report.previous_negatives],
        [_("Follow-ups closed"), c.closed, pc.closed],
        [_("Recovered reviews"), c.recovered, pc.recovered],
        [_("Turnaround rate"), Rate(c.turnaround_rate), Rate(pc.turnaround_rate)],
        [_("Median hours to first contact"), Hours(c.first_contact_median_hours),
         Hours(pc.first_contact_median_hours)],
        [_("Compensation paid"), c.compensation_paid, pc.compensation_paid],
        [_("Compensation offered"), c.compensation_offered, pc.compensation_offered],
        [_("Compensation per recovered review"), c.per_recovered, pc.per_recovered],
    ]  # fmt: skip
    head = [_("Good reviews"), _("Neutral reviews"), _("Bad reviews"), _("Good-review rate")]
    before = [_("Previous good"), _("Previous neutral"), _("Previous bad"),
              _("Previous good-review rate")]  # fmt: skip
    out: dict[str, Table] = {
        "summary": ([_("Figure"), _("This period"), _("Previous period")], summary),
        "series": (
            [_("From"), *head],
            [[date.fromisoformat(r.key), *_counts(r)] for r in report.series],
        ),
    }
    for group in ("product", "store", "reason"):
        first = [_("Product"), _("Product ID")] if group == "product" else [_("Group")]
        out[group] = (
            [*first, *head, *before],
            [[*_names(group, r, _), *_counts(r), *_counts(r, before=True)]
             for r in report.groups[group]],
        )  # fmt: skip
    out["outcomes"] = (
        [_("Outcome"), _("This period"), _("Previous period")],
        [[_(OUTCOMES[o]), c.outcomes.get(o, 0), pc.outcomes.get(o, 0)] for o in ReviewOutcome],
    )
    out["scores"] = (
        [_("Store"), _("Day"), _("Description match"), _("Service attitude"),
         _("Logistics service"), _("Previous day"), _("Previous description match"),
         _("Previous service attitude"), _("Previous logistics service")],
        [[s.store, *_scores(s.now), *_scores(s.before)] for s in report.scores
         if s.now or s.before],
    )  # fmt: skip
    return out


def _names(group: str, row: Row, _: Callable[[str], str]) -> list[object]:
    return [row.shown(_), row.key] if group == "product" else [row.shown(_)]


def _counts(row: Row, *, before: bool = False) -> list[object]:
    counts = row.before if before else row.now
    return [counts.good, counts.neutral, counts.bad, Rate(counts.rate)]


def _scores(scores: Scores | None) -> list[object]:
    if scores is None:
        return [None, None, None, None]
    return [scores.day, scores.description, scores.service, scores.logistics]
