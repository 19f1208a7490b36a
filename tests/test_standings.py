"""Standings on the real 2015 config from hand-built ledger reports, period by period."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline import config
from pipeline.standings import table as standings
from pipeline.standings.periods import Period

ROOT = Path(__file__).resolve().parent.parent
CONFIG = config.load(ROOT / "config.yaml").config

# Cumulative figures sent in each period; a missing entry means no report that period.
SENT = {
    "2015-09-10": {"市中区": 1200, "犍为县": 400, "峨边县": 400, "高新区": 150, "嘉阳集团": 2},
    "2015-09-20": {"市中区": 2650, "犍为县": 700, "高新区": 330, "嘉阳集团": 3},
    "2015-09-30": {"市中区": 3000, "犍为县": 3300, "高新区": 330, "嘉阳集团": 4, "峨边县": 900},
}


def reports(sent: dict[str, dict[str, int]] = SENT) -> pd.DataFrame:
    rows = []
    for period, figures in sent.items():
        for i, (unit, value) in enumerate(figures.items()):
            arrival = pd.Timestamp(f"{period} 08:{i:02d}", tz="Asia/Shanghai").tz_convert("UTC")
            measures = f"{unit}召开专题会议。深入工地宣传。"
            rows.append(
                {
                    "id": len(rows) + 1,
                    "unit": unit,
                    "period": period,
                    "value": value,
                    "measures": measures,
                    "arrival": arrival,
                }
            )
    return pd.DataFrame(rows)


EVERY_PERIOD_ISSUED = standings.Facts(issued=frozenset(SENT))


def at(
    period: str,
    facts: standings.Facts = EVERY_PERIOD_ISSUED,
    cfg: config.Config = CONFIG,
    frame: pd.DataFrame | None = None,
) -> standings.Standings:
    frame = reports() if frame is None else frame
    return standings.compute(cfg, frame[frame["period"] <= period], Period.parse(period), facts)


def by_unit(table: standings.Standings) -> dict[str, standings.Standing]:
    return {s.unit: s for s in table.units}


def test_totals_and_json_contract():
    table = at("2015-09-20")
    data = table.to_json()
    assert data["period"] == "2015-09-20" and data["total"]["target"] == 71000
    assert data["total"]["completed"] == 2650 + 700 + 400 + 330 + 3
    assert len(data["units"]) == 22 and "其他" not in {u["unit"] for u in data["units"]}
    contract = {
        "unit",
        "target",
        "completed",
        "rate",
        "rank",
        "reported",
        "status",
        "lagging_streak",
    }
    assert all(contract <= set(u) for u in data["units"])
    assert {"summoned", "escalated", "summoned_streak"} <= set(data["units"][0])
    assert [g["name"] for g in data["groups"]] == ["第一组", "第二组", "第三组"]
    assert "井研县" in data["groups"][0]["units"] and "井研县" in data["groups"][2]["units"]


def test_escalation_over_three_periods():
    # Time progress runs from 2015-01-01 (69 % at 09-10); 末位 are the last three reporting
    # units by rate, behind or not (issue 25).
    first = by_unit(at("2015-09-10"))
    assert first["市中区"].status == "on_track" and not first["市中区"].summoned
    assert first["嘉阳集团"].status == "lagging" and first["嘉阳集团"].summoned
    assert first["峨边县"].status == "lagging"  # 20.1 %: third from the bottom
    assert first["沐川县"].status == "missing" and first["沐川县"].summoned_streak == 1
    assert not any(s.escalated for s in first.values())

    second = at("2015-09-20")
    units = by_unit(second)
    assert units["峨边县"].status == "missing"  # last in 09-10, silent in 09-20: two in a row
    assert units["峨边县"].summoned_streak == 2 and units["峨边县"].escalated
    assert units["嘉阳集团"].escalated and units["嘉阳集团"].lagging_streak == 2
    assert units["市中区"].status == "lagging" and not units["市中区"].escalated
    assert {s.unit for s in second.escalated} >= {"沐川县", "嘉阳集团", "犍为县", "峨边县"}

    third = by_unit(at("2015-09-30"))
    assert third["市中区"].status == "on_track" and third["市中区"].summoned_streak == 0
    assert third["峨边县"].summoned_streak == 3 and third["峨边县"].escalated
    assert third["沐川县"].summoned_streak == 3 and third["沐川县"].escalated


def test_examples_are_top_reporting_units_with_excerpts():
    table = at("2015-09-20")
    # The others reported too but are behind the year's time progress (72 %): no examples.
    assert [e.unit for e in table.examples] == ["高新区"]
    assert table.examples[0].excerpt == "高新区召开专题会议。深入工地宣传。"
    assert table.examples[0].rate == pytest.approx(330 / 319)


def test_before_the_first_deadline_everyone_is_missing():
    table = standings.compute(CONFIG, reports().iloc[0:0], Period.parse("2015-09-10"))
    assert {s.status for s in table.units} == {"missing"} and table.completed == 0


def test_streaks_count_issued_circulars_only():
    # No circular was issued for 09-10: 09-20 is the first, nobody is summoned twice in a row.
    second = at("2015-09-20", standings.Facts())
    assert by_unit(second)["嘉阳集团"].summoned_streak == 1 and not second.escalated
    # Counting every dekad (the old rule) is a setting.
    periods = CONFIG.model_copy(
        update={"rules": CONFIG.rules.model_copy(update={"streaks": "periods"})}
    )
    assert {s.unit for s in at("2015-09-20", standings.Facts(), periods).escalated} >= {"嘉阳集团"}
    # Exempting the campaign's first circular: 09-10's summons start no streak.
    exempt = CONFIG.model_copy(
        update={"rules": CONFIG.rules.model_copy(update={"count_first_circular": False})}
    )
    units = by_unit(at("2015-09-20", cfg=exempt))
    assert units["嘉阳集团"].summoned_streak == 1 and not units["嘉阳集团"].escalated


def test_a_held_report_makes_its_unit_pending_not_missing():
    facts = standings.Facts(held={"2015-09-20": frozenset({"峨边县"})}, issued=frozenset(SENT))
    table = at("2015-09-20", facts)
    ebian = by_unit(table)["峨边县"]
    assert ebian.status == "pending" and ebian.status_label == "待核实"
    assert not ebian.summoned and not ebian.escalated
    assert "峨边县" in table.to_json()["pending"]
    # 应报送 = 按时报送 + 未报送 + 待核实
    assert len(table.units) == table.reported_count + table.unreported_count + 1
    # 待核实 is not summoned: the 09-20 circular ends 峨边县's streak from 09-10 (last place),
    # so its 09-30 summons is a first one again (issue 25).
    third = by_unit(at("2015-09-30", facts))
    assert third["峨边县"].summoned_streak == 1 and not third["峨边县"].escalated


def test_other_bucket_counts_in_the_total_as_its_own_row():
    frame = pd.concat(
        [
            reports(),
            pd.DataFrame(
                [
                    {
                        "id": 99,
                        "unit": "其他",
                        "period": "2015-09-20",
                        "value": 120,
                        "measures": "",
                        "arrival": pd.Timestamp("2015-09-20 10:00", tz="UTC"),
                    }
                ]
            ),
        ]
    )
    table = at("2015-09-20", frame=frame)
    assert [(o.unit, o.target, o.completed) for o in table.others] == [("其他", 600, 120)]
    rows = [*table.units, *table.others]
    assert sum(s.completed for s in rows) == table.completed == 2650 + 700 + 400 + 330 + 3 + 120
    assert sum(s.target for s in rows) == table.target == 71000
    assert "其他" not in {s.unit for s in table.units}  # no rank, no status


def test_renamed_unit_keeps_history_and_late_unit_is_not_missing_before_it_joined():
    renamed = [
        u.model_copy(update={"name": "犍为", "aliases": ["犍为县"]}) if u.name == "犍为县" else u
        for u in CONFIG.units
    ]
    late = [
        u.model_copy(update={"since": Period.parse("2015-09-15").end}) if u.name == "沐川县" else u
        for u in renamed
    ]
    cfg = CONFIG.model_copy(update={"units": late})
    first = by_unit(at("2015-09-10", cfg=cfg))
    assert "沐川县" not in first and first["犍为"].completed == 400
    assert by_unit(at("2015-09-20", cfg=cfg))["沐川县"].status == "missing"
