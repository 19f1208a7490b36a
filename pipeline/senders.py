"""Whether a message's sender can be trusted: the address, forged headers, the receiving
server's verdict (Authentication-Results) and, optionally, a DKIM check of our own.

The address always comes from the raw From header, before any RFC 2047 decoding: an
encoded display name can decode to CR LF and a registered address, and must never supply
the address. Only a *fail* from a trusted server is acted on, so a forged
Authentication-Results header can at worst hold its own message.
"""

from __future__ import annotations

import email.header
import email.utils
import re
from collections.abc import Callable
from email.message import Message

_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_WHO = {"from": "发件人（From）", "sender": "代发人（Sender）", "reply-to": "回复地址（Reply-To）"}


def raw_address(msg: Message) -> tuple[str, str]:
    """(display name as written, address) from the undecoded From header."""
    name, address = email.utils.parseaddr(_raw(msg.get("From", "")))
    return name, address.strip().lower()


def forged_headers(msg: Message) -> str | None:
    """Why From, Sender or Reply-To cannot be trusted, in Chinese, or None."""
    for header, who in _WHO.items():
        for value in msg.get_all(header) or []:
            raw = _raw(value)
            decoded = _decoded(raw)
            if "\r" in decoded or "\n" in decoded:
                return f"{who}解码后含有换行符，可能是伪造的邮件头"
            addresses = [a for _, a in email.utils.getaddresses([raw]) if a]
            if len(addresses) > 1 or len(_ADDRESS.findall(decoded)) > 1:
                return f"{who}中有多个邮箱地址，无法确定发件人"
        if header == "from" and len(msg.get_all(header) or []) > 1:
            return f"{who}出现了不止一次，无法确定发件人"
    return None


_RESULT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*(\w+)([^;]*)", re.I)
_DOMAIN = re.compile(r"\b(?:header\.d|header\.from|smtp\.mailfrom|header\.i)\s*=\s*([^\s;]+)")


def authentication_failures(values: list[str], trusted: list[str], domain: str) -> list[str]:
    """'dkim=fail' etc. that a trusted server recorded for the From domain."""
    wanted = {t.strip().lower() for t in trusted if t.strip()}
    failed = []
    for value in values:
        server, _, results = value.partition(";")
        if server.strip().split(" ")[0].lower() not in wanted:
            continue
        for method, verdict, props in _RESULT.findall(results):
            if verdict.lower() not in ("fail", "permerror"):
                continue
            named = [d.lower().rpartition("@")[2].strip(">") for d in _DOMAIN.findall(props)]
            if not named or any(_same_domain(d, domain) for d in named):
                failed.append(f"{method.lower()}={verdict.lower()}")
    return sorted(set(failed))


def dkim_fails(raw: bytes, dns: Callable[..., bytes] | None = None) -> bool:
    """Our own DKIM check (dkimpy): a signature present and not valid. The signer's key is
    looked up in DNS (`dns` answers instead, as dkimpy's dnsfunc: name -> TXT record)."""
    import dkim  # dnspython and the crypto: only when the check is switched on

    if b"dkim-signature:" not in raw[:262144].lower():
        return False
    return not (dkim.verify(raw, dnsfunc=dns) if dns else dkim.verify(raw))


def _same_domain(named: str, domain: str) -> bool:
    return named == domain or named.endswith("." + domain) or domain.endswith("." + named)


def _raw(value: object) -> str:
    """The header as written, unfolded (folding is the only CR LF a raw header may hold)."""
    text = value.encode() if isinstance(value, email.header.Header) else str(value)
    return re.sub(r"\r?\n[ \t]", " ", text)


def _decoded(raw: str) -> str:
    parts = []
    for chunk, charset in email.header.decode_header(raw):
        if isinstance(chunk, bytes):
            parts.append(chunk.decode(charset or "utf-8", "replace") if _known(charset) else "")
        else:
            parts.append(chunk)
    return "".join(parts)


def _known(charset: str | None) -> bool:
    try:
        "".encode(charset or "utf-8")
    except LookupError:
        return False
    return True
