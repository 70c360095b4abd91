"""The owner's returns figures: how often goods come back, which, why, and what it costs.

Counts by reason and costs are of cases opened in the period. A product's
return rate follows the period's sales: of the units sold on orders placed in
the period, how many have been asked back so far, so a best seller is not
flagged for its volume and a rate never passes 100%. Cancelled cases count
as asked (the buyer wanted to); refused ones do not (the shop kept the
sale). Shipping is summed by who paid, since freight insurance (运费险)
costs the shop nothing and a shop-paid label does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from aftersales.core.periods import Period
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, OrderItem
from aftersales.returns.models import ReturnCase, ReturnLine, ReturnStatus
from aftersales.returns.policy import ReturnKind

NOT_COUNTED = frozenset({ReturnStatus.REJECTED})
TOP_PRODUCTS = 20


@dataclass
class ProductRow:
    title: str
    sold: int = 0
    returned: int = 0
    exchanged: int = 0

    @property
    def rate(self) -> float | None:
        return (self.returned + self.exchanged) / self.sold if self.sold else None


@dataclass
class ReturnReport:
    """``cases`` is ``returns + exchanges + refused``; ``by_reason`` sums to the first two,
    so the page lists refused cases as their own row and its rows add up to ``cases``."""

    cases: int = 0
    returns: int = 0
    exchanges: int = 0
    refused: int = 0
    units_back: int = 0
    units_sold: int = 0
    damaged_units: int = 0
    by_reason: dict[ReasonCode, int] = field(default_factory=dict)
    shipping_by_payer: dict[str, Decimal] = field(default_factory=dict)
    price_difference: Decimal = Decimal("0.00")
    products: list[ProductRow] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.units_back / self.units_sold if self.units_sold else None


async def return_report(period: Period, *, store_id: int | None = None) -> ReturnReport:
    cases = ReturnCase.filter(requested_at__gte=period.start, requested_at__lt=period.end)
    orders = Order.filter(placed_at__gte=period.start, placed_at__lt=period.end)
    if store_id:
        cases = cases.filter(store_id=store_id)
        orders = orders.filter(store_id=store_id)
    report = ReturnReport()
    products: dict[str, ProductRow] = {}
    order_ids = await orders.values_list("id", flat=True)
    for title, quantity in await OrderItem.filter(order_id__in=list(order_ids)).values_list(
        "title", "quantity"
    ):
        row = products.setdefault(title, ProductRow(title))
        row.sold += quantity
        report.units_sold += quantity
    reasons: dict[ReasonCode, int] = defaultdict(int)
    shipping: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    rows = await cases
    sold_ids = set(order_ids)
    cohort = await ReturnCase.filter(order_id__in=list(sold_ids)).exclude(
        status__in=list(NOT_COUNTED)
    )
    kinds = {c.id: c.kind for c in cohort}
    for line in await ReturnLine.filter(case_id__in=list(kinds)):
        kind = kinds[line.case_id]  # type: ignore[attr-defined]
        row = products.setdefault(line.title, ProductRow(line.title))
        if kind is ReturnKind.EXCHANGE:
            row.exchanged += line.quantity
        else:
            row.returned += line.quantity
        report.units_back += line.quantity
    lines: dict[int, list[ReturnLine]] = defaultdict(list)
    for line in await ReturnLine.filter(case_id__in=[c.id for c in rows]):
        lines[line.case_id].append(line)  # type: ignore[attr-defined]
    for case in rows:
        report.cases += 1
        if case.status in NOT_COUNTED:
            report.refused += 1
            continue
        if case.kind is ReturnKind.EXCHANGE:
            report.exchanges += 1
        else:
            report.returns += 1
        reasons[case.reason] += 1
        if case.shipping_cost is not None and case.shipping_payer is not None:
            shipping[case.shipping_payer.value] += case.shipping_cost
        report.price_difference += case.price_difference or Decimal(0)
        for line in lines[case.id]:
            report.damaged_units += line.received_damaged
    report.by_reason = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
    report.shipping_by_payer = dict(shipping)
    report.products = sorted(
        (p for p in products.values() if p.returned or p.exchanged),
        key=lambda p: (-(p.rate or 0), -(p.returned + p.exchanged), p.title),
    )[:TOP_PRODUCTS]
    return report
