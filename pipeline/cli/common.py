"""What every command shares: the --config option, loading config, parsing a period, output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import click
from rich import box
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
    """Load the config (kept by config_cache while unchanged) and set up logging under the one
    "xunbao" namespace, so every command
    (not only `serve`) writes warnings to stderr through the password redactor."""
    import logging

    from .. import config_cache, logs

    config = config_cache.load(path).config
    logs.setup(config=config, level=logging.WARNING)
    return config


def hint_reissue(period: str | None) -> None:
    """After a clerk's change: how the circular of that period gets corrected."""
    if period:
        console.print(
            f"如该旬通报已发出，运行 xunbao reissue --period {period} 发送更正"
            "（自动运行时下一次运行会自动发送）。",
            highlight=False,
        )


def by_option(func: F) -> F:
    return click.option("--by", help="操作人姓名（默认：当前系统用户）")(func)


def reasoned(argument: str, reason: str) -> Callable[[F], F]:
    """A clerk's action on one numbered item that must say why: NUMBER --reason --by --config."""

    def decorate(func: F) -> F:
        func = by_option(config_option(func))
        func = click.option("--reason", required=True, help=reason)(func)
        return click.argument(argument, type=int, metavar="编号")(func)

    return decorate


def parse_period(config: config_module.Config, text: str | None) -> Period | None:
    """A real cutoff of the campaign (see inputs.period), or None when not given."""
    if text is None:
        return None
    from ..inputs import period

    return period(config, text)


@dataclass(frozen=True)
class Shown:
    """A column of a terminal table. The one `fill` column takes what the others leave of
    the terminal's width (wrapped when `wrap`, else cut with …); the others keep their width."""

    key: str
    header: str
    fill: bool = False
    wrap: bool = False
    justify: Literal["left", "right"] = "left"


def print_table(title: str, rows: list[dict[str, Any]], columns: list[Shown]) -> None:
    from rich.cells import cell_len

    table = Table(
        title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, expand=True
    )
    cells = [["" if row[c.key] is None else str(row[c.key]) for c in columns] for row in rows]
    for i, column in enumerate(columns):
        widest = max([cell_len(column.header), *(cell_len(line[i]) for line in cells)])
        table.add_column(
            column.header,
            justify=column.justify,
            no_wrap=not column.wrap,
            overflow="fold" if column.wrap else "ellipsis",
            ratio=1 if column.fill else None,
            min_width=None if column.fill else min(widest, 18),
        )
    for line in cells:
        table.add_row(*line)
    console.print(table)
