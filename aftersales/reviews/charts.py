"""The rating report's charts: inline SVG drawn on the server with pygal, no script.

Drawn as the refund report's are (``refunds.charts``: its style, its round
axes, and its stripping of pygal's script and inline styles), so both
reports look alike and share ``/static/charts.css``. Bad, neutral and good
take the style's three colours in that order: warm for bad, grey, green for good.
An empty chart says so in the reader's language (``empty``), not pygal's "No data".
"""

from __future__ import annotations

from collections.abc import Sequence

import pygal

from aftersales.refunds.charts import _chart, _svg, round_ticks
from aftersales.reviews.report import Row


def rate_chart(rows: Sequence[Row], *, title: str, label: str, empty: str) -> str:
    """The good-review rate (%) per bucket; a bucket without rated reviews has no point."""
    chart = _chart(pygal.Line, title, legend_at_bottom=True, show_dots=True, no_data_text=empty)
    chart.x_labels = [r.label for r in rows]
    chart.x_labels_major = [r.label for r in rows][:: max(len(rows) // 12, 1)]
    chart.y_labels, chart.range = [0, 20, 40, 60, 80, 100], (0, 100)
    chart.add(label, [round(r.now.rate * 100, 1) if r.now.rate is not None else None
                      for r in rows])  # fmt: skip
    return _svg(chart)


def counts_chart(
    rows: Sequence[Row], *, title: str, labels: tuple[str, str, str], empty: str
) -> str:
    """Bad, neutral and good reviews per bucket, stacked."""
    chart = _chart(pygal.StackedBar, title, legend_at_bottom=True, no_data_text=empty)
    chart.x_labels = [r.label for r in rows]
    chart.x_labels_major = [r.label for r in rows][:: max(len(rows) // 12, 1)]
    ticks = round_ticks(max((r.now.rated for r in rows), default=0))
    chart.y_labels, chart.range = ticks, (0, ticks[-1])
    bad, neutral, good = labels
    chart.add(bad, [r.now.bad for r in rows])
    chart.add(neutral, [r.now.neutral for r in rows])
    chart.add(good, [r.now.good for r in rows])
    return _svg(chart)


def reason_chart(
    rows: Sequence[Row],
    *,
    title: str,
    now_label: str,
    before_label: str,
    empty: str,
    limit: int = 10,
) -> str:
    """Negative reviews per reason, this period beside the one before."""
    top = list(rows)[:limit]
    chart = _chart(
        pygal.HorizontalBar,
        title,
        legend_at_bottom=True,
        show_minor_x_labels=True,
        no_data_text=empty,
    )
    chart.x_labels = [r.label for r in top]
    ticks = round_ticks(max((max(r.now.total, r.before.total) for r in top), default=0))
    chart.y_labels, chart.range = ticks, (0, ticks[-1])
    chart.add(now_label, [r.now.total for r in top])
    chart.add(before_label, [r.before.total for r in top])
    return _svg(chart)
