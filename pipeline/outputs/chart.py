"""Completion rate by unit against the expected-progress line, as an SVG string.

Plain SVG (no matplotlib): WeasyPrint draws it as vectors with the circular's own fonts, so
the chart adds no raster data and no extra typeface to the PDF. It must read at a glance
whatever the figures: a legend names the bar colours; a value label that the dashed
time-progress line would strike moves to the line's far side; one unit far beyond the
others (a typo such as 20000 for 200) does not squash every other bar — its bar is cut
with a break mark and its true rate written inside it. Bars come in the table's order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

from pipeline.standings.rules import STATUS_LABELS

WIDTH = 442.0  # pt: the 156 mm text block
ROW = 11.0  # pt per unit
LABEL = 96.0  # pt reserved for unit names
TOP, BOTTOM = 18.0, 34.0  # room for the line's label above, the axis and legend below
FONT = 8
DIGIT = FONT * 0.55  # width of a digit, "." or "%" in the serif faces (≈ half an em)
PROGRESS = "时间进度"  # the dashed line's legend entry
OUTLIER = 1.5  # the top rate is cut when it exceeds the next one by this factor

BAR = {
    "completed": "#4d4d4d",
    "on_track": "#9a9a9a",
    "lagging": "#c8161d",
    "missing": "#e8a3a6",
    "pending": "#c9b27c",
}


def scale_for(rates: Sequence[float], expected: float) -> float:
    """The axis maximum, a multiple of 20 %: past every bar but a lone outlier."""
    ordered = sorted(rates, reverse=True)
    top = ordered[0] if ordered else 0.0
    if len(ordered) > 1 and top > 1.0 and top > OUTLIER * max(ordered[1], 1.0):
        top = max(ordered[1], 1.0) * 1.1  # room past the next bar; the outlier is cut
    return math.ceil(max(1.0, expected, top) * 5 - 1e-9) / 5


def rate_chart(
    rows: Sequence[tuple[str, float, str]], expected: float, family: str, red: str = "#e60012"
) -> str:
    """rows: (unit, rate, status) in the table's order; `family` is a CSS family name."""
    scale_max = scale_for([rate for _, rate, _ in rows], expected)
    plot = WIDTH - LABEL - 34.0
    height = TOP + ROW * len(rows) + BOTTOM

    def x(rate: float) -> float:
        return LABEL + plot * min(rate, scale_max) / scale_max

    ex = x(expected)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}pt" height="{height:.1f}pt" '
        f'viewBox="0 0 {WIDTH} {height:.1f}" font-family={quoteattr(family)} '
        f'font-size="{FONT}">'
    ]
    parts += _grid(scale_max, x, height)
    for i, (unit, rate, status) in enumerate(rows):
        parts.append(_bar(i, unit, rate, status, x, ex, scale_max))
    parts.append(
        f'<line x1="{ex:.1f}" y1="{TOP - 4}" x2="{ex:.1f}" y2="{height - BOTTOM + 2:.1f}" '
        f'stroke="{red}" stroke-width="1.2" stroke-dasharray="4 2"/>'
        f'<text x="{ex:.1f}" y="{TOP - 7}" text-anchor="middle" fill="{red}">'
        f"时间进度 {expected * 100:.1f}%</text>"
    )
    parts += _legend(height, red, {status for _, _, status in rows})
    parts.append("</svg>")
    return "".join(parts)


