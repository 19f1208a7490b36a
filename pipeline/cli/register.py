"""`xunbao messages` (the register of every message, with the figures recorded by hand
beside the mails) and `xunbao records` (the figures recorded by hand; withdraw one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .. import job
from .. import review as review_actions
from ..ledger import MessageRecord
from ..records import ReportRecord
from .common import by_option, config_option, console, load_config, parse_period, print_table


def _message_row(r: MessageRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": "mail",
        "message_id": r.message_id,
        "from": r.sender,
        "subject": r.subject,
        "arrival": r.arrival,
        "outcome": r.outcome,
        "unit": r.unit,
        "value": r.value,
        "period": r.period,
        "reason": r.reason + (f"；已被第 {r.superseded_by} 号邮件取代" if r.superseded_by else ""),
    }


def _record_row(r: ReportRecord) -> dict[str, Any]:
    withdrawn = f"；已于 {r.withdrawn_at} 撤回" if r.withdrawn_at else ""
    return {
        "id": f"R{r.id}",
        "kind": "record",
        "message_id": "",
        "from": "手工录入",
        "subject": "",
        "arrival": r.arrival,
        "outcome": "withdrawn" if r.withdrawn_at else "counted",
        "unit": r.unit,
        "value": r.value,
        "period": r.period,
        "reason": f"手工录入：{r.note}{withdrawn}",
    }


@click.command()
@config_option
@click.option("--period", help="只列出该旬（YYYY-MM-DD）的邮件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def messages(config_path: Path, period: str | None, as_json: bool) -> None:
    """收件登记簿：每封邮件及其处理结果，手工录入的数字（编号 R…）列在其旁。"""
    config = load_config(config_path)
    chosen = parse_period(config, period)
    wanted = str(chosen) if chosen else None
    with job.open_ledger(config) as ledger:
        rows = [_message_row(r) for r in ledger.messages(period=wanted)]
        rows += [_record_row(r) for r in ledger.recorded_reports() if wanted in (None, r.period)]
    rows.sort(key=lambda r: (r["arrival"] or "", str(r["id"])))
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


@click.group(invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def records(ctx: click.Context, config_path: Path, as_json: bool) -> None:
    """手工录入的数字：列出；撤回（withdraw）。"""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        found = ledger.recorded_reports()
        actors = {a.report: a.actor for a in ledger.actions() if a.kind == "record"}
    rows = [
        {
            "id": r.id,
            "unit": r.unit,
            "period": r.period,
            "value": r.value,
            "note": r.note,
            "by": actors.get(r.id, ""),
            "withdrawn_at": r.withdrawn_at,
        }
        for r in found
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print("没有手工录入的数字。")
        return
    columns = {
        "id": "编号",
        "unit": "单位",
        "period": "所属旬",
        "value": "数字",
        "note": "备注",
        "by": "录入人",
        "withdrawn_at": "撤回时间",
    }
    print_table(f"手工录入（{len(rows)} 条）", rows, columns)


@records.command("withdraw")
@click.argument("number", type=int)
@click.option("--reason", required=True, help="撤回理由")
@by_option
@config_option
def records_withdraw(number: int, reason: str, by: str | None, config_path: Path) -> None:
    """撤回一条手工录入的数字（记录保留，标为已撤回）。"""
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        gone = review_actions.withdraw(ledger, number, reason, by=by)
    console.print(
        f"已撤回第 {number} 号手工录入：{gone.unit} {gone.value}（{gone.period}）。"
        f"如该旬通报已发出，运行 xunbao reissue --period {gone.period} 发送更正。",
        highlight=False,
    )
