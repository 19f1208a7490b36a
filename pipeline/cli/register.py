"""`xunbao messages`: the register of every message and its outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pipeline.clerk import review as review_actions
from pipeline.clerk import sendback
from pipeline.cli.common import config_option, load_config, parse_period, reasoned
from pipeline.cli.output import Shown, console, hint_reissue, print_table
from pipeline.config import Config
from pipeline.ledger import open_ledger
from pipeline.outputs import register
from pipeline.standings.periods import local_text


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
    """收件登记簿：每封邮件及其处理结果；手工录入的数字列在其旁。"""
    config = load_config(config_path)
    chosen = parse_period(config, period)
    wanted = str(chosen) if chosen else None
    with open_ledger(config) as ledger:
        notes = sendback.notes(config, ledger)
        found = register.rows(ledger, period=wanted, notes=notes)
        found += register.recorded(ledger, wanted)
    found.sort(key=lambda r: (r.arrival or "", r.kind, r.id))
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


@click.group(invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def records(ctx: click.Context, config_path: Path, as_json: bool) -> None:
    """手工录入的数字：列出；撤回（withdraw）。"""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(config_path)
    with open_ledger(config) as ledger:
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
    columns = [
        Shown("id", "编号", justify="right"),
        Shown("unit", "单位"),
        Shown("period", "所属旬"),
        Shown("value", "数字", justify="right"),
        Shown("note", "备注", fill=True),
        Shown("by", "录入人"),
        Shown("withdrawn_at", "撤回时间"),
    ]
    # times in the campaign's zone, as everywhere a person reads them (JSON keeps ISO)
    shown = [
        r | {"withdrawn_at": local_text(_text(r["withdrawn_at"]), config.schedule)} for r in rows
    ]
    title = f"手工录入（{len(rows)} 条；时间为 {config.schedule.timezone}）"
    print_table(title, shown, columns)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@records.command("withdraw")
@reasoned("number", "撤回理由")
def records_withdraw(number: int, reason: str, by: str | None, config_path: Path) -> None:
    """撤回一条手工录入的数字（记录保留，标为已撤回）。"""
    config = load_config(config_path)
    with open_ledger(config) as ledger:
        gone = review_actions.withdraw(ledger, number, reason, by=by)
    console.print(
        f"已撤回第 {number} 号手工录入：{gone.unit} {gone.value}（{gone.period}）。",
        highlight=False,
    )
    hint_reissue(gone.period)
