"""`xunbao messages`: the register of every message and its outcome."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..config import Config
from ..ledger import open_ledger
from ..periods import local_text
from .common import (
    OUTCOME_NAMES,
    Shown,
    config_option,
    console,
    load_config,
    parse_period,
    print_table,
)


def register_rows(config: Config, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ledger's rows as people read them: local times, Chinese outcomes, full reasons."""
    zone = config.schedule.zone
    return [
        {
            "id": r["id"],
            "message_id": r["message_id"],
            "from": r["sender"],
            "subject": r["subject"],
            "arrival": (
                datetime.fromisoformat(r["arrival"]).astimezone(zone).isoformat()
                if r["arrival"]
                else None
            ),
            "arrival_local": local_text(r["arrival"], config.schedule),
            "outcome": r["outcome"],
            "outcome_name": OUTCOME_NAMES.get(r["outcome"], r["outcome"]),
            "unit": r["unit"],
            "value": r["value"],
            "period": r["period"],
            "superseded_by": r.get("superseded_by"),
            "reason": r["reason"]
            + (f"；已被第 {r['superseded_by']} 号邮件取代" if r.get("superseded_by") else ""),
        }
        for r in rows
    ]


def compact(row: dict[str, Any], measure: str = "") -> dict[str, Any]:
    """Short forms for an 80-column terminal: month-day times and periods, and a counted
    message's reason without the unit and figure its own columns already show."""
    said = f"计入 {row['unit']}：{row['value']} {measure}"
    reason = row["reason"]
    if row["outcome"] == "counted" and reason.startswith(said):
        reason = reason.removeprefix(said).strip().removeprefix("（").replace("）；", "；", 1)
        reason = reason.removesuffix("）") if reason.count("（") < reason.count("）") else reason
    if row["superseded_by"]:
        reason = f"已被第 {row['superseded_by']} 号取代；" + reason.split("；已被第")[0]
    when, dekad = row["arrival_local"][5:], (row["period"] or "")[5:]
    return row | {"when": when, "dekad": dekad, "reason": reason}


@click.command()
@config_option
@click.option("--period", help="只列出该旬（YYYY-MM-DD）的邮件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.option("--xlsx", type=click.Path(path_type=Path), help="另存为 Excel 表格（完整内容）")
def messages(config_path: Path, period: str | None, as_json: bool, xlsx: Path | None) -> None:
    """收件登记簿：每封邮件及其处理结果。"""
    config = load_config(config_path)
    chosen = parse_period(period)
    with open_ledger(config) as ledger:
        rows = register_rows(config, ledger.messages(period=str(chosen) if chosen else None))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if xlsx is not None:
        from .export import write_register

        write_register(
            config, rows, xlsx, "收件登记簿" + (f"（{chosen.label()}）" if chosen else "")
        )
        console.print(f"已导出 {len(rows)} 封邮件的登记到 {xlsx}", highlight=False)
        return
    columns = [
        Shown("id", "编号", justify="right"),
        Shown("when", "到达时间"),
        Shown("outcome_name", "结果"),
        Shown("unit", "单位"),
        Shown("value", "数字", justify="right"),
        Shown("dekad", "所属旬"),
        Shown("reason", "说明", fill=True),  # one line each: full text in --xlsx, review show
    ]
    zone, measure = config.schedule.timezone, config.campaign.measure
    title = f"收件登记簿（{len(rows)} 封；数字单位：{measure}；时间为 {zone}）"
    print_table(title, [compact(r, measure) for r in rows], columns)
