"""ID numbers out of kept originals (实名登记 name lists carry them): after
`storage.id_days` an original is stored again with every valid ID number masked, so the
register can still show what was sent while the personal data is gone. The ledger keeps
only counts and salted hashes (roster.py), which stay.

A number is masked in place, byte for byte the same length (all but its last four
characters become *), in the message's text and in every attachment: plain bytes and
UTF-16 text (old .doc/.xls), and inside zip containers (.docx, .xlsx, .zip) member by
member. Only numbers with a correct GB 11643 check digit are touched.
"""

from __future__ import annotations

import base64
import email
import email.policy
import io
import quopri
import re
import unicodedata
import zipfile

_ASCII = re.compile(rb"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_WIDE = re.compile(rb"(?:[0-9]\x00){17}[0-9Xx]\x00")
_DEPTH = 3  # zips inside zips: a .docx in a .zip is two
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID = re.compile(r"\d{17}[\dX]")


def valid_id(text: str) -> str | None:
    """The ID number in canonical form if it passes the GB 11643 check digit, else None."""
    number = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")
    if not _ID.fullmatch(number):
        return None
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return number if _CHECK[total % 11] == number[17] else None


def _ascii(match: re.Match[bytes]) -> bytes:
    number = match.group().decode("ascii")
    return b"*" * 14 + match.group()[14:] if valid_id(number) else match.group()


def _wide(match: re.Match[bytes]) -> bytes:
    number = match.group().decode("utf-16-le")
    return "*".encode("utf-16-le") * 14 + match.group()[28:] if valid_id(number) else match.group()


def mask_bytes(data: bytes, depth: int = 0) -> bytes:
    """`data` with every valid ID number masked; a zip is rewritten member by member."""
    if depth < _DEPTH and data[:4] == b"PK\x03\x04":
        rewritten = _zip(data, depth)
        if rewritten is not None:
            return rewritten
    return _WIDE.sub(_wide, _ASCII.sub(_ascii, data))


def _zip(data: bytes, depth: int) -> bytes | None:
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                target.writestr(info, mask_bytes(source.read(info), depth + 1))
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return None  # not a zip after all (or encrypted): masked as plain bytes instead
    return out.getvalue()


def mask_message(raw: bytes) -> bytes:
    """The message with its ID numbers masked; `raw` itself when it holds none."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    changed = False
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            continue
        masked = mask_bytes(payload)
        if masked == payload:
            continue
        encoding = str(part.get("Content-Transfer-Encoding", "")).lower()
        if encoding == "base64":
            part.set_payload(base64.encodebytes(masked).decode("ascii"))
        elif encoding == "quoted-printable":
            part.set_payload(quopri.encodestring(masked).decode("ascii"))
        else:
            part.set_payload(masked.decode("ascii", "surrogateescape"))
        changed = True
    return message.as_bytes() if changed else raw
