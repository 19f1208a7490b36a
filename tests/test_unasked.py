"""No circular nobody asked for: on a fresh ledger `serve` mails nothing for a dekad that closed
before its first look at the mailbox, nor for a dekad nothing was received for; `run --period`
makes and sends it on request and says so; a dekad watched from the start goes out by itself.
Over a real aiosmtpd server, with the serve loop on a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SMTP_PASSWORD, MakeServer
from fakeclock import FakeClock, at
from ruamel.yaml import YAML
from test_delivery import RECIPIENTS, delivery_section
from test_schedule import CAMPAIGN_2016, NO_POLLING, make_config, write_report

from pipeline import config as config_module
from pipeline.ledger import Ledger
from pipeline.service import job, status
from pipeline.service.schedule import Server
from pipeline.standings import periods

pytestmark = pytest.mark.slow


def once(folder: Path, when: str) -> list[str]:
    """`serve --once` at `when`; the lines its cycles said."""
    said: list[str] = []

    def cycle(config: config_module.Config, period: periods.Period, **kw: object) -> object:
        return job.cycle(config, period, **{**kw, "echo": said.append})  # type: ignore[arg-type]

    server = Server(folder / "config.yaml", clock=FakeClock(at(when)), cycle=cycle)
    assert server.serve(once=True) == 0
    return said


def test_a_fresh_ledger_mails_nothing_it_was_not_asked_for(
    tmp_path: Path,
    smtp: MakeServer,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    server = smtp()
    server.start()
    inbox = tmp_path / "inbox"
    write_report(inbox, "a", "szqzgh@163.com", "乐山市市中区总工会", 1200, "2016-01-08 10:00")
    path = make_config(tmp_path, inbox, CAMPAIGN_2016 | NO_POLLING)
    yaml = YAML()
    tree = yaml.load(path.read_text(encoding="utf-8"))
    tree["delivery"] |= delivery_section(server.port, certificate[0])
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)

    # First start two days after the 2016-01-10 cutoff: that dekad had a report, but it
    # closed before the ledger first read the mail.
    said = once(tmp_path, "2016-01-12 09:00")
    assert any("在台账开始收信之前已截止：不自动生成、发送通报" in line for line in said)
    assert any("xunbao run --period 2016-01-10" in line for line in said)
    assert server.received() == [] and not (tmp_path / "out" / "2016-01-10").exists()
    # and status does not report as undelivered a circular that was never meant to go
    config = config_module.load(path).config
    told = status.collect(config, at("2016-01-12 09:05"), check_mailbox=False).to_json(config)
    assert told["undelivered"] == [] and "通报发送：尚未生成通报。" in told["summary"]
    assert told["circular"]["label"].startswith("不自动生成（该旬在台账开始收信之前已截止）")

    # 2016-01-20 was watched from the start but nothing came in for it: no circular either.
    said = once(tmp_path, "2016-01-21 09:00")
    assert any("没有收到任何报表：不自动生成、发送通报" in line for line in said)
    assert server.received() == []

    # A report for 2016-01-30 arrives: that dekad's circular goes out at its cutoff.
    write_report(inbox, "b", "wtqzgh@126.com", "五通桥区总工会", 900, "2016-01-25 09:00")
    once(tmp_path, "2016-01-31 09:00")
    assert sorted(r for r, _ in server.received()) == sorted(RECIPIENTS)

    # Asked for by its period, the old dekad is made and sent, and the run says so.
    asked: list[str] = []
    job.cycle(config, periods.Period.parse("2016-01-10"), echo=asked.append, asked=True)
    assert any("按要求生成2016年1月上旬（截至 2016-01-10）的通报" in line for line in asked)
    assert len(server.received()) == 2 * len(RECIPIENTS)
    with Ledger(tmp_path / "data" / "xunbao.sqlite") as ledger:
        assert sorted(ledger.issued_periods()) == ["2016-01-10", "2016-01-30"]
