"""The one table model every reader produces: a `Sheet` of positioned `Cell`s.

A workbook, a Word table, an HTML page, a PDF page, an OCR'd photo and a mail body all
become the same thing — rows of cells at grid positions, where a merged cell keeps its
spans (`across`, `down`) and the positions it covers are present but marked `covered`;
a PDF or OCR cell keeps the box it was found in. Field-finding (`fields`, `table`,
`crosswise`) reads `Sheet.texts()` only: a merged value stands in its first position and
the covered ones are blank, so every value stays under its column's head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Rows = list[list[str]]
Box = tuple[float, float, float, float]  # x0, top, x1, bottom on the page or photo

MAX_SPAN = 50  # a colspan or rowspan of 10,000 must not become 10,000 cells


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    across: int = 1  # grid columns this cell spans
    down: int = 1  # grid rows this cell spans
    covered: bool = False  # a position inside another cell's span
    box: Box | None = None


COVERED = Cell("", covered=True)


@dataclass(frozen=True)
class Sheet:
    """One form as its reader found it. `source` says where in the file: the sheet's
    name or names, 第 n 页 for a PDF, empty for a document, a text or a mail body."""

    source: str
    rows: tuple[tuple[Cell, ...], ...]

    def texts(self) -> Rows:
        return [[cell.text for cell in row] for row in self.rows]


def plain(rows: Iterable[Sequence[str]], source: str = "") -> Sheet:
    """A sheet of unmerged cells (a CSV, a text, a mail body)."""
    return Sheet(source, tuple(tuple(Cell(text) for text in row) for row in rows))


def joined(sheets: Sequence[Sheet]) -> Sheet:
    """Several sheets read as one form, top to bottom (a document's tables and lines)."""
    source = "、".join(dict.fromkeys(s.source for s in sheets if s.source))
    return Sheet(source, tuple(row for sheet in sheets for row in sheet.rows))


def placed(rows: Iterable[Sequence[Cell]]) -> tuple[tuple[Cell, ...], ...]:
    """Rows as HTML and Word write them — a spanned cell once, the positions it covers
    left out — laid on the grid: covered positions are filled in where they fall."""
    taken: dict[tuple[int, int], Cell] = {}
    out: list[tuple[Cell, ...]] = []
    for i, row in enumerate(rows):
        line: list[Cell] = []
        for cell in row:
            while (i, len(line)) in taken:
                line.append(taken.pop((i, len(line))))
            j = len(line)
            across, down = min(cell.across, MAX_SPAN), min(cell.down, MAX_SPAN)
            line.append(cell)
            line.extend([COVERED] * (across - 1))
            for k in range(1, down):
                for m in range(across):
                    taken[(i + k, j + m)] = COVERED
        while (i, len(line)) in taken:
            line.append(taken.pop((i, len(line))))
        out.append(tuple(line))
    return tuple(out)


def merged(
    rows: Sequence[Sequence[str]], ranges: Iterable[tuple[int, int, int, int]], source: str = ""
) -> Sheet:
    """A positional grid (every position present, as a workbook gives it) with its merged
    ranges (first row, first column, last row, last column) marked."""
    cells = [[Cell(text) for text in row] for row in rows]
    for top, left, bottom, right in ranges:
        if not (0 <= top < len(cells) and 0 <= left < len(cells[top])):
            continue
        for i in range(top, min(bottom, len(cells) - 1) + 1):
            for j in range(left, min(right, len(cells[i]) - 1) + 1):
                if (i, j) != (top, left):
                    cells[i][j] = COVERED
        origin = cells[top][left]
        cells[top][left] = Cell(origin.text, right - left + 1, bottom - top + 1)
    return Sheet(source, tuple(tuple(row) for row in cells))
