"""`xunbao check-config`, `serve`, `schedule` and `status`: running xunbao as a service."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipeline import config as config_module
from pipeline.cli.common import config_option, load_config
from pipeline.errors import UsageError


@click.command("check-config")
@config_option
def check_config(config_path: Path) -> None:
    """检查配置文件。"""
    from pipeline.cli.output import console

    loaded = config_module.load(config_path, on_this_machine=True)
    for warning in loaded.warnings:
        console.print(f"[yellow]提示：[/yellow]{warning}", highlight=False)
    config = loaded.config
    units = len(config.reporting_units)
    targets = []
    for metric in config.metrics:
        total = config.total_target(metric)
        shown = f"{total:,} {metric.measure}".strip() if total is not None else "无量化目标"
        targets.append(f"{metric.name} {shown}" if metric.key else shown)
    console.print(
        f"配置文件 {config_path} 检查通过：{units} 个报送单位，总目标 {'；'.join(targets)}。",
        highlight=False,
    )
    from pipeline.reading import walls

    console.print(walls.summary(), highlight=False)


@click.command()
@config_option
@click.option("--once", is_flag=True, help="只运行到期的旬（补跑）然后退出，供 cron 使用")
@click.option("--log-json", is_flag=True, help="日志每行一个 JSON 对象（便于日志系统收集）")
def serve(config_path: Path, once: bool, log_json: bool) -> None:
    """常驻运行：每旬截止时自动收信、汇总、生成并发送通报；启动时补跑错过的旬。"""
    from pipeline.service import schedule

    sys.exit(schedule.serve_command(config_path, once=once, log_json=log_json))


@click.command("schedule")
@config_option
@click.option("--from", "start", help="从该日期（YYYY-MM-DD）起列出（默认：现在）")
@click.option("--count", default=6, show_default=True, type=click.IntRange(1, 1000))
def schedule_command(config_path: Path, start: str | None, count: int) -> None:
    """列出接下来的自动运行时间及对应的旬。"""
    from datetime import UTC, date, datetime

    from pipeline.service import status as status_module

    config = load_config(config_path)
    try:
        day = date.fromisoformat(start) if start else None
    except ValueError:
        raise UsageError(
            f"--from 的格式应为 YYYY-MM-DD，例如 2016-02-01（收到 {start!r}）"
        ) from None
    for line in status_module.schedule_lines(config, day, count, datetime.now(UTC)):
        click.echo(line)


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（供监控使用）")
def status(config_path: Path, as_json: bool) -> None:
    """运行状况：上次和下次运行、待审核邮件、未送达的通报、邮箱是否可用。"""
    from datetime import UTC, datetime

    from pipeline.service import status as status_module

    config = load_config(config_path)
    found = status_module.collect(config, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(found.to_json(config), ensure_ascii=False, indent=2))
        return
    for line in status_module.sentences(config, found):
        click.echo(line)  # plain sentences: printing them needs no rich (~20 ms of start)
