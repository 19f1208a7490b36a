"""A formula a workbook holds without its value, computed only when it is plain arithmetic
of numbers on its own sheet.

`=B2+B3`, `=SUM(B2:B4)`, `=SUM(B2,B3)`, `=(B2-B3)*2`, `=-B2/4` are computed; anything else —
another function, a name, another sheet or workbook, text, a comparison, a DDE call such as
`=cmd|' /C calc'!A0`, a division by zero, a cycle — raises NotArithmetic and the cell is
held (`uncached` writes text.FORMULA into it). The formula is parsed by `ast` into a
whitelist of nodes and walked here; nothing is ever passed to eval().
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_REF = r"\$?([A-Z]{1,3})\$?([0-9]{1,7})"
_CELL = re.compile(rf"(?<![A-Z0-9_.$]){_REF}(?![A-Z0-9_(])")
_RANGE = re.compile(rf"\s*{_REF}\s*:\s*{_REF}\s*")
_SUM = re.compile(r"(?<![A-Z0-9_.])SUM\(([^()]*)\)")
_PLAIN = re.compile(r"[0-9A-Z_.+\-*/() $]*")
_ODF_PREFIX = re.compile(r"^[a-z]+:(?==)")  # "of:=", "oooc:=": the formula's syntax
_ODF_REF = re.compile(r"\[\.(\$?[A-Z]{1,3}\$?[0-9]{1,7})(?::\.(\$?[A-Z]{1,3}\$?[0-9]{1,7}))?\]")
DEPTH = 20  # formulas referring to formulas, at most this deep
MAX_RANGE = 10_000  # cells one SUM may add
MAX_LOOKUPS = 200_000  # cells looked up in one workbook: a file built to be slow is held
MAX_LENGTH = 8192  # Excel's own limit on a formula's length

Cell = float | str | None  # a number, an uncached formula ("=…"), or anything else


class NotArithmetic(Exception):
    """The formula is not plain arithmetic of numbers on its sheet: never a figure."""


class _Limit(NotArithmetic):
    """Too deep or too much work: depends on where the count began, so never remembered."""


@dataclass
class Budget:
    """Cell lookups left for one workbook, shared by its sheets."""

    left: int = MAX_LOOKUPS

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _Limit("too many lookups")


@dataclass
class Sheet:
    """One sheet's uncached formulas, each computed at most once (a formula used by many
    others must not be recomputed for each: 20 levels of doubling took a minute)."""

    cell: Callable[[str], Cell]  # "B2" → what the cell holds
    budget: Budget = field(default_factory=Budget)
    _done: dict[str, float] = field(default_factory=dict)
    _failed: set[str] = field(default_factory=set)
    _active: list[str] = field(default_factory=list)

    def value(self, ref: str) -> float:
        """The number in `ref`, its formula computed if need be; NotArithmetic if none."""
        self.budget.spend()
        if ref in self._done:
            return self._done[ref]
        held = self.cell(ref)
        if isinstance(held, float):
            return held
        if held is None or ref in self._failed:
            raise NotArithmetic(ref)  # text, empty, a date, a formula already held
        if ref in self._active:
            raise NotArithmetic(f"cycle at {ref}")  # every cell on a cycle fails: remembered
        if len(self._active) >= DEPTH:
            raise _Limit(ref)
        self._active.append(ref)
        try:
            result = compute(held, self.value)
        except _Limit:
            raise
        except (NotArithmetic, ArithmeticError, ValueError, RecursionError):
            self._failed.add(ref)
            raise NotArithmetic(ref) from None
        finally:
            self._active.pop()
        self._done[ref] = result
        return result

    def shown(self, ref: str) -> float | None:
        """What the uncached formula in `ref` shows, rounded as Excel shows it (15
        significant digits, so 1000*1.1 is 1100), or None when it is held."""
        try:
            return float(f"{self.value(ref):.15g}")
        except (NotArithmetic, ArithmeticError, ValueError, RecursionError):
            return None


def compute(formula: str, value: Callable[[str], float]) -> float:
    """`formula` ("=…", A1 references) as a number, each reference looked up by `value`."""
    if len(formula) > MAX_LENGTH:
        raise NotArithmetic("too long")
    source = " ".join(formula.removeprefix("=").upper().split())  # line breaks are allowed
    if "_" in source:
        raise NotArithmetic(formula)  # _xlfn.…, a name, or an attempt at our placeholders
    result = _arithmetic(source, value, {})
    if not math.isfinite(result):
        raise NotArithmetic(formula)
    return result


def _arithmetic(source: str, value: Callable[[str], float], names: dict[str, float]) -> float:
    """`source` with each SUM and reference replaced by a name (_0, _1…) bound in `names`."""

    def name(number: float) -> str:
        names[f"_{len(names)}"] = number
        return f"_{len(names) - 1}"

    while (summed := _SUM.sub(lambda m: name(_sum(m.group(1), value, names)), source)) != source:
        source = summed  # innermost first: SUM(SUM(B2:B3),B4)
    if not _PLAIN.fullmatch(source):
        raise NotArithmetic(source)  # strings, !, |, :, commas, comparisons, ^, %, &
    source = _CELL.sub(lambda m: name(value(m.group(1) + m.group(2))), source)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise NotArithmetic(source) from None
    return _walk(tree.body, names)


def from_odf(formula: str) -> str:
    """An OpenDocument formula ("of:=[.B2]+[.B3]") in A1 syntax ("=B2+B3"). A reference to
    another sheet or file keeps its brackets, so `compute` refuses it."""
    source = _ODF_PREFIX.sub("", formula)
    return _ODF_REF.sub(lambda m: m.group(1) + (f":{m.group(2)}" if m.group(2) else ""), source)


def _sum(arguments: str, value: Callable[[str], float], names: dict[str, float]) -> float:
    """SUM's arguments (',' in Excel, ';' in OpenDocument): ranges or arithmetic."""
    total = 0.0
    for argument in re.split(r"[,;]", arguments):
        if span := _RANGE.fullmatch(argument):
            c0, r0, c1, r1 = span.groups()
            cols = range(min(_column(c0), _column(c1)), max(_column(c0), _column(c1)) + 1)
            rows = range(min(int(r0), int(r1)), max(int(r0), int(r1)) + 1)
            if len(cols) * len(rows) > MAX_RANGE:
                raise _Limit(argument)
            total += sum(value(f"{_letters(c)}{r}") for c in cols for r in rows)
        elif argument.strip():
            total += _arithmetic(argument, value, names)
        else:
            raise NotArithmetic("an empty argument")
    return total


def _walk(node: ast.expr, names: dict[str, float]) -> float:
    constant = node.value if isinstance(node, ast.Constant) else None
    if isinstance(constant, int | float) and not isinstance(constant, bool):
        return float(constant)  # not 1J, not a string
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


def position(ref: str) -> tuple[int, int]:
    """A1 reference → (row, column), both from 0: "B2" → (1, 1)."""
    match = re.fullmatch(_REF, ref)
    if match is None:
        raise NotArithmetic(ref)
    return int(match.group(2)) - 1, _column(match.group(1)) - 1


def reference(row: int, column: int) -> str:
    """(row, column) from 0 → A1 reference: (1, 1) → "B2"."""
    return f"{_letters(column + 1)}{row + 1}"


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
