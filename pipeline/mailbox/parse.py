"""Raw bytes → `Mail`: decoded headers, the sender's own text and the attachments.

mail-parser does the MIME work; headers and filenames are decoded here because Chinese
clients label GBK text as gb2312, put RFC 2047 words inside quoted parameters, or send raw
8-bit bytes, and each needs the raw value to recover.
"""

from __future__ import annotations

import binascii
import email.header
import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from html.parser import HTMLParser

import mailparser

from pipeline.mailbox import RawMessage, parse_date, received_time, senders

SERVER_TIME = "服务器接收时间"  # the arrival basis of a message its server dated


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    message_id: str
    sender: str  # lower-case address
    sender_name: str
    subject: str
    date: datetime | None  # the Date header
    received: datetime | None  # the topmost Received header: our server's arrival time
    headers: dict[str, str]  # lower-case names, first value, decoded
    content_type: str
    body: str  # the sender's own text, quoted replies removed
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    sender_problem: str | None = None  # forged-looking From/Sender/Reply-To, in Chinese
    authentication: list[str] = field(default_factory=list)  # Authentication-Results values

    def arrival(self, raw: RawMessage) -> tuple[datetime | None, str]:
        """When the message reached the mailbox, and which clock said so."""
        if raw.internal_date is not None:
            return raw.internal_date, SERVER_TIME
        if self.received is not None:
            return self.received, "Received 头"
        return self.date, "Date 头"


def parse(raw: bytes) -> Mail:
    parsed = mailparser.parse_from_bytes(raw)
    msg: Message = parsed.message
    name, address = senders.raw_address(msg)
    plain = "\n".join(parsed.text_plain)
    html = "\n".join(parsed.text_html)
    # A form pasted into a webmail's rich-text editor is a table in the HTML part; the
    # plain alternative beside it has lost the table's columns.
    tabled = _TABLE_ROWS.search(html) is not None
    body = plain if plain.strip() and not tabled else html_to_text(html)
    return Mail(
        message_id=(msg.get("Message-ID") or "").strip(),
        sender=address,
        sender_name=decode_header(name).strip(),
        subject=decode_header(msg.get("Subject", "")).strip(),
        date=parse_date(msg.get("Date")),
        received=received_time(msg),
        headers={k.lower(): decode_header(v) for k, v in reversed(msg.items())},
        content_type=msg.get_content_type(),
        body=strip_quotes(body),
        attachments=list(_attachments(msg)),
        defects=sorted(parsed.defects_categories),
        sender_problem=senders.forged_headers(msg),
        authentication=[str(v) for v in msg.get_all("Authentication-Results") or []],
    )


_SURROGATE = re.compile("[\udc80-\udcff]")


