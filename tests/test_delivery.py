"""Delivery against a real aiosmtpd server: exactly one circular per recipient, receipts once."""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import SMTP_PASSWORD, SMTP_USER, XUNBAO, MakeServer, run_cli, write_config
from servers import SAMPLES

from pipeline import config as config_module
from pipeline import outputs
from pipeline.delivery import receipts
from pipeline.delivery import sending as delivery
from pipeline.errors import DeliveryError
from pipeline.issuance import phase
from pipeline.ledger import Ledger
from pipeline.mailbox.directory import DirectorySource
from pipeline.service import job
from pipeline.standings.periods import Period

PERIOD = "2015-09-20"
SUBJECT = "关于全市农民工入会集中行动进展情况的通报（2015年9月中旬）"
RECIPIENTS = ["zxb@lszgh.example", "office@lszgh.example"]


def delivery_section(port: int, ca_file: Path, **changes: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "ssl": True,
        "ca_file": str(ca_file),
        "username": SMTP_USER,
        "password_env": "XUNBAO_SMTP_PASSWORD",
        "sender": SMTP_USER,
        "recipients": RECIPIENTS,
        "timeout": 10,
    } | changes


def directory_mailbox() -> dict[str, Any]:
    return {"source": "directory", "path": str(SAMPLES), "address": SMTP_USER}


def env() -> dict[str, str]:
    return {**os.environ, "XUNBAO_SMTP_PASSWORD": SMTP_PASSWORD}


def attachments(message: Any) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_smtp_down_then_up_sends_one_circular_per_recipient(
    tmp_path: Path, smtp: MakeServer, certificate: tuple[Path, Path]
) -> None:
    server = smtp()
    section = delivery_section(server.port, certificate[0])
    config = write_config(tmp_path, mailbox=directory_mailbox(), delivery=section)

    down = run_cli(config, env(), "--period", PERIOD)
    assert down.returncode == 1
    assert "无法连接发信服务器" in down.stderr and "下次运行时会补发" in down.stderr
    assert (tmp_path / "out" / PERIOD / "circular.pdf").exists()

    server.start()
    up = run_cli(config, env(), "--period", PERIOD)
    assert up.returncode == 0, up.stderr
    assert "通报已发送给 2 位收件人（此前已发送 0 位）" in up.stdout
    again = run_cli(config, env(), "--period", PERIOD)
    assert again.returncode == 0, again.stderr
    assert "通报已发送给 0 位收件人（此前已发送 2 位）" in again.stdout
    for done in (down, up, again):
        assert SMTP_PASSWORD not in done.stdout + done.stderr

    received = server.received()
    assert sorted(recipient for recipient, _ in received) == sorted(RECIPIENTS)
    for recipient, message in received:
        assert message["Subject"] == SUBJECT and message["To"] == recipient
        assert "2015年9月中旬" in message.get_body(("plain",)).get_content()
        files = attachments(message)
        assert files[f"{SUBJECT}.pdf"].startswith(b"%PDF")
        assert files["各单位完成情况表（2015年9月中旬）.xlsx"].startswith(b"PK")
    for path in server.folder.glob("*.eml"):  # RFC 2231 names, split into continuations
        assert path.read_bytes().count(b"filename*0*=utf-8''") == 2


def publish(folder: Path, **sections: Any) -> tuple[config_module.Config, outputs.Published]:
    """Ingest the samples and publish the period in-process; the ledger stays on disk."""
    path = write_config(folder, mailbox=directory_mailbox(), **sections)
    config = config_module.load(path).config
    ledger = job.open_ledger(config)
    try:
        job.ingest(config, ledger, DirectorySource(SAMPLES))
        period = Period.parse(PERIOD)
        table = phase.standings_for(config, ledger, period)
        return config, outputs.publish(config, ledger, period, table=table)
    finally:
        ledger.close()


def deliver(config: config_module.Config, published: outputs.Published) -> delivery.Delivered:
    ledger = job.open_ledger(config)
    try:
        return delivery.deliver(config, ledger, published)
    finally:
        ledger.close()


