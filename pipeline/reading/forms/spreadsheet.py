"""Excel and Calc workbooks (.xlsx .xlsm .xls .ods) through python-calamine.

calamine returns cached formula values, puts a merged range's value in its first cell
and gives integers as floats; `cell_text` turns 2650.0 back into "2650". A workbook holding
formulas without a saved value is read by `uncached` instead, which computes plain
arithmetic and marks the rest.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook

from pipeline.reading.forms import odsmerges, uncached
from pipeline.reading.forms.cells import Sheet, merged
from pipeline.reading.forms.instructions import form_sheets


def read_workbook(data: bytes) -> Sheet:
    if data.startswith(b"PK"):
        try:
            computed = uncached.read_workbook(data, cell_text)
        except uncached.Unreadable as exc:
            raise FormUnreadable(str(exc)) from None
        if computed is not None:
            return computed
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError):
        raise FormUnreadable("表格文件无法打开，可能已损坏或不是真正的表格文件") from None
    # calamine keeps the merged ranges of .xlsx and .xls, not of .ods: those are read from
    # its content.xml.
    ods = odsmerges.merges(data) if b"opendocument.spreadsheet" in data[:100] else {}
    sheets = []
    for name in book.sheet_names:
        sheet = book.get_sheet_by_name(name)
        grid = [[cell_text(v) for v in row] for row in sheet.to_python(skip_empty_area=True)]
        sheets.append(merged(grid, _merges(sheet, ods.get(name, [])), name))
    return form_sheets(sheets)


def _merges(sheet: Any, ods: list[odsmerges.Range]) -> list[odsmerges.Range]:
    """The sheet's merged ranges, relative to the first cell `to_python` gives."""
    top, left = sheet.start or (0, 0)
    try:
        ranges = sheet.merged_cell_ranges or []
    except (CalamineError, ValueError):  # formats calamine keeps no merges for
        ranges = []
    found = [(a[0], a[1], b[0], b[1]) for a, b in ranges] + ods
    return [(r0 - top, c0 - left, r1 - top, c1 - left) for r0, c0, r1, c1 in found]


def cell_text(value: object) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime | date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, time | timedelta):
        return ""
    return "" if value is None else str(value)


class FormUnreadable(Exception):
    """The attachment is a form format we know but this file cannot be read."""
