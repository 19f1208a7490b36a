"""`xunbao run`: one whole cycle by hand."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.common import config_option, load_config, parse_period
from pipeline.cli.output import console
from pipeline.config import Config
from pipeline.errors import UsageError
from pipeline.service import job
from pipeline.standings.periods import Period


@click.command()
@config_option
@click.option(
    "--period",
    help=(
        "通报的截止日期 YYYY-MM-DD（默认：最近一个已过截止时间的旬。"
        "台账开始收信之前截止的旬、没有收到报表的旬，只在这里写明时才生成通报）"
    ),
)
@click.option(
    "--final",
    type=int,
    metavar="YEAR",
    help="生成该年的年度通报（活动在该年的最后一旬，年底截止时到 12 月 31 日 24 时）",
)
@click.option(
    "--adhoc",
    is_flag=True,
    help="临时通报：--period 可写活动期间的任一天，计入该日截止时刻前到达的报表",
)
@click.option("--no-send", is_flag=True, help="只生成通报，不发送邮件")
@click.option("--out", type=click.Path(path_type=Path), help="输出目录（默认取配置 output.dir）")
def run(
    config_path: Path,
    period: str | None,
    final: int | None,
    adhoc: bool,
    no_send: bool,
    out: Path | None,
) -> None:
    """收取邮件、记账、汇总并生成通报。"""
    config = load_config(config_path)
    chosen = _final(config, final) if final else None
    chosen = chosen or parse_period(config, period, adhoc) or job.default_period(config)
    job.cycle(
        config,
        chosen,
        send=not no_send,
        out=out,
        trigger="manual",
        echo=console.print,
        asked=period is not None or final is not None,
    )


def _final(config: Config, year: int) -> Period:
    from pipeline.standings.annual import final_period

    found = final_period(config, year)
    if found is None:
        raise UsageError(
            f"活动“{config.campaign.name}”在 {year} 年没有报送旬"
            f"（{config.campaign.start} 至 {config.campaign.end}）。"
        )
    return found
