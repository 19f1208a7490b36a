"""`xunbao init`: a new site's config and the sample inbox beside it."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline import resources
from pipeline.cli.output import console
from pipeline.config import DEFAULT_CONFIG


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    help="要新建的配置文件路径（样例邮件目录 inbox_samples 放在它旁边）",
)
def init(config_path: Path) -> None:
    """新建一个运行目录：写入示例配置，并在旁边放入样例邮件目录 inbox_samples。"""
    for path in resources.start_site(config_path):
        console.print(f"已写入 {path}", highlight=False)
    console.print(f"下一步：编辑 {config_path}（单位、目标、邮箱），", highlight=False)
    console.print(f"然后运行 xunbao run --config {config_path}。", highlight=False)
