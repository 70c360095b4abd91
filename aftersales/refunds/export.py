"""Every report table as CSV (one table) or XLSX (all tables, a sheet each).

Owners take the figures into their own spreadsheets; numbers are written as
numbers (amounts with two decimals, rates as fractions) so sums and charts
work there without cleaning. Labels are translated for the reader.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal

import xlsxwriter

from aftersales.core.i18n import N_
from aftersales.refunds.report import RefundReport, Row

Table = tuple[list[str], list[list[object]]]
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
        [_("Refund rate (amount)"), t.amount_rate, p.amount_rate],
        [_("Refund rate (orders)"), t.order_rate, p.order_rate],
        [_("Dispute refund rate"), t.dispute_rate, p.dispute_rate],
        [_("Quality refund rate"), t.quality_rate, p.quality_rate],
        [_("Agreed by the platform's timer"), t.auto_agreed, p.auto_agreed],
        [_("Median hours to decision"), report.timing.decision_median_hours,
         report.previous_timing.decision_median_hours],
        [_("90th percentile hours to decision"), report.timing.decision_p90_hours,
         report.previous_timing.decision_p90_hours],
        [_("Median hours to money back"), report.timing.money_median_hours,
         report.previous_timing.money_median_hours],
        [_("90th percentile hours to money back"), report.timing.money_p90_hours,
         report.previous_timing.money_p90_hours],
    ]  # fmt: skip
    out: dict[str, Table] = {
        "summary": ([_("Figure"), _("This period"), _("Previous period")], summary),
        "series": (
            [_("From"), _("Refunded"), _("Refunds"), _("Paid on orders"), _("Refund rate")],
            [[r.key, r.amount, r.refunds, r.paid, r.rate] for r in report.series],
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


# A spreadsheet runs a cell that starts with one of these as a formula (CSV
# injection): a product titled ``=HYPERLINK(...)`` must open as that text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    return "" if value is None else value


def _text(value: str) -> str:
    """Text as a spreadsheet shows it: a leading ``'`` keeps a formula-looking cell text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_cell(value: object) -> object:
    """Amounts with two decimals and counts as numbers; only text cells are guarded,
    so a negative amount (``-5.00``, a Decimal) stays a number."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    plain = _plain(value)
    return _text(plain) if isinstance(plain, str) else plain


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    headers, rows = table
    writer.writerow([_text(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(all_tables: dict[str, Table], names: dict[str, str]) -> bytes:
    """One sheet per table. Every cell is written by its type, never with
    ``worksheet.write``, which would store text starting with ``=`` as a formula."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "0.00"})
    for key, (headers, rows) in all_tables.items():
        sheet = book.add_worksheet(names.get(key, key)[:31])
        for c, header in enumerate(headers):
            sheet.write_string(0, c, header, bold)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                plain = _plain(value)
                if isinstance(value, Decimal):
                    sheet.write_number(r, c, float(value), money)
                elif isinstance(plain, int | float) and not isinstance(plain, bool):
                    sheet.write_number(r, c, plain)
                elif plain == "":
                    sheet.write_blank(r, c, None)
                else:
                    sheet.write_string(r, c, str(plain))
        sheet.set_column(0, len(headers) - 1, 18)
    book.close()
    return buffer.getvalue()
