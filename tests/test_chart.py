"""The chart reads at a glance at any data: legend, labels clear of the time-progress line,
a lone outlier cut with its value written, bars in the order given (the table's)."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest

from pipeline.outputs.chart import DIGIT, FONT, clear_of, rate_chart, scale_for, trend_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def progress_x(root: ET.Element) -> float:
    dashed = [e for e in root.iter(f"{SVG}line") if e.get("stroke-dasharray")]
    return float(dashed[0].get("x1") or 0)  # the first dashed line is the chart's, not legend's


def value_labels(root: ET.Element) -> list[tuple[float, float, str]]:
    """(left, right, text) of every value label like 12.5%."""
    found = []
    for e in root.iter(f"{SVG}text"):
        text = e.text or ""
        if re.fullmatch(r"\d+\.\d%", text):
            x, width = float(e.get("x") or 0), len(text) * DIGIT
            left = x - width if e.get("text-anchor") == "end" else x
            found.append((left, left + width, text))
    return found


ROWS = [
    ("市建设工会", 1.05, "completed"),
    ("井研县", 0.521, "on_track"),
    ("夹江县", 0.132, "on_track"),
    ("乐电公司", 0.125, "lagging"),
    ("市交通工会", 0.10, "lagging"),
    ("嘉华集团", 0.0, "missing"),
]


def test_legend_names_every_colour_in_use() -> None:
    texts = [e.text for e in parse(rate_chart(ROWS, 0.162, "serif")).iter(f"{SVG}text")]
    for name in ("已完成", "推进中", "末位", "未报送"):
        assert name in texts
    assert "时间进度" in texts


def test_the_legend_fits_the_text_block_with_every_colour() -> None:
    rows = [*ROWS, ("马边县", 0.0, "pending")]
    root = parse(rate_chart(rows, 0.162, "serif"))
    width = float(root.get("width", "0").removesuffix("pt"))
    legend_y = max(float(e.get("y") or 0) for e in root.iter(f"{SVG}text"))
    entries = [e for e in root.iter(f"{SVG}text") if float(e.get("y") or 0) == legend_y]
    assert [e.text for e in entries] == ["已完成", "推进中", "末位", "未报送", "待核实", "时间进度"]
    last = entries[-1]
    assert float(last.get("x") or 0) + FONT * len(last.text or "") <= width


@pytest.mark.parametrize("expected", [0.05, 0.10, 0.125, 0.13, 0.162, 0.5, 0.52, 1.0])
def test_no_label_is_struck_by_the_progress_line(expected: float) -> None:
    root = parse(rate_chart(ROWS, expected, "serif"))
    line = progress_x(root)
    labels = value_labels(root)
    assert len(labels) == len(ROWS)
    for left, right, text in labels:
        assert not left - 1 <= line <= right + 1, (text, left, right, line)


def test_a_lone_outlier_is_cut_and_its_value_written() -> None:
    rows = [("市中区", 20.0, "on_track"), *ROWS]  # 20000 typed for 200
    assert scale_for([r for _, r, _ in rows], 0.162) == pytest.approx(1.2)
    root = parse(rate_chart(rows, 0.162, "serif"))
    assert "2000.0%" in [text for _, _, text in value_labels(root)]
    bars = [float(e.get("width") or 0) for e in root.iter(f"{SVG}rect") if e.get("height") == "6.0"]
    # the outlier's bar stops at the axis end (120 %), the 105 % bar keeps its length
    assert bars[0] == pytest.approx(bars[1] * 1.2 / 1.05, rel=0.01)
    assert scale_for([1.3, 1.25, 0.5], 0.2) == pytest.approx(1.4)  # no outlier: nothing cut


def test_bars_keep_the_table_order_and_mail_text_is_escaped() -> None:
    rows = [("<b>甲</b>", 0.5, "on_track"), ("乙", 0.9, "on_track")]
    svg = rate_chart(rows, 0.2, "serif")
    names = [
        e.text for e in parse(svg).iter(f"{SVG}text") if e.get("text-anchor") == "end" and e.text
    ]
    assert names[:2] == ["<b>甲</b>", "乙"] and "<b>" not in svg


def _polyline(root: ET.Element, dashed: bool) -> list[tuple[float, float]]:
    line = next(e for e in root.iter(f"{SVG}polyline") if bool(e.get("stroke-dasharray")) == dashed)
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.get("points", "").split())]


def test_clear_of_sees_a_line_through_a_label() -> None:
    rising = [(0.0, 100.0), (100.0, 0.0)]  # y falls (the line rises) 1 pt per pt
    assert not clear_of(rising, 45.0, 20.0, 52.0)  # the line runs through 45..65 at y 35..55
    assert clear_of(rising, 0.0, 20.0, 70.0)  # under the line: it is at y 80..100 there
    assert clear_of(rising, 60.0, 20.0, 70.0)  # above it: y 20..40
    assert clear_of(rising, -30.0, 25.0, 100.0)  # left of where the line begins


@pytest.mark.parametrize(
    "rates",
    [
        [0.143, 0.433, *[0.437] * 10],  # the sample year: flat after 9月中旬, overtaken
        [0.02 * k for k in range(1, 13)],  # always behind
        [0.1 * k for k in range(1, 13)],  # always ahead
    ],
)
def test_trend_labels_are_clear_of_the_dashed_line_and_the_axis(rates: list[float]) -> None:
    expected = [(k + 1) / 12 for k in range(12)]
    labels = [f"{9 + k // 3}月{'上中下'[k % 3]}旬" for k in range(12)]
    root = parse(trend_chart(labels, rates, expected, "serif"))
    dashed = _polyline(root, True)
    axis = max(
        float(e.get("x") or 0) for e in root.iter(f"{SVG}text") if e.get("text-anchor") == "end"
    )
    values = [e for e in root.iter(f"{SVG}text") if re.fullmatch(r"\d+\.\d%", e.text or "")]
    assert len(values) == len(rates)  # 12 dekads leave room for every rate
    for e in values:
        x, y, width = float(e.get("x") or 0), float(e.get("y") or 0), len(e.text or "") * DIGIT
        left = {"end": x - width, "middle": x - width / 2}.get(e.get("text-anchor") or "", x)
        assert clear_of(dashed, left, width, y), (e.text, x, y)
        assert left > axis, e.text  # clear of the y-axis labels, which end at `axis`


def test_a_crowded_trend_writes_every_other_rate_without_overlaps() -> None:
    rates = [0.01 * k for k in range(36)]  # a whole year of dekads
    root = parse(trend_chart([f"第{k}旬" for k in range(36)], rates, rates[::-1], "serif"))
    spans = sorted(
        (float(e.get("x") or 0), float(e.get("y") or 0), len(e.text or "") * DIGIT)
        for e in root.iter(f"{SVG}text")
        if re.fullmatch(r"\d+\.\d%", e.text or "")
    )
    assert 12 <= len(spans) < 36
    for (x0, y0, w0), (x1, y1, _) in itertools.pairwise(spans):
        assert x0 + w0 <= x1 or abs(y0 - y1) >= FONT, (x0, x1)
