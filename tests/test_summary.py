"""`xunbao summary`: the year across every dekad, and month by month, as workbook and PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.config import load
from pipeline.ledger import Ledger
from pipeline.ledger.records import Snapshot
from tests.test_cli import TRUTH, make_config, xunbao


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("summary")
    config = make_config(folder)
    text = config.read_text(encoding="utf-8").replace("end: 2015-12-31", "end: 2015-10-31")
    config.write_text(text, encoding="utf-8")  # a shorter campaign: a quicker test
    # the campaign's last dekad: its run writes the year's summary by itself
    first = xunbao(config, "run", "--period", "2015-10-30", "--no-send")
    assert first.returncode == 0, first.stderr
    assert (folder / "out" / "summary-2015" / "summary.pdf").stat().st_size > 0
    return config


def load_config(path: Path):
    return load(path).config


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


@pytest.mark.slow
def test_year_summary_per_dekad(ran: Path) -> None:
    # Two circulars issued: both summoned 马边县, the second named it before the whole city.
    with Ledger(ran.parent / "data" / "xunbao.sqlite") as ledger:
        for number, (period, escalated) in enumerate(
            [("2015-09-20", []), ("2015-09-30", ["马边县"])]
        ):
            named = {"summoned": ["马边县", "沐川县"], "escalated": escalated}
            ledger.add_version(
                period,
                1,
                f"f{number}",
                Snapshot.of_json(named),
                "",
                f"乐工组〔2015〕{number}号",
                None,
            )
    result = xunbao(ran, "summary", "--year", "2015")
    assert result.returncode == 0, result.stderr
    assert "2015 年逐旬汇总（截至 2015-10-30" in result.stdout
    folder = ran.parent / "out" / "summary-2015"
    sheet = load_workbook(folder / "summary.xlsx").active
    assert sheet is not None
    header = [c.value for c in sheet[3]]
    dekads = ["9月上旬", "9月中旬", "9月下旬", "10月上旬", "10月中旬", "10月下旬"]
    assert header[4:10] == dekads and header[-4:] == [
        "完成率",
        "比2014年增长",
        "约谈次数",
        "全市通报次数",
    ]
    rows = {r[1]: r for r in sheet.iter_rows(min_row=4, values_only=True) if r[1]}
    latest: dict[str, int] = {}
    for t in sorted((t for t in TRUTH if t["outcome"] == "counted"), key=lambda t: t["file"]):
        latest[t["unit"]] = t["value"]
    # 市中区: 1203 at 9-10, 2650 from 9-20 on; its 2014 base 20541
    assert rows["市中区"][4:10] == (1203, 2650, 2650, 2650, 2650, 2650)
    assert rows["市中区"][11] == pytest.approx(2650 / 20541)
    assert rows["合计"][9] == sum(latest.values())
    assert rows["金口河区"][6] == 300  # arrived on the 21st: counted from 9月下旬
    ranks = [r[0] for r in sheet.iter_rows(min_row=4, values_only=True) if isinstance(r[0], int)]
    assert ranks == sorted(ranks)
    # As the issued circulars said, not as each dekad's rules would have had it.
    assert (rows["马边县"][12], rows["马边县"][13]) == (2, 1)
    assert (rows["沐川县"][12], rows["沐川县"][13]) == (2, None)
    assert rows["合计"][12] == 4
    # The seed's merged cell: 14207 is the whole 市属基层 block's base, not 峨眉山景区管委会's.
    assert rows["峨眉山景区管委会"][2] is None and rows["峨眉山景区管委会"][11] is None
    block = rows["市属基层（合计）"]
    city_level = [u.name for u in load_config(ran).units if u.section == "市属基层"]
    assert block[2] == 14207 and block[3] == 2000
    assert block[9] == sum(latest.get(u, 0) for u in city_level)
    assert block[11] == pytest.approx(block[9] / 14207)
    text = pdf_text(folder / "summary.pdf")
    assert "2015年乐山市农民工入会集中行动完成情况汇总" in text
    assert "比2014年农民工会员数324,039名增长" in text and "全市目标为增长22.0%" in text
    assert "全市完成率与时间进度" in text and "马边县" in text


@pytest.mark.slow
def test_monthly_roll_up(ran: Path) -> None:
    result = xunbao(ran, "summary", "--monthly")
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(ran.parent / "out" / "summary-2015-monthly" / "summary.xlsx").active
    assert sheet is not None
    header = [c.value for c in sheet[3]]
    assert header[4:6] == ["9月", "10月"] and header[6] == "完成率"


def test_no_period_in_that_year(ran: Path) -> None:
    result = xunbao(ran, "summary", "--year", "2014")
    assert result.returncode == 2 and "2014 年没有已截止的旬" in result.stderr
