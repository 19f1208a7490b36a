"""`xunbao sign`, `xunbao reissue` and `xunbao circulars`: signing off, corrections and the
versions of each period's circular."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from pipeline import issuance
from pipeline.cli.common import config_option, load_config, parse_period
from pipeline.cli.output import Shown, console, print_table
from pipeline.config import Config
from pipeline.delivery import state as delivery_state
from pipeline.errors import DeliveryError
from pipeline.service import job
from pipeline.standings.periods import Period, is_deadline, local_text


def _period_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option("--period", required=True, help="通报的截止日期 YYYY-MM-DD")(func)


def _made(config: Config, text: str) -> Period:
    """A deadline of the campaign, or the date of an ad-hoc circular already made (a typo
    must not make a new one)."""
    chosen = parse_period(config, text, adhoc=True)
    assert chosen is not None
    if not is_deadline(chosen.end, config.schedule):
        with job.open_ledger(config) as ledger:
            if chosen not in issuance.known_periods(ledger):
                parse_period(config, text)  # refused as it always was, naming the deadlines
    return chosen


def _show(config_path: Path, settled: issuance.Settled) -> None:
    config = load_config(config_path)
    for line in issuance.describe(config, settled, send=True):
        console.print(line, highlight=False)


@click.command()
@config_option
@_period_option
@click.option("--by", required=True, help="签发人姓名（须在 delivery.signers 中）")
def sign(config_path: Path, period: str, by: str) -> None:
    """签发通报：记录签发人和时间，随即发送。"""
    config = load_config(config_path)
    chosen = _made(config, period)
    with job.open_ledger(config) as ledger:
        try:
            now = datetime.now(UTC)
            settled = issuance.sign(config, ledger, chosen, by.strip(), now, console.print)
        except DeliveryError as exc:  # signed and issued; the copies wait for the next run
            said = delivery_state.not_sent(exc, signed=True)
            raise DeliveryError(f"{chosen.label()}通报（签发人 {by.strip()}）{said}") from None
    console.print(f"{chosen.label()}通报已由 {by.strip()} 签发。", highlight=False)
    _show(config_path, settled)


@click.command()
@config_option
@_period_option
def reissue(config_path: Path, period: str) -> None:
    """发送更正：通报发出后数字有变化时，把新版本发给每位收件人（各一次）。"""
    config = load_config(config_path)
    chosen = _made(config, period)
    with job.open_ledger(config) as ledger:
        try:
            settled = issuance.reissue(config, ledger, chosen, datetime.now(UTC), console.print)
        except DeliveryError as exc:
            said = delivery_state.not_sent(exc, signed=False)
            raise DeliveryError(f"{chosen.label()}通报{said}") from None
    _show(config_path, settled)


@click.command()
@config_option
@click.option("--period", help="只列出该旬（YYYY-MM-DD）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def circulars(config_path: Path, period: str | None, as_json: bool) -> None:
    """通报各版本：版本号、文号、签发人、定稿时间、每位收件人的送达情况、更正说明。"""
    config = load_config(config_path)
    chosen = parse_period(config, period)
    with job.open_ledger(config) as ledger:
        versions = ledger.versions(str(chosen) if chosen else None)
        sent = {
            (v.period, v.version): delivery_state.of_version(config, ledger, v) for v in versions
        }
    folder = config.resolve(config.output.dir)
    rows = [
        {
            "period": v.period,
            "version": v.version,
            "doc_number": v.doc_number,
            "signed_by": v.signed_by,
            "signed_at": v.signed_at,
            "issued_at": v.issued_at,
            "correction": v.correction,
            "pdf": str(issuance.version_file(folder / v.period, "circular", v.version, ".pdf")),
        }
        | _copies(config, sent[v.period, v.version])
        for v in versions
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print("还没有发出过通报。")
        return
    columns = [
        Shown("period", "所属旬"),
        Shown("version", "版本", justify="right"),
        Shown("doc_number", "文号"),
        Shown("signed_by", "签发人"),
        Shown("issued_at", "定稿时间"),
        Shown("correction", "更正说明", fill=True, wrap=True),
    ]
    # times in the campaign's zone, as everywhere a person reads them (JSON keeps ISO)
    local = [r | {"issued_at": local_text(str(r["issued_at"]), config.schedule)} for r in rows]
    print_table(f"通报版本（时间为 {config.schedule.timezone}）", local, columns)
    for row in rows:  # each recipient: 待发送 / 重试中 / 已送达
        shown = f"{row['period']} 第 {row['version']} 版送达情况：{row['delivery']}"
        console.print(shown, highlight=False)


def _copies(config: Config, found: delivery_state.Copies) -> dict[str, Any]:
    """Each recipient's 待发送/重试中/已送达 (none when no sending server is configured)."""
    if not config.delivery.host:
        return {"delivered": None, "delivery": "未配置发送服务器，未发送", "recipients": []}
    listed = delivery_state.as_json(found)["recipients"]
    return {"delivered": found.delivered, "delivery": found.text, "recipients": listed}
