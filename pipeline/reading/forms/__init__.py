"""Form readers, one per format, each giving a `cells.Sheet`, all ending in `fields.extract`.

`read(attachment)` returns the forms found in a file (none for a file that is not a form
format, such as a logo) or raises `FormUnreadable` with a reason a clerk understands.
The reader is chosen by what the file is (`kinds`), not only by its name.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import Limits
from pipeline.mailbox.parse import Attachment
from pipeline.reading.forms import (
    archive,
    document,
    guards,
    html,
    legacy,
    ocr,
    opendocument,
    pdf,
    spreadsheet,
    text,
)
from pipeline.reading.forms.cells import Rows, Sheet, plain
from pipeline.reading.forms.fields import Reading, extract
from pipeline.reading.forms.kinds import kind
from pipeline.reading.forms.spreadsheet import FormUnreadable
from pipeline.reading.forms.wording import DEFAULT_WORDING, Wording, wording_of

__all__ = ["FormUnreadable", "Reading", "Wording", "grid", "read", "read_body", "wording_of"]

_GRID_READERS: dict[str, Callable[[bytes], Sheet]] = {
    "xlsx": spreadsheet.read_workbook,
    "xlsm": spreadsheet.read_workbook,
    "xls": spreadsheet.read_workbook,
    "ods": spreadsheet.read_workbook,
    "docx": document.read_docx,
    "doc": legacy.read_doc,
    "odt": opendocument.read_odt,
    "wps": legacy.read_wps,
    "et": legacy.read_et,
    "wps-doc": legacy.read_doc_whole,
    "rtf": legacy.read_rtf,
    "html": html.read_html,
    "htm": html.read_html,
    "csv": text.read_csv,
    "txt": text.read_text,
}
_IMAGE_TYPES = {"image/jpeg", "image/png", "image/bmp", "image/tiff", "image/gif", "image/webp"}
_ARCHIVES = {
    "zip": archive.zip_members,
    "7z": archive.sevenzip_members,
    "rar": archive.rar_members,
}


def read(
    attachment: Attachment,
    depth: int = 0,
    wording: Wording = DEFAULT_WORDING,
    limits: Limits | None = None,
) -> list[Reading]:
    limits = limits or Limits()
    name = attachment.filename
    found = kind(attachment.data, name)
    guards.check(found, attachment.data, limits)
    if found == "doc" and name.lower().endswith(".wps"):
        # WPS saves Word 97 inside, in a way antiword sometimes cuts short (a wide table
        # kept to its first row): LibreOffice reads WPS's files whole.
        found = "wps-doc"
    if found in _GRID_READERS:
        return [extract(text.values_only(_GRID_READERS[found](attachment.data)), name, wording)]
    if found == "pdf":
        return [pdf.read_pdf(attachment.data, name, wording)]
    if found == "image" or attachment.content_type in _IMAGE_TYPES:
        return [ocr.read_image(attachment.data, name, wording)]
    if found in _ARCHIVES:
        if depth > 2:
            raise FormUnreadable("压缩包嵌套过深")
        readings = []
        for member, data in _ARCHIVES[found](attachment.data, limits):
            inner = Attachment(f"{name}/{member}", "", data)
            readings.extend(read(inner, depth + 1, wording, limits))
        return readings
    return []


def grid(attachment: Attachment) -> Rows | None:
    """The cells of a spreadsheet, document or text file (for showing it), else None."""
    reader = _GRID_READERS.get(kind(attachment.data, attachment.filename))
    return reader(attachment.data).texts() if reader else None


def read_body(body: str, wording: Wording = DEFAULT_WORDING) -> Reading:
    return extract(text.values_only(plain(text.text_rows(body))), "邮件正文", wording)
