"""Workbooks made to be printed: title rows, borders, number formats, marked rows, A4 landscape.

Every workbook xunbao writes (standings.xlsx, the year summary, `messages --xlsx`) goes
through `write_workbook`, so they all print alike: a title row (campaign, period, issuer),
a bold header repeated on every printed page and frozen on screen, thin borders, lagging /
missing / pending rows tinted, the 合计 row in the same font, bold, fitted one page wide.

Text from mail is hostile: a unit name or subject such as `=HYPERLINK(...)` is written as
a plain string cell, never as a formula (openpyxl would otherwise store it as one).
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import atomic

FONT = "宋体"  # what Excel/WPS on an office PC shows; LibreOffice substitutes a CJK serif
THOUSANDS, PERCENT = "#,##0", "0.0%"
# row mark → fill colour (light tints: they must stay readable in black-and-white print)
FILLS = {
    "lagging": "F8CBAD",
    "missing": "FCE4D6",
    "pending": "FFF2CC",
    "review": "FFF2CC",
    "completed": "E2EFDA",
    "total": "EDEDED",
}
MARK_NAMES = {
    "lagging": "末位或落后",
    "missing": "未报送",
    "pending": "待核实",
    "completed": "已完成",
}
_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 12
    number_format: str | None = None  # THOUSANDS, PERCENT, "0.0"…; None: general / text
    wrap: bool = False
    center: bool = False  # short words (是/否, 排名, 情况)


@dataclass
class Sheet:
    name: str
    title: str  # first row, e.g. the campaign and the period
    columns: list[Column]
    rows: Sequence[Sequence[Any]] = field(default_factory=list)
    marks: Sequence[str | None] = field(default_factory=list)  # one per row: a FILLS key or None
    subtitle: str = ""  # second row: issuer, date, unit of measure
    note: str = ""  # under the table: what the tints mean, where figures come from


def write_workbook(path: Path, sheets: Sequence[Sheet]) -> Path:
    with atomic.written(path) as temporary:
        _workbook(sheets).save(temporary)
    return path


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    buffer = io.BytesIO()
    _workbook(sheets).save(buffer)
    return buffer.getvalue()


def _workbook(sheets: Sequence[Sheet]) -> Workbook:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    used: set[str] = set()
    for sheet in sheets:
        _write_sheet(book.create_sheet(_sheet_name(sheet.name, used)), sheet)
    return book


def legend(marks: Sequence[str | None]) -> str:
    """A note naming the tints that occur in `marks`."""
    shown = [MARK_NAMES[m] for m in MARK_NAMES if m in marks]
    return f"底色：{'、'.join(shown)}。" if shown else ""


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join("_" if c in "[]:*?/\\" else c for c in name)[:31] or "表"
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base[: 31 - len(str(n)) - 1]}_{n}"
    used.add(candidate)
    return candidate


def _write_sheet(ws: Worksheet, sheet: Sheet) -> None:
    span = len(sheet.columns)
    last = get_column_letter(span)
    ws.append([sheet.title])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(name=FONT, size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append([sheet.subtitle])
    ws.merge_cells(f"A2:{last}2")
    ws["A2"].font = Font(name=FONT, size=10)
    ws["A2"].alignment = Alignment(horizontal="center")
    header_row = 3
    for col, column in enumerate(sheet.columns, start=1):
        cell = ws.cell(header_row, col, column.header)
        cell.font = Font(name=FONT, size=11, bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = column.width
    header_lines = max(_lines(c.header, c.width) for c in sheet.columns)
    ws.row_dimensions[header_row].height = 15 * header_lines + 3
    marks = list(sheet.marks) + [None] * (len(sheet.rows) - len(sheet.marks))
    for offset, (values, mark) in enumerate(zip(sheet.rows, marks, strict=True)):
        _write_row(ws, header_row + 1 + offset, sheet.columns, values, mark)
    end = header_row + len(sheet.rows)
    if sheet.note:
        ws.cell(end + 2, 1, sheet.note).font = Font(name=FONT, size=9, italic=True)
        ws.merge_cells(f"A{end + 2}:{last}{end + 2}")
    ws.freeze_panes = f"A{header_row + 1}"
    _page_setup(ws, header_row, last, end)


def _write_row(
    ws: Worksheet, row: int, columns: list[Column], values: Sequence[Any], mark: str | None
) -> None:
    fill = PatternFill("solid", fgColor=FILLS[mark]) if mark in FILLS else None
    for col, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
        cell = ws.cell(row, col)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # text from mail stays text: never a formula
        cell.font = Font(name=FONT, size=11, bold=mark == "total")
        cell.border = _BORDER
        if column.number_format and not isinstance(value, str):
            cell.number_format = column.number_format
        numeric = isinstance(value, int | float)
        across = "center" if column.center else "right" if numeric else "left"
        cell.alignment = Alignment(horizontal=across, vertical="center", wrap_text=column.wrap)
        if fill is not None:
            cell.fill = fill
    # Neither Excel's file format nor LibreOffice's conversion fits row heights to wrapped
    # text by itself: give each row the lines its longest wrapped cell needs.
    lines = max(
        [1, *(_lines(str(v), c.width) for c, v in zip(columns, values, strict=True) if c.wrap)]
    )
    if lines > 1:
        ws.row_dimensions[row].height = 15 * lines


def _lines(text: str, width: float) -> int:
    """Lines `text` takes in a column `width` characters wide (a Chinese character is two)."""
    cells = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return max(1, math.ceil(cells / max(width - 1.5, 1)))


def _page_setup(ws: Worksheet, header_row: int, last: str, end: int) -> None:
    """A4 landscape, one page wide (as many pages tall as needed), header on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_area = f"A1:{last}{max(end + 2, header_row)}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top, ws.page_margins.bottom = 0.6, 0.7
    if ws.oddFooter is not None:  # always set by openpyxl; typed optional
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"
