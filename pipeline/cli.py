"""The `xunbao` command: a thin click layer over the library; `main` maps errors to exit codes.

Exit codes: 0 ok, 1 the run failed, 2 bad config or usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from . import config as config_module
from . import job
from .errors import UsageError, XunbaoError
from .periods import Period

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        default=config_module.DEFAULT_CONFIG,
        show_default=True,
        help="配置文件路径",
    )(func)


def load_config(path: Path) -> config_module.Config:
    return config_module.load(path).config


def parse_period(text: str | None) -> Period | None:
    if text is None:
        return None
    try:
        return Period.parse(text)
    except ValueError:
        raise UsageError(
            f"--period 的格式应为 YYYY-MM-DD，例如 2015-09-20（收到 {text!r}）"
        ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xunbao")
def cli() -> None:
    """旬报：收取各单位旬报表，记账、汇总并生成通报。"""


@cli.command("check-config")
@config_option
def check_config(config_path: Path) -> None:
    """检查配置文件。"""
    loaded = config_module.load(config_path)
    for warning in loaded.warnings:
        console.print(f"[yellow]提示：[/yellow]{warning}", highlight=False)
    config = loaded.config
    units = len(config.reporting_units)
    console.print(
        f"配置文件 {config_path} 检查通过：{units} 个报送单位，总目标 {config.campaign.target}。"
    )


@cli.command()
@config_option
@click.option("--period", help="通报的截止日期 YYYY-MM-DD（默认：最近一个已过截止时间的旬）")
@click.option("--no-send", is_flag=True, help="只生成通报，不发送邮件")
@click.option("--out", type=click.Path(path_type=Path), help="输出目录（默认取配置 output.dir）")
def run(config_path: Path, period: str | None, no_send: bool, out: Path | None) -> None:
    """收取邮件、记账、汇总并生成通报。"""
    config = load_config(config_path)
    chosen = parse_period(period) or job.default_period(config)
    ledger = job.open_ledger(config)
    try:
        source = job.open_source(config, ledger)
        try:
            ingested = job.ingest(config, ledger, source)
        finally:
            source.close()
        o = ingested.outcomes
        console.print(
            f"收取新邮件 {ingested.new} 封：计入 {o['counted']}，待审核 {o['review']}，"
            f"忽略 {o['ignored']}；此前已处理 {ingested.already_known} 封。"
        )
        published = job.publish(config, ledger, chosen, out)
        console.print(f"{chosen.label()}（截至 {chosen}）通报已生成：{published.pdf}")
        if no_send or not config.delivery.host:
            why = "（--no-send）" if no_send else "（未配置 delivery.host）"
            console.print(f"未发送通报{why}。")
        else:
            from . import delivery  # imported late: generating a circular needs no SMTP

            sent = delivery.deliver(config, ledger, published)
            console.print(f"通报已发送给 {sent.sent} 位收件人（此前已发送 {sent.skipped} 位）。")
        if o["review"]:
            console.print(f"有 {o['review']} 封邮件需要人工审核，请运行 xunbao review 查看。")
    finally:
        ledger.close()


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


def _print_table(title: str, rows: list[dict[str, Any]], columns: dict[str, str]) -> None:
    table = Table(title=title, show_lines=False)
    for header in columns.values():
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*("" if row[key] is None else str(row[key]) for key in columns))
    console.print(table)


@cli.command()
@config_option
@click.option("--period", help="只列出该旬（YYYY-MM-DD）的邮件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def messages(config_path: Path, period: str | None, as_json: bool) -> None:
    """收件登记簿：每封邮件及其处理结果。"""
    config = load_config(config_path)
    chosen = parse_period(period)
    ledger = job.open_ledger(config)
    try:
        rows = _register_rows(ledger.messages(period=str(chosen) if chosen else None))
    finally:
        ledger.close()
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
    _print_table("收件登记簿", rows, columns)


@cli.group(invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def review(ctx: click.Context, config_path: Path, as_json: bool) -> None:
    """待人工审核的邮件。"""
    ctx.obj = config_path
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(config_path)
    ledger = job.open_ledger(config)
    try:
        rows = ledger.messages(outcome="review")
    finally:
        ledger.close()
    queue = [
        {k: r[k] for k in ("id", "message_id", "subject", "arrival", "reason")}
        | {"from": r["sender"]}
        for r in rows
    ]
    if as_json:
        click.echo(json.dumps(queue, ensure_ascii=False, indent=2))
        return
    if not queue:
        console.print("没有待审核的邮件。")
        return
    columns = {
        "id": "编号",
        "arrival": "到达时间",
        "from": "发件人",
        "subject": "主题",
        "reason": "原因",
    }
    _print_table(f"待审核邮件（{len(queue)} 封）", queue, columns)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("已取消。")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except XunbaoError as exc:
        err_console.print(f"[red]错误：[/red]{exc}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:
        err_console.print_exception()
        err_console.print("[red]程序内部错误[/red]：请把以上信息发给维护人员。已处理的邮件都已保存在台账中。")
        sys.exit(1)
