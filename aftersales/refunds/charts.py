"""Report charts as inline SVG, drawn on the server with pygal.

No script and no external file: the page stays readable without
JavaScript and the SVG can be saved or printed as it is. pygal's own
tooltip script (fetched from a CDN by default) is switched off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pygal
from pygal.style import Style

from aftersales.refunds.report import Row

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="'Noto Sans CJK SC', 'Noto Sans SC', sans-serif",
    colors=("#c2410c", "#94a3b8", "#0f766e"),
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    title_font_size=14,
)


_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _svg(chart: pygal.Graph) -> str:
    """The chart without pygal's config script, which only its tooltip code would read."""
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def _chart(kind: type, title: str, **options: object) -> pygal.Graph:
    return kind(
        title=title,
        style=STYLE,
        js=[],
        disable_xml_declaration=True,
        height=300,
        width=800,
        x_label_rotation=30,
        truncate_label=-1,
        print_values=False,
        show_minor_x_labels=False,
        **options,
    )


def series_chart(rows: Sequence[Row], *, title: str, amount_label: str, rate_label: str) -> str:
    """Refunded amount per bucket as bars, the refund rate (%) as a line on its own axis."""
    chart = _chart(pygal.Bar, title, legend_at_bottom=True)
    chart.x_labels = [r.label for r in rows]
    chart.x_labels_major = [r.label for r in rows][:: max(len(rows) // 12, 1)]
    chart.add(amount_label, [float(r.amount) for r in rows])
    rates = [round(r.rate * 100, 2) if r.rate is not None else None for r in rows]
    # A secondary axis with no value at all crashed pygal (an empty shop's report was a 500).
    if any(rate is not None for rate in rates):
        chart.add(rate_label, rates, secondary=True, stroke=True)
    return _svg(chart)


def breakdown_chart(
    rows: Sequence[Row], *, title: str, now_label: str, before_label: str, limit: int = 10
) -> str:
    """The largest groups, this period beside the one before."""
    top = list(rows)[:limit]
    chart = _chart(pygal.HorizontalBar, title, legend_at_bottom=True)
    chart.x_labels = [r.label for r in top]
    chart.add(now_label, [float(r.amount) for r in top])
    chart.add(before_label, [float(r.previous_amount) for r in top])
    return _svg(chart)
