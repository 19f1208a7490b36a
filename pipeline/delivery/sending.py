"""Sending mail over SMTP — the circular, receipts, reminders — exactly once per recipient.

Each message goes to one recipient, and the ledger's `deliveries` table records it as soon
as the server has accepted it, keyed by (period, recipient, kind). A run sends only what is
not recorded yet, so a failed or interrupted run is completed by the next one.

One window remains: from the last byte of DATA until the server's "250 OK" is recorded
(the server checks the message first; tens of milliseconds locally, longer at a provider
that scans mail). A kill there leaves a message the server may have accepted. So before
DATA the intent is written to the ledger's `outbox`, and every message carries a
Message-ID derived from (kind, period, recipient, version): the resend after such a kill
is the very same message, which mail clients show once, and the log says it is a resend.

Kinds: `circular` for the first version of a period's circular, `circular:v<N>` for its
corrections; `notice:<phase>:v<N>` for telling the clerk a circular waits (issuance.py);
`receipt:<message id>` for the receipt
(回执) of one message (`receipts.py`); `reminder:<unit>` and `reminder-list` for the
reminders (催报) before a cutoff (`reminders.py`). `send` is the one way out for all of them.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import Config, Delivery, secret
from pipeline.errors import DeliveryError
from pipeline.ledger import Ledger, circular_kind
from pipeline.outputs.corrections import doc_number
from pipeline.standings.periods import Period

if TYPE_CHECKING:
    from pipeline.ledger.records import VersionRecord
    from pipeline.outputs import Published

_log = logging.getLogger("xunbao.delivery")
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Delivered:
    sent: int = 0  # messages sent by this run
    skipped: int = 0  # recipients who had the circular already
    failures: list[str] = field(default_factory=list)


@dataclass
class StepResult:
    """What one sending step (receipts, reminders, the circular's settling) sent, and what
    it failed to send (each failure a Chinese sentence)."""

    sent: int = 0
    failures: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # for the clerk's console and the log


@dataclass(frozen=True)
class Outgoing:
    period: str
    recipient: str
    kind: str
    message: EmailMessage
    cc: tuple[str, ...] = ()
    version: str = ""  # a new version (a reissued circular) is a new message


@dataclass(frozen=True)
class Edition:
    """One version of a period's circular as it is mailed."""

    period: Period
    version: int
    doc_number: str
    correction: str  # 更正说明; '' for the first version
    target: int  # the city's, as the version states it
    completed: int
    rate: float
    pdf: Path
    xlsx: Path

    @property
    def kind(self) -> str:
        return circular_kind(self.version)


def deliver(config: Config, ledger: Ledger, published: Published) -> Delivered:
    """The published circular as the period's first version."""
    table = published.standings
    number = doc_number(config, published.period, ledger.versions())
    edition = Edition(
        published.period,
        1,
        number,
        "",
        table.target,
        table.completed,
        round(table.rate, 4),
        published.pdf,
        published.xlsx,
    )
    return send_edition(config, ledger, edition)


def deliver_version(
    config: Config, ledger: Ledger, version: VersionRecord, pdf: Path, xlsx: Path
) -> Delivered:
    """An issued version to every recipient who has not had it."""
    period = Period.parse(version.period)
    stated = version.standings
    edition = Edition(
        period,
        version.version,
        version.doc_number,
        version.correction,
        stated.target,
        stated.completed,
        stated.rate,
        pdf,
        xlsx,
    )
    return send_edition(config, ledger, edition)


def send_edition(config: Config, ledger: Ledger, edition: Edition) -> Delivered:
    """Send the version to every recipient not recorded yet; DeliveryError if any failed."""
    period = str(edition.period)
    result = Delivered()
    due: list[Outgoing] = []
    for recipient in config.circular_recipients():
        if ledger.delivered(period, recipient, edition.kind):
            result.skipped += 1
        else:
            due.append(Outgoing(period, recipient, edition.kind, circular(config, edition)))
    result.sent, result.failures = send(config, ledger, due)
    if result.failures:
        raise DeliveryError(
            "以下邮件未能发出：" + "；".join(result.failures) + "。已发出的都已记录，"
            "下次运行会只补发这些，不会重复发送。"
        )
    return result


def notify_clerk(config: Config, ledger: Ledger, period: str, kind: str, text: str) -> int:
    """Tell the clerk (delivery.clerk) once per kind that a circular waits; copies sent."""
    clerk = config.delivery.clerk
    if not clerk or ledger.delivered(period, clerk, kind):
        return 0
    message = envelope(config, f"通报暂缓发送：{text[:40]}")
    message.set_content(f"{text}。\n\n（本邮件由旬报系统自动发送。）\n")
    sent, failures = send(config, ledger, [Outgoing(period, clerk, kind, message)])
    if failures:
        raise DeliveryError("；".join(failures))
    return sent


def send(config: Config, ledger: Ledger, due: list[Outgoing]) -> tuple[int, list[str]]:
    """Send each message and record it as sent; (how many went, why the others did not)."""
    if not due:
        return 0, []
    settings = config.delivery
    password = ""
    if settings.username:  # a relay without login (no username) needs no password
        password = secret(
            settings.password_env, _resolved(config, settings.password_file), "SMTP 授权码"
        )
    sent, failures = 0, []
    try:
        session = _session(config, password)
    except DeliveryError as exc:  # nothing went: each copy waits with the reason
        for item in due:
            ledger.delivery_failed(item.period, item.recipient, item.kind, exc.reason, False)
        raise
    with session as smtp:
        for item in due:
            # The same id on every attempt: a copy resent after a crash is seen as the same.
            try:
                item.message.replace_header("Message-ID", stable_id(config, item))
                item.message["To"] = header_text(item.recipient)
                if item.cc:
                    item.message["Cc"] = header_text(", ".join(item.cc))
                problem = _send_one(smtp, ledger, item)
            except (ValueError, TypeError, UnicodeError, LookupError) as exc:  # this one's data
                problem = f"发给 {item.recipient} 的邮件未能生成（{exc}）"
            if problem:
                failures.append(problem)
            else:
                sent += 1
    return sent, failures


def _send_one(smtp: smtplib.SMTP, ledger: Ledger, item: Outgoing) -> str | None:
    """None when sent and recorded; else why not. The intent is recorded before DATA."""
    message_id = str(item.message["Message-ID"])
    unconfirmed = ledger.intend_delivery(item.period, item.recipient, item.kind, message_id)
    if unconfirmed:
        _log.warning(
            "发给 %s 的邮件（%s）上次已开始发送但未得到服务器确认（当时程序被中断），"
            "现以相同的 Message-ID %s 重发；对方可能收到两份相同的邮件。",
            item.recipient,
            item.kind,
            message_id,
        )
    why, unknown = "", False
    try:
        refused = smtp.send_message(item.message)
        why = f"被拒绝（{refused}）" if refused else ""
    except smtplib.SMTPServerDisconnected:
        why, unknown = "发送中发信服务器断开了连接", True
    except smtplib.SMTPException as exc:
        why = f"被拒绝（{_said(exc)}）"
    if why:
        ledger.delivery_failed(item.period, item.recipient, item.kind, why, unknown)
        return f"发给 {item.recipient} {why}"
    ledger.record_delivery(item.period, item.recipient, item.kind)
    return None


# ── the messages ───────────────────────────────────────────────
def circular(config: Config, edition: Edition) -> EmailMessage:
    """One version of a period's circular, addressed later: PDF and Excel table attached."""
    period = edition.period
    label = period.label()
    marked = f"（更正，第{edition.version}版）" if edition.version > 1 else ""
    title = f"{config.circular.title}（{label}）{marked}"
    message = envelope(config, f"【更正】{title}" if marked else title)
    campaign = config.campaign
    correction = (
        f"本件为更正版，请以此为准，此前发送的版本作废。更正说明：{edition.correction}\n\n"
        if marked
        else ""
    )
    message.set_content(
        "各位领导、同志：\n\n"
        + correction
        + f"现将《{config.circular.title}》（{edition.doc_number}，{label}，"
        f"截至 {period.end.year}年{period.end.month}月{period.end.day}日）印发给你们，"
        "请查收附件：\n"
        f"  1. {title}.pdf（通报正文）\n"
        f"  2. 各单位完成情况表（{label}）.xlsx\n\n"
        f"截至本旬，全市{campaign.metric} {edition.completed:,} {campaign.measure}，"
        f"完成全年目标 {edition.target:,} {campaign.measure}的 {edition.rate * 100:.1f}%。\n\n"
        f"{config.circular.department}\n"
        "（本邮件由旬报系统自动发送，请勿直接回复。）\n"
    )
    _attach(message, edition.pdf, f"{title}.pdf", PDF)
    _attach(message, edition.xlsx, f"各单位完成情况表（{label}）.xlsx", XLSX)
    return message


def stable_id(config: Config, item: Outgoing) -> str:
    """A Message-ID derived from (period, recipient, kind, version)."""
    key = f"{item.period}|{item.recipient.lower()}|{item.kind}|{item.version}".encode()
    sender = config.delivery.sender or config.delivery.username
    domain = sender.rpartition("@")[2] or "xunbao.invalid"
    return f"<xunbao.{hashlib.sha256(key).hexdigest()[:32]}@{domain}>"


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def header_text(value: str) -> str:
    """A header value xunbao writes: control characters (CR, LF, NUL…) become a space."""
    return _CONTROL.sub(" ", value).strip()


def envelope(config: Config, subject: str) -> EmailMessage:
    settings = config.delivery
    sender = header_text(settings.sender or settings.username)
    message = EmailMessage()
    message["From"] = email.utils.formataddr((header_text(config.circular.department), sender))
    message["Subject"] = header_text(subject)
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or None)
    return message


