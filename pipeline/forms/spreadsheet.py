"""Excel and Calc workbooks (.xlsx .xlsm .xls .ods) through python-calamine.

calamine returns cached formula values, puts a merged range's value in its first cell
and gives integers as floats; `cell_text` turns 2650.0 back into "2650". A workbook holding
formulas without a saved value is read by `uncached` instead, which computes plain
arithmetic and marks the rest.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

from python_calamine import CalamineError, CalamineWorkbook

from . import uncached
from .fields import Rows
from .instructions import form_sheets


def read_rows(data: bytes) -> Rows:
    if data.startswith(b"PK"):
        try:
            computed = uncached.read_rows(data, cell_text)
        except uncached.Unreadable as exc:
            raise FormUnreadable(str(exc)) from None
        if computed is not None:
            return computed
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError):
        raise FormUnreadable("表格文件无法打开，可能已损坏或不是真正的表格文件") from None
    sheets = []
    for name in book.sheet_names:
        sheet = book.get_sheet_by_name(name)
        grid = [[cell_text(v) for v in row] for row in sheet.to_python(skip_empty_area=True)]
        sheets.append((name, grid))
    return form_sheets(sheets)


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