def _bar(
    i: int,
    unit: str,
    rate: float,
    status: str,
    x: Callable[[float], float],
    ex: float,
    scale_max: float,
) -> str:
    y = TOP + i * ROW
    baseline = y + ROW * 0.72
    end = x(rate)
    value = f"{rate * 100:.1f}%"
    wide = len(value) * DIGIT
    left = end + 3
    if left - 2 <= ex <= left + wide + 2:  # the dashed line would strike the label
        left = ex + 3
    parts = [
        f'<text x="{LABEL - 4}" y="{baseline:.1f}" text-anchor="end">{escape(unit)}</text>'
        f'<rect x="{LABEL}" y="{y + 2.5:.1f}" width="{max(end - LABEL, 0.4):.1f}" '
        f'height="{ROW - 5:.1f}" fill="{BAR.get(status, "#9a9a9a")}"/>'
    ]
    if rate > scale_max:  # cut: a white break near the bar's end, the value inside the bar
        cut = end - 10
        parts.append(
            f'<path d="M{cut:.1f} {y + 1.5:.1f} l3 {ROW - 3:.1f} M{cut + 3:.1f} {y + 1.5:.1f} '
            f'l3 {ROW - 3:.1f}" stroke="#fff" stroke-width="1.6"/>'
            f'<rect x="{cut - wide - 5:.1f}" y="{y + 1.5:.1f}" width="{wide + 4:.1f}" '
            f'height="{ROW - 3:.1f}" fill="#fff"/>'
            f'<text x="{cut - 3:.1f}" y="{baseline:.1f}" text-anchor="end">{value}</text>'
        )
    else:
        parts.append(f'<text x="{left:.1f}" y="{baseline:.1f}">{value}</text>')
    return "".join(parts)


def _grid(scale_max: float, x: Callable[[float], float], height: float) -> list[str]:
    parts = []
    steps = round(scale_max / 0.2)
    base = height - BOTTOM
    for k in range(steps + 1):
        rate = k * 0.2
        gx = x(rate)
        parts.append(
            f'<line x1="{gx:.1f}" y1="{TOP - 2}" x2="{gx:.1f}" y2="{base:.1f}" '
            f'stroke="#d0d0d0" stroke-width="0.5"/>'
            f'<text x="{gx:.1f}" y="{base + 11:.1f}" text-anchor="middle">{rate * 100:.0f}%</text>'
        )
    parts.append(
        f'<line x1="{LABEL}" y1="{base:.1f}" x2="{WIDTH - 30:.1f}" y2="{base:.1f}" '
        'stroke="#000" stroke-width="0.6"/>'
    )
    return parts


def _legend(height: float, red: str, present: set[str]) -> list[str]:
    """One swatch per bar colour in use, then the dashed line, under the axis; short names
    so that all five and the line fit the text block (the caption says what the line is)."""
    y = height - 9
    left = LABEL
    parts = []
    for status, colour in BAR.items():
        if status not in present:
            continue
        parts.append(
            f'<rect x="{left:.1f}" y="{y - 6:.1f}" width="9" height="6" fill="{colour}"/>'
            f'<text x="{left + 12:.1f}" y="{y:.1f}">{STATUS_LABELS[status]}</text>'
        )
        left += 12 + FONT * len(STATUS_LABELS[status]) + 10
    parts.append(
        f'<line x1="{left:.1f}" y1="{y - 3:.1f}" x2="{left + 14:.1f}" y2="{y - 3:.1f}" '
        f'stroke="{red}" stroke-width="1.2" stroke-dasharray="4 2"/>'
        f'<text x="{left + 18:.1f}" y="{y:.1f}">{PROGRESS}</text>'
    )
    return parts


