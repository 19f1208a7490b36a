"""Talking with the units over a real Dovecot and aiosmtpd, with a fake clock: receipts as
mail arrives, none for thanks or for mail older than the switch-on, reminders before the
cutoff exactly once per unit (a kill -9 in the middle included).

The server runs in-process with a controllable clock; only WeasyPrint's PDF rendering is
replaced (seconds per circular). The kill test runs `xunbao run` as a user does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    XUNBAO,
    Account,
    MakeServer,
    needs_dovecot,
    write_config,
)
from fakeclock import FakeClock, at
from servers import SmtpServer

from pipeline import config as config_module
from pipeline.outputs import circular
from pipeline.service import job, status
from pipeline.service.schedule import Server
from pipeline.standings import periods

pytestmark = [needs_dovecot, pytest.mark.slow]

CLERK = "clerk@lszgh.example"
GROUP3 = "group3@lszgh.example"
RECIPIENTS = ["zxb@lszgh.example"]
MX = "mx.lszgh.example"  # the receiving server whose Authentication-Results are trusted


def report(name: str, sender: str, unit: str, value: int, when: datetime, **extra: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "lsszghzxb@126.com"
    message["Subject"] = extra.get("subject", f"{unit}旬报表")
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{name}@units.example>"
    domain = sender.rpartition("@")[2]  # as the receiving server vouches for it
    message["Authentication-Results"] = f"{MX}; dkim=pass header.d={domain}"
    body = extra.get("body") or (
        f"报送单位：{unit}\n报送时间：{when:%Y年%m月%d日}\n"
        f"已完成目标任务数（新增 {value} 名农民工入会）\n主要工作举措：\n1. 深入工地宣传。\n"
    )
    message.set_content(body)
    return bytes(message)


def write_campaign_config(folder: Path, account: Account, smtp: SmtpServer, **changes: Any) -> Path:
    """The sample config with a 2016 campaign, the test's IMAP account and SMTP server,
    reminders at 09:00 on the deadline day, a contact for group 3, and 高新区 joining in
    February. `changes` replace whole sections."""

    def edit(tree: dict[str, Any]) -> None:
        tree["campaign"] |= {"start": date(2015, 12, 1), "end": date(2016, 12, 31)}
        tree["groups"][2]["email"] = GROUP3
        for unit in tree["units"]:
            if unit["name"] == "高新区":
                unit["since"] = date(2016, 2, 1)

    delivery = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "ssl": True,
        "ca_file": str(account.ca_file),
        "username": SMTP_USER,
        "sender": SMTP_USER,
        "recipients": RECIPIENTS,
        "receipts": False,
        "receipt_limit": 2,
        "clerk": CLERK,
        "timeout": 10,
    }
    sections = {
        "mailbox": account.mailbox_config(
            poll_minutes=60, authserv_ids=[MX], require_authentication=True
        ),
        "delivery": delivery,
        "reminders": {"enabled": True, "days_before": 0, "time": "09:00"},
    }
    return write_config(folder, edit, **(sections | changes))


def switch_receipts_on(path: Path) -> Callable[[], None]:
    def edit() -> None:
        text = path.read_text(encoding="utf-8")
        assert "receipts: false" in text
        path.write_text(text.replace("receipts: false", "receipts: true"), encoding="utf-8")

    return edit


def letters_to(smtp: SmtpServer, prefix: str) -> list[tuple[str, EmailMessage]]:
    return [(r, m) for r, m in smtp.received() if str(m["Subject"]).startswith(prefix)]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


@pytest.fixture
def light_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(circular.Circular, "pdf", lambda self: b"%PDF-1.7 test\n")


def test_receipts_as_mail_arrives_and_reminders_before_the_cutoff(
    tmp_path: Path,
    account: Account,
    smtp: MakeServer,
    monkeypatch: pytest.MonkeyPatch,
    light_pdf: None,
) -> None:
    monkeypatch.setenv("XUNBAO_IMAP_PASSWORD", account.password)
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    server_smtp = smtp()
    server_smtp.start()
    path = write_campaign_config(tmp_path, account, server_smtp)
    # Mail from before receipts were switched on: never a receipt.
    account.append([report("old", "szqzgh@163.com", "市中区", 800, at("2016-01-18 15:00"))])

    clock = FakeClock(at("2016-01-19 09:10"))
    server = Server(path, clock=clock, check_every=timedelta(minutes=5))
    seen: dict[str, int] = {}

    def count(name: str, prefix: str = "回执") -> Callable[[], None]:
        return lambda: seen.__setitem__(name, len(letters_to(server_smtp, prefix)))

    def arrive(raw: bytes) -> Callable[[], None]:
        return lambda: account.append([raw])

    clock.at(at("2016-01-19 09:30"), switch_receipts_on(path))
    clock.at(
        at("2016-01-19 10:00"),
        arrive(report("b", "wtqzgh@126.com", "五通桥区", 900, at("2016-01-19 10:00"))),
    )
    clock.at(at("2016-01-19 10:09"), count("before the poll"))
    clock.at(at("2016-01-19 10:11"), count("after the poll"))
    # Held: a registered sender of 马边县 sends 沐川县's form.
    clock.at(
        at("2016-01-19 11:00"),
        arrive(report("c", "mbxzgh@163.com", "沐川县", 300, at("2016-01-19 11:00"))),
    )
    thanks = report("d", "wtqzgh@126.com", "", 0, at("2016-01-19 12:00"), body="收到，谢谢！\n")
    clock.at(at("2016-01-19 12:00"), arrive(_resubject(thanks, "Re: 回执：五通桥区旬报表")))
    correction = report("e", "wtqzgh@126.com", "五通桥区", 950, at("2016-01-19 13:00"))
    clock.at(at("2016-01-19 13:00"), arrive(_resubject(correction, "五通桥区旬报表（更正）")))
    # A third report from one address within a day: over receipt_limit (2), held back.
    third = report("f", "wtqzgh@126.com", "五通桥区", 960, at("2016-01-19 14:00"))
    clock.at(at("2016-01-19 14:00"), arrive(third))
    clock.at(at("2016-01-20 08:59"), count("reminders not yet", "催报"))
    clock.at(at("2016-01-20 09:01"), count("reminders at nine", "催报："))
    clock.at(at("2016-01-20 09:30"), server.request_stop)
    assert server.serve() == 0

    # ── receipts ──
    assert (seen["before the poll"], seen["after the poll"]) == (0, 1)
    receipts = letters_to(server_smtp, "回执")
    assert [(r, m["In-Reply-To"]) for r, m in receipts] == [
        ("wtqzgh@126.com", "<b@units.example>"),
        ("mbxzgh@163.com", "<c@units.example>"),
        ("wtqzgh@126.com", "<e@units.example>"),
    ]  # none for the older mail, the thanks, or the third report over the limit
    counted, held, corrected = (text_of(m) for _, m in receipts)
    assert "你单位于 2016年1月19日 10:00 发来的旬报邮件已收到" in counted
    assert "五通桥区旬报表" not in counted  # the sender's subject is never echoed
    assert receipts[0][1]["Subject"] == "回执：五通桥区2016年1月中旬旬报"
    assert "已登记：新增农民工入会 900 名，计入2016年1月中旬（截至 2016年1月20日 18:00）" in counted
    assert "发件邮箱与报表上的报送单位对不上" in held and "用本单位登记的报送邮箱" in held
    assert "于 2016年1月19日 10:00 发来的 900 名的数字已由本次报送替代" in corrected
    assert all(m["Auto-Submitted"] == "auto-replied" for _, m in receipts)

    ledger = job.open_ledger(config_module.load(path).config)
    try:
        outcomes = {m.message_id: (m.outcome, m.reason) for m in ledger.messages()}
    finally:
        ledger.close()
    assert outcomes["<d@units.example>"][0] == "ignored"
    assert "收到，谢谢" in outcomes["<d@units.example>"][1]

    # ── reminders at 09:00 on the 20th ──
    assert seen["reminders not yet"] == 0
    config = config_module.load(path).config
    quiet = {"市中区", "五通桥区", "马边县", "沐川县", "高新区"}  # reported, pending, joins later
    domain_only = {"乐电公司", "嘉阳集团", "和邦集团"}  # no whole address to write to
    expected = {
        u.addresses[0]: u.name
        for u in config.reporting_units
        if u.name not in quiet and u.name not in domain_only
    }
    reminders = letters_to(server_smtp, "催报：")
    assert seen["reminders at nine"] == len(reminders)  # sent at 09:00, not at the next poll
    assert Counter(r for r, _ in reminders if r != GROUP3) == Counter(list(expected))
    group3 = {"犍为县", "井研县", "市交通工会"}  # group 3's units that were reminded
    assert Counter(r for r, _ in reminders if r == GROUP3) == {GROUP3: len(group3)}
    for recipient, message in reminders:
        if recipient == GROUP3:
            continue
        text = text_of(message)
        unit = expected[recipient]
        assert text.startswith(f"{unit}：")
        assert "2016年1月中旬的旬报表报送截止时间为 2016年1月20日 18:00" in text
        assert (GROUP3 in str(message["Cc"] or "")) == (unit in group3)
    ((clerk, listing),) = letters_to(server_smtp, "催报名单")
    assert clerk == CLERK
    names = text_of(listing)
    assert all(name in names for name in expected.values())
    assert all(name in names for name in domain_only) and "请电话联系" in names
    assert not any(f"{name}（" in names for name in quiet)

    # The first start mails no circular of 2016-01-10: it closed before the ledger's first
    # look at the mailbox (issue 23; tests/test_unasked.py).
    assert letters_to(server_smtp, config.circular.title) == []

    # ── status tells the truth ──
    data = status.collect(config, at("2016-01-20 09:31"), check_mailbox=False).to_json(config)
    assert data["review"] == 1 and not data["healthy"]
    poll = data["last_poll"]
    assert poll["reminders"] == {"sent": len(expected) + 1, "failed": 0}
    text = "\n".join(data["summary"])
    assert "待审核邮件：1 封" in text and text.endswith("总体：需要处理，请查看上面的说明。")


def _resubject(raw: bytes, subject: str) -> bytes:
    """The same mail under another subject."""
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    del message["Subject"]
    message["Subject"] = subject
    return bytes(message)


# ── a kill -9 in the middle of the reminders ───────────────────
def test_a_kill_during_the_reminders_sends_none_twice(
    tmp_path: Path, account: Account, smtp: MakeServer
) -> None:
    now = datetime.now().astimezone()
    schedule = config_module.Schedule()
    period = periods.period_of(now, schedule)
    days_before = (period.end - now.astimezone(schedule.zone).date()).days
    slow = smtp(delay=0.4)
    slow.start()
    path = write_campaign_config(
        tmp_path,
        account,
        slow,
        reminders={"enabled": True, "days_before": days_before, "time": "00:00"},
    )
    text = path.read_text(encoding="utf-8")
    today = now.date()
    text = text.replace("start: 2015-12-01", f"start: {today - timedelta(days=60)}")
    text = text.replace("end: 2016-12-31", f"end: {today + timedelta(days=60)}")
    path.write_text(text, encoding="utf-8")
    config = config_module.load(path).config
    closed = periods.latest_closed(now, schedule)
    env = {**account.env(), "XUNBAO_SMTP_PASSWORD": SMTP_PASSWORD}
    command = [str(XUNBAO), "run", "--config", str(path), "--period", str(closed)]

    process = subprocess.Popen(command, env=env, cwd=tmp_path, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(letters_to(slow, "催报：")) < 4:
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    cut = len(letters_to(slow, "催报："))
    assert cut < 10, "killed in the middle"

    slow.stop()
    slow.delay = 0
    slow.start()
    again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "催报发出" in again.stdout

    expected = [u.addresses[0] for u in config.reporting_units if u.addresses]
    reminders = letters_to(slow, "催报：")
    ids: dict[str, set[str]] = {}
    for recipient, message in reminders:
        ids.setdefault(recipient, set()).add(str(message["Message-ID"]))
    assert set(ids) - {GROUP3} == set(expected)
    assert all(len(ids[address]) == 1 for address in expected)  # one letter per unit
    # At most the one in flight at the kill can arrive twice, and then as the same message.
    copies = Counter(r for r, _ in reminders if r in expected)
    assert sum(copies.values()) - len(expected) <= 1
    assert len(letters_to(slow, "催报名单")) == 1
