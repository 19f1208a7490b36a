"""The seed's rules, period by period, on small hand-built tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from pipeline.config import Rules
from pipeline.standings.rules import (
    Streaks,
    classify,
    excerpt,
    expected_share,
    good_examples,
    group_figures,
)

UNITS = {"甲": 100, "乙": 100, "丙": 100, "丁": 100, "戊": 100}


def period(completed: dict[str, int], reported: set[str], measures: dict[str, str] | None = None):
    """One period's table: every unit of UNITS with its cumulative figure."""
    measures = measures or {}
    return pd.DataFrame(
        {
            "target": [UNITS[u] for u in UNITS],
            "completed": [completed.get(u, 0) for u in UNITS],
            "reported": [u in reported for u in UNITS],
            "measures": [measures.get(u, "") for u in UNITS],
        },
        index=pd.Index(list(UNITS), name="unit"),
    )


def statuses(table: pd.DataFrame) -> dict[str, str]:
    return {str(u): str(s) for u, s in table["status"].items()}


def test_expected_share_is_time_elapsed_and_clamped():
    tz = timezone(timedelta(hours=8))
    start, end = datetime(2015, 9, 1, tzinfo=tz), datetime(2016, 1, 1, tzinfo=tz)
    assert expected_share(start, end, datetime(2015, 9, 1, tzinfo=tz)) == 0.0
    mid = expected_share(start, end, datetime(2015, 11, 1, tzinfo=tz))
    assert mid == pytest.approx(61 / 122)
    assert expected_share(start, end, datetime(2016, 3, 1, tzinfo=tz)) == 1.0
    assert expected_share(start, end, datetime(2015, 8, 1, tzinfo=tz)) == 0.0


def test_four_periods_summons_escalation_and_reset():
    rules = Rules(lagging_count=1, escalate_after=2)
    streaks = Streaks()

    # Period 1: 乙 is the lowest of the units behind 25 %; 丁 did not report.
    p1 = classify(
        period({"甲": 50, "乙": 10, "丙": 20, "丁": 30, "戊": 100}, {"甲", "乙", "丙", "戊"}),
        0.25,
        rules,
    )
    assert statuses(p1) == {
        "甲": "on_track",
        "乙": "lagging",
        "丙": "on_track",
        "丁": "missing",
        "戊": "completed",
    }
    assert set(p1.index[p1["behind"]]) == {"乙", "丙"}
    assert set(p1.index[p1["summoned"]]) == {"乙", "丁"}
    streaks = streaks.advance(p1)
    assert streaks.escalated(rules) == set()
    assert streaks.summoned["乙"] == 1 and streaks.lagging["乙"] == 1

    # Period 2: 乙 lags again → escalated; 丁 reports and is fine → its streak resets; 甲 misses.
    p2 = classify(
        period({"甲": 50, "乙": 20, "丙": 30, "丁": 60, "戊": 100}, {"乙", "丙", "丁", "戊"}),
        0.5,
        rules,
    )
    assert statuses(p2) == {
        "甲": "missing",
        "乙": "lagging",
        "丙": "on_track",
        "丁": "on_track",
        "戊": "completed",
    }
    streaks = streaks.advance(p2)
    assert streaks.escalated(rules) == {"乙"}
    assert streaks.summoned == {"甲": 1, "乙": 2, "丙": 0, "丁": 0, "戊": 0}
    assert streaks.lagging["乙"] == 2

    # Period 3: 乙 has a good period → reset; 丙 becomes the lowest behind; 甲 misses again.
    p3 = classify(
        period({"甲": 50, "乙": 90, "丙": 40, "丁": 80, "戊": 100}, {"乙", "丙", "丁", "戊"}),
        0.75,
        rules,
    )
    assert statuses(p3)["乙"] == "on_track" and statuses(p3)["丙"] == "lagging"
    streaks = streaks.advance(p3)
    assert streaks.escalated(rules) == {"甲"}
    assert streaks.summoned["乙"] == 0 and streaks.lagging["乙"] == 0

    # Period 4: everyone reports and nobody is behind: nobody summoned, nobody escalated.
    p4 = classify(period({u: 100 for u in UNITS}, set(UNITS)), 1.0, rules)
    assert set(p4["status"]) == {"completed"} and not p4["summoned"].any()
    streaks = streaks.advance(p4)
    assert streaks.escalated(rules) == set()
    assert set(streaks.summoned.values()) == {0}


