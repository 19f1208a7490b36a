"""What every command shares: the --config option, loading config, parsing a period, output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from .. import config as config_module
from ..periods import Period

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


def by_option(func: F) -> F:
    return click.option("--by", help="操作人姓名（默认：当前系统用户）")(func)


def parse_period(config: config_module.Config, text: str | None) -> Period | None:
    """A real cutoff of the campaign (see inputs.period), or None when not given."""
    if text is None:
        return None
    from ..inputs import period

    return period(config, text)


def print_table(title: str, rows: list[dict[str, Any]], columns: dict[str, str]) -> None:
    table = Table(title=title, show_lines=False)
    for header in columns.values():
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*("" if row[key] is None else str(row[key]) for key in columns))
    console.print(table)
