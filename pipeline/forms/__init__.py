"""Form readers, one per format, all ending in `fields.extract`.

`read(attachment)` returns a `Reading`, None when the file is not a form format at all
(a logo, a signature image), or raises `FormUnreadable` with a reason a clerk understands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from ..mail import Attachment
from . import document, spreadsheet, text
from .fields import Reading, Rows, extract
from .spreadsheet import FormUnreadable

__all__ = ["FormUnreadable", "Reading", "read", "read_body"]

_READERS: dict[str, Callable[[bytes], Rows]] = {
    ".xlsx": spreadsheet.read_rows,
    ".xlsm": spreadsheet.read_rows,
    ".xls": spreadsheet.read_rows,
    ".ods": spreadsheet.read_rows,
    ".docx": document.read_rows,
    ".csv": text.read_csv_rows,
    ".txt": text.read_text_rows,
}

# Formats a unit might send a form in that this version cannot read yet: held for review.
_KNOWN_UNREADABLE = {
    ".doc": "Word 97-2003 (.doc) 格式",
    ".wps": "WPS 文字 (.wps) 格式",
    ".et": "WPS 表格 (.et) 格式",
    ".pdf": "PDF 格式",
    ".odt": "OpenDocument 文本 (.odt) 格式",
    ".zip": "压缩包 (.zip)",
    ".rar": "压缩包 (.rar)",
    ".7z": "压缩包 (.7z)",
    ".jpg": "图片",
    ".jpeg": "图片",
    ".png": "图片",
}


def read(attachment: Attachment) -> Reading | None:
    suffix = PurePath(attachment.filename).suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        if suffix in _KNOWN_UNREADABLE:
            raise FormUnreadable(f"暂不能自动读取{_KNOWN_UNREADABLE[suffix]}的附件")
        return None
    return extract(reader(attachment.data), attachment.filename)


def read_body(body: str) -> Reading:
    return extract(text.text_rows(body), "邮件正文")
