"""Line charts drawn as SVG on the server: no chart library, no script needed.

Every bucket has an invisible full-height band whose `<title>` lists each series'
value there, so hovering anywhere over a time shows its numbers (a browser tooltip;
the page's script only restyles it). Colours come from CSS classes `s0`…`s7`, so the
theme decides them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 12, 10, 24
MAX_SERIES = 8
# Point markers only while they stay readable; past this the line alone is drawn.
_MAX_MARKERS = 120


@dataclass(frozen=True, slots=True)
class Series:
    """A named line; `values[i]` belongs to the chart's `xs[i]` (None: no data)."""

    name: str
    values: Sequence[float | None]


def line_chart(
    xs: Sequence[float],
    series: Sequence[Series],
    *,
    label: str,
    fmt: Callable[[float], str],
    time_fmt: str = "%H:%M",
    whole: bool = False,
) -> Markup:
    """An SVG line chart of `series` over the times `xs` (epoch ms, ascending).

    `label` names the chart for screen readers; `fmt` formats values for the axis and
    tooltips; `time_fmt` (strftime, UTC) formats the times. With `whole` (counts), the
    y axis ticks fall on whole numbers only.
    """
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">'
    ]
    values = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    if not xs or not values:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            "no data in this range</text></svg>"
        )
        return Markup("".join(parts))
    top = whole_ceiling(max(values)) if whole else nice_ceiling(max(values))
    x0, x1 = xs[0], xs[-1]

    def x_at(t: float) -> float:
        return _LEFT + (plot_w / 2 if x1 == x0 else (t - x0) / (x1 - x0) * plot_w)

    def y_at(v: float) -> float:
        return _TOP + plot_h - (v / top * plot_h if top else 0.0)

    for i in range(5):  # horizontal grid and y labels
        v = top * i / 4
        y = y_at(v)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(v))}</text>"
        )
    for i in _label_indices(len(xs), 6):
        parts.append(
            f'<text class="axis" x="{x_at(xs[i]):.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
            f"{escape(_time(xs[i], time_fmt))}</text>"
        )
    for n, s in enumerate(series[:MAX_SERIES]):
        parts.extend(_line(s, xs, x_at, y_at, f"s{n}"))
    parts.extend(_hover_bands(xs, series[:MAX_SERIES], x_at, fmt, time_fmt, plot_h))
    parts.append("</svg>")
    return Markup("".join(parts))


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above `value` (1 for nothing)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def whole_ceiling(value: float) -> float:
    """A top for four ticks of whole numbers at or above `value` (4 for up to 4)."""
    step = math.ceil(nice_ceiling(value) / 4) if value > 4 else 1
    while step * 4 < value:
        step += 1
    return float(step * 4)


def _line(
    s: Series,
    xs: Sequence[float],
    x_at: Callable[[float], float],
    y_at: Callable[[float], float],
    css: str,
) -> list[str]:
    """A polyline per run of values (a None breaks the line), markers when few."""
    parts: list[str] = []
    run: list[str] = []
    points = [(x, v) for x, v in zip(xs, s.values, strict=True)]
    present = sum(1 for _, v in points if v is not None)
    for x, v in [*points, (0.0, None)]:
        if v is None or not math.isfinite(v):
            if len(run) > 1:
                parts.append(f'<polyline class="line {css}" points="{" ".join(run)}"/>')
            elif len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(f'<circle class="dot {css}" cx="{cx}" cy="{cy}" r="2.5"/>')
            run = []
            continue
        run.append(f"{x_at(x):.1f},{y_at(v):.1f}")
    if present <= _MAX_MARKERS:
        for x, v in points:
            if v is not None and math.isfinite(v):
                parts.append(
                    f'<circle class="dot {css}" cx="{x_at(x):.1f}" cy="{y_at(v):.1f}" r="2.5"/>'
                )
    return parts


def _hover_bands(
    xs: Sequence[float],
    series: Sequence[Series],
    x_at: Callable[[float], float],
    fmt: Callable[[float], str],
    time_fmt: str,
    plot_h: float,
) -> list[str]:
    parts = []
    for i, t in enumerate(xs):
        left = (x_at(xs[i - 1]) + x_at(t)) / 2 if i else x_at(t) - 4
        right = (x_at(t) + x_at(xs[i + 1])) / 2 if i + 1 < len(xs) else x_at(t) + 4
        lines = [_time(t, time_fmt + " UTC")]
        for s in series:
            v = s.values[i]
            lines.append(f"{s.name}: {'-' if v is None else fmt(v)}")
        parts.append(
            f'<rect class="band" x="{left:.1f}" y="{_TOP}" width="{max(right - left, 1):.1f}" '
            f'height="{plot_h:.1f}"><title>{escape(chr(10).join(lines))}</title></rect>'
        )
    return parts


def _label_indices(n: int, most: int) -> list[int]:
    if n <= most:
        return list(range(n))
    step = math.ceil((n - 1) / (most - 1))
    return list(range(0, n, step))


def _time(ms: float, fmt: str) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(fmt)


# --- small trends: one value per run, in the experiments list ---------------------

SPARK_WIDTH = 120
SPARK_HEIGHT = 30
_SPARK_PAD = 4


def sparkline(
    values: Sequence[float | None],
    *,
    labels: Sequence[str],
    label: str,
    fmt: Callable[[float], str],
) -> Markup:
    """A small trend of `values`, oldest left, scaled to their own range so a change
    shows; no axes. Each point's `<title>` is its `labels[i]` and value, the last point
    is marked, and a None leaves a gap. `label` names the trend for screen readers."""
    parts = [
        f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    present = [v for v in values if v is not None and math.isfinite(v)]
    if not present:
        parts.append("</svg>")
        return Markup("".join(parts))
    low, high = min(present), max(present)
    inner_w, inner_h = SPARK_WIDTH - 2 * _SPARK_PAD, SPARK_HEIGHT - 2 * _SPARK_PAD

    step = inner_w / (len(values) - 1) if len(values) > 1 else 0.0

    def x_at(i: float) -> float:
        return _SPARK_PAD + (i * step if step else inner_w / 2)

    def y_at(v: float) -> float:
        share = (v - low) / (high - low) if high > low else 0.5
        return _SPARK_PAD + inner_h - share * inner_h

    xs = [float(i) for i in range(len(values))]
    parts.extend(_line(Series(label, values), xs, x_at, y_at, "s0"))
    last = max(i for i, v in enumerate(values) if v is not None and math.isfinite(v))
    parts.append(
        f'<circle class="dot last s0" cx="{x_at(last):.1f}" cy="{y_at(present[-1]):.1f}" r="3"/>'
    )
    for i, v in enumerate(values):  # invisible, wider targets carrying each point's title
        if v is not None and math.isfinite(v):
            parts.append(
                f'<circle class="hit" cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="6">'
                f"<title>{escape(labels[i])}: {escape(fmt(v))}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
