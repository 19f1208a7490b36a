"""`xunbao messages`: the register of every message and its outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .. import job
from .common import config_option, load_config, parse_period, print_table


def _register_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "message_id": r["message_id"],
            "from": r["sender"],
            "subject": r["subject"],
            "arrival": r["arrival"],
            "outcome": r["outcome"],
            "unit": r["unit"],
            "value": r["value"],
            "period": r["period"],
            "reason": r["reason"]
            + (f"；已被第 {r['superseded_by']} 号邮件取代" if r.get("superseded_by") else ""),
        }
        for r in rows
    ]


@click.command()
@config_option
@click.option("--period", help="只列出该旬（YYYY-MM-DD）的邮件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def messages(config_path: Path, period: str | None, as_json: bool) -> None:
    """收件登记簿：每封邮件及其处理结果。"""
    config = load_config(config_path)
    chosen = parse_period(period)
    with job.open_ledger(config) as ledger:
        rows = _register_rows(ledger.messages(period=str(chosen) if chosen else None))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    columns = {
        "id": "编号",
        "arrival": "到达时间",
        "from": "发件人",
        "outcome": "结果",
        "unit": "单位",
        "value": "数字",
        "period": "所属旬",
        "reason": "说明",
    }
    print_table("收件登记簿", rows, columns)