def test_escalation_count_and_summon_kinds_are_configurable():
    only_missing = Rules(lagging_count=1, summon=["missing"], escalate_after=3)
    table = period({"甲": 50, "乙": 10, "丙": 30, "戊": 60}, {"甲", "乙", "丙", "戊"})
    streaks = Streaks()
    for _ in range(2):
        classified = classify(table, 0.5, only_missing)
        assert statuses(classified)["乙"] == "lagging"
        assert set(classified.index[classified["summoned"]]) == {"丁"}
        streaks = streaks.advance(classified)
    assert streaks.escalated(only_missing) == set()  # two in a row is not yet three
    streaks = streaks.advance(classify(table, 0.5, only_missing))
    assert streaks.escalated(only_missing) == {"丁"}


def test_lagging_takes_reporting_units_only_and_keeps_ties():
    rules = Rules(lagging_count=2)
    # 丁 (0 %, not reported) is missing and takes no lagging place; 乙 and 丙 tie at 10 %.
    table = classify(
        period({"甲": 10, "乙": 10, "丙": 10, "戊": 60}, {"甲", "乙", "丙", "戊"}), 0.5, rules
    )
    assert statuses(table) == {
        "甲": "lagging",
        "乙": "lagging",
        "丙": "lagging",
        "丁": "missing",
        "戊": "on_track",
    }
    assert table.loc["甲", "rank"] == table.loc["丙", "rank"] == 2


def test_margin_and_zero_target():
    table = period({"甲": 40, "乙": 45}, set(UNITS))
    table.loc["戊", "target"] = 0
    lenient = classify(table, 0.5, Rules(behind_margin=0.85))  # behind below 42.5 %
    assert list(lenient.index[lenient["behind"]]) == ["甲", "丙", "丁"]
    assert lenient.loc["戊", "status"] == "completed" and lenient.loc["戊", "rate"] == 1.0
    strict = classify(table, 0.5, Rules(behind_margin=1.0))
    assert bool(strict.loc["乙", "behind"])


def test_good_examples_top_rate_with_measures_this_period():
    measures = {"甲": "开展宣传。", "乙": "建立台账。", "丙": " ", "戊": "走访企业。"}
    table = period(
        {"甲": 70, "乙": 90, "丙": 95, "丁": 99, "戊": 70}, {"甲", "乙", "丙", "戊"}, measures
    )
    chosen = good_examples(classify(table, 0.5, Rules()), Rules(examples_count=2))
    assert chosen == ["乙", "戊"]  # 丙 gave no measures, 丁 did not report; 戊 < 甲 breaks the tie
    behind = good_examples(classify(table, 0.8, Rules()), Rules(examples_count=2))
    assert behind == ["乙"]  # 甲 and 戊 are behind 80 %: no example to praise


def test_excerpt_keeps_whole_sentences():
    first, second = (
        "1.召开专题会议，制定实施方案；",
        "2.深入建筑工地开展集中宣传，发放资料3000余份；",
    )
    text = first + second + "3.建立实名登记台账。"
    assert excerpt(text, 200) == text
    assert excerpt(text, len(first + second) + 2) == first + second.rstrip("；") + "……"
    assert excerpt(text, len(first + second) + 1) == first.rstrip("；") + "……"
    assert excerpt(text, 25) == "1.召开专题会议，制定实施方案……"
    long = "一句很长很长" * 10 + "。"
    assert excerpt(long, 20).endswith("……") and len(excerpt(long, 20)) <= 20
    assert excerpt("  多余\n\n空白  ", 20) == "多余空白"
    assert excerpt("宣传；   3. 登记 Word 文档", 50) == "宣传；3.登记Word文档"
    # Item numbers lose the space after them; a figure such as 2015. is left alone.
    assert excerpt("1. 宣传；2、 建会；于2015. 9月", 50) == "1.宣传；2、建会；于2015. 9月"


def test_group_figures_allow_a_unit_in_two_groups():
    table = classify(
        period({"甲": 50, "乙": 10, "丙": 20}, {"甲", "乙", "丙"}), 0.5, Rules(lagging_count=1)
    )
    groups = [("第一组", ["组长"], ["甲", "乙"]), ("第三组", [], ["乙", "丙", "不存在"])]
    first, third = group_figures(groups, table)
    assert (first.units, first.target, first.completed, first.reported) == (
        ["甲", "乙"],
        200,
        60,
        2,
    )
    assert first.rate == pytest.approx(0.3)
    assert third.units == ["乙", "丙"] and third.completed == 30
    assert first.summoned == ["乙"] and third.summoned == ["乙"]
