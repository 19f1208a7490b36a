"""Receipts cannot be turned against the units (issue 23), over Dovecot and aiosmtpd: ten
forged mails in a unit's name earn no receipt; a receipt never echoes the sender's subject or
words; a subject that decodes to a lone CR stops no other receipt."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import SMTP_PASSWORD, Account, MakeServer, needs_dovecot
from fakeclock import FakeClock, at
from test_letters import letters_to, report, text_of, write_campaign_config

from pipeline import config as config_module
from pipeline.service import job
from pipeline.service.schedule import Server

pytestmark = [needs_dovecot, pytest.mark.slow]

PHISH = "账号异常通知：请立即登录 http://evil.example/login"


def replaced(raw: bytes, name: bytes, value: bytes | None) -> bytes:
    """`raw` with its `name` header (and its folded lines) removed, and `value` put first."""
    pattern = re.compile(rb"^" + name + rb":[^\n]*\n(?:[ \t][^\n]*\n)*", re.I | re.M)
    head, sep, body = raw.partition(b"\n\n")
    head = pattern.sub(b"", head + b"\n").rstrip(b"\n")
    line = name + b": " + value + b"\n" if value is not None else b""
    return line + head + sep + body


def forged(n: int) -> bytes:
    """市中区's registered address, sent from elsewhere: 126's MX found no signature."""
    raw = report(f"forged{n}", "szqzgh@163.com", "市中区", 9999, at("2016-01-19 10:00"))
    raw = replaced(raw, b"Authentication-Results", b"mx.126.com; dkim=none; spf=softfail")
    subject = b"=?utf-8?b?" + base64.b64encode(PHISH.encode()) + b"?="
    return replaced(raw, b"Subject", subject)


def lone_cr() -> bytes:
    """An authenticated report whose subject decodes to a single carriage return."""
    raw = report("cr", "wtqzgh@126.com", "五通桥区", 900, at("2016-01-19 10:00"))
    return replaced(raw, b"Subject", b"=?utf-8?q?=0D?=")


def test_forged_mail_earns_no_receipt_and_a_bad_subject_stops_none(
    tmp_path: Path, account: Account, smtp: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XUNBAO_IMAP_PASSWORD", account.password)
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    server_smtp = smtp()
    server_smtp.start()
    path = write_campaign_config(tmp_path, account, server_smtp)
    path.write_text(
        path.read_text(encoding="utf-8").replace("receipts: false", "receipts: true"), "utf-8"
    )
    clock = FakeClock(at("2016-01-19 09:10"))
    server = Server(path, clock=clock, check_every=timedelta(minutes=5))

    def arrive() -> None:
        account.append([forged(n) for n in range(10)])
        account.append([lone_cr()])
        good = report("ok", "mbxzgh@163.com", "马边县", 400, at("2016-01-19 10:00"))
        account.append([good])

    clock.at(at("2016-01-19 10:00"), arrive)
    clock.at(at("2016-01-19 12:30"), server.request_stop)
    assert server.serve() == 0

    receipts = letters_to(server_smtp, "回执")
    assert sorted(r for r, _ in receipts) == ["mbxzgh@163.com", "wtqzgh@126.com"]
    assert not any(r == "szqzgh@163.com" for r, _ in server_smtp.received())
    for _, message in receipts:
        assert "evil.example" not in str(message) and "\r" not in str(message["Subject"])
        assert "旬报表" not in str(message["Subject"])  # our words, not the sender's
    assert any("马边县" in text_of(m) for _, m in receipts)

    ledger = job.open_ledger(config_module.load(path).config)
    try:
        held = [m for m in ledger.messages() if m.sender == "szqzgh@163.com"]
    finally:
        ledger.close()
    assert len(held) == 10 and all(m.outcome == "review" for m in held)
    assert all(m.reason.startswith("发件人身份未能验证（可能是伪造）") for m in held)
