"""`xunbao init`: a new site's folder with the starter config and the sample inbox."""

from __future__ import annotations

from pathlib import Path

import click

from .. import resources
from .output import console


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(folder: Path) -> None:
    """在指定目录（默认当前目录）放入示例配置 config.yaml 和样例邮件目录 inbox_samples。"""
    for path in resources.start_site(folder):
        console.print(f"已写入 {path}", highlight=False)
    console.print(
        "下一步：编辑 config.yaml（单位、目标、邮箱），然后在该目录运行 xunbao run。",
        highlight=False,
    )
