"""A folder of .eml files and/or Maildir folders (cur/ and new/), read without changing it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path

from pipeline.errors import SourceError
from pipeline.mailbox import HEAD_BYTES, RawMessage, header_arrival


class DirectorySource:
    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        """`max_bytes`: larger files are not read (as IMAP does not download them)."""
        if not path.is_dir():
            raise SourceError(f"收件目录 {path} 不存在。请检查 config.yaml 中的 mailbox.path。")
        self.path = path
        self.max_bytes = max_bytes

    def poll(self) -> Iterator[RawMessage]:
        # Oldest arrival first, so a unit's figures are judged in the order they came.
        messages = [self._read(file) for file in sorted(self._files())]
        yield from sorted(messages, key=_arrival_key)

    def _read(self, file: Path) -> RawMessage:
        rel = file.relative_to(self.path).as_posix()
        internal = None
        if file.parent.name in ("cur", "new"):
            # Maildir: flags after ':' change when a mail client reads the message, and
            # the unique name starts with the delivery time, the equivalent of INTERNALDATE.
            box = file.parent.parent.relative_to(self.path) / "cur" / file.name.split(":", 1)[0]
            rel = box.as_posix()
            internal = _maildir_time(file.name)
        if self.max_bytes is not None and file.stat().st_size > self.max_bytes:
            with file.open("rb") as big:
                head = big.read(HEAD_BYTES)
            return RawMessage(f"dir:{rel}", b"", internal, too_large=True, head=head)
        return RawMessage(ref=f"dir:{rel}", raw=file.read_bytes(), internal_date=internal)

    def _files(self) -> Iterator[Path]:
        for file in self.path.rglob("*"):
            if not file.is_file() or file.name.startswith("."):
                continue
            if file.suffix.lower() == ".eml" or file.parent.name in ("cur", "new"):
                yield file

    def acknowledge(self, message: RawMessage) -> None:
        """Files are never moved or deleted: re-reading is harmless, the ledger skips them."""

    def close(self) -> None:
        pass


def _arrival_key(message: RawMessage) -> datetime:
    if message.internal_date is not None:
        return message.internal_date
    arrival = header_arrival(
        BytesHeaderParser().parsebytes(_header_block(message.raw or message.head))
    )
    return arrival or datetime.max.replace(tzinfo=UTC)


def _maildir_time(name: str) -> datetime | None:
    head = name.split(".", 1)[0]
    return datetime.fromtimestamp(int(head), tz=UTC) if head.isdigit() else None


def _header_block(raw: bytes) -> bytes:
    """The headers alone: the parser need not walk a body of megabytes to sort by date."""
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    return raw[: min(ends) + 2] if ends else raw
