"""Issue 25: the seed's rules exactly (乐工发〔2015〕33号), each on the real 2015 config."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from test_config import edited, problems

from pipeline import config
from pipeline.config import Rules
from pipeline.errors import UsageError
from pipeline.intake import inputs
from pipeline.outputs import circular
from pipeline.outputs import tables as exports
from pipeline.standings import annual, periods, rules, spans
from pipeline.standings import table as standings
from pipeline.standings.periods import Period

ROOT = Path(__file__).resolve().parent.parent
CONFIG = config.load(ROOT / "config.yaml").config


# ── 1. 时间进度 over the target's year ─────────────────────────


def test_time_progress_counts_from_the_targets_year_not_from_september():
    # 2015-01-01 00:00 → 09-10 18:00 is 252.75 of the year's 365 days.
    at = standings.expected_progress(CONFIG, Period.parse("2015-09-10"))
    assert at == pytest.approx(252.75 / 365)
    # Without progress_from the old reading: from 09-01, 9.75 of 122 days (the 8.0 %).
    campaign = CONFIG.campaign.model_copy(update={"progress_from": None})
    september = CONFIG.model_copy(update={"campaign": campaign})
    assert standings.expected_progress(september, Period.parse("2015-09-10")) == pytest.approx(
        9.75 / 122
    )
    assert standings.expected_progress(CONFIG, Period.parse("2015-12-30")) == pytest.approx(
        363.75 / 365
    )


def test_progress_from_after_the_start_is_refused(tmp_path: Path):
    path = edited(tmp_path, "progress_from: 2015-01-01", "progress_from: 2015-10-01")
    [problem] = problems(path)
    assert "campaign.progress_from" in problem and "不晚于" in problem


# ── 2. 末位 are the last places by completion rate ────────────


def _table(completed: dict[str, int], reported: set[str]) -> pd.DataFrame:
    units = ["甲", "乙", "丙", "丁", "戊", "己"]
    return pd.DataFrame(
        {
            "target": [100] * len(units),
            "completed": [completed.get(u, 0) for u in units],
            "reported": [u in reported for u in units],
            "measures": [""] * len(units),
        },
        index=pd.Index(units, name="unit"),
    )


def test_lagging_are_the_last_places_even_when_ahead_of_time():
    # Everyone who reported is ahead of 20 %: the seed's 末位 are still the last three;
    # 己 did not report (未报送), 甲 has completed (never last).
    table = _table(
        {"甲": 100, "乙": 90, "丙": 40, "丁": 30, "戊": 30}, {"甲", "乙", "丙", "丁", "戊"}
    )
    classified = rules.classify(table, 0.2, Rules(lagging_count=2))
    lagging = set(classified.index[classified["status"] == "lagging"])
    assert lagging == {"丁", "戊"}  # tied at 30 %: both, and 丙 is third from the bottom
    assert classified.loc["己", "status"] == "missing"
    three = rules.classify(table, 0.2, Rules(lagging_count=3))
    assert set(three.index[three["status"] == "lagging"]) == {"丙", "丁", "戊"}
    # The stricter reading: nobody is behind 20 %, so nobody is last.
    strict = rules.classify(table, 0.2, Rules(lagging_count=3, lagging_only_behind=True))
    assert "lagging" not in set(strict["status"])
    # … and only those behind (丁 and 戊 below 35 %) are, when some are.
    strict = rules.classify(table, 0.35, Rules(lagging_count=3, lagging_only_behind=True))
    assert set(strict.index[strict["status"] == "lagging"]) == {"丁", "戊"}


def test_seed_config_names_the_last_three_on_0910():
    # The 09-10 figures: 乐电 10.0 %, 夹江 12.4 %, 五通桥 14.2 % were last.
    sent = {"乐电公司": 20, "夹江县": 797, "五通桥区": 1196, "市中区": 1500, "犍为县": 3900}
    frame = pd.DataFrame(
        [
            {
                "id": i + 1,
                "unit": unit,
                "period": "2015-09-10",
                "value": value,
                "measures": "",
                "arrival": pd.Timestamp("2015-09-10 08:00", tz="UTC"),
            }
            for i, (unit, value) in enumerate(sent.items())
        ]
    )
    table = standings.compute(CONFIG, frame, Period.parse("2015-09-10"))
    lagging = [(s.unit, round(s.rate * 100, 1)) for s in table.having("lagging")]
    assert sorted(lagging) == sorted([("乐电公司", 10.0), ("夹江县", 12.4), ("五通桥区", 14.2)])


# ── 3. 连续两次被约谈 over the issued circulars ───────────────


def _frame(sent: dict[str, dict[str, int]]) -> pd.DataFrame:
    rows = []
    for period, figures in sent.items():
        for unit, value in figures.items():
            arrival = pd.Timestamp(f"{period} 08:00", tz="Asia/Shanghai").tz_convert("UTC")
            rows.append(
                {
                    "id": len(rows) + 1,
                    "unit": unit,
                    "period": period,
                    "value": value,
                    "measures": "",
                    "arrival": arrival,
                }
            )
    return pd.DataFrame(rows)


EVERYONE = {u.name: u.target for u in CONFIG.reporting_units}


def _all_but(period: str, share: float, low: dict[str, int]) -> dict[str, dict[str, int]]:
    return {period: {u: int(t * share) for u, t in EVERYONE.items()} | low}


def test_a_circular_that_did_not_summon_ends_the_streak():
    # 五通桥区 is last on 09-20 and 10-10; its 09-30 report was held (待核实) when the 09-30
    # circular was issued and approved later. The issued 09-30 circular did not summon it.
    sent = {
        **_all_but("2015-09-20", 0.8, {"五通桥区": 100}),
        **_all_but("2015-09-30", 0.85, {"五通桥区": 200}),
        **_all_but("2015-10-10", 0.9, {"五通桥区": 300}),
    }
    frame = _frame(sent)
    issued = frozenset({"2015-09-20", "2015-09-30"})
    as_issued = {"2015-09-20": frozenset({"五通桥区"}), "2015-09-30": frozenset()}
    facts = standings.Facts(issued=issued, summons=as_issued)
    table = standings.compute(CONFIG, frame, Period.parse("2015-10-10"), facts)
    wtq = next(s for s in table.units if s.unit == "五通桥区")
    assert wtq.summoned and wtq.summoned_streak == 1 and not wtq.escalated
    # Had the 09-30 circular summoned it, 10-10 would be the third in a row: 全市通报.
    summoned = {**as_issued, "2015-09-30": frozenset({"五通桥区"})}
    again = standings.compute(
        CONFIG, frame, Period.parse("2015-10-10"), standings.Facts(issued=issued, summons=summoned)
    )
    wtq = next(s for s in again.units if s.unit == "五通桥区")
    assert wtq.summoned_streak == 3 and wtq.escalated
    # The escalation sentence names the exact count.
    html = circular.compose(CONFIG, again).html
    assert "五通桥区已连续三次被约谈" in html and "现在全市工会进行通报" in html
    # A dekad without an issued circular is not counted (nor does it break the streak).
    skipped = standings.Facts(issued=frozenset({"2015-09-20"}), summons=as_issued)
    wtq = next(
        s
        for s in standings.compute(CONFIG, frame, Period.parse("2015-10-10"), skipped).units
        if s.unit == "五通桥区"
    )
    assert wtq.summoned_streak == 2


# ── 4. the 2014 base of a group of units ──────────────────────


def test_a_base_group_is_checked(tmp_path: Path):
    assert [g.base for g in CONFIG.base_groups] == [14207]
    assert CONFIG.unit("峨眉山景区管委会").base is None
    twice = edited(
        tmp_path, "嘉阳集团, 立事达公司, 和邦集团, 嘉华集团, 其他]", "嘉阳集团, 嘉阳集团]"
    )
    [problem] = problems(twice)
    assert "base_groups[0].units[7]" in problem and "只能计入一处" in problem
    unknown = edited(tmp_path, "嘉华集团, 其他]", "嘉华集团, 其它公司]")
    assert any("其它公司 不是已登记的单位" in p for p in problems(unknown))
    own = edited(
        tmp_path,
        "{name: 市直机关工会, section: 市属基层, target: 150,",
        "{name: 市直机关工会, section: 市属基层, base: 10, target: 150,",
    )
    assert any("另有 base" in p for p in problems(own))


# ── 5. 其他 is the sum of the listed enterprises ─────────────


def test_other_is_the_sum_of_its_enterprises_latest_figures(tmp_path: Path):
    sent = {
        "2015-09-10": {"国网乐山供电公司": 100, "市中区": 1000},
        "2015-09-20": {"国网乐山供电公司": 180, "东风电机公司": 50, "市中区": 2000},
        "2015-09-30": {"市中区": 2500},
    }
    frame = _frame(sent)
    table = standings.compute(CONFIG, frame, Period.parse("2015-09-30"))
    [other] = table.others
    assert other.unit == "其他" and other.target == 600
    assert other.completed == 180 + 50  # each enterprise's latest, summed; not the last report
    assert other.parts[:2] == (("国网乐山供电公司", 180), ("东风电机公司", 50))
    assert len(other.parts) == 19  # every enterprise the seed lists under the groups
    assert table.completed == 2500 + 230
    # The enterprises are not units of the ranking and never 未报送.
    assert {"国网乐山供电公司", "东风电机公司"}.isdisjoint(s.unit for s in table.units)
    assert len(table.units) == 22
    # The xlsx shows 其他 with its members under it.
    path = exports.write_xlsx(table, tmp_path / "standings.xlsx")
    sheet = load_workbook(path).worksheets[0]
    names = [row[1] for row in sheet.iter_rows(values_only=True)]
    at = names.index("其他")
    assert names[at + 1] == "　其中：国网乐山供电公司"
    row = next(r for r in sheet.iter_rows(values_only=True) if r[1] == "　其中：东风电机公司")
    assert row[4] == 50


def test_a_part_must_name_a_bucket(tmp_path: Path):
    wrong = edited(
        tmp_path, "{name: 东风电机公司, part_of: 其他,", "{name: 东风电机公司, part_of: 市中区,"
    )
    assert any("units[" in p and "不是不单独报送的汇总单位" in p for p in problems(wrong))


# ── 6. the year's end and the final 年度 circular ─────────────


def test_a_report_sent_on_new_years_eve_counts_in_that_year():
    zone = CONFIG.schedule.zone
    late = datetime(2015, 12, 31, 21, 30, tzinfo=zone)
    assert periods.period_of(late, CONFIG.schedule) == Period.parse("2015-12-31")
    assert periods.period_of(datetime(2015, 12, 25, tzinfo=zone), CONFIG.schedule) == Period.parse(
        "2015-12-31"
    )
    after = datetime(2016, 1, 1, 0, 0, 1, tzinfo=zone)
    assert periods.period_of(after, CONFIG.schedule) == Period.parse("2016-01-10")
    assert Period.parse("2015-12-31").cutoff(CONFIG.schedule) == datetime(2016, 1, 1, tzinfo=zone)
    # Without year_end, December's last deadline is the 30th as before.
    plain = CONFIG.schedule.model_copy(update={"year_end": False})
    assert periods.period_of(late, plain) == Period.parse("2016-01-10")
    assert annual.final_period(CONFIG, 2015) == Period.parse("2015-12-31")
    assert annual.final_period(CONFIG, 2016) is None


def test_the_final_circular_is_the_years():
    sent = {"2015-12-31": {u: t for u, t in EVERYONE.items()} | {"国网乐山供电公司": 700}}
    table = standings.compute(CONFIG, _frame(sent), Period.parse("2015-12-31"))
    html = circular.compose(CONFIG, table).html
    assert "关于2015年全市农民工入会集中行动完成情况的通报" in html
    assert "2015年度完成情况" in html
    # 70400 + 其他 700 = 71100; against 2014's 324039: 21.9 %, short of 22 %.
    assert "全市新增农民工入会71,100名" in html and "增长21.9%" in html and "尚未达到" in html
    # 市属基层: the units' targets 1400 + 其他 700 = 2100 over 14207.
    assert "市属基层（2014年基数合并计算）完成2,100名，增长14.8%" in html
    september = standings.compute(CONFIG, _frame(sent), Period.parse("2015-09-10"))
    assert "年度完成情况" not in circular.compose(CONFIG, september).html


# ── 8. monthly and ad-hoc circulars ──────────────────────────


def _monthly() -> config.Config:
    every = CONFIG.circular.model_copy(update={"every": "month"})
    return CONFIG.model_copy(update={"circular": every})


def test_a_monthly_circular_aggregates_the_months_dekads():
    cfg = _monthly()
    sent = {
        "2015-09-10": {"市中区": 3500, "犍为县": 8000},
        "2015-09-20": {"市中区": 3900},
        "2015-09-30": {"五通桥区": 6000},
        "2015-10-10": {"犍为县": 9000},
    }
    frame = _frame(sent)
    month = standings.compute(
        cfg, frame[frame["period"] <= "2015-09-30"], Period.parse("2015-09-30")
    )
    units = {s.unit: s for s in month.units}
    # Each sent a form in some dekad of September: reported; 沙湾区 sent none: 未报送.
    assert units["市中区"].reported and units["犍为县"].reported and units["五通桥区"].reported
    assert units["市中区"].completed == 3900 and units["犍为县"].completed == 8000
    assert units["沙湾区"].status == "missing"
    assert month.reported_count == 3
    html = circular.compose(cfg, month).html
    assert "（2015年9月）" in html and "本月应报送单位22个，按时报送3个" in html
    assert "本旬" not in html
    # The dekads inside the month have no circular of their own.
    assert spans.wanted(cfg, Period.parse("2015-09-30"))
    assert not spans.wanted(cfg, Period.parse("2015-09-20"))
    assert spans.counted(cfg, Period.parse("2015-10-31"), frozenset()) == [
        Period.parse("2015-10-31")
    ]
    # The dekad circular (the default) of 09-30 counts only 09-30's forms.
    dekad = standings.compute(
        CONFIG, frame[frame["period"] <= "2015-09-30"], Period.parse("2015-09-30")
    )
    assert dekad.reported_count == 1


def test_an_ad_hoc_circular_counts_what_arrived_by_its_date():
    sent = {"2015-09-20": {"市中区": 3500, "犍为县": 8000}}
    frame = _frame(sent)
    early = pd.Timestamp("2015-09-24 10:00", tz="Asia/Shanghai").tz_convert("UTC")
    late = pd.Timestamp("2015-09-26 10:00", tz="Asia/Shanghai").tz_convert("UTC")
    extra = pd.DataFrame(
        [
            {
                "id": 90,
                "unit": "市中区",
                "period": "2015-09-30",
                "value": 4000,
                "measures": "",
                "arrival": early,
            },
            {
                "id": 91,
                "unit": "沙湾区",
                "period": "2015-09-30",
                "value": 3000,
                "measures": "",
                "arrival": late,
            },
        ]
    )
    table = standings.compute(CONFIG, pd.concat([frame, extra]), Period.parse("2015-09-25"))
    units = {s.unit: s for s in table.units}
    assert units["市中区"].completed == 4000  # arrived on the 24th: in
    assert units["沙湾区"].completed == 0  # arrived on the 26th: after the circular's date
    assert units["犍为县"].reported  # reported in the last closed dekad
    assert table.completed == 4000 + 8000
    html = circular.compose(CONFIG, table).html
    assert "（2015年9月25日）" in html and "本期应报送单位" in html
    assert inputs.period(CONFIG, "2015-09-25", adhoc=True) == Period.parse("2015-09-25")
    with pytest.raises(UsageError):
        inputs.period(CONFIG, "2015-09-25")


# ── 7. 实名登记: the rate, and the units that never sent a list ─


def test_real_name_rate_and_the_units_without_a_list(tmp_path: Path):
    sent = {"2015-09-10": {"市中区": 3900, "犍为县": 8000, "沙湾区": 0}}
    facts = standings.Facts(registered={"市中区": 3000})
    table = standings.compute(CONFIG, _frame(sent), Period.parse("2015-09-10"), facts)
    units = {s.unit: s for s in table.units}
    assert units["市中区"].registered_rate == pytest.approx(3000 / 3900)
    assert units["犍为县"].registered_rate is None
    assert [s.unit for s in table.unlisted] == ["犍为县"]  # 沙湾区 claims nobody yet
    html = circular.compose(CONFIG, table).html
    assert "实名登记 3,000 名（76.9%）" in html
    assert "共3,000名，占新增11,900名的25.2%。犍为县未附实名登记名单" in html
    sheet = load_workbook(exports.write_xlsx(table, tmp_path / "s.xlsx")).worksheets[0]
    rows = {r[1]: r for r in sheet.iter_rows(values_only=True)}
    head = next(r for r in sheet.iter_rows(values_only=True) if r[1] == "单位")
    at, rate = head.index("实名登记"), head.index("实名登记率")
    assert rows["市中区"][at] == 3000 and rows["市中区"][rate] == pytest.approx(3000 / 3900)
    assert rows["犍为县"][at] == "未附名单"


def test_an_enterprise_a_group_lists_but_nobody_registered_is_pointed_out(tmp_path: Path):
    renamed = edited(tmp_path, "{name: 斯堪纳公司, part_of: 其他,", "{name: 斯堪纳, part_of: 其他,")
    warnings = config.load(renamed).warnings
    assert any(
        "groups[1].others[3]" in w and "斯堪纳公司 没有在 units 中登记" in w for w in warnings
    )
    assert not any("没有在 units 中登记" in w for w in config.load(ROOT / "config.yaml").warnings)


def test_run_makes_an_ad_hoc_circular_only_when_asked_for_one(tmp_path: Path):
    import subprocess
    import sys

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("path: inbox_samples", f"path: {inbox}"), encoding="utf-8")
    run = [sys.executable, "-m", "pipeline", "--config", str(path), "run", "--no-send"]
    typo = subprocess.run([*run, "--period", "2015-09-25"], capture_output=True, text=True)
    assert typo.returncode == 2 and "不是报送截止日" in typo.stderr  # a typo stays a typo
    asked = subprocess.run(
        [*run, "--period", "2015-09-25", "--adhoc"], capture_output=True, text=True
    )
    assert asked.returncode == 0, asked.stderr
    page = (tmp_path / "out" / "2015-09-25" / "circular.html").read_text(encoding="utf-8")
    assert "（2015年9月25日）" in page and "本期应报送单位22个" in page
