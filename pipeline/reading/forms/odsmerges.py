"""The merged ranges of an OpenDocument spreadsheet, which calamine does not report.

A merged cell carries `number-columns-spanned` / `number-rows-spanned`; positions count
repeated rows and columns (`number-*-repeated`), as Calc writes a run of equal cells once.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

from pipeline.reading.forms.uncached import Unreadable, repeat, table_rows

Range = tuple[int, int, int, int]  # first row, first column, last row, last column

_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_CELLS = {f"{_T}table-cell", f"{_T}covered-table-cell"}
_MAX_XML = 20 * 1024 * 1024
_MAX_MERGES = 10_000


def merges(data: bytes) -> dict[str, list[Range]]:
    """Sheet name → its merged ranges; empty for a file that is not an .ods."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            info = package.getinfo("content.xml")
            if info.file_size > _MAX_XML:
                return {}
            root = ElementTree.fromstring(package.read(info))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError):
        return {}
    found: dict[str, list[Range]] = {}
    try:
        for table in root.iter(f"{_T}table"):
            ranges = _sheet(table)
            if ranges:
                found[table.get(f"{_T}name", "")] = ranges
    except Unreadable:
        return {}  # calamine reads the values; a sheet this broken is read unmerged
    return found


def _sheet(table: ElementTree.Element) -> list[Range]:
    ranges: list[Range] = []
    r = 0
    for row in table_rows(table):
        c = 0
        for cell in row:
            if cell.tag not in _CELLS:
                continue
            across, down = _span(cell, "columns"), _span(cell, "rows")
            if across > 1 or down > 1:
                ranges.append((r, c, r + down - 1, c + across - 1))
                if len(ranges) > _MAX_MERGES:
                    return []
            c += repeat(cell, "number-columns-repeated")
        r += repeat(row, "number-rows-repeated")
    return ranges


def _span(cell: ElementTree.Element, what: str) -> int:
    value = cell.get(f"{_T}number-{what}-spanned", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1
