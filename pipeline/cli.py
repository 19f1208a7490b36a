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
from . import review as review_actions
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
@click.version_option(package_name="xunbao", help="显示版本号")
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
    job.cycle(config, chosen, send=not no_send, out=out, trigger="manual", echo=console.print)


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
    _print_table("收件登记簿", rows, columns)


@cli.group(invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def review(ctx: click.Context, config_path: Path, as_json: bool) -> None:
    """待人工审核的邮件：列出、查看（show）、通过（approve）、驳回（reject）。"""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        rows = ledger.messages(outcome="review")
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


@review.command("show")
@click.argument("message", type=int)
@config_option
def review_show(message: int, config_path: Path) -> None:
    """查看一封待审核邮件的详情。"""
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        row = review_actions.held(ledger, message)
    detail = row["detail"]
    console.print(f"[bold]第 {row['id']} 号邮件[/bold]（待审核）")
    for label, key in (
        ("发件人", "sender"),
        ("主题", "subject"),
        ("到达时间", "arrival"),
        ("所属旬", "period"),
        ("Message-ID", "message_id"),
    ):
        console.print(f"{label}：{row[key] or ''}", highlight=False)
    console.print(f"附件：{'、'.join(detail.get('attachments', [])) or '无'}", highlight=False)
    if detail.get("defects"):
        console.print(f"邮件格式问题：{'、'.join(detail['defects'])}", highlight=False)
    for reading in detail.get("readings", []):
        console.print(
            f"读到（{reading['origin']}）：单位 {reading['unit'] or '未写'}，"
            f"完成数 {reading['value'] if reading['value'] is not None else '未读到'}"
            + (f"，问题：{reading['problem']}" if reading["problem"] else ""),
            highlight=False,
        )
    if detail.get("ocr_text"):
        console.print(f"识别文字（OCR）：\n{detail['ocr_text']}", highlight=False)
    if detail.get("body"):
        console.print(f"正文：\n{detail['body']}", highlight=False)
    console.print(f"[yellow]原因：{row['reason']}[/yellow]", highlight=False)


@review.command("approve")
@click.argument("message", type=int)
@click.option("--unit", help="单位（不写则用报表上识别到的单位）")
@click.option("--value", type=int, help="完成数（不写则用报表上识别到的数字）")
@click.option("--metric", help="指标键（多指标活动；默认第一个指标）")
@config_option
def review_approve(
    message: int, unit: str | None, value: int | None, metric: str | None, config_path: Path
) -> None:
    """审核通过：计入该单位的完成数。"""
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        report = review_actions.approve(config, ledger, message, unit, value, metric)
    console.print(
        f"第 {message} 号邮件已审核通过：{report.unit} {report.value}（{report.period}）。"
    )


@review.command("reject")
@click.argument("message", type=int)
@click.option("--reason", required=True, help="驳回理由")
@config_option
def review_reject(message: int, reason: str, config_path: Path) -> None:
    """驳回：该邮件不计数，记录理由。"""
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        review_actions.reject(ledger, message, reason)
    console.print(f"第 {message} 号邮件已驳回。")


@cli.command()
@config_option
@click.option("--unit", required=True, help="单位名称")
@click.option("--period", required=True, help="所属旬的截止日期 YYYY-MM-DD")
@click.option("--value", required=True, type=int, help="累计完成数")
@click.option("--note", default="", help="备注，如“电话报送”")
@click.option("--metric", help="指标键（多指标活动；默认第一个指标）")
def record(
    config_path: Path, unit: str, period: str, value: int, note: str, metric: str | None
) -> None:
    """手工录入一个单位的数字（如电话报送）。"""
    config = load_config(config_path)
    chosen = parse_period(period)
    assert chosen is not None
    with job.open_ledger(config) as ledger:
        report = review_actions.record(config, ledger, unit, chosen, value, note, metric)
    console.print(f"已录入：{report.unit} {report.value}（{report.period}，{report.note}）。")


@cli.command()
@config_option
@click.option("--once", is_flag=True, help="只运行到期的旬（补跑）然后退出，供 cron 使用")
@click.option("--log-json", is_flag=True, help="日志每行一个 JSON 对象（便于日志系统收集）")
def serve(config_path: Path, once: bool, log_json: bool) -> None:
    """常驻运行：每旬截止时自动收信、汇总、生成并发送通报；启动时补跑错过的旬。"""
    from . import schedule

    sys.exit(schedule.serve_command(config_path, once=once, log_json=log_json))


@cli.command("schedule")
@config_option
@click.option("--from", "start", help="从该日期（YYYY-MM-DD）起列出（默认：现在）")
@click.option("--count", default=6, show_default=True, type=click.IntRange(1, 1000))
def schedule_command(config_path: Path, start: str | None, count: int) -> None:
    """列出接下来的自动运行时间及对应的旬。"""
    from datetime import UTC, date, datetime

    from . import status as status_module

    config = load_config(config_path)
    try:
        day = date.fromisoformat(start) if start else None
    except ValueError:
        raise UsageError(
            f"--from 的格式应为 YYYY-MM-DD，例如 2016-02-01（收到 {start!r}）"
        ) from None
    for line in status_module.schedule_lines(config, day, count, datetime.now(UTC)):
        console.print(line, highlight=False)


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（供监控使用）")
def status(config_path: Path, as_json: bool) -> None:
    """运行状况：上次和下次运行、待审核邮件、未送达的通报、邮箱是否可用。"""
    from datetime import UTC, datetime

    from . import status as status_module

    config = load_config(config_path)
    data = status_module.collect(config, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for line in data["summary"]:
        console.print(line, highlight=False)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("已取消。")
        sys.exit(1)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "xunbao"
        err_console.print(
            f"[red]用法错误：[/red]{exc.format_message()}（运行 {where} --help 查看用法）",
            highlight=False,
        )
        sys.exit(2)
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
        err_console.print(
            "[red]程序内部错误[/red]：请把以上信息发给维护人员。已处理的邮件都已保存在台账中。"
        )
        sys.exit(1)
