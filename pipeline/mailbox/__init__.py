"""Where raw messages come from: a directory (.eml files, Maildir) or an IMAP mailbox.

Every source yields `RawMessage`s and is told, after the ledger has committed a message,
that it may acknowledge it (an IMAP source moves it or advances its high-water mark).
"""

from __future__ import annotations

import email.utils
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.ledger import Ledger


HEAD_BYTES = 64 * 1024  # kept of a message too large to read: enough for its header block


@dataclass(frozen=True)
class RawMessage:
    ref: str  # stable identity within the source, e.g. "dir:2015/a.eml" or "imap:INBOX:7:42"
    raw: bytes
    internal_date: datetime | None = None  # the server's arrival time, when there is one
    too_large: bool = False  # the source refused to download it; raw is empty
    head: bytes = b""  # of a too-large message, its headers when the source has them

    @cached_property
    def sha256(self) -> str:
        """Of the bytes: the ledger, the duplicate check and the stored original all use it."""
        return hashlib.sha256(self.raw).hexdigest()


class Source(Protocol):
    def poll(self) -> Iterator[RawMessage]:
        """Messages not yet acknowledged, oldest first."""
        ...

    def acknowledge(self, message: RawMessage) -> None:
        """Called once the ledger holds the message's outcome."""
        ...

    def close(self) -> None: ...


def open_source(config: Config, ledger: Ledger) -> Source:
    """The configured mailbox: an IMAP folder or a directory of .eml files."""
    if config.mailbox.source == "imap":
        from pipeline.mailbox.imap import (
            ImapSource,  # imported late: directory users need no network
        )

        return ImapSource(config, ledger)
    from pipeline.mailbox.directory import DirectorySource

    limit = int(config.mailbox.max_message_mb * 1024 * 1024)
    return DirectorySource(config.resolve(config.mailbox.path), limit)


def parse_date(value: object) -> datetime | None:
    """An RFC 5322 date as an aware datetime (UTC when the zone is missing), or None."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def received_time(headers: Message) -> datetime | None:
    """The topmost Received header's time: when our own server accepted the message."""
    for header in headers.get_all("Received") or []:
        when = parse_date(str(header).rpartition(";")[2])
        if when is not None:
            return when
    return None


def header_arrival(headers: Message) -> datetime | None:
    return received_time(headers) or parse_date(headers.get("Date"))
