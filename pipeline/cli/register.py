"""`xunbao messages`: the register of every message and its outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .. import register
from ..config import Config
from ..ledger import open_ledger
from ..periods import local_text
from .common import Shown, config_option, console, load_config, parse_period, print_table


def as_json(config: Config, found: list[register.Row]) -> str:
    """The rows for tools; the sender under its old key "from", times in the campaign zone."""
    rows = [
        {("from" if k == "sender" else k): v for k, v in register.as_dict(row).items()}
        | {"arrival": register.local_iso(row.arrival, config)}
        for row in found
    ]
    return json.dumps(rows, ensure_ascii=False, indent=2)


def compact(row: register.Row, config: Config) -> dict[str, Any]:
    """One row for an 80-column terminal: month-day times and periods, Chinese outcomes, and a
    counted message's reason without the unit and figure its own columns already show."""
    reason = row.reason
    said = f"计入 {row.unit}：{row.value} {config.campaign.measure}"
    if row.outcome == "counted" and reason.startswith(said):
        reason = reason.removeprefix(said).strip().removeprefix("（").replace("）；", "；", 1)
        reason = reason.removesuffix("）") if reason.count("（") < reason.count("）") else reason
    if "；已被第" in reason:  # the most useful part first: it is cut at the terminal's edge
        head, _, tail = reason.partition("；已被第")
        reason = f"已被第{tail}；{head}"
    return register.as_dict(row) | {
        "when": local_text(row.arrival, config.schedule)[5:],
        "outcome_name": register.OUTCOME_NAMES.get(row.outcome, row.outcome),
        "dekad": (row.period or "")[5:],
        "reason": reason,
    }


def export(config: Config, found: list[register.Row], path: Path, title: str) -> None:
    path.write_bytes(register.xlsx(found, config, title))
    console.print(f"已导出 {len(found)} 封邮件的登记到 {path}", highlight=False)


@click.command()
@config_option
@click.option("--period", help="只列出该旬（YYYY-MM-DD）的邮件")
@click.option("--json", "json_out", is_flag=True, help="以 JSON 输出")
@click.option("--xlsx", type=click.Path(path_type=Path), help="另存为 Excel 表格（完整内容）")
def messages(config_path: Path, period: str | None, json_out: bool, xlsx: Path | None) -> None:
    """收件登记簿：每封邮件及其处理结果。"""
    config = load_config(config_path)
    chosen = parse_period(period)
    with open_ledger(config) as ledger:
        found = register.rows(ledger, period=str(chosen) if chosen else None)
    if json_out:
        click.echo(as_json(config, found))
        return
    if xlsx is not None:
        export(config, found, xlsx, "收件登记簿" + (f"（{chosen.label()}）" if chosen else ""))
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
    title = f"收件登记簿（{len(found)} 封；数字单位：{measure}；时间为 {zone}）"
    print_table(title, [compact(r, config) for r in found], columns)
