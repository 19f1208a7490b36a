"""Formulas an .xlsx holds without a cached value (openpyxl and some generators write them
so): computed only when they are plain arithmetic of numbers on the same sheet.

`=B2+B3`, `=SUM(B2:B4)`, `=(B2-B3)*2` are computed; anything else — another function, a
name, another sheet or workbook, text, a DDE call such as `=cmd|' /C calc'!A0`, a division
by zero, a cycle — becomes text.FORMULA, which holds no digit, so no figure is read from it
and the form goes to review. The formula is parsed by `ast` into a whitelist of nodes and
walked here; nothing is ever passed to eval().
"""

from __future__ import annotations

import ast
import io
import re
import zipfile
from collections.abc import Callable
from functools import partial
from typing import Any

from .fields import Rows
from .text import FORMULA

_UNCACHED = re.compile(rb"</f>(?:<v\s*/>|<v></v>)?</c>|<f\b[^>]*/>(?:<v\s*/>|<v></v>)?</c>")
_REF = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})")
_RANGE = re.compile(rf"SUM\(\s*({_REF.pattern})\s*:\s*({_REF.pattern})\s*\)")
_PLAIN = re.compile(r"[0-9A-Z_.+\-*/() $]*")
DEPTH = 20  # formulas referring to formulas, at most this deep
MAX_RANGE = 10_000  # cells a SUM may add


class NotArithmetic(Exception):
    pass


def has_uncached(data: bytes) -> bool:
    """Whether a sheet of the .xlsx holds a formula with no cached value (cheap: no parse)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
            return any(_UNCACHED.search(book.read(n)) for n in sheets if n.endswith(".xml"))
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def read_rows(data: bytes, cell_text: Callable[[object], str]) -> Rows:
    """Every sheet's cells, cached values as they are, uncached formulas computed or
    marked."""
    from openpyxl import load_workbook

    formulas = load_workbook(io.BytesIO(data), data_only=False)
    cached = load_workbook(io.BytesIO(data), data_only=True)
    rows: Rows = []
    for sheet in formulas.worksheets:
        rows += _sheet_rows(sheet, cached[sheet.title], cell_text)
    return rows


def _sheet_rows(sheet: Any, values: Any, cell_text: Callable[[object], str]) -> Rows:
    """`sheet` as written (formulas), `values` the same sheet's cached values."""

    def value(ref: str, seen: frozenset[str]) -> float:
        known = values[ref].value
        if isinstance(known, int | float) and not isinstance(known, bool):
            return float(known)
        written = sheet[ref].value
        if known is None and isinstance(written, str) and written.startswith("="):
            if ref in seen or len(seen) >= DEPTH:
                raise NotArithmetic(ref)  # a cycle, or a chain too long to follow
            return compute(written, lambda r: value(r, seen | {ref}))
        raise NotArithmetic(ref)  # text, empty, a date: not a number to add

    rows: Rows = []
    for row in sheet.iter_rows():
        line = []
        for cell in row:
            shown = values[cell.coordinate].value
            if shown is None and isinstance(cell.value, str) and cell.value.startswith("="):
                try:
                    shown = compute(cell.value, partial(value, seen=frozenset({cell.coordinate})))
                except (NotArithmetic, ArithmeticError, ValueError, RecursionError):
                    shown = FORMULA
            line.append(cell_text(shown))
        rows.append(line)
    return rows


def compute(formula: str, value: Callable[[str], float]) -> float:
    """`formula` ("=…") as a number, each cell reference looked up by `value`."""
    source = formula[1:].strip().upper()
    source = _RANGE.sub(lambda m: _sum_of(m, value), source)
    if not _PLAIN.fullmatch(source):
        raise NotArithmetic(formula)
    names: dict[str, float] = {}

    def named(match: re.Match[str]) -> str:
        ref = f"{match.group(1)}{match.group(2)}"
        names[f"_{ref}"] = value(ref)
        return f"_{ref}"

    try:
        tree = ast.parse(_REF.sub(named, source), mode="eval")
    except SyntaxError:
        raise NotArithmetic(formula) from None
    return _walk(tree.body, names)


def _sum_of(match: re.Match[str], value: Callable[[str], float]) -> str:
    """SUM(A1:B4) as the sum of its numeric cells, written as a number."""
    (c0, r0), (c1, r1) = (match.group(2), match.group(3)), (match.group(5), match.group(6))
    cols = range(_column(c0), _column(c1) + 1)
    rows = range(int(r0), int(r1) + 1)
    if len(cols) * len(rows) > MAX_RANGE:
        raise NotArithmetic(match.group(0))
    total = sum(value(f"{_letters(c)}{r}") for c in cols for r in rows)
    return f"({total!r})"


def _walk(node: ast.expr, names: dict[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _walk(node.operand, names)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _walk(node.left, names), _walk(node.right, names)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right
    raise NotArithmetic(ast.dump(node))


def _column(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _letters(column: int) -> str:
    out = ""
    while column:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out
