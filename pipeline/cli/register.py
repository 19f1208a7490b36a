"""`xunbao messages`: the register of every message and its outcome."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import job
from .. import register as register_rows
from .common import config_option, load_config, parse_period, print_table


@click.command()
@config_option
@click.option("--period", help="只列出该旬（YYYY-MM-DD）的邮件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def messages(config_path: Path, period: str | None, as_json: bool) -> None:
    """收件登记簿：每封邮件及其处理结果。"""
    config = load_config(config_path)
    chosen = parse_period(period)
    with job.open_ledger(config) as ledger:
        found = register_rows.rows(ledger, period=str(chosen) if chosen else None)
    # The JSON keeps its old key "from" for the sender.
    rows = [
        {("from" if k == "sender" else k): v for k, v in register_rows.as_dict(r).items()}
        for r in found
    ]
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
