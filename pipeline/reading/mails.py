"""Raw bytes → what a message says: the parsed mail and the forms found in it.

This is the part of intake that touches hostile content, so it runs in a reader process
(`sandbox`); everything it returns is plain data. A fault inside one attachment becomes a
Chinese reason for that attachment, never an exception out of here.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.parser import BytesHeaderParser

from pipeline.config import Limits
from pipeline.mailbox import parse_date, received_time
from pipeline.mailbox.parse import Attachment, Mail, decode_header, parse
from pipeline.reading import forms
from pipeline.reading.forms.wording import DEFAULT_WORDING, Wording
from pipeline.reading.sandbox import CRASHED

_log = logging.getLogger("xunbao.reading")


@dataclass(frozen=True)
class ReadMail:
    mail: Mail  # attachments without their bytes
    readings: list[forms.Reading] = field(default_factory=list)  # forms found, body last
    unreadable: list[str] = field(default_factory=list)  # one Chinese reason per attachment
    # The grids of attachments that are not forms: a name list (实名登记) may be one.
    lists: list[tuple[tuple[str, ...], ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Headline:
    """What a message's headers alone say, for an entry about a message left unread."""

    message_id: str = ""
    sender: str = ""
    subject: str = ""
    date: datetime | None = None
    received: datetime | None = None


def read_mail(
    raw: bytes,
    limits: Limits | None = None,
    wording: Wording = DEFAULT_WORDING,
    at: Callable[[str], None] | None = None,
) -> ReadMail:
    """`at(name)` is told which attachment is about to be read (the sandbox reports it
    if the reader dies there)."""
    mail = parse(raw)
    readings: list[forms.Reading] = []
    unreadable: list[str] = []
    lists: list[tuple[tuple[str, ...], ...]] = []
    for attachment in mail.attachments:
        if at is not None:
            at(attachment.filename)
        try:
            found = forms.read(attachment, wording=wording, limits=limits)
        except forms.FormUnreadable as exc:
            unreadable.append(f"附件《{attachment.filename}》{exc}")
            continue
        except MemoryError:
            unreadable.append(f"附件《{attachment.filename}》{CRASHED}")
            continue
        except Exception:  # a library's fault on a broken file: the file is at fault
            _log.debug("reading %s failed", attachment.filename, exc_info=True)
            unreadable.append(f"附件《{attachment.filename}》无法读取，文件可能已损坏")
            continue
        readings.extend(r for r in found if r.is_form)
        lists.extend(r.rows for r in found if not r.is_form and r.rows)
    body = forms.read_body(mail.body, wording)
    if body.is_form:
        readings.append(body)
    bare = [Attachment(a.filename, a.content_type, b"") for a in mail.attachments]
    return ReadMail(replace(mail, attachments=bare), readings, unreadable, lists)


def headline(raw: bytes) -> Headline:
    """Headers only (the stdlib parser stops at the blank line): safe on any message."""
    try:
        headers = BytesHeaderParser().parsebytes(raw[: 256 * 1024])
        sender = email.utils.parseaddr(str(headers.get("From", "")))[1]
        return Headline(
            message_id=str(headers.get("Message-ID") or "").strip()[:300],
            sender=sender.strip().lower()[:200],
            subject=decode_header(headers.get("Subject", "")).strip()[:200],
            date=parse_date(headers.get("Date")),
            received=received_time(headers),
        )
    except Exception:  # headers too broken for even this: the entry keeps its ref
        return Headline()
