"""The rendered 2015-09-20 circular measured with pdfplumber against GB/T 9704-2012."""

from __future__ import annotations

import itertools
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pdfplumber
import pytest

from pipeline import config
from pipeline.errors import RenderError
from pipeline.outputs import circular, fonts
from pipeline.standings import table as standings
from pipeline.standings.periods import Period

ROOT = Path(__file__).resolve().parent.parent
CONFIG = config.load(ROOT / "config.yaml").config
MM = 72 / 25.4
PITCH = 28.95  # pt: 22 lines in 225 mm
MEASURES = "1. 召开专题会议，制定实施方案；2. 深入建筑工地开展集中宣传；3. 建立实名登记台账。"


def reports() -> pd.DataFrame:
    """Two dekads for every unit but two; 沐川县 and 嘉阳集团 never report."""
    rows = []
    for n, unit in enumerate(
        u for u in CONFIG.reporting_units if u.name not in {"沐川县", "嘉阳集团"}
    ):
        for period, share in (("2015-09-10", 0.3), ("2015-09-20", 0.45)):
            value = round(unit.target * share * (0.2 + (n % 7) / 3))
            arrival = pd.Timestamp(f"{period} 09:{n:02d}", tz="Asia/Shanghai").tz_convert("UTC")
            rows.append(
                {
                    "id": len(rows) + 1,
                    "unit": unit.name,
                    "period": period,
                    "value": value,
                    "measures": MEASURES,
                    "arrival": arrival,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def table() -> standings.Standings:
    return standings.compute(CONFIG, reports(), Period.parse("2015-09-20"))


@pytest.fixture(scope="module")
def rendered(table, tmp_path_factory) -> Path:
    # No skip when fonts are missing: scripts/setup.sh installs them, and a circular
    # without them is exactly the failure this file exists to catch.
    pdf, _ = circular.write(circular.compose(CONFIG, table), tmp_path_factory.mktemp("c"))
    return pdf


@pytest.fixture(scope="module")
def pages(rendered):
    with pdfplumber.open(rendered) as pdf:
        yield [(page.width, page.height, page.chars, page.lines + page.rects) for page in pdf.pages]


def lines_of(chars, size: float) -> dict[float, list[dict]]:
    """Characters of one font size grouped by baseline (distance from the top, in pt)."""
    lines: dict[float, list[dict]] = defaultdict(list)
    for ch in chars:
        if abs(ch["size"] - size) < 0.05:
            lines[round(ch["matrix"][5], 1)].append(ch)
    return {round(842 - y, 1): sorted(chs, key=lambda c: c["x0"]) for y, chs in lines.items()}


def text_of(chs) -> str:
    return "".join(c["text"] for c in chs)


def test_page_is_a4(pages):
    for width, height, *_ in pages:
        assert width == pytest.approx(210 * MM, abs=1) and height == pytest.approx(297 * MM, abs=1)


def test_text_block_left_top_and_width(pages):
    # Pages after the first that open with a body line show the text block's top edge.
    opening = [
        p[2] for p in pages[1:] if abs(min(p[2], key=lambda c: c["top"])["size"] - 16) < 0.05
    ]
    assert opening
    for chars in opening:
        first = min(lines_of(chars, 16.0))  # baseline of the page's first line, from the top
        # The em box (0.88 em above the baseline) sits centred in its 28.95 pt line.
        block_top = first - 0.88 * 16 - (PITCH - 16) / 2
        assert block_top / MM == pytest.approx(37, abs=1)
    lefts = [chs[0]["matrix"][4] for p in pages for chs in lines_of(p[2], 16.0).values()]
    assert min(lefts) / MM == pytest.approx(28, abs=1)
    rights = [chs[-1]["x1"] for p in pages for chs in lines_of(p[2], 16.0).values()]
    assert max(rights) / MM <= 28 + 156 + 1


def test_twenty_two_lines_of_twenty_eight_characters(pages):
    full_lines = 0
    for _, _, chars, _ in pages:
        body = lines_of(chars, 16.0)
        baselines = sorted(body)
        assert len(baselines) <= 22
        steps = [b - a for a, b in itertools.pairwise(baselines)]
        if steps:
            # The line pitch; a 黑体 heading's baseline sits ~0.2 pt off the 宋体 one's.
            assert min(steps) == pytest.approx(PITCH, abs=0.3)
        for chs in body.values():
            cjk = re.fullmatch(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+", text_of(chs))
            if cjk and chs[0]["matrix"][4] / MM == pytest.approx(28, abs=0.5):
                assert len(chs) <= 28
                full_lines += len(chs) == 28
    assert full_lines >= 2


def test_masthead_title_and_font_sizes(pages):
    _, height, chars, graphics = pages[0]
    mark = [c for c in chars if c["size"] > 30]
    assert text_of(mark) == CONFIG.circular.mark
    for ch in mark:
        red, green, blue = ch["non_stroking_color"]
        assert red > 0.8 and green < 0.2 and blue < 0.2
    mark_top = (height - mark[0]["matrix"][5]) - 0.88 * mark[0]["size"]
    assert mark_top / MM == pytest.approx(37 + 35, abs=1)
    title = lines_of(chars, 22.0)
    assert text_of(next(iter(title.values()))) == CONFIG.circular.title
    assert all("Bold" in c["fontname"] for chs in title.values() for c in chs)
    docno = next(chs for chs in lines_of(chars, 16.0).values() if "〔2015〕" in text_of(chs))
    rule = [
        g
        for g in graphics
        if g["width"] / MM == pytest.approx(156, abs=1)
        and isinstance(g["non_stroking_color"], tuple)
        and g["non_stroking_color"][0] > 0.8
    ]
    assert rule, "red rule under the document number"
    docno_bottom = 842 - docno[0]["matrix"][5] + 0.12 * 16
    assert (rule[0]["top"] - docno_bottom) / MM == pytest.approx(4, abs=1)


def test_headings_use_heiti_and_kaiti(pages):
    chars = [c for p in pages for c in p[2]]
    heading = [c for c in chars if c["text"] == "总" and "Sans" in c["fontname"]]
    kai = [c for c in chars if c["text"] == "（" and "UKai" in c["fontname"]]
    assert heading and kai


def test_page_numbers(pages):
    for number, (_, _, chars, _) in enumerate(pages, start=1):
        foot = lines_of(chars, 14.0)
        baseline = max(foot)
        assert text_of(foot[baseline]) == f"— {number} —"
        assert (baseline - 262 * MM) / MM == pytest.approx(9, abs=2)  # dash 7 mm under the block
        left, right = foot[baseline][0]["x0"] / MM, foot[baseline][-1]["x1"] / MM
        if number % 2:
            assert right == pytest.approx(210 - 26 - 14 / MM, abs=1.5)  # odd: right, one char in
        else:
            assert left == pytest.approx(28 + 14 / MM, abs=1.5)  # even: left, one char in


def test_colophon_ends_on_the_last_page_bottom_edge(pages):
    _, _, chars, graphics = pages[-1]
    text = text_of(sorted(chars, key=lambda c: (round(c["top"]), c["x0"])))
    assert "抄送：" in text and "印发" in text
    bottom = max(g["bottom"] for g in graphics if g["width"] / MM > 150)
    assert bottom / MM == pytest.approx(37 + 225, abs=1)


def test_every_unit_and_the_totals_are_in_the_text(rendered, table):
    with pdfplumber.open(rendered) as pdf:
        text = "".join(page.extract_text() for page in pdf.pages)
    flat = re.sub(r"\s+", "", text)
    for unit in CONFIG.reporting_units:
        assert unit.name in flat
    assert "71,000" in flat and f"{table.completed:,}" in flat
    assert "在全市工会进行通报的单位" in flat
    for unit in table.escalated:
        assert unit.unit in flat
    assert flat.count("排名单位目标任务数") >= 2  # the header row repeats on the next page


def test_fonts_embedded_as_subsets_and_nothing_else(rendered):
    listing = subprocess.run(["pdffonts", str(rendered)], capture_output=True, text=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:]]
    names = {re.sub(r"^[A-Z]{6}\+", "", row[0]) for row in rows}
    assert names == {
        "Noto-Serif-CJK-SC",
        "Noto-Serif-CJK-SC-Bold",
        "Noto-Sans-CJK-SC",
        "AR-PL-UKai-CN",
    }
    assert all(
        re.match(r"^[A-Z]{6}\+", row[0]) and row[-5:-2] == ["yes", "yes", "yes"] for row in rows
    )
    assert rendered.stat().st_size <= 300 * 1024


def test_one_family_per_role_and_escaped_excerpts(table):
    hostile = standings.Example("市中区", 0.5, "<script>alert(1)</script>开展宣传。")
    composed = circular.compose(
        CONFIG, table.__class__(**{**table.__dict__, "examples": (hostile,)})
    )
    assert "<script>alert" not in composed.html and "&lt;script&gt;" in composed.html
    families = re.findall(r"font-family: ([^;]+);", composed.html)
    assert families and all(re.fullmatch(r'"[^",]+"', f) for f in families)
    assert composed.fonts["heading"] == "Noto Sans CJK SC"


def test_missing_fonts_name_the_package():
    with pytest.raises(RenderError, match="fonts-noto-cjk"):
        fonts.choose("正文", ["不存在的字体甲", "不存在的字体乙"])


@pytest.mark.parametrize(
    ("n", "text"), [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (120, "一百二十")]
)
def test_numerals_for_sections_and_streaks(n: int, text: str) -> None:
    assert circular.numeral(n) == text