def test_a_refused_recipient_alone_is_retried_next_time(
    tmp_path: Path,
    smtp: MakeServer,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    server = smtp(starttls=True, reject=(RECIPIENTS[1],))
    server.start()
    section = delivery_section(server.port, certificate[0], ssl=False, starttls=True)
    config, published = publish(tmp_path, delivery=section)
    with pytest.raises(DeliveryError, match=f"发给 {RECIPIENTS[1]} 被拒绝"):
        deliver(config, published)
    assert [r for r, _ in server.received()] == [RECIPIENTS[0]]

    server.stop()
    server.reject = ()
    server.start()
    result = deliver(config, published)
    assert (result.sent, result.skipped) == (1, 1)
    assert sorted(r for r, _ in server.received()) == sorted(RECIPIENTS)


def test_receipts_go_once_to_each_registered_sender(
    tmp_path: Path,
    smtp: MakeServer,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    server = smtp()
    server.start()
    section = delivery_section(server.port, certificate[0], receipts=True, recipients=[])
    # Receipts go only to senders whose domain was vouched for: the samples as a receiving
    # server that checked them would have stamped them (issue 23).
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for sample in sorted(SAMPLES.glob("*.eml")):
        raw = sample.read_bytes()
        sender = email.utils.parseaddr(
            str(email.message_from_bytes(raw, policy=email.policy.compat32)["From"])
        )[1]
        domain = sender.rpartition("@")[2]
        stamp = f"Authentication-Results: mx.lszgh.example; dmarc=pass header.from={domain}\r\n"
        (inbox / sample.name).write_bytes(stamp.encode() + raw)
    mailbox = {"source": "directory", "path": str(inbox), "authserv_ids": ["mx.lszgh.example"]}
    path = write_config(tmp_path, mailbox=mailbox, delivery=section)
    config = config_module.load(path).config
    ledger = job.open_ledger(config)
    try:
        job.ingest(config, ledger, DirectorySource(inbox))
        rows = ledger.messages()
    finally:
        ledger.close()
    registered = {s for u in config.units for s in u.senders}
    expected = [
        r
        for r in rows
        if r.outcome in ("counted", "review")
        and (r.sender in registered or "@" + r.sender.rpartition("@")[2] in registered)
    ]
    assert expected and len(expected) < len(rows)  # some are ignored or from strangers

    ledger = job.open_ledger(config)
    try:
        first_arrival = min(datetime.fromisoformat(r.arrival) for r in rows if r.arrival)
        ledger.set_setting(receipts.SWITCHED_ON, first_arrival.isoformat())  # on from the start
        first = receipts.send_due(config, ledger, datetime.now(UTC))
        second = receipts.send_due(config, ledger, datetime.now(UTC))
    finally:
        ledger.close()
    assert (first.sent, second.sent) == (len(expected), 0)
    received = server.received()
    assert Counter(r for r, _ in received) == Counter(r.sender for r in expected)
    replies = {m["In-Reply-To"]: m for _, m in received}
    for row in expected:
        receipt = replies[row.message_id]
        assert receipt["Auto-Submitted"] == "auto-replied"
        text = receipt.get_body(("plain",)).get_content()
        if row.outcome == "counted":
            assert f"已登记：新增农民工入会 {row.value:,} 名，计入2015年9月" in text
        else:
            why, todo = receipts.advice(row.reason)
            assert "暂未计入" in text and why in text and todo in text


def test_wrong_smtp_password_explains_the_authorisation_code(
    tmp_path: Path,
    smtp: MakeServer,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "Not-The-Code-55"
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", wrong)
    server = smtp()
    server.start()
    config, published = publish(tmp_path, delivery=delivery_section(server.port, certificate[0]))
    with pytest.raises(DeliveryError) as failure:
        deliver(config, published)
    assert "授权码" in str(failure.value) and wrong not in str(failure.value)
    assert server.received() == []


def test_untrusted_smtp_certificate_is_refused(
    tmp_path: Path,
    smtp: MakeServer,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    server = smtp()
    server.start()
    section = delivery_section(server.port, certificate[0])
    del section["ca_file"]
    config, published = publish(tmp_path, delivery=section)
    with pytest.raises(DeliveryError, match="证书验证失败"):
        deliver(config, published)
    assert server.received() == []


@pytest.mark.slow
def test_a_kill_between_data_and_250_resends_the_same_message_once(
    tmp_path: Path, smtp: MakeServer, certificate: tuple[Path, Path]
) -> None:
    """kill -9 after the last byte of DATA, while the server checks the message (it has
    stored it but not yet said 250): the next run sends at most one more copy, with the
    same Message-ID, and says it is a resend."""
    server = smtp(hold_250=3.0)
    server.start()
    section = delivery_section(server.port, certificate[0], recipients=RECIPIENTS[:1])
    config = write_config(tmp_path, mailbox=directory_mailbox(), delivery=section)
    command = [str(XUNBAO), "run", "--config", str(config), "--period", PERIOD]
    process = subprocess.Popen(command, env=env(), cwd=tmp_path, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not list(server.folder.glob("*.eml")):
        assert process.poll() is None and time.monotonic() < deadline, "nothing reached DATA"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)  # the server holds the message, no 250 yet
    process.wait()
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.deliveries() == []  # not known to be sent

    again = run_cli(config, env(), "--period", PERIOD)
    assert again.returncode == 0, again.stderr
    assert "未得到服务器确认" in again.stderr and "相同的 Message-ID" in again.stderr
    last = run_cli(config, env(), "--period", PERIOD)
    assert "此前已发送 1 位" in last.stdout

    received = server.received()
    assert len(received) == 2  # the copy the kill left, and one resend: no more
    ids = {message["Message-ID"] for _, message in received}
    assert len(ids) == 1 and next(iter(ids)).startswith("<xunbao.")
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert len(ledger.deliveries()) == 1
        assert ledger.runs()[0].outcome == "interrupted"
