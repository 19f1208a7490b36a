"""What a file is, from its bytes first and its name second.

Units rename files freely (a .doc that is really .docx, an .xls saved as HTML, WPS's
.wps/.et that are Word 97 / Excel 97 inside): the reader is chosen by the file's magic
bytes and, for a zip or an OLE compound file, by what it holds.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp"}


def kind(data: bytes, name: str) -> str:
    """docx xlsx odt ods doc xls pdf rtf html zip 7z rar image, else the name's suffix."""
    suffix = PurePath(name).suffix.lower().lstrip(".")
    head = data[:8]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"Rar!"):
        return "rar"
    if head.startswith(_OLE):
        return _ole_kind(data, suffix)
    if head.startswith(b"PK"):
        return _zip_kind(data, suffix)
    if head.startswith(_IMAGE_MAGIC) or (head.startswith(b"RIFF") and data[8:12] == b"WEBP"):
        return "image"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if looks_like_html(data):
        return "html"  # an "Excel" file a web system exported, a Word web page
    if f".{suffix}" in IMAGE_SUFFIXES:
        return "image"
    return suffix


def looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<meta", b"<body")):
        return True
    return head.startswith((b"<?xml", b"<!--")) and b"<html" in head


def _ole_kind(data: bytes, suffix: str) -> str:
    # The directory of an OLE file names its streams in UTF-16: a Word document has a
    # "WordDocument" stream, an Excel workbook a "Workbook" (or old "Book") one.
    if "WordDocument".encode("utf-16-le") in data:
        return "doc"
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    return suffix  # another OLE file (an old .wps or .et of WPS's own): by name


def _zip_kind(data: bytes, suffix: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
            if "mimetype" in names:
                with package.open("mimetype") as member:  # its head only: it may be a bomb
                    odf = _ODF.get(member.read(100).strip())
                if odf:
                    return odf
    except (zipfile.BadZipFile, KeyError, OSError):
        return suffix
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "zip"
