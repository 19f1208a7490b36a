"""Word documents (.docx) through python-docx: paragraphs and table rows in body order."""

from __future__ import annotations

import io
import zipfile

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.table import Table

from .fields import Rows
from .spreadsheet import FormUnreadable

_P, _T, _TBL = qn("w:p"), qn("w:t"), qn("w:tbl")


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
    # Walk the <w:tc> elements rather than `row.cells`: python-docx repeats a merged cell
    # once per grid column it spans, which would read one figure twice. A vertically merged
    # continuation is an empty <w:tc>, so it adds nothing either.
    rows: Rows = []
    for tr in table._tbl.tr_lst:
        cells = []
        for tc in tr.tc_lst:
            cells.append("\n".join(_paragraph_text(p) for p in tc.iter(_P)))
            for nested in tc.iter(_TBL):
                rows.extend(_table_rows(Table(nested, table._parent)))
        rows.append(cells)
    return rows


def _paragraph_text(paragraph: BaseOxmlElement) -> str:
    return "".join(node.text or "" for node in paragraph.iter(_T))
