"""Workbooks holding formulas without a value to trust, found cheaply and read with each
such formula computed (`formulas`) or replaced by text.FORMULA.

calamine reads only the value a spreadsheet program saved beside a formula. Where there is
none — openpyxl, Apache POI and most web exports write `<f>` without `<v>`; a hand-made
.ods may carry `table:formula` without `office:value` — calamine gives an empty cell, and a
figure to its right would be read as the form's. Where a writer stored a placeholder
(XlsxWriter and libxlsxwriter store 0) or edited cells without recalculating, it says so
by `<calcPr fullCalcOnLoad="1"/>`: then no formula's saved value is trusted.

Honest files pay a regular-expression search of their sheets' XML; only a file that has
such formulas is read a second way (openpyxl for .xlsx/.xlsm, the content.xml of an .ods).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

from python_calamine import CalamineError, CalamineWorkbook

from pipeline.reading.forms import cells
from pipeline.reading.forms.cells import Rows
from pipeline.reading.forms.formulas import Budget, Cell, Sheet, from_odf, position, reference
from pipeline.reading.forms.instructions import form_sheets
from pipeline.reading.forms.text import FORMULA

CellText = Callable[[object], str]

_X = rb"<(?:\w+:)?"  # any namespace prefix: some writers spell <x:c>, <x:f>
_STALE = re.compile(_X + rb"calcPr\b[^>]*\bfullCalcOnLoad\s*=\s*[\"'](?:1|true)[\"']")
_FORMULA_TAG = re.compile(_X + rb"f[\s>/]")
_UNCACHED = re.compile(
    _X + rb"f\b(?:[^>]*/>|[^>]*>[^<]*</(?:\w+:)?f>)"  # <f …/> or <f …>B2+B3</f>
    rb"\s*(?:" + _X + rb"v\b[^>]*/>|" + _X + rb"v\b[^>]*>\s*</(?:\w+:)?v>)?"  # no value
    rb"\s*</(?:\w+:)?c>"
)
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_T = f"{{{_TABLE_NS}}}"
_O = f"{{{_OFFICE_NS}}}"
_ROW_GROUPS = {f"{_T}table-header-rows", f"{_T}table-row-group", f"{_T}table-rows"}
_CELLS = {f"{_T}table-cell", f"{_T}covered-table-cell"}
_SAVED = tuple(f"{_O}{a}" for a in ("value", "date-value", "time-value", "boolean-value"))
MAX_FORMULAS = 10_000  # uncached formula cells in one .ods (a repeated cell counts each)


class Unreadable(Exception):
    """The workbook has formulas without values and cannot be read with them."""


def read_workbook(data: bytes, cell_text: CellText) -> cells.Sheet | None:
    """The workbook's rows if it holds formulas without a value to trust, else None (it
    is then read by calamine like every other file)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
            if "xl/workbook.xml" in names:
                stale = bool(_STALE.search(package.read("xl/workbook.xml")))
                pattern = _FORMULA_TAG if stale else _UNCACHED
                sheets = [n for n in names if n.startswith("xl/worksheets/")]
                if not any(pattern.search(package.read(n)) for n in sheets if n.endswith(".xml")):
                    return None
                ods = None
            elif "content.xml" in names:
                content = package.read("content.xml")
                ods = _ods_formulas(content) if b"formula=" in content else {}
                if not ods:
                    return None
            else:
                return None
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError):
        return None  # calamine says what is wrong with the file
    return _read_xlsx(data, stale, cell_text) if ods is None else _read_ods(data, ods, cell_text)


def _read_xlsx(data: bytes, stale: bool, cell_text: CellText) -> cells.Sheet:
    from openpyxl import load_workbook  # only for such a file: slow to import and to read

    try:
        written = load_workbook(io.BytesIO(data), data_only=False)
        saved = load_workbook(io.BytesIO(data), data_only=True)
    except Exception:  # openpyxl raises many kinds on files calamine opens
        raise Unreadable("表格中有公式没有保存计算结果，且文件无法按公式读取") from None
    budget = Budget()
    return form_sheets(
        [
            cells.merged(
                _xlsx_sheet(sheet, saved[sheet.title], stale, budget, cell_text),
                [
                    (r.min_row - 1, r.min_col - 1, r.max_row - 1, r.max_col - 1)
                    for r in sheet.merged_cells.ranges
                ],
                sheet.title,
            )
            for sheet in written.worksheets
        ]
    )


