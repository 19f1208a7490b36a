"""`xunbao summary`: the year (or month by month) across every dekad, for the assessment."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.common import config_option, load_config
from pipeline.cli.output import console
from pipeline.ledger import open_ledger
from pipeline.outputs import summary as summary_output
from pipeline.service import job
from pipeline.standings import summary


@click.command("summary")
@config_option
@click.option("--year", type=int, help="年份（默认：最近一个已截止的旬所在的年份）")
@click.option("--monthly", is_flag=True, help="按月汇总（每月取最后一旬的累计数），不逐旬列出")
@click.option("--out", type=click.Path(path_type=Path), help="输出目录（默认取配置 output.dir）")
def summary_command(config_path: Path, year: int | None, monthly: bool, out: Path | None) -> None:
    """年度汇总：各单位逐旬（或逐月）完成数、完成率、排名、增长和约谈次数。"""
    config = load_config(config_path)
    until = summary.last_period(config, job.default_period(config))
    chosen = year or until.end.year
    with open_ledger(config) as ledger:
        made = summary.summarise(config, ledger, chosen, until, monthly)
    folder = (out or config.resolve(config.output.dir)) / summary_output.folder_name(made)
    xlsx, pdf = summary_output.write(config, made, folder)
    console.print(
        f"{chosen} 年{'逐月' if monthly else '逐旬'}汇总（截至 {made.last}，"
        f"{len(made.units)} 个单位）：{xlsx}、{pdf}",
        highlight=False,
    )
