"""A job's sync history as an SVG chart: bars for the items each run wrote, a line for how long it
took. Pure code, no Django: nothing comes from a CDN and nothing needs JavaScript (each mark
carries a ``<title>`` for the browser's own tooltip). The SVG is written here rather than in a
template because a dashboard of fifty jobs draws thousands of marks, and Django's template engine
spends most of a second localizing their coordinates.

Runs are spaced evenly in time order rather than by timestamp: scheduled runs bunch and gap, and
an even spacing keeps every bar readable; the first and last dates label the axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from html import escape


@dataclass(frozen=True, slots=True)
class RunPoint:
    at: datetime
    items: int  # created + updated + deleted
    unchanged: int
    errors: int
    seconds: float
    failed: bool
    run_id: int = 0


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    failed: bool
    title: str
    run_id: int


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    items: str  # left axis label
    seconds: str  # right axis label


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bars: list[Bar]
    line: str  # SVG polyline points of the duration
    dots: list[tuple[float, float, str]]
    ticks: list[Tick]
    first_label: str
    last_label: str
    empty: bool


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 5 x 10^n at or above ``value`` (at least 1): round axis maxima, whose halves
    (the middle tick) are round too."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 or seconds == 0 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _count_text(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:.0f}" if value >= 10 else f"{value:g}"


def history_chart(points: list[RunPoint], *, width: int = 520, height: int = 150, ticks: int = 2) -> Chart:
    left, right, top, bottom = 34.0, width - 44.0, 8.0, height - 20.0
    if not points:
        return Chart(width, height, left, right, top, bottom, [], "", [], [], "", "", True)
    max_items = nice_ceiling(max(point.items for point in points))
    max_seconds = nice_ceiling(max(point.seconds for point in points))
    slot = (right - left) / len(points)
    bar_width = max(2.0, min(24.0, slot * 0.62))
    plot_height = bottom - top
    bars: list[Bar] = []
    dots: list[tuple[float, float, str]] = []
    for index, point in enumerate(points):
        centre = left + slot * (index + 0.5)
        bar_height = plot_height * point.items / max_items
        title = (
            f"Run #{point.run_id} · {point.at:%Y-%m-%d %H:%M} · {point.items} written, {point.unchanged} unchanged"
            + (f", {point.errors} errors" if point.errors else "")
            + f" · {duration_text(point.seconds)}"
            + (" · failed" if point.failed else "")
        )
        bars.append(
            Bar(
                x=round(centre - bar_width / 2, 1),
                y=round(bottom - bar_height, 1),
                width=round(bar_width, 1),
                height=round(bar_height, 1),
                failed=point.failed,
                title=title,
                run_id=point.run_id,
            )
        )
        dots.append((round(centre, 1), round(bottom - plot_height * point.seconds / max_seconds, 1), title))
    tick_rows = [
        Tick(
            y=round(bottom - plot_height * step / ticks, 1),
            items=_count_text(max_items * step / ticks),
            seconds=duration_text(max_seconds * step / ticks),
        )
        for step in range(ticks + 1)
    ]
    return Chart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        bars=bars,
        line=" ".join(f"{x},{y}" for x, y, _title in dots),
        dots=dots,
        ticks=tick_rows,
        first_label=f"{points[0].at:%d %b %H:%M}",
        last_label=f"{points[-1].at:%d %b %H:%M}",
        empty=False,
    )


BAR_COLOUR, FAILED_COLOUR, LINE_COLOUR, GRID_COLOUR = "#4b7be5", "#d03c3c", "#f08c2e", "#e8ecf2"


def history_svg(chart: Chart, *, label: str, run_url: str) -> str:
    """The chart as an inline ``<svg>``; ``run_url`` holds ``{id}`` where a run's id goes.

    Every text is escaped here: titles carry job names and dates.
    """
    parts = [
        f'<svg viewBox="0 0 {chart.width} {chart.height}" role="img" aria-label="{escape(label)}">',
    ]
    parts.extend(
        f'<line x1="{chart.left}" x2="{chart.right}" y1="{tick.y}" y2="{tick.y}" stroke="{GRID_COLOUR}"/>'
        f'<text class="axis" x="{chart.left - 5:g}" y="{tick.y}" dy="3" text-anchor="end">'
        f"{escape(tick.items)}</text>"
        f'<text class="axis" x="{chart.right + 5:g}" y="{tick.y}" dy="3">{escape(tick.seconds)}</text>'
        for tick in chart.ticks
    )
    for bar in chart.bars:
        colour = FAILED_COLOUR if bar.failed else BAR_COLOUR
        parts.append(
            f'<a href="{escape(run_url.format(id=bar.run_id))}"><rect x="{bar.x}" y="{bar.y}" width="{bar.width}" '
            f'height="{bar.height}" rx="2" fill="{colour}"><title>{escape(bar.title)}</title></rect></a>'
        )
    if chart.line:
        parts.append(
            f'<polyline points="{chart.line}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2" '
            'stroke-linejoin="round"/>'
        )
    for x, y, title in chart.dots:
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="2.6" fill="#fff" stroke="{LINE_COLOUR}" stroke-width="1.6">'
            f"<title>{escape(title)}</title></circle>"
        )
    parts.append(
        f'<text class="axis" x="{chart.left}" y="{chart.height}" dy="-4">{escape(chart.first_label)}</text>'
        f'<text class="axis" x="{chart.right}" y="{chart.height}" dy="-4" text-anchor="end">'
        f"{escape(chart.last_label)}</text></svg>"
    )
    return "".join(parts)