def decode_header(value: object) -> str:
    """RFC 2047 words in any charset, and raw 8-bit UTF-8 or GBK, to text."""
    if isinstance(value, email.header.Header):
        # Raw 8-bit bytes in a header: the parser keeps them as an 'unknown-8bit' chunk.
        return "".join(_decode_bytes(b, c) for b, c in email.header.decode_header(value))
    text = str(value)
    if _SURROGATE.search(text):
        text = _recover_8bit(text.encode("utf-8", "surrogateescape"))
    out = []
    for chunk, charset in email.header.decode_header(text):
        if isinstance(chunk, bytes):
            out.append(_decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    # Folded encoded words are separated by whitespace that decode_header keeps between runs.
    return re.sub(r"\s*\n\s*", " ", "".join(out))


def _decode_bytes(data: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8", "gb18030"):
        if not candidate or candidate == "unknown-8bit":
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


def _recover_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


def _attachments(msg: Message) -> list[Attachment]:
    found = []
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            found.extend(_forwarded(part))
        if part.is_multipart():
            continue
        raw_name = part.get_filename()
        disposition = part.get_content_disposition()
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        if raw_name is None and disposition != "attachment":
            found.extend(_uuencoded(data))
            continue
        filename = decode_header(raw_name) if raw_name else f"附件.{part.get_content_subtype()}"
        found.append(Attachment(filename.strip(), part.get_content_type(), data))
    return found


def _forwarded(part: Message) -> list[Attachment]:
    """A report forwarded as an attachment: its own body becomes a text attachment (the
    files inside it are found by the walk that continues into it)."""
    inner = part.get_payload()
    inner = inner[0] if isinstance(inner, list) and inner else inner
    if not isinstance(inner, Message):
        return []
    texts = []
    for sub in inner.walk():
        if sub.get_content_maintype() == "text" and sub.get_filename() is None:
            payload = sub.get_payload(decode=True)
            if isinstance(payload, bytes):
                text = _decode_bytes(payload, sub.get_content_charset())
                texts.append(html_to_text(text) if sub.get_content_subtype() == "html" else text)
    if not texts:
        return []
    body = strip_quotes(texts[0])
    return [Attachment("转发的邮件正文.txt", "text/plain", body.encode("utf-8"))]


_UU_BLOCK = re.compile(rb"^begin [0-7]{3,4} ([^\r\n]+)\r?\n(.*?)^end\s*$", re.M | re.S)


def _uuencoded(data: bytes) -> list[Attachment]:
    """Old clients put uuencoded files inside a text part; mail-parser mangles them."""
    found = []
    for match in _UU_BLOCK.finditer(data):
        try:
            decoded = b"".join(
                binascii.a2b_uu(line) for line in match.group(2).splitlines() if line.strip()
            )
        except binascii.Error:
            continue
        name = _decode_bytes(match.group(1).strip(), None)
        found.append(Attachment(name, "application/octet-stream", decoded))
    return found


# Reply separators of Chinese and Western clients: everything from here on is quoted.
_REPLY = re.compile(
    r"^\s*(-{3,}\s*(原始邮件|Original Message)\s*-{3,}"
    r"|在\s*.{0,80}写道[:：]?\s*$"
    r"|On .{0,120} wrote:\s*$"
    r"|(发件人|From)\s*[:：].*$)",
    re.IGNORECASE | re.MULTILINE,
)
# Forward separators: what follows is the report being passed on, not a quote.
_FORWARD = re.compile(
    r"^\s*-{3,}\s*(转发邮件信息|转发的邮件|Forwarded message)\s*-{3,}\s*$", re.I | re.M
)
_FORWARD_HEADER = re.compile(
    r"^\s*(发件人|发送时间|日期|时间|收件人|抄送|主题|From|Sent|Date|To|Cc|Subject)\s*[:：]", re.I
)


def strip_quotes(text: str) -> str:
    """The sender's own words and any report they forward; quoted replies are cut."""
    forward = _FORWARD.search(text)
    reply = _REPLY.search(text)
    if forward and (reply is None or forward.start() < reply.start()):
        rest = text[forward.end() :].strip("\r\n").splitlines()
        while rest and (not rest[0].strip() or _FORWARD_HEADER.match(rest[0])):
            rest.pop(0)
        return _unquoted(text[: forward.start()]) + "\n" + strip_quotes("\n".join(rest))
    return _unquoted(text[: reply.start()] if reply else text)


def _unquoted(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))


_TABLE_ROWS = re.compile(r"<tr[\s>].*?<tr[\s>]", re.I | re.S)


class _TextExtractor(HTMLParser):
    """HTML → text where table cells are separated by tabs and rows by newlines.

    Paragraphs inside a cell become spaces, so a cell never breaks its row in two."""

    _BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "table", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._cells = 0  # how many td/th are open
        self._spans: list[int] = []  # the open cells' colspans
        self._in_row = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        elif tag == "tr":
            self._cells = 0
            self._in_row = True
            self.parts.append("\n")
        elif tag in self._BLOCKS:
            self.parts.append(" " if self._cells else "\n")
        elif tag in ("td", "th"):
            self._cells += 1
            self.parts.append("\t")
            span = dict(attrs).get("colspan") or "1"
            # a merged cell keeps the cells after it under their heads (as the readers do)
            self._spans.append(min(int(span), 50) if span.strip().isdigit() else 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head") and self._skip:
            self._skip -= 1
        elif tag in ("td", "th") and self._cells:
            self._cells -= 1
            self.parts.append("\t" * max(self._spans.pop() - 1, 0) if self._spans else "")
        elif tag in ("table", "tr"):
            self._cells = 0
            self._spans.clear()
            self._in_row = False

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cells:
            # the source's own line breaks inside a cell are not the form's lines
            data = data.replace("\r", " ").replace("\n", " ")
        elif self._in_row and not data.strip():
            return  # white space between the cells of a row: no cell, no line
        self.parts.append(data.replace("\xa0", " "))


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    lines = (re.sub(r"[ \r]+", " ", line).strip(" ") for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line.strip())
