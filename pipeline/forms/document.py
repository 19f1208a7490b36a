"""Word documents (.docx): python-docx opens the package; the body is walked as XML.

Walking <w:tbl>/<w:tr>/<w:tc> directly (rather than `row.cells`) matters twice: python-docx
repeats a merged cell once per grid column it spans, which would read one figure twice,
and its xpath-based accessors cost more than the rest of reading a form.
"""

from __future__ import annotations

import io
import zipfile

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement

from .fields import Rows
from .spreadsheet import FormUnreadable

_P, _T, _TBL, _TR, _TC = (qn(f"w:{tag}") for tag in ("p", "t", "tbl", "tr", "tc"))
_BR, _TAB = qn("w:br"), qn("w:tab")
_TCPR, _SPAN, _VAL = qn("w:tcPr"), qn("w:gridSpan"), qn("w:val")


def read_rows(data: bytes) -> Rows:
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError):
        raise FormUnreadable("Word 文件无法打开，可能已损坏或不是真正的 Word 文件") from None
    rows: Rows = []
    for block in document.element.body.iterchildren(_P, _TBL):
        if block.tag == _TBL:
            rows.extend(_table_rows(block))
        elif text := _paragraph_text(block).strip():
            rows.append([text])
    return rows


def _table_rows(table: BaseOxmlElement) -> Rows:
    # A vertically merged continuation is an empty <w:tc>: it adds nothing. A cell
    # spanning n grid columns is followed by n - 1 empty cells, so that a value stays in
    # its head's column.
    rows: Rows = []
    for tr in table.iterchildren(_TR):
        cells = []
        for tc in tr.iterchildren(_TC):
            cells.append("\n".join(_paragraph_text(p) for p in tc.iterchildren(_P)))
            cells.extend([""] * (_span(tc) - 1))
            for nested in tc.iterchildren(_TBL):
                rows.extend(_table_rows(nested))
        rows.append(cells)
    return rows


def _span(tc: BaseOxmlElement) -> int:
    props = tc.find(_TCPR)
    span = props.find(_SPAN) if props is not None else None
    value = span.get(_VAL) if span is not None else None
    return int(value) if value and value.isdigit() else 1


def _paragraph_text(paragraph: BaseOxmlElement) -> str:
    parts = []
    for node in paragraph.iter(_T, _BR, _TAB):
        parts.append(node.text or "" if node.tag == _T else "\n" if node.tag == _BR else "\t")
    return "".join(parts)
