"""Word documents (.docx): python-docx opens the package; the body is walked as XML.

Walking <w:tbl>/<w:tr>/<w:tc> directly (rather than `row.cells`) matters twice: python-docx
repeats a merged cell once per grid column it spans, which would read one figure twice,
and its xpath-based accessors cost more than the rest of reading a form.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement

from pipeline.reading.forms.cells import COVERED, MAX_SPAN, Cell, Sheet
from pipeline.reading.forms.spreadsheet import FormUnreadable

_P, _T, _TBL, _TR, _TC = (qn(f"w:{tag}") for tag in ("p", "t", "tbl", "tr", "tc"))
_BR, _TAB = qn("w:br"), qn("w:tab")
_TCPR, _SPAN, _VMERGE, _VAL = (qn(f"w:{tag}") for tag in ("tcPr", "gridSpan", "vMerge", "val"))
Rows = list[list[Cell]]


def read_docx(data: bytes) -> Sheet:
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError):
        raise FormUnreadable("Word 文件无法打开，可能已损坏或不是真正的 Word 文件") from None
    rows: Rows = []
    for block in document.element.body.iterchildren(_P, _TBL):
        if block.tag == _TBL:
            rows.extend(_table_rows(block))
        elif text := _paragraph_text(block).strip():
            rows.append([Cell(text)])
    return Sheet("", tuple(tuple(row) for row in rows))


def _table_rows(table: BaseOxmlElement) -> Rows:
    # Word writes every grid position: a cell spanning n columns is one <w:tc> with its
    # gridSpan, and a vertically merged cell continues as an empty <w:tc> marked vMerge
    # in each row below. Both become covered positions of the first cell.
    rows: Rows = []
    merging: dict[int, tuple[int, int]] = {}  # grid column → where its merge started
    for tr in table.iterchildren(_TR):
        line: list[Cell] = []
        started = []
        for tc in tr.iterchildren(_TC):
            column, span, merge = len(line), _span(tc), _vmerge(tc)
            if merge == "continue" and column in merging:
                i, j = merging[column]
                rows[i][j] = replace(rows[i][j], down=rows[i][j].down + 1)
                line.extend([COVERED] * span)
            else:
                text = "\n".join(_paragraph_text(p) for p in tc.iterchildren(_P))
                line.append(Cell(text, across=span))
                line.extend([COVERED] * (span - 1))
                merging.pop(column, None)
                if merge == "restart":
                    started.append(column)
            for nested in tc.iterchildren(_TBL):
                rows.extend(_table_rows(nested))
        rows.append(line)
        merging.update({column: (len(rows) - 1, column) for column in started})
    return rows


def _span(tc: BaseOxmlElement) -> int:
    props = tc.find(_TCPR)
    span = props.find(_SPAN) if props is not None else None
    value = span.get(_VAL) if span is not None else None
    return min(int(value), MAX_SPAN) if value and value.isdigit() and int(value) > 0 else 1


def _vmerge(tc: BaseOxmlElement) -> str | None:
    """'restart' for the first cell of a vertical merge, 'continue' below it, else None."""
    props = tc.find(_TCPR)
    merge = props.find(_VMERGE) if props is not None else None
    if merge is None:
        return None
    return "restart" if merge.get(_VAL) == "restart" else "continue"


def _paragraph_text(paragraph: BaseOxmlElement) -> str:
    parts = []
    for node in paragraph.iter(_T, _BR, _TAB):
        parts.append(node.text or "" if node.tag == _T else "\n" if node.tag == _BR else "\t")
    return "".join(parts)
