"""Word documents (.docx) through python-docx: paragraphs and table rows in body order."""

from __future__ import annotations

import io
import zipfile

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table

from .fields import Rows
from .spreadsheet import FormUnreadable


def read_rows(data: bytes) -> Rows:
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FormUnreadable(f"Word 文件无法打开（{type(exc).__name__}）") from None
    rows: Rows = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows.extend(_table_rows(block))
        elif block.text.strip():
            rows.append([block.text])
    return rows


def _table_rows(table: Table) -> Rows:
    # python-docx returns a merged cell once per grid column (and per row of a vertical
    # merge); keep each underlying <w:tc> once so a figure is not read twice.
    seen: set[int] = set()
    alive = []  # holding the elements keeps their ids from being reused
    rows: Rows = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            alive.append(cell._tc)
            nested = [r for t in cell.tables for r in _table_rows(t)]
            cells.append(cell.text)
            rows.extend(nested)
        rows.append(cells)
    return rows
