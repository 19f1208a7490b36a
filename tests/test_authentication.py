"""Sender authentication over Dovecot (issue 23): with an IMAP mailbox and no setting, a report
counts only when its From domain is vouched for. Forged mail is held with and without
Authentication-Results; a DKIM-signed report is verified by xunbao itself through a DNS
stand-in (a small UDP server answering the selector's TXT record); a trusted server's
dmarc=pass counts; when DNS does not answer the report is held 暂时无法验证 and verified again
at the next read of the mailbox."""

from __future__ import annotations

import base64
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
import pytest
from conftest import XUNBAO, Account, needs_dovecot, write_config
from messages import to_mailbox

from pipeline.ledger import Ledger

pytestmark = [needs_dovecot, pytest.mark.slow]

PERIOD = "2015-09-20"
SELECTOR = "s2015"
KEY_NAME = f"{SELECTOR}._domainkey.163.com."
PASS = "dmarc=pass header.from="


class DnsStandIn:
    """Answers TXT queries for KEY_NAME with `record`; `down` answers SERVFAIL to all."""

    def __init__(self, record: bytes) -> None:
        self.record, self.down = record, False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            answer = dns.message.make_response(query)
            name = query.question[0].name.to_text()
            if self.down:
                answer.set_rcode(dns.rcode.SERVFAIL)
            elif name.lower() == KEY_NAME:
                record = self.record.decode()  # in strings of at most 255 characters
                text = " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
                answer.answer.append(dns.rrset.from_text(name, 60, "IN", "TXT", text))
            else:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(answer.to_wire(), peer)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    private = tmp_path_factory.mktemp("dkim") / "private.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return private.read_bytes(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.fixture
def stand_in(key: tuple[bytes, bytes]) -> Iterator[DnsStandIn]:
    server = DnsStandIn(key[1])
    yield server
    server.close()


def mail(sender: str, n: int, value: int, unit: str, *results: str) -> bytes:
    message = to_mailbox(
        sender,
        f"{unit}旬报",
        f"Fri, 18 Sep 2015 09:{n:02d}:00 +0800",
        f"<auth-{n}@example.test>",
        f"报送单位：{unit}\n已完成目标任务数：{value}\n",
    )
    for result in results:  # the first is the topmost, as the receiving server writes it
        message["Authentication-Results"] = result
    return message.as_bytes()


def signed(raw: bytes, private: bytes, domain: bytes = b"163.com") -> bytes:
    import dkim

    headers = [b"from", b"to", b"subject", b"date", b"message-id"]
    return dkim.sign(raw, SELECTOR.encode(), domain, private, include_headers=headers) + raw


def run(folder: Path, account: Account) -> subprocess.CompletedProcess[str]:
    command = [str(XUNBAO), "run", "--period", PERIOD, "--no-send"]
    done = subprocess.run(
        [*command, "--config", str(folder / "config.yaml")],
        capture_output=True,
        text=True,
        env=account.env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def outcomes(folder: Path) -> dict[str, tuple[str, str, int | None]]:
    with Ledger(folder / "ledger.sqlite") as ledger:
        return {m.message_id: (m.outcome, m.reason, m.value) for m in ledger.messages()}


def test_only_vouched_senders_count(
    tmp_path: Path, account: Account, stand_in: DnsStandIn, key: tuple[bytes, bytes]
) -> None:
    private = key[0]
    settings = account.mailbox_config(authserv_ids=["mx.126.com"], dns=f"127.0.0.1:{stand_in.port}")
    del settings["require_authentication"]  # the IMAP default: on
    write_config(tmp_path, mailbox=settings)
    forged = "dkim=none; spf=softfail smtp.mailfrom=163.com"
    account.append(
        [
            mail("szqzgh@163.com", 1, 9999, "市中区"),  # no Authentication-Results at all
            mail("szqzgh@163.com", 2, 9998, "市中区", f"mx.126.com; {forged}"),
            mail(
                "szqzgh@163.com", 3, 9997, "市中区", "evil.example; dmarc=pass header.from=163.com"
            ),
            signed(mail("szqzgh@163.com", 4, 9996, "市中区"), private, b"evil.example"),
            signed(mail("szqzgh@163.com", 5, 2650, "市中区"), private),
            mail(
                "wtqzgh@126.com", 6, 900, "五通桥区", "mx.126.com; dmarc=pass header.from=126.com"
            ),
            # the forger's own "pass" beneath the receiving server's verdict
            mail(
                "szqzgh@163.com",
                8,
                9995,
                "市中区",
                f"mx.126.com; {forged}",
                "mx.126.com; dmarc=pass header.from=163.com",
            ),
        ]
    )
    run(tmp_path, account)
    found = outcomes(tmp_path)
    for n in (1, 2, 3, 4, 8):  # none, dkim=none, untrusted pass, others' signature, beneath
        outcome, reason, _ = found[f"<auth-{n}@example.test>"]
        assert outcome == "review" and reason.startswith("发件人身份未能验证（可能是伪造）"), n
    assert found["<auth-5@example.test>"][::2] == ("counted", 2650)  # verified by xunbao
    assert found["<auth-6@example.test>"][::2] == ("counted", 900)  # mx.126.com: dmarc=pass

    # DNS does not answer: held, not counted and not called forged; verified at the next read.
    stand_in.down = True
    account.append([signed(mail("mbxzgh@163.com", 7, 1000, "马边彝族自治县"), private)])
    run(tmp_path, account)
    outcome, reason, _ = outcomes(tmp_path)["<auth-7@example.test>"]
    assert outcome == "review" and reason.startswith("暂时无法验证发件人身份")
    stand_in.down = False
    again = run(tmp_path, account)
    assert "重新验证发件人身份：1 封邮件已有结论" in again.stdout
    assert outcomes(tmp_path)["<auth-7@example.test>"][::2] == ("counted", 1000)