def trend_chart(
    labels: Sequence[str],
    rates: Sequence[float],
    expected: Sequence[float],
    family: str,
    red: str = "#e60012",
) -> str:
    """The city's completion rate at each dekad (or month), solid, against the time
    progress, dashed red. Each rate is written where neither line crosses it: the first left
    of its point, the last right of it, the others above or below, thinned when crowded."""
    height, left, right, top, bottom, pad = 170.0, 40.0, 16.0, 14.0, 36.0, 30.0
    plot_h = height - top - bottom
    scale_max = scale_for([*rates, *expected], 0.0)
    step = (WIDTH - left - right - 2 * pad) / max(len(labels) - 1, 1)

    def point(i: int, rate: float) -> tuple[float, float]:
        return left + pad + i * step, top + plot_h * (1 - min(rate, scale_max) / scale_max)

    done = list(map(point, range(len(rates)), rates))
    dashed = list(map(point, range(len(expected)), expected))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}pt" height="{height}pt" '
        f'viewBox="0 0 {WIDTH} {height}" font-family={quoteattr(family)} font-size="{FONT}">'
    ]
    for k in range(round(scale_max / 0.2) + 1):
        y = top + plot_h * (1 - k * 0.2 / scale_max)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#d0d0d0" '
            f'stroke-width="0.5"/><text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">'
            f"{k * 20}%</text>"
        )
    for i in _thinned(len(labels), step, 44.0):  # a period's name needs ~44 pt
        parts.append(
            f'<text x="{point(i, 0)[0]:.1f}" y="{top + plot_h + 12:.1f}" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
        )
    for line, style in (
        (dashed, f'stroke="{red}" stroke-width="1.2" stroke-dasharray="4 2"'),
        (done, 'stroke="#000" stroke-width="1.4"'),
    ):
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
        parts.append(f'<polyline points="{coords}" fill="none" {style}/>')
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8"/>' for x, y in done]
    parts += _rate_labels(rates, done, dashed, step)
    y = height - 8
    parts.append(
        f'<line x1="{left}" y1="{y - 3}" x2="{left + 14}" y2="{y - 3}" stroke="#000" '
        f'stroke-width="1.4"/><text x="{left + 18}" y="{y}">全市完成率</text>'
        f'<line x1="{left + 80}" y1="{y - 3}" x2="{left + 94}" y2="{y - 3}" stroke="{red}" '
        f'stroke-width="1.2" stroke-dasharray="4 2"/>'
        f'<text x="{left + 98}" y="{y}">时间进度</text></svg>'
    )
    return "".join(parts)


def _thinned(count: int, step: float, room: float) -> list[int]:
    """Indexes to label when each label needs `room` pt: every k-th, and always the last."""
    every = max(1, math.ceil(room / step)) if step else 1
    last = count - 1
    return [i for i in range(count) if (i % every == 0 and last - i >= every) or i == last]


def _rate_labels(
    rates: Sequence[float],
    done: Sequence[tuple[float, float]],
    dashed: Sequence[tuple[float, float]],
    step: float,
) -> list[str]:
    parts = []
    room = max(len(f"{rate * 100:.1f}%") for rate in rates) * DIGIT + 2
    for i in _thinned(len(rates), step, room):
        (cx, cy), text = done[i], f"{rates[i] * 100:.1f}%"
        span = len(text) * DIGIT
        if i in (0, len(rates) - 1):  # beside the point, where no line runs
            x0, y = (cx - 4 - span if i == 0 else cx + 4), cy + 3
        else:
            x0 = cx - span / 2
            below = i < len(dashed) and cy > dashed[i][1]
            offsets = (11.0, -4.0, 17.0, -10.0) if below else (-4.0, 11.0, -10.0, 17.0)
            fits = [o for o in offsets if clear_of(dashed, x0, span, cy + o)]
            fits = [o for o in fits if clear_of(done, x0, span, cy + o)] or fits
            y = cy + (fits or offsets)[0]
        parts.append(f'<text x="{x0:.1f}" y="{y:.1f}">{text}</text>')
    return parts


def clear_of(line: Sequence[tuple[float, float]], x0: float, span: float, baseline: float) -> bool:
    """Whether a label from x0, span wide, on this baseline keeps clear of the polyline."""
    x0, x1 = max(x0, line[0][0]), min(x0 + span, line[-1][0])
    if x0 > x1:
        return True  # the label lies beyond the line's ends

    def y_at(x: float) -> float:
        for (ax, ay), (bx, by) in itertools.pairwise(line):
            if ax <= x <= bx:
                return ay + (by - ay) * (x - ax) / ((bx - ax) or 1.0)
        return line[-1][1]

    ys = [y_at(x0), y_at(x1), *(y for x, y in line if x0 <= x <= x1)]
    return max(ys) < baseline - FONT - 1 or min(ys) > baseline + 2
