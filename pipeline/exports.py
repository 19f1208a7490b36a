"""The tables behind the circular: standings.xlsx for ops staff, standings.json for tools."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .standings import Standings

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
}
_WIDTHS = {"单位": 18, "类别": 10, "目标任务数": 12, "已完成": 10, "完成率": 10, "连续末位旬数": 14}


def write_json(standings: Standings, path: Path) -> Path:
    text = json.dumps(standings.to_json(), ensure_ascii=False, indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_xlsx(standings: Standings, path: Path) -> Path:
    rows = [{key: getattr(s, key) for key in _COLUMNS} for s in standings.units]
    frame = pd.DataFrame(rows).rename(columns=_COLUMNS)
    frame["本旬报送"] = frame["本旬报送"].map({True: "是", False: "否"})
    total = {
        "单位": "合计",
        "目标任务数": standings.target,
        "已完成": standings.completed,
        "完成率": standings.rate,
    }
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    sheet_name = f"{standings.period}"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=sheet_name, index=False)
        sheet = writer.sheets[sheet_name]
        sheet.freeze_panes = "A2"
        header_fill = PatternFill("solid", fgColor="DDEBF7")
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(horizontal="center")
        for index, name in enumerate(frame.columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = _WIDTHS.get(name, 9)
            if name == "完成率":
                for cell in sheet[letter][1:]:
                    cell.number_format = "0.0%"
            elif name in ("目标任务数", "已完成"):
                for cell in sheet[letter][1:]:
                    cell.number_format = "#,##0"
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    return path
