"""`xunbao talk`: the 约谈 followed through — notices for the summoned units, the record of
each talk, and the list of what was recorded."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

import click

from pipeline.cli.common import by_option, config_option, load_config, parse_period
from pipeline.cli.output import Shown, console, print_table
from pipeline.errors import UsageError
from pipeline.ledger import open_ledger
from pipeline.ledger.talks import Talk


@click.group()
@config_option
def talk(config_path: Path) -> None:
    """约谈：生成约谈通知书（notices）、记录约谈情况（record）、列出约谈记录（list）。"""


@talk.command("notices")
@config_option
@click.option("--period", required=True, help="发出约谈的那一期通报的截止日期 YYYY-MM-DD")
@click.option(
    "--out", type=click.Path(path_type=Path), help="输出目录（默认：该期通报目录下的“约谈”）"
)
def notices(config_path: Path, period: str, out: Path | None) -> None:
    """为该期通报约谈的每个单位生成约谈通知书（Word 和 PDF），供领导审定后印发。"""
    from pipeline.issuance import phase
    from pipeline.outputs import notices

    config = load_config(config_path)
    chosen = parse_period(config, period, adhoc=True)
    assert chosen is not None
    with open_ledger(config) as ledger:
        if ledger.latest_version(str(chosen)) is None:
            raise UsageError(f"{chosen} 的通报尚未发出：通报发出后再生成约谈通知书。")
        table = phase.standings_for(config, ledger, chosen)
    folder = out or config.resolve(config.output.dir) / str(chosen) / "约谈"
    written = notices.write_notices(config, table, folder)
    if not written:
        console.print(f"{chosen} 的通报没有约谈单位。", highlight=False)
        return
    for path in written:
        console.print(f"已生成：{path}", highlight=False)
    console.print("约谈通知书须经领导审定后印发；程序不会把它发给单位。", highlight=False)


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}的格式应为 YYYY-MM-DD，例如 2015-09-23（收到 {text!r}）") from None


@talk.command("record")
@config_option
@by_option
@click.option("--period", required=True, help="发出约谈的那一期通报的截止日期 YYYY-MM-DD")
@click.option("--unit", required=True, help="被约谈的单位")
@click.option("--on", "held_on", required=True, help="约谈日期 YYYY-MM-DD")
@click.option("--attendees", default="", help="参加约谈的人员")
@click.option("--measures", default="", help="商定的整改措施")
@click.option("--deadline", help="整改期限 YYYY-MM-DD")
def record(
    config_path: Path,
    by: str | None,
    period: str,
    unit: str,
    held_on: str,
    attendees: str,
    measures: str,
    deadline: str | None,
) -> None:
    """记录一次约谈：日期、参加人员、整改措施和期限（下一期通报据此列出整改情况）。"""
    from pipeline.clerk import talks

    config = load_config(config_path)
    chosen = parse_period(config, period, adhoc=True)
    day = _day(held_on, "约谈日期")
    assert chosen is not None and day is not None
    entry = Talk(
        str(chosen),
        unit,
        day,
        attendees,
        measures,
        _day(deadline, "整改期限"),
        (by or getpass.getuser()).strip(),
    )
    with open_ledger(config) as ledger:
        kept = talks.record(config, ledger, entry)
    console.print(
        f"已记录 {kept.unit} 的约谈（{kept.held_on}，{chosen} 的通报）。", highlight=False
    )


@talk.command("list")
@config_option
@click.option("--period", help="只列出该期通报的约谈")
def listing(config_path: Path, period: str | None) -> None:
    """列出约谈记录。"""
    config = load_config(config_path)
    chosen = parse_period(config, period, adhoc=True)
    with open_ledger(config) as ledger:
        found = ledger.talks(str(chosen) if chosen else None)
    if not found:
        console.print("还没有约谈记录。")
        return
    rows = [
        {
            "period": t.period,
            "unit": t.unit,
            "on": str(t.held_on),
            "attendees": t.attendees,
            "measures": t.measures,
            "deadline": str(t.deadline or ""),
        }
        for t in found
    ]
    columns = [
        Shown("period", "通报"),
        Shown("unit", "单位"),
        Shown("on", "约谈日期"),
        Shown("attendees", "参加人员", wrap=True),
        Shown("measures", "整改措施", fill=True, wrap=True),
        Shown("deadline", "期限"),
    ]
    print_table("约谈记录", rows, columns)
