"""mailbox.verify_dkim: xunbao's own DKIM check with dkimpy. The signer's public key comes
from a small DNS stand-in (the test has no DNS); signing and verifying are dkimpy's own."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from messages import to_mailbox

from pipeline.mailbox.senders import dkim_fails

SELECTOR, DOMAIN = b"s2015", b"163.com"


def genrsa(path: Path) -> Path:
    command = ["openssl", "genrsa", "-out", str(path), "2048"]
    subprocess.run(command, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """(private key PEM, the TXT record publishing its public half)."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return private.read_bytes(), record


def report() -> bytes:
    message = to_mailbox(
        "szqzgh@163.com",
        "市中区旬报",
        "Fri, 18 Sep 2015 09:30:00 +0800",
        "<dkim-1@163.com>",
        "报送单位：市中区\n已完成目标任务数：2650\n",
    )
    return message.as_bytes()


def signed(private: bytes) -> bytes:
    import dkim

    headers = [b"from", b"to", b"subject", b"date", b"message-id"]
    raw = report()
    return dkim.sign(raw, SELECTOR, DOMAIN, private, include_headers=headers) + raw


def dns_for(record: bytes) -> Callable[..., bytes]:
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return record if name == SELECTOR + b"._domainkey." + DOMAIN + b"." else b""

    return lookup


def test_a_valid_signature_passes(key: tuple[bytes, bytes]) -> None:
    private, record = key
    assert not dkim_fails(signed(private), dns_for(record))


def test_a_figure_changed_after_signing_fails(key: tuple[bytes, bytes]) -> None:
    private, record = key
    forged = signed(private).replace(b"2650", b"9650")
    assert forged != signed(private)
    assert dkim_fails(forged, dns_for(record))


def test_a_signature_by_another_key_fails(key: tuple[bytes, bytes], tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(other), "2048"], check=True, capture_output=True
    )
    _, record = key
    assert dkim_fails(signed(other.read_bytes()), dns_for(record))


def test_an_unsigned_mail_is_left_to_the_other_checks(key: tuple[bytes, bytes]) -> None:
    _, record = key
    assert not dkim_fails(report(), dns_for(record))


def test_a_top_level_name_vouches_for_no_domain() -> None:
    from pipeline.mailbox.senders import vouch

    results = ["mx.126.com; dmarc=pass header.from=com"]
    assert not vouch(report(), "163.com", results, ["mx.126.com"]).ok
    results = ["mx.126.com; dmarc=pass header.from=163.com"]
    assert vouch(report(), "163.com", results, ["mx.126.com"]).ok
