"""Completion rate by unit against the expected-progress line, as an inline SVG string.

Plain SVG (no matplotlib): WeasyPrint draws it as vectors with the circular's own fonts, so
the chart adds no raster data and no extra typeface to the PDF.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

WIDTH = 442.0  # pt: the 156 mm text block
ROW = 11.0  # pt per unit
LABEL = 96.0  # pt reserved for unit names
TOP, BOTTOM = 18.0, 20.0
FONT = 8
CLIP = 2.0  # the scale never runs past 200 %

BAR = {
    "completed": "#4d4d4d",
    "on_track": "#9a9a9a",
    "lagging": "#c8161d",
    "missing": "#e8a3a6",
    "pending": "#c9b27c",
}


def rate_chart(
    rows: Sequence[tuple[str, float, str]], expected: float, family: str, red: str = "#e60012"
) -> str:
    """rows: (unit, rate, status) in display order; `family` is a CSS family name."""
    top_rate = max([1.0, expected, *(rate for _, rate, _ in rows)])
    # Next multiple of 20 %, at most CLIP: an outlier's bar stops there, its value written.
    scale_max = min(math.ceil(top_rate * 5) / 5, CLIP)
    plot = WIDTH - LABEL - 34.0
    height = TOP + ROW * len(rows) + BOTTOM

    def x(rate: float) -> float:
        return LABEL + plot * min(rate, scale_max) / scale_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}pt" height="{height:.1f}pt" '
        f'viewBox="0 0 {WIDTH} {height:.1f}" font-family={quoteattr(family)} '
        f'font-size="{FONT}">'
    ]
    parts += _grid(scale_max, x, height)
    for i, (unit, rate, status) in enumerate(rows):
        y = TOP + i * ROW
        baseline = y + ROW * 0.72
        parts.append(
            f'<text x="{LABEL - 4}" y="{baseline:.1f}" text-anchor="end">{escape(unit)}</text>'
            f'<rect x="{LABEL}" y="{y + 2.5:.1f}" width="{max(x(rate) - LABEL, 0.4):.1f}" '
            f'height="{ROW - 5:.1f}" fill="{BAR.get(status, "#9a9a9a")}"/>'
            f'<text x="{x(rate) + 3:.1f}" y="{baseline:.1f}">{rate * 100:.1f}%</text>'
        )
    ex = x(expected)
    parts.append(
        f'<line x1="{ex:.1f}" y1="{TOP - 4}" x2="{ex:.1f}" y2="{height - BOTTOM + 2:.1f}" '
        f'stroke="{red}" stroke-width="1.2" stroke-dasharray="4 2"/>'
        f'<text x="{ex:.1f}" y="{TOP - 7}" text-anchor="middle" fill="{red}">'
        f"时间进度 {expected * 100:.1f}%</text>"
    )
    parts.append("</svg>")
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
