"""Form readers, one per format, all ending in `fields.extract`.

`read(attachment)` returns the forms found in a file (none for a file that is not a form
format, such as a logo) or raises `FormUnreadable` with a reason a clerk understands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from ..config import Limits
from ..mail import Attachment
from . import archive, document, guards, legacy, ocr, pdf, spreadsheet, text
from .fields import Reading, Rows, extract
from .spreadsheet import FormUnreadable

__all__ = ["FormUnreadable", "Reading", "read", "read_body"]

_GRID_READERS: dict[str, Callable[[bytes], Rows]] = {
    ".xlsx": spreadsheet.read_rows,
    ".xlsm": spreadsheet.read_rows,
    ".xls": spreadsheet.read_rows,
    ".ods": spreadsheet.read_rows,
    ".docx": document.read_rows,
    ".doc": legacy.read_doc,
    ".wps": legacy.read_wps,
    ".et": legacy.read_et,
    ".odt": legacy.read_odt,
    ".csv": text.read_csv_rows,
    ".txt": text.read_text_rows,
}
_IMAGES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp"}
_IMAGE_TYPES = {"image/jpeg", "image/png", "image/bmp", "image/tiff", "image/gif", "image/webp"}
_ARCHIVES = {".zip": archive.zip_members, ".7z": archive.sevenzip_members}
_UNSUPPORTED = {".rar": "RAR 压缩包（请对方改用 zip 或直接发送表格）"}


def read(attachment: Attachment, limits: Limits | None = None, depth: int = 0) -> list[Reading]:
    limits = limits or Limits()
    name = attachment.filename
    suffix = PurePath(name).suffix.lower()
    guards.check(suffix, attachment.data, limits)
    if suffix in _GRID_READERS:
        return [extract(text.values_only(_GRID_READERS[suffix](attachment.data)), name)]
    if suffix == ".pdf":
        return [pdf.read_pdf(attachment.data, name)]
    if suffix in _IMAGES or attachment.content_type in _IMAGE_TYPES:
        return [ocr.read_image(attachment.data, name)]
    if suffix in _ARCHIVES:
        if depth > 2:
            raise FormUnreadable("压缩包嵌套过深")
        found = []
        for member, data in _ARCHIVES[suffix](attachment.data, limits):
            inner = Attachment(f"{name}/{member}", "", data)
            found.extend(read(inner, limits, depth + 1))
        return found
    if suffix in _UNSUPPORTED:
        raise FormUnreadable(f"暂不能读取{_UNSUPPORTED[suffix]}")
    return []


def read_body(body: str) -> Reading:
    return extract(text.values_only(text.text_rows(body)), "邮件正文")
