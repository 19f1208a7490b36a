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
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config import Mailbox
    from pipeline.mailbox.parse import Mail

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
    """Relaxed alignment: one is the other or a subdomain of it. A bare top-level name
    ("com") aligns with nothing: it would vouch for every domain under it."""
    if "." not in named or "." not in domain:
        return named == domain and bool(named)
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


# ── vouching: who says the From domain really sent it ──────────
Dns = Callable[..., bytes]


@dataclass(frozen=True)
class Vouched:
    """Whether the From domain is vouched for, and by what ('' when not); `unsure` when a
    DNS lookup failed, so the answer may change on a later try."""

    by: str
    unsure: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.by)


_DKIM_D = re.compile(rb"(?:^|;)\s*d\s*=\s*([^\s;]+)", re.I)


def vouch(
    raw: bytes, domain: str, results: list[str], trusted: list[str], dns: Dns | None = None
) -> Vouched:
    """An aligned DKIM signature xunbao verifies itself (the signer's key from DNS, or from
    `dns`), else dkim=pass / dmarc=pass for the From domain in an Authentication-Results
    header written by a server in `trusted`."""
    passed = _trusted_pass(results, trusted, domain)
    if passed:
        return Vouched(passed)
    return _own_dkim(raw, domain, dns)


def _own_dkim(raw: bytes, domain: str, dns: Dns | None) -> Vouched:
    import dkim  # the crypto: only when a message is signed

    head = raw[: raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.find(b"\n\n")]
    signatures = [v for k, v in _header_fields(head) if k.lower() == b"dkim-signature"]
    unsure = False
    for index, value in enumerate(signatures):
        found = _DKIM_D.search(value)
        signer = found.group(1).decode("ascii", "replace").lower() if found else ""
        if not signer or not _same_domain(signer, domain):
            continue  # not aligned with From: vouches for someone else
        failed: list[BaseException] = []
        lookup = _recording(dns or _txt, failed)
        try:
            good = dkim.DKIM(raw, timeout=5).verify(idx=index, dnsfunc=lookup)
        except dkim.DKIMException:
            good = False
        if good:
            return Vouched(f"DKIM 签名（{signer}）")
        unsure = unsure or bool(failed)
    return Vouched("", unsure)


def _recording(lookup: Dns, failed: list[BaseException]) -> Dns:
    def recorded(name: bytes, timeout: int = 5) -> bytes:
        try:
            return lookup(name, timeout=timeout)
        except Exception as exc:  # a DNS failure: not a verdict on the signature
            failed.append(exc)
            raise _dns_timeout(exc) from exc

    return recorded


def _dns_timeout(exc: BaseException) -> Exception:
    import dkim

    timeout: Exception = dkim.DnsTimeoutError(str(exc))
    return timeout


def _txt(name: bytes, timeout: int = 5, using: object = None) -> bytes:
    """The TXT record at `name`; b'' when there is none; raises when DNS cannot answer."""
    import dns.exception
    import dns.resolver

    chosen = (
        using if isinstance(using, dns.resolver.Resolver) else dns.resolver.get_default_resolver()
    )
    try:
        answer = chosen.resolve(
            name.decode("ascii").rstrip("."), "TXT", raise_on_no_answer=False, lifetime=timeout
        )
    except dns.resolver.NXDOMAIN:
        return b""
    except dns.exception.DNSException as exc:  # timeout, SERVFAIL, no resolver
        raise OSError(f"DNS 查询失败：{exc}") from exc
    for record in answer:
        return b"".join(record.strings)
    return b""


def _header_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    fields: list[tuple[bytes, bytes]] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append((name.strip(), value))
    return fields


def _trusted_pass(values: list[str], trusted: list[str], domain: str) -> str:
    """'dkim=pass' / 'dmarc=pass' for the From domain from a trusted server, else ''.

    Only the topmost Authentication-Results counts: the receiving server writes its own
    above everything the sender wrote, so a "pass" a forger put in the message lies below
    it (and the server must be one that always writes one: docs/mailbox.zh.md)."""
    wanted = {t.strip().lower() for t in trusted if t.strip()}
    for value in values[:1]:
        server, _, results = value.partition(";")
        server_id = server.strip().split(" ")[0].lower()
        if server_id not in wanted:
            continue
        for method, verdict, props in _RESULT.findall(results):
            if method.lower() not in ("dkim", "dmarc") or verdict.lower() != "pass":
                continue
            named = [d.lower().rpartition("@")[2].strip(">") for d in _DOMAIN.findall(props)]
            if any(_same_domain(d, domain) for d in named):
                return f"{server_id} 的 {method.lower()}=pass"
    return ""


# ── the verdict intake acts on ─────────────────────────────────
UNVERIFIED = "发件人身份未能验证（可能是伪造）"
UNSURE = "暂时无法验证发件人身份（查询 DKIM 公钥的 DNS 没有答复），下次收信时自动重新验证"


@dataclass(frozen=True)
class Judged:
    held: str | None  # why the sender is not taken at its word; None: trusted as far as asked
    vouched: str  # what vouched for the From domain; '': nothing did


def judge(settings: Mailbox, mail: Mail, raw: bytes, registered: bool) -> Judged:
    """Forged headers, a trusted server's fail, our own DKIM check, and — for a registered
    sender when `require_authentication` is on — a From domain nobody vouched for."""
    if mail.sender_problem:
        return Judged(mail.sender_problem, "")
    domain = mail.sender.rpartition("@")[2]
    trusted = settings.authserv_ids
    failed = authentication_failures(mail.authentication, trusted, domain)
    if failed:
        shown = "、".join(failed)
        return Judged(f"发件人可能被冒用：收件服务器的验证结果为 {shown}，请与发件单位核实", "")
    own = settings.verify_dkim or (settings.authenticates and registered)  # DNS: only if needed
    dns = resolver(settings.dns) if own else None
    vouched = vouch(raw, domain, mail.authentication, trusted, dns) if own else Vouched("")
    if not own:
        vouched = Vouched(_trusted_pass(mail.authentication, trusted, domain))
    if settings.verify_dkim and not vouched.ok and not vouched.unsure and dkim_fails(raw, dns):
        return Judged("发件人可能被冒用：邮件的 DKIM 签名验证未通过，请与发件单位核实", "")
    if registered and settings.authenticates and not vouched.ok:
        if vouched.unsure:
            return Judged(UNSURE, "")
        why = (
            "没有能验证的 DKIM 签名，也没有可信收件服务器（authserv_ids）的 dkim=pass 或 dmarc=pass"
        )
        return Judged(f"{UNVERIFIED}：{why}，请与发件单位核实", "")
    return Judged(None, vouched.by)


def resolver(server: str) -> Dns:
    """TXT lookups at `server` ("host" or "host:port"; '' the system's resolver)."""
    if not server:
        return _txt
    host, _, port = server.partition(":")

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        import dns.resolver

        chosen = dns.resolver.Resolver(configure=False)
        chosen.nameservers = [host]
        chosen.port = int(port or 53)
        return _txt(name, timeout, chosen)

    return lookup
