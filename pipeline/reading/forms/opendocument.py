"""OpenDocument text (.odt) read directly from its content.xml: paragraphs and tables.

Reading the XML ourselves instead of converting through LibreOffice takes milliseconds
rather than seconds. ODF writes every grid position: a cell spanning n columns is followed
by its n - 1 covered cells, which stay covered positions of the cell.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

from pipeline.reading.forms.cells import COVERED, MAX_SPAN, Cell, Sheet
from pipeline.reading.forms.spreadsheet import FormUnreadable

Rows = list[list[Cell]]

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_P, _H, _S = f"{{{_TEXT}}}p", f"{{{_TEXT}}}h", f"{{{_TEXT}}}s"
_TAB, _BREAK = f"{{{_TEXT}}}tab", f"{{{_TEXT}}}line-break"
_TBL, _ROW, _CELL = f"{{{_TABLE}}}table", f"{{{_TABLE}}}table-row", f"{{{_TABLE}}}table-cell"
_COVERED = f"{{{_TABLE}}}covered-table-cell"
_ACROSS = f"{{{_TABLE}}}number-columns-spanned"
_DOWN = f"{{{_TABLE}}}number-rows-spanned"
_MAX_XML = 20 * 1024 * 1024


def read_odt(data: bytes) -> Sheet:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            info = package.getinfo("content.xml")
            if info.file_size > _MAX_XML:
                raise FormUnreadable("OpenDocument 文件内容过大")
            root = ElementTree.fromstring(package.read(info))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise FormUnreadable(f"OpenDocument 文件无法打开（{type(exc).__name__}）") from None
    body = root.find(f"{{{_OFFICE}}}body/{{{_OFFICE}}}text")
    rows: Rows = []
    if body is not None:
        _walk(body, rows)
    return Sheet("", tuple(tuple(row) for row in rows))


def _walk(element: ElementTree.Element, rows: Rows) -> None:
    for child in element:
        if child.tag in (_P, _H):
            if text := _paragraph(child).strip():
                rows.append([Cell(text)])
        elif child.tag == _TBL:
            _table(child, rows)
        else:
            _walk(child, rows)  # sections, lists, header rows, row groups


def _table(table: ElementTree.Element, rows: Rows) -> None:
    for row in table.iter(_ROW):
        cells = []
        for cell in row:
            if cell.tag == _COVERED:
                cells.append(COVERED)
            elif cell.tag == _CELL:
                paras = [_paragraph(p) for p in cell.iter(_P)]
                cells.append(Cell("\n".join(paras), _span(cell, _ACROSS), _span(cell, _DOWN)))
        rows.append(cells)


def _span(cell: ElementTree.Element, attribute: str) -> int:
    value = cell.get(attribute, "1")
    return min(int(value), MAX_SPAN) if value.isdigit() and int(value) > 0 else 1


def _paragraph(p: ElementTree.Element) -> str:
    parts = [p.text or ""]
    for node in p:
        if node.tag == _S:
            parts.append(" " * int(node.get(f"{{{_TEXT}}}c", "1")))
        elif node.tag == _TAB:
            parts.append("\t")
        elif node.tag == _BREAK:
            parts.append("\n")
        else:
            parts.append(_paragraph(node))
        parts.append(node.tail or "")
    return "".join(parts)
