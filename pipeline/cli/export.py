"""`--xlsx FILE` of `messages` and `review`: the full rows, as a printable workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import sheets
from ..config import Config

_MARKS = {"review": "review"}


def write_register(config: Config, rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    columns = [
        sheets.Column("编号", 7),
        sheets.Column(f"到达时间（{config.schedule.timezone}）", 19),
        sheets.Column("发件人", 26),
        sheets.Column("主题", 30, wrap=True),
        sheets.Column("结果", 8),
        sheets.Column("单位", 16),
        sheets.Column(f"数字（{config.campaign.measure}）", 10, sheets.THOUSANDS),
        sheets.Column("所属旬", 12),
        sheets.Column("说明", 48, wrap=True),
    ]
    table = [
        [
            r["id"],
            r["arrival_local"],
            r["from"],
            r["subject"],
            r["outcome_name"],
            r["unit"] or "",
            r["value"],
            r["period"] or "",
            r["reason"],
        ]
        for r in rows
    ]
    marks = [_MARKS.get(r["outcome"]) for r in rows]
    sheet = sheets.Sheet(
        name="登记簿",
        title=f"{config.campaign.name}　{title}",
        subtitle=f"{config.circular.department}　共 {len(rows)} 封",
        columns=columns,
        rows=table,
        marks=marks,
        note=sheets.legend(marks),
    )
    return sheets.write_workbook(path, [sheet])
