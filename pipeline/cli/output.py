"""Terminal output through rich: the consoles, tables, and the hint after a clerk's change.

Apart from `common`, so that a command printing only plain lines (`status`, through
click.echo) starts without importing rich (~20 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.table import Table

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def hint_reissue(period: str | None) -> None:
    """After a clerk's change: how the circular of that period gets corrected."""
    if period:
        console.print(
            f"如该旬通报已发出，运行 xunbao reissue --period {period} 发送更正"
            "（自动运行时下一次运行会自动发送）。",
            highlight=False,
        )


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
