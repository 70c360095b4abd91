"""The returns report's tables, exportable like the refund report's (see ``core.export``).

Rates are marked ``Rate`` so Excel shows them as percentages; reasons and
payers are written in the reader's language, product titles as the shop
named them (and never as formulas).
"""

from __future__ import annotations

from collections.abc import Callable

from aftersales.core.export import Rate, Table
from aftersales.core.i18n import N_, pgettext
from aftersales.core.labels import label_for
from aftersales.returns.report import ReturnReport

TABLES = ("summary", "reason", "shipping", "products")
TABLE_NAMES = {
    "summary": N_("Summary"),
    "reason": N_("By reason"),
    "shipping": N_("Return shipping"),
    "products": N_("Products most often sent back"),
}


def tables(report: ReturnReport, _: Callable[[str], str]) -> dict[str, Table]:
    """The report's tables, in the order the page shows them."""
    summary: list[list[object]] = [
        [_("Return and exchange cases"), report.cases],
        [pgettext("goods", "Returns"), report.returns],
        [_("Exchanges"), report.exchanges],
        [_("Refused by the shop"), report.refused],
        [_("Units sold"), report.units_sold],
        [_("Units back"), report.units_back],
        [_("Return rate (units)"), Rate(report.rate)],
        [_("Damaged units back"), report.damaged_units],
        [_("Exchange price differences"), report.price_difference],
    ]
    reasons: list[list[object]] = [
        [label_for("reason", code), n] for code, n in report.by_reason.items()
    ]
    if report.refused:
        reasons.append([_("Refused by the shop"), report.refused])
    return {
        "summary": ([_("Figure"), _("This period")], summary),
        "reason": ([_("Reason"), _("Cases")], reasons),
        "shipping": (
            [_("Paid by"), _("Amount")],
            [
                [label_for("shipping_payer", payer) if payer else "-", amount]
                for payer, amount in report.shipping_by_payer.items()
            ],
        ),
        "products": (
            [_("Product"), _("Sold"), _("Returned"), _("Exchanged"), _("Return rate")],
            [[p.title, p.sold, p.returned, p.exchanged, Rate(p.rate)] for p in report.products],
        ),
    }
