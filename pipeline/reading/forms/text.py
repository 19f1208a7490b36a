"""Plain text: a mail body, a .txt or a .csv form (UTF-8 with or without BOM, or GBK)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

from pipeline.reading.forms.cells import Rows, Sheet, plain

FORMULA = "（公式，不是数值）"
_FORMULA = re.compile(r"^\s*(=|[+\-@]\s*[A-Za-z_(])")


def values_only(sheet: Sheet) -> Sheet:
    """A cell that is a formula's text (a .csv, a text cell in Excel, a body line) is not a
    value: it is replaced by a marker holding no digit, so no figure is ever read from it."""
    rows = tuple(
        tuple(replace(cell, text=FORMULA) if _FORMULA.match(cell.text) else cell for cell in row)
        for row in sheet.rows
    )
    return Sheet(sheet.source, rows)


def text_rows(body: str) -> Rows:
    # Tabs come from HTML tables flattened by mail.html_to_text: keep them as cells.
    # Empty lines stay (as empty rows): in a table pasted one cell per line, an empty
    # line is an empty cell, and dropping it would shift the values under their heads.
    return [line.split("\t") for line in body.splitlines()]


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


def read_text(data: bytes) -> Sheet:
    return plain(text_rows(decode(data)))


def read_csv(data: bytes) -> Sheet:
    return plain(csv.reader(io.StringIO(decode(data))))
