"""The refund report's tables, for CSV (one table) or XLSX (all tables, a sheet each).

The writing is ``core.export``'s: rates are marked ``Rate`` and hours
``Hours`` here so Excel formats them as percentages and hours. Labels are
translated for the reader.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from aftersales.core.export import Hours, Rate, Table, to_csv, to_xlsx
from aftersales.core.i18n import N_
from aftersales.refunds.report import RefundReport, Row

__all__ = ["TABLES", "TABLE_NAMES", "Table", "tables", "to_csv", "to_xlsx"]
TABLES = ("summary", "series", "reason", "sku", "store", "agent", "misses")
TABLE_NAMES = {
    "summary": N_("Summary"),
    "series": N_("Over time"),
    "reason": N_("By reason"),
    "sku": N_("By product"),
    "store": N_("By store"),
    "agent": N_("By agent"),
    "misses": N_("Missed deadlines"),
}


def tables(report: RefundReport, _: Callable[[str], str]) -> dict[str, Table]:
    """The report's tables, in the order the page shows them."""
    t, p = report.totals, report.previous
    summary = [
        [_("Refunded"), t.refunded, p.refunded],
        [_("Refunds paid"), t.refunds, p.refunds],
        [_("Orders with money back"), t.refunded_orders, p.refunded_orders],
        [_("Paid on orders"), t.paid, p.paid],
        [_("Orders paid"), t.paid_orders, p.paid_orders],
        [_("Refund rate (amount)"), Rate(t.amount_rate), Rate(p.amount_rate)],
        [_("Refund rate (orders)"), Rate(t.order_rate), Rate(p.order_rate)],
        [_("Dispute refund rate"), Rate(t.dispute_rate), Rate(p.dispute_rate)],
        [_("Quality refund rate"), Rate(t.quality_rate), Rate(p.quality_rate)],
        [_("Agreed by the platform's timer"), t.auto_agreed, p.auto_agreed],
        [_("Median hours to decision"), Hours(report.timing.decision_median_hours),
         Hours(report.previous_timing.decision_median_hours)],
        [_("90th percentile hours to decision"), Hours(report.timing.decision_p90_hours),
         Hours(report.previous_timing.decision_p90_hours)],
        [_("Median hours to money back"), Hours(report.timing.money_median_hours),
         Hours(report.previous_timing.money_median_hours)],
        [_("90th percentile hours to money back"), Hours(report.timing.money_p90_hours),
         Hours(report.previous_timing.money_p90_hours)],
    ]  # fmt: skip
    out: dict[str, Table] = {
        "summary": ([_("Figure"), _("This period"), _("Previous period")], summary),
        "series": (
            [_("From"), _("Refunded"), _("Refunds"), _("Paid on orders"), _("Refund rate")],
            [
                [date.fromisoformat(r.key), r.amount, r.refunds, r.paid, Rate(r.rate)]
                for r in report.series
            ],
        ),
    }
    for group in ("reason", "sku", "store", "agent"):
        out[group] = (
            [_("Group"), _("Refunded"), _("Refunds"), _("Previous refunded"),
             _("Previous refunds")],
            [_group_row(r, _) for r in report.groups[group]],
        )  # fmt: skip
    out["misses"] = (
        [_("Refund"), _("Order number"), _("Amount"), _("Due"), _("Refunded")],
        [[m.refund_id, m.platform_order_id, m.amount, m.due_at, m.refunded_at]
         for m in report.misses],
    )  # fmt: skip
    return out


def _group_row(row: Row, _: Callable[[str], str]) -> list[object]:
    return [row.shown(_), row.amount, row.refunds, row.previous_amount, row.previous_refunds]
