"""The tables behind the circular: standings.xlsx for ops staff, standings.json for tools.

standings.xlsx opens in Excel/WPS with a bold frozen header, set widths and percentages:
one sheet for every unit (named after the period), one for the supervision groups, one
per group listing its units, and in a multi-metric campaign one per metric.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .standings import Standing, Standings

_COLUMNS = {
    "rank": "排名",
    "unit": "单位",
    "section": "类别",
    "target": "目标任务数",
    "completed": "已完成",
    "rate": "完成率",
    "reported": "本旬报送",
    "status_label": "情况",
    "lagging_streak": "连续末位旬数",
    "summoned": "约谈",
    "summoned_streak": "连续约谈次数",
    "escalated": "全市通报",
}
_YES_NO = ("本旬报送", "约谈", "全市通报")
_WIDTHS = {
    "单位": 18,
    "督导组": 10,
    "联系单位": 60,
    "约谈单位": 30,
    "类别": 10,
    "目标任务数": 12,
    "已完成": 10,
    "完成率": 10,
    "连续末位旬数": 14,
    "连续约谈次数": 14,
}
_PERCENT = {"完成率"}
_THOUSANDS = {"目标任务数", "已完成"}


def write_json(standings: Standings, path: Path) -> Path:
    text = json.dumps(standings.to_json(), ensure_ascii=False, indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_xlsx(standings: Standings, path: Path) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        rows = [*standings.units, *standings.others]  # 其他: its own row, no rank or status
        _sheet(writer, str(standings.period), _units_frame(rows, standings), True)
        if standings.groups:
            _sheet(writer, "督导组", _groups_frame(standings), False)
            by_name = {s.unit: s for s in standings.units}
            for group in standings.groups:
                members = [by_name[u] for u in group.units if u in by_name]
                _sheet(writer, group.name, _units_frame(members, None), False)
        for i, metric in enumerate(standings.metrics, start=1):
            frame = _units_frame(metric.units, metric)
            if not metric.by_unit:  # a city-wide target: the units' figures only
                frame = frame[["单位", "已完成", "本旬报送"]]
            name = metric.metric.name if metric.metric else ""
            _sheet(writer, f"指标{i}_{name}", frame, True)
    return path


def _units_frame(units: list[Standing], totals: Standings | None) -> pd.DataFrame:
    rows = [{key: getattr(s, key) for key in _COLUMNS} for s in units]
    frame = pd.DataFrame(rows, columns=list(_COLUMNS)).rename(columns=_COLUMNS)
    for column in _YES_NO:
        frame[column] = frame[column].map({True: "是", False: "否"})
    frame["排名"] = frame["排名"].map(lambda rank: rank or "")
    if totals is not None:
        total = {
            "单位": "合计",
            "目标任务数": totals.target,
            "已完成": totals.completed,
            "完成率": totals.rate,
        }
        frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return frame


def _groups_frame(standings: Standings) -> pd.DataFrame:
    rows: list[dict[str, Any]] = [
        {
            "督导组": g.name,
            "组长": "、".join(g.leaders),
            "联系单位": "、".join(g.units),
            "目标任务数": g.target,
            "已完成": g.completed,
            "完成率": g.rate,
            "本旬报送单位数": g.reported,
            "约谈单位": "、".join(g.summoned),
        }
        for g in standings.groups
    ]
    return pd.DataFrame(rows)


def _sheet(writer: pd.ExcelWriter, name: str, frame: pd.DataFrame, bold_last: bool) -> None:
    """Write `frame` and format it: bold filled frozen header, widths, number formats."""
    title = re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
    frame.to_excel(writer, sheet_name=title, index=False)
    sheet = writer.sheets[title]
    sheet.freeze_panes = "A2"
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for index, column in enumerate(frame.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = _WIDTHS.get(str(column), 12)
        number = "0.0%" if column in _PERCENT else "#,##0" if column in _THOUSANDS else None
        for cell in sheet[letter][1:]:
            if number:
                cell.number_format = number
            if column in ("联系单位", "约谈单位"):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    if bold_last and sheet.max_row > 1:
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