def _attach(message: EmailMessage, path: Path, filename: str, mime: str) -> None:
    maintype, subtype = mime.split("/", 1)
    # A non-ASCII filename is written as RFC 2231 (filename*=utf-8''...) by the email package.
    message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=filename)


# ── the connection ─────────────────────────────────────────────
def _session(config: Config, password: str) -> smtplib.SMTP:
    settings = config.delivery
    context = settings.tls_context(config)
    where = f"{settings.host}:{settings.port}"
    try:
        smtp = _open(settings, context)
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(
            f"发信服务器 {where} 的证书验证失败（{exc.verify_message or exc}）。"
            "若使用自建证书，请在 delivery.ca_file 中填写 CA 证书文件；证书验证不能关闭。"
            "通报已生成，下次运行时会补发。",
            f"发信服务器 {where} 的证书验证失败",
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"无法连接发信服务器 {where}（{_said(exc)}）。通报已生成，下次运行时会补发。"
            "请检查网络以及 config.yaml 中的 delivery.host、delivery.port。",
            f"无法连接发信服务器 {where}：{_said(exc)}",
        ) from None
    try:
        if settings.username:
            smtp.login(settings.username, password)
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        raise DeliveryError(
            f"发信邮箱 {settings.username} 登录失败（{_said(exc)}）。126、163、QQ 等邮箱的 SMTP "
            "密码是“授权码”（网页版邮箱“设置 → POP3/SMTP/IMAP”中开启服务时生成），不是网页登录"
            f"密码。请把授权码放入环境变量 {settings.password_env}。",
            f"发信邮箱 {settings.username} 登录失败：{_said(exc)}",
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        raise DeliveryError(f"发信服务器 {where} 登录时出错（{_said(exc)}）。") from None
    return smtp


def _open(settings: Delivery, context: ssl.SSLContext) -> smtplib.SMTP:
    if settings.ssl:
        return smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.starttls:
        smtp.starttls(context=context)
    refused = settings.plaintext_refused("delivery", 465, 587)
    if refused:
        smtp.close()
        raise DeliveryError(refused)
    return smtp


def _resolved(config: Config, path: Path | None) -> Path | None:
    return config.resolve(path) if path else None


def _said(exc: BaseException) -> str:
    """An SMTP error's text; QQ answers in GBK."""
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        text = _decode(raw) if isinstance(raw, bytes) else str(raw)
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝，服务器未运行或端口不对"
    if isinstance(exc, TimeoutError):
        return "连接超时"
    return str(exc) or type(exc).__name__


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", "replace")
