"""Report charts as inline SVG, drawn on the server with pygal.

No script: the page stays readable without JavaScript. pygal's own
tooltip script (fetched from a CDN by default) is switched off. pygal also
writes a ``<style>`` element and ``style=`` attributes into each chart, which
the desk's Content-Security-Policy (``style-src 'self'``) would block; they
are taken out, and the same rules, generated from ``STYLE`` by
``stylesheet()``, are served as ``/static/charts.css`` (a test keeps the
file in step with the style).
"""

from __future__ import annotations

import html
import math
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
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style>", re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r'\s+style="[^"]*"')
_CHART_ID = re.compile(r'\bid="(chart-[0-9a-f-]+)"')
# The one inline style pygal writes hides the tooltip its script would show.
_EXTRA_CSS = ".pygal-chart .tooltip{opacity:0}\n"


def _svg(chart: pygal.Graph) -> str:
    """The chart without pygal's script and inline styles (see ``stylesheet``)."""
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    return _STYLE_ATTRIBUTE.sub("", _STYLE_ELEMENT.sub("", svg))


def stylesheet() -> str:
    """The CSS pygal inlines into a chart, for every chart: the body of static/charts.css."""
    chart = _chart(pygal.Bar, "")
    for n in range(len(STYLE.colors)):
        chart.add(str(n), [n + 1])
    svg = chart.render(is_unicode=True)
    found = _CHART_ID.search(svg)
    assert found is not None, "pygal changed how it names its charts"
    css = html.unescape("".join(_STYLE_ELEMENT.findall(svg)))  # etree wrote ">" as "&gt;"
    css = css.replace(f"#{found.group(1)}", ".pygal-chart")
    return css + "\n" + _EXTRA_CSS


def _chart(kind: type, title: str, **options: object) -> pygal.Graph:
    settings: dict[str, object] = {
        "title": title,
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "height": 300,
        "width": 800,
        "x_label_rotation": 30,
        "truncate_label": -1,
        "print_values": False,
        "show_minor_x_labels": False,
    }
    return kind(**{**settings, **options})


TICKS = 5
"""About this many steps on a value axis."""


def round_step(top: float, steps: int = TICKS) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that covers ``top`` in ``steps``."""
    if top <= 0:
        return 1.0
    rough = top / steps
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough * (1 - 1e-9))


def round_ticks(top: float, step: float | None = None) -> list[float]:
    """Axis labels from 0 past ``top`` in a round step (0, 200, 400 ... not 3.33, 4.37)."""
    step = step or round_step(top)
    count = max(math.ceil(top / step - 1e-9), 1)
    return [round(i * step, 10) for i in range(count + 1)]


def series_chart(rows: Sequence[Row], *, title: str, amount_label: str, rate_label: str) -> str:
    """Refunded amount per bucket as bars, the refund rate (%) as a line on its own axis."""
    chart = _chart(pygal.Bar, title, legend_at_bottom=True)
    chart.x_labels = [r.label for r in rows]
    chart.x_labels_major = [r.label for r in rows][:: max(len(rows) // 12, 1)]
    amounts = [float(r.amount) for r in rows]
    ticks = round_ticks(max(amounts, default=0))
    chart.y_labels, chart.range = ticks, (0, ticks[-1])
    chart.add(amount_label, amounts)
    rates = [round(r.rate * 100, 2) if r.rate is not None else None for r in rows]
    # The rate axis shares the amount axis's lines, so its top is a round step
    # times as many steps: its labels are round too.
    steps = len(ticks) - 1
    rate_step = round_step(max((v for v in rates if v is not None), default=0), steps)
    chart.secondary_range = (0, rate_step * steps)
    # pygal cannot scale a secondary axis with no value on it (a store or period
    # with no paid orders): keep the legend entry, drop the empty axis.
    chart.add(rate_label, rates, secondary=any(v is not None for v in rates), stroke=True)
    return _svg(chart)


def breakdown_chart(
    rows: Sequence[Row], *, title: str, now_label: str, before_label: str, limit: int = 10
) -> str:
    """The largest groups, this period beside the one before."""
    top = list(rows)[:limit]
    # Horizontal bars draw the amounts on the x axis: every round tick shows.
    chart = _chart(pygal.HorizontalBar, title, legend_at_bottom=True, show_minor_x_labels=True)
    chart.x_labels = [r.label for r in top]
    ticks = round_ticks(max((float(max(r.amount, r.previous_amount)) for r in top), default=0))
    chart.y_labels, chart.range = ticks, (0, ticks[-1])
    chart.add(now_label, [float(r.amount) for r in top])
    chart.add(before_label, [float(r.previous_amount) for r in top])
    return _svg(chart)
