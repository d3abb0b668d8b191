"""Server-rendered SVG charts (pygal), embedded as `data:` images.

An image needs no script and no inline style on the page (the CSP allows neither), prints as
drawn, and scales to the card at any width. Each chart sits beside the table that holds its
exact figures; the chart's numbers are for the eye only."""

import base64
import re
from decimal import Decimal

import pygal
from pygal.style import Style

from plixo.reports.selectors.common import BUCKET_KEYS, BUCKET_LABELS

# Current in green through 90+ in red: the order a reader expects of an aging.
BUCKET_COLOURS = ("#2f9e5b", "#e3b53b", "#e58a2e", "#d4572a", "#a3221a")
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
SERIES_COLOURS = ("#3557d6", "#2f9e5b", "#e58a2e", "#a3221a", "#7a55c7")


def _style(colours: tuple[str, ...]) -> Style:
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#2a2f3a",
        foreground_strong="#11151c",
        foreground_subtle="#d9dde4",
        colors=colours,
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=13,
        title_font_size=15,
        value_font_size=12,
        tooltip_font_size=12,
    )


STYLE = _style(SERIES_COLOURS)
AGING_STYLE = _style(BUCKET_COLOURS)


def _config(**overrides) -> dict:
    return {
        "style": STYLE,
        "js": [],  # no script: the image is static
        "disable_xml_declaration": True,
        "width": 760,
        "height": 340,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 5,
        "print_values": False,
        "truncate_label": 28,
        "margin": 12,
        "margin_bottom": 24,
        **overrides,
    }


def _number(value) -> float | None:
    # Drawing only: the exact figure is in the table beside the chart.
    return None if value is None else float(Decimal(value))


def _data_uri(chart) -> str:
    svg = chart.render()
    if isinstance(svg, bytes):
        svg = svg.decode("utf-8")
    # pygal always writes its configuration as a script for its interactive mode; an image
    # runs no script, and the chart should carry none.
    svg = _SCRIPT.sub("", svg).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _money_formatter(currency: str):
    return lambda value: f"{value:,.0f} {currency}" if value is not None else ""


def _compact(value) -> str:
    """Axis labels short enough not to run into each other: 12k, 3.4M."""
    if value is None:
        return ""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:,.{0 if size >= 10 * limit else 1}f}{suffix}"
    return f"{value:,.0f}"


def aging_chart(report: dict, *, base_currency: str, max_lines: int = 12) -> str | None:
    """Stacked bars: one bar per line (or one for the total), one colour per bucket."""
    lines = report["lines"][:max_lines] if report["group"] else [report["total"]]
    if not lines or not any(line["base"]["total"] for line in lines):
        return None
    horizontal = bool(report["group"])
    kind = pygal.HorizontalStackedBar if horizontal else pygal.StackedBar
    chart = kind(
        **_config(
            style=AGING_STYLE,
            height=max(300, 40 * len(lines) + 130) if horizontal else 340,
            value_formatter=_compact,
            formatter=_money_formatter(base_currency),
            title=f"Open balances in {base_currency}",
        )
    )
    labels = [line["label"] for line in lines]
    chart.x_labels = labels[::-1] if horizontal else labels
    for key in BUCKET_KEYS:
        values = [_number(line["base"]["buckets"][key]) for line in lines]
        chart.add(BUCKET_LABELS[key], values[::-1] if horizontal else values)
    return _data_uri(chart)


def dso_trend_chart(report: dict) -> str | None:
    """DSO per month (left axis) with CEI (right axis), base currency."""
    trend = report["trend"]
    if not trend or all(p["base"]["dso"] is None for p in trend):
        return None
    chart = pygal.Line(
        **_config(
            dots_size=4,
            stroke_style={"width": 3},
            include_x_axis=True,
            secondary_range=(0, 100),
            x_label_rotation=-30 if len(trend) > 8 else 0,
            value_formatter=lambda v: f"{v:.1f}" if v is not None else "",
        )
    )
    chart.x_labels = [p["start"].strftime("%b %y") for p in trend]
    chart.add("DSO (days)", [_number(p["base"]["dso"]) for p in trend])
    chart.add("CEI (%)", [_number(p["base"]["cei"]) for p in trend], secondary=True)
    return _data_uri(chart)


def funnel_chart(report: dict) -> str | None:
    steps = report["steps"]
    if not steps or not steps[0]["invoices"]:
        return None
    chart = pygal.HorizontalBar(
        **_config(
            show_legend=False,
            print_values=True,
            height=280,
            value_formatter=lambda v: f"{v:,.0f}",
        )
    )
    chart.x_labels = [step["label"] for step in steps][::-1]
    chart.add("Invoices", [step["invoices"] for step in steps][::-1])
    return _data_uri(chart)


def collected_chart(report: dict, *, base_currency: str) -> str | None:
    periods = report["periods"]
    if not periods:
        return None
    chart = pygal.Bar(
        **_config(
            show_legend=False,
            value_formatter=_compact,
            formatter=_money_formatter(base_currency),
            title=f"Net cash collected in {base_currency}",
            x_label_rotation=-30 if len(periods) > 8 else 0,
        )
    )
    form = {"month": "%b %Y", "week": "%d %b", "day": "%d %b"}[report["interval"]]
    chart.x_labels = [p["period"].strftime(form) for p in periods]
    chart.add("Collected", [_number(p["base"]["net"]) for p in periods])
    return _data_uri(chart)