def _xlsx_sheet(sheet: Any, saved: Any, stale: bool, budget: Budget, text: CellText) -> Rows:
    """`sheet` as written (formulas), `saved` the same sheet's saved values."""

    def uncached(ref: str) -> bool:
        known = saved[ref].value
        return sheet[ref].data_type == "f" and (stale or known is None or known == "")

    def held(ref: str) -> Cell:
        if uncached(ref):
            formula = sheet[ref].value
            return formula if isinstance(formula, str) else None  # array formulas: held
        return number(saved[ref].value)

    evaluator = Sheet(held, budget)
    rows: Rows = []
    for row in sheet.iter_rows():
        line = []
        for cell in row:
            if uncached(cell.coordinate):
                shown = evaluator.shown(cell.coordinate)
                line.append(FORMULA if shown is None else text(shown))
            else:
                line.append(text(saved[cell.coordinate].value))
        rows.append(line)
    return rows


def number(value: object) -> float | None:
    """A saved value as a number to compute with; None for text, dates, booleans, empty."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ods_formulas(content: bytes) -> dict[str, dict[tuple[int, int], str]]:
    """Sheet name → (row, column) → formula in A1 syntax, for formulas without a value."""
    root = ElementTree.fromstring(content)
    found: dict[str, dict[tuple[int, int], str]] = {}
    count = 0
    for table in root.iter(f"{_T}table"):
        cells: dict[tuple[int, int], str] = {}
        r = 0
        for row in table_rows(table):
            down = repeat(row, "number-rows-repeated")
            c = 0
            for cell in row:
                if cell.tag not in _CELLS:
                    continue
                across = repeat(cell, "number-columns-repeated")
                formula = cell.get(f"{_T}formula")
                if formula is not None and not _saved(cell):
                    count += down * across
                    if count > MAX_FORMULAS:
                        raise Unreadable("表格中没有保存计算结果的公式过多")
                    for i in range(down):
                        for j in range(across):
                            cells[r + i, c + j] = from_odf(formula)
                c += across
            r += down
        if cells:
            found[table.get(f"{_T}name", "")] = cells
    return found


def table_rows(table: ElementTree.Element) -> Iterator[ElementTree.Element]:
    for child in table:
        if child.tag == f"{_T}table-row":
            yield child
        elif child.tag in _ROW_GROUPS:
            yield from table_rows(child)


def repeat(element: ElementTree.Element, attribute: str) -> int:
    try:
        return max(1, int(element.get(f"{_T}{attribute}", "1")))
    except ValueError:
        raise Unreadable("表格文件中的行列重复数无法识别，文件可能已损坏") from None


def _saved(cell: ElementTree.Element) -> bool:
    """Whether the program that wrote the cell saved its formula's value."""
    # A text result is kept as the cell's paragraphs, which calamine reads.
    return any(a in cell.attrib for a in _SAVED) or cell.get(f"{_O}value-type") == "string"


def _read_ods(
    data: bytes, found: dict[str, dict[tuple[int, int], str]], text: CellText
) -> cells.Sheet:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError):
        raise Unreadable("表格文件无法打开，可能已损坏或不是真正的表格文件") from None
    budget = Budget()
    sheets = []
    for name in book.sheet_names:
        # From A1 (not from the first filled cell): the formulas' positions count from there.
        values = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        sheets.append(cells.plain(_ods_sheet(values, found.get(name, {}), budget, text), name))
    return form_sheets(sheets)


def _ods_sheet(
    values: list[list[Any]], formulas: dict[tuple[int, int], str], budget: Budget, text: CellText
) -> Rows:
    def held(ref: str) -> Cell:
        r, c = position(ref)
        if (r, c) in formulas:
            return formulas[r, c]
        known = values[r][c] if r < len(values) and c < len(values[r]) else None
        return number(known)

    evaluator = Sheet(held, budget)
    rows = [[text(v) for v in row] for row in values]
    for r, c in sorted(formulas):
        rows += [[] for _ in range(r + 1 - len(rows))]
        line = rows[r]
        line += [""] * (c + 1 - len(line))
        shown = evaluator.shown(reference(r, c))
        line[c] = FORMULA if shown is None else text(shown)
    return rows
