"""The tables behind the circular: standings.xlsx for people, standings.json for tools.

standings.xlsx is made to be printed and read (layout in `sheets`): one sheet of every unit
(named after the period), one of the supervision groups, one per group listing its units,
and in a multi-metric campaign one per metric — every sheet sorted by rank, lagging,
missing and pending rows tinted, each with its 合计.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline import atomic
from pipeline.outputs import sheets
from pipeline.outputs.sheets import PERCENT, THOUSANDS, Column
from pipeline.standings.rules import rate_of
from pipeline.standings.table import Standing, Standings

_YES = {True: "是", False: ""}
_MARKED = ("lagging", "missing", "pending", "completed")


def write_json(standings: Standings, path: Path) -> Path:
    text = json.dumps(standings.to_json(), ensure_ascii=False, indent=2)
    with atomic.written(path) as temporary:
        temporary.write_text(text + "\n", encoding="utf-8")
    return path


def write_xlsx(standings: Standings, path: Path, issuer: str = "", measure: str = "") -> Path:
    label = f"{standings.period.label()}（截至 {standings.period}）"
    subtitle = "　".join(
        part
        for part in (
            issuer,
            f"时间进度 {standings.expected:.1%}",
            f"数字单位：{measure}" if measure else "",
        )
        if part
    )

    def titled(name: str, what: str) -> sheets.Sheet:
        return sheets.Sheet(name, f"{standings.campaign}　{what}　{label}", [], subtitle=subtitle)

    everyone = [*standings.units, *standings.others]  # 其他: its own row, no rank or status
    pages = [_units(titled(str(standings.period), "各单位完成情况"), everyone, standings)]
    if standings.groups:
        pages.append(_groups(titled("督导组", "各督导组联系单位完成情况"), standings))
        by_name = {s.unit: s for s in standings.units}
        for group in standings.groups:
            members = [by_name[u] for u in group.units if u in by_name]
            pages.append(_units(titled(group.name, f"{group.name}联系单位"), members, None))
    for i, metric in enumerate(standings.metrics, start=1):
        name = metric.metric.name if metric.metric else ""
        page = titled(f"指标{i}_{name}", name)
        pages.append(
            _units(page, metric.units, metric) if metric.by_unit else _figures(page, metric)
        )
    return sheets.write_workbook(path, pages)


_UNIT_COLUMNS = [
    Column("排名", 6, center=True),
    Column("单位", 18),
    Column("类别", 10),
    Column("目标任务数", 11, THOUSANDS),
    Column("已完成", 10, THOUSANDS),
    Column("完成率", 9, PERCENT),
    Column("本旬报送", 9, center=True),
    Column("情况", 9, center=True),
    Column("连续末位旬数", 8, center=True),
    Column("约谈", 6, center=True),
    Column("连续约谈次数", 8, center=True),
    Column("全市通报", 8, center=True),
    Column("实名登记", 9, THOUSANDS),
    Column("实名登记率", 9, PERCENT),
]


def _units(page: sheets.Sheet, units: list[Standing], totals: Standings | None) -> sheets.Sheet:
    ranked = sorted(units, key=lambda s: (s.status == "bucket", s.rank, s.unit))
    rows: list[list[object]] = [
        [
            s.rank or "—",
            s.unit,
            s.section,
            s.target,
            s.completed,
            s.rate,
            "是" if s.reported else "否",
            s.status_label,
            s.lagging_streak or "",
            _YES[s.summoned],
            s.summoned_streak or "",
            _YES[s.escalated],
            "未附名单" if s.registered is None and s.completed else s.registered or "",
            "" if s.registered_rate is None else s.registered_rate,
        ]
        for s in ranked
    ]
    marks: list[str | None] = [s.status if s.status in _MARKED else None for s in ranked]
    for i, s in reversed(list(enumerate(ranked))):  # a bucket's enterprises under it
        at = i + 1
        rows[at:at] = [
            ["", f"　其中：{name}", "", "", n, "", "", "", "", "", "", "", "", ""]
            for name, n in s.parts
        ]
        marks[at:at] = [None] * len(s.parts)
    target = totals.target if totals else sum(s.target for s in units)
    completed = totals.completed if totals else sum(s.completed for s in units)
    # 应报送: the units that must report; 其他 has its own row but reports nothing itself
    due = [s for s in units if s.status != "bucket"]
    reported = sum(s.reported for s in due)
    rows.append(
        [
            "",
            "合计",
            "",
            target,
            completed,
            rate_of(completed, target),
            f"{reported}/{len(due)}",
            "",
            "",
            sum(s.summoned for s in units) or "",
            "",
            sum(s.escalated for s in units) or "",
            sum(s.registered or 0 for s in units) or "",
            "",
        ]
    )
    marks.append("total")
    page.columns, page.rows, page.marks = _UNIT_COLUMNS, rows, marks
    page.note = sheets.legend(marks) + (
        "完成率 = 已完成 ÷ 目标任务数；排名按完成率从高到低；"
        "实名登记 = 报表所附名单中身份证号有效、去重后的人数（全年累计）；"
        "实名登记率 = 实名登记 ÷ 已完成；未附名单 = 报了新增人数但从未附实名登记名单。"
    )
    return page


def _groups(page: sheets.Sheet, standings: Standings) -> sheets.Sheet:
    ranked = sorted(standings.groups, key=lambda g: -g.rate)
    page.columns = [
        Column("排名", 6, center=True),
        Column("督导组", 10),
        Column("组长", 14, wrap=True),
        Column("联系单位", 44, wrap=True),
        Column("目标任务数", 11, THOUSANDS),
        Column("已完成", 10, THOUSANDS),
        Column("完成率", 9, PERCENT),
        Column("本旬报送单位数", 9, center=True),
        Column("约谈单位", 24, wrap=True),
    ]
    page.rows = [
        [
            rank,
            g.name,
            "、".join(g.leaders),
            "、".join(g.units),
            g.target,
            g.completed,
            g.rate,
            g.reported,
            "、".join(g.summoned),
        ]
        for rank, g in enumerate(ranked, start=1)
    ]
    page.note = "排名按各组联系单位的合计完成率从高到低；一个单位同属两组时两组都计入。"
    return page


def _figures(page: sheets.Sheet, metric: Standings) -> sheets.Sheet:
    """A metric with a city-wide target only: each unit's figure, largest first."""
    ranked = sorted(metric.units, key=lambda s: (-s.completed, s.unit))
    page.columns = [
        Column("单位", 18),
        Column("已完成", 10, THOUSANDS),
        Column("本旬报送", 9, center=True),
    ]
    rows: list[list[object]] = [[s.unit, s.completed, "是" if s.reported else "否"] for s in ranked]
    page.rows = [*rows, ["合计", sum(s.completed for s in ranked), ""]]
    page.marks = [None] * len(ranked) + ["total"]
    target = metric.target
    page.note = f"全市目标 {target:,}，已完成 {metric.completed:,}。" if target else ""
    return page
