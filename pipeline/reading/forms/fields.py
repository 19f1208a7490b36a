"""Find the 旬报表's fields in a grid of cells, whatever format the grid came from.

Every reader turns its file into a `cells.Sheet`; this reads its texts (`Sheet.texts()`:
a merged value in its first position, the covered ones blank; a body text is rows of one
cell).
A label's value is looked for in two dimensions: in its own cell (after a colon, inside
the blank of "新增 ___ 名", or on the cell's next line), else in the next filled cell to
its right, else — when the right is another label, as in a form whose labels are column
heads — in the cell below. A cell that is itself a label is never a value. A figure
in a row of running totals (上期累计 / 本旬新增 / 累计) is the one under the total's head.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.reading.forms.cells import Rows, Sheet
from pipeline.reading.forms.crosswise import inline_roles, other_mentions, read_crosswise
from pipeline.reading.forms.numbers import Figure, parse_figure
from pipeline.reading.forms.table import MetricSpec, read_table
from pipeline.reading.forms.wording import DEFAULT_WORDING, Wording

_ABSENT: Figure = (None, None)


@dataclass(frozen=True)
class Reading:
    origin: str  # the file name, or 邮件正文
    unit: str | None
    reported_on: date | None
    value: int | None
    problem: str | None  # why the figure cannot be trusted, in Chinese
    measures: str
    ocr_text: str = ""  # what OCR saw, kept for the clerk
    rows: tuple[tuple[str, ...], ...] = ()  # the grid, for a multi-metric campaign's `figures`
    source: str = ""  # where in the file the form was: a sheet's name, 第 n 页

    @property
    def is_form(self) -> bool:
        return bool(self.unit or self.value is not None or self.problem)


def compact(text: str) -> str:
    """NFKC (full-width digits and punctuation to ASCII) without any white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


class Grid:
    """The rows of one form and where its labels are."""

    def __init__(self, rows: Rows, wording: Wording) -> None:
        self.wording = wording
        rows = fold_heads([_closed([cell.strip() for cell in row]) for row in rows], wording)
        self.rows = [row for row in rows if any(row)]

    def find(self, labels: tuple[str, ...]) -> tuple[int, int, str] | None:
        """The first cell holding one of `labels` as a label, and the text after it."""
        for i, row in enumerate(self.rows):
            for j, cell in enumerate(row):
                for label in labels:
                    rest = self.wording.after_label(cell, label)
                    if rest is not None:
                        return i, j, rest
        return None

    def value(self, i: int, j: int, inline: str, below: bool = True) -> list[str]:
        """Where the label at (i, j) keeps its value: inline, to the right, or below —
        below only when the label stands alone in its line or heads a column of labels."""
        if inline:
            return [inline]
        right = [(k, c) for k, c in enumerate(self.rows[i]) if k > j and c]
        if right and not self.wording.is_label(right[0][1]):
            if len(right) > 1 and parse_figure(right[0][1])[0] is not None:
                return [self._under_total_head(i, j)]
            return [right[0][1]]
        if not below or (not right and len(self.rows[i]) > 1):
            return []
        under = self._below(i, j)
        return [under] if under and not self.wording.is_label(under) else []

    def _below(self, i: int, j: int) -> str:
        if i + 1 >= len(self.rows):
            return ""
        row = self.rows[i + 1]
        return row[j] if j < len(row) else ""

    def _under_total_head(self, i: int, j: int) -> str:
        """A row of several numbers: the figure is the one whose column head is a total
        (上期累计 | 本旬新增 | 累计); without such a head the row is ambiguous."""
        row = self.rows[i]
        for above in reversed(self.rows[:i]):
            heads = {k: compact(h) for k, h in enumerate(above) if k > j and h}
            if not heads:
                continue
            totals = [k for k, h in heads.items() if h in self.wording.totals]
            if len(totals) == 1:
                return row[totals[0]] if totals[0] < len(row) else ""
            break
        return "、".join(c for c in row[j + 1 :] if c)  # several numbers: held


_OPEN, _CLOSE = "（(", "）)"


def _closed(row: list[str]) -> list[str]:
    """A label broken in two where it wrapped ('…（新增名农民工入' | '会）', as OCR or a
    narrow cell gives it) is one cell again: its bracket closes in the next cell."""
    out: list[str] = []
    for cell in row:
        last = out[-1] if out else ""
        opened = sum(last.count(c) for c in _OPEN) > sum(last.count(c) for c in _CLOSE)
        head = re.match(r"^[^\d（()）]{0,8}[）)]", cell)
        if opened and head is not None:
            out[-1] = last + head.group(0)
            out.append(cell[head.end() :].strip())  # the cell stays: columns keep their place
            continue
        out.append(cell)
    return out


def fold_heads(rows: Rows, wording: Wording) -> Rows:
    """A table flattened into one cell per line (Writer's text export, a pasted table):
    a run of k column heads followed by k lines is a head row and its value row. The
    value row may begin with a row label (项目 | 上期累计 | 累计 over 已完成… | 3443 | 4032);
    no other value may be a label. A label ending in a colon is a field left empty."""
    out: Rows = []
    i = 0
    while i < len(rows):
        run = 0
        while i + run < len(rows) and _is_head(rows[i + run], wording):
            run += 1
        for k in range(run, 1, -1):
            values = rows[i + k : i + 2 * k]
            flat = len(values) == k and all(len(r) == 1 for r in values)
            if flat and not any(wording.is_label(r[0]) for r in values[1:]):
                out += [[r[0] for r in rows[i : i + k]], [r[0] for r in values]]
                i += 2 * k
                break
        else:
            out.append(rows[i])
            i += 1
    return out


def _is_head(row: list[str], wording: Wording) -> bool:
    return len(row) == 1 and not row[0].endswith((":", "：")) and wording.is_bare_label(row[0])


def extract(sheet: Sheet, origin: str, wording: Wording = DEFAULT_WORDING) -> Reading:
    grid = Grid(sheet.texts(), wording)
    value, problem = _figure(grid, wording.figure)
    return Reading(
        origin=origin,
        unit=wording.clean_unit(_labelled(grid, wording.unit)),
        reported_on=parse_date(_labelled(grid, wording.date) or ""),
        value=value,
        problem=problem,
        measures=_measures(grid),
        rows=tuple(tuple(row) for row in grid.rows),
        source=sheet.source,
    )


def figures(
    reading: Reading,
    metrics: Sequence[MetricSpec],
    wording: Wording = DEFAULT_WORDING,
) -> FormFigures:
    """Metric key → figure, for each metric the form reports (a blank is not reported).

    Every campaign reads its forms through here; a single-metric one is a campaign with
    one metric (key '') whose labels are the form's figure labels. A table whose heads
    give its columns roles (本旬 | 累计) is read by structure; otherwise each metric's label
    is looked for and its value beside it, inside it or below it.
    """
    specs = [MetricSpec(m.key, tuple(compact(x) for x in m.labels), m.column) for m in metrics]
    extra = [x for spec in specs for x in spec.labels]
    grid = Grid([list(row) for row in reading.rows], wording.with_labels(extra))
    normal = [[wording.normal(cell) for cell in row] for row in grid.rows]  # 农村籍职工…
    table = read_table(normal, specs) or read_crosswise(normal, specs, grid.wording.is_bare_label)
    if table is not None:
        return FormFigures(table.figures, table.unknown_rows)
    found = {spec.key: _figure(grid, spec.labels, spec) for spec in specs}
    return FormFigures({key: f for key, f in found.items() if f != _ABSENT}, ())


@dataclass(frozen=True)
class FormFigures:
    figures: dict[str, Figure]  # metric key → (value, problem); unreported metrics absent
    unknown_rows: tuple[str, ...] = ()  # table rows naming no configured metric


def _labelled(grid: Grid, labels: tuple[str, ...]) -> str | None:
    at = grid.find(labels)
    if at is None:
        return None
    i, j, rest = at
    inline = grid.wording.strip_hint(rest)
    # A cell may hold the next label too ("报送单位：X 报送时间：Y" on one line).
    inline = grid.wording.cut_at_label(inline)
    values = grid.value(i, j, inline)
    return values[0] if values else None


def _figure(grid: Grid, labels: tuple[str, ...], spec: MetricSpec | None = None) -> Figure:
    # Only the form's own label counts: a loose "新增…名" in prose is often a per-dekad
    # increment, and a wrong figure is worse than a held one.
    at = grid.find(labels)
    if at is None:
        return _ABSENT
    i, j, rest = at
    if spec is not None:
        # "新发展农民工会员：本旬77名，累计545名": the figure of the column it is read from
        said = inline_roles(grid.wording.strip_hint(rest), spec)
        if said is not None:
            return _unless_contradicted(grid, (i, j), labels, spec, said)
    blank, rest = grid.wording.split_blank(rest)
    candidates = [blank] if blank else []
    inline = "" if blank else grid.wording.strip_hint(rest)
    candidates += grid.value(i, j, inline, not blank)
    if blank or inline:
        # a figure in the label's cell and another beside it are two answers
        right = next((c for c in grid.rows[i][j + 1 :] if c), "")
        if parse_figure(right)[0] is not None:
            candidates.append(right)
    readings = [parse_figure(text) for text in candidates]
    problems = [p for _, p in readings if p]
    if problems:
        return None, problems[0]
    values = sorted({v for v, _ in readings if v is not None})
    if len(values) > 1:
        shown = "、".join(str(v) for v in values)
        return None, f"表中有两个不同的完成数（{shown}），无法确定以哪个为准"
    return (values[0], None) if values else _ABSENT


def _unless_contradicted(
    grid: Grid, at: tuple[int, int], labels: tuple[str, ...], spec: MetricSpec, said: Figure
) -> Figure:
    others = other_mentions(grid.rows, at, labels, spec) - {said[0]}
    if said[0] is None or not others:
        return said
    shown = "、".join(str(v) for v in sorted(others | {said[0]}))
    return None, f"表中有两个不同的完成数（{shown}），无法确定以哪个为准"


_DATE_RE = re.compile(r"(\d{4})\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})")


def parse_date(text: str) -> date | None:
    match = _DATE_RE.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _measures(grid: Grid) -> str:
    at = grid.find(grid.wording.measures)
    if at is None:
        return ""
    i, j, rest = at
    rows = grid.rows
    parts = grid.value(i, j, grid.wording.strip_hint(rest))
    # The measures go on in the rows that follow (a body text, or a label over several
    # rows), up to the footer or the next label.
    for row in rows[i + 1 :]:
        if grid.wording.is_label(row[0]) or any(
            compact(c).startswith(grid.wording.stops) for c in row
        ):
            break
        if len(rows[i]) > 1 and (len(row) <= j or row[j] or not any(row[j + 1 :])):
            break
        parts.append(" ".join(c for c in row[j + 1 :] if c) if len(rows[i]) > 1 else row[0])
    return "\n".join(p for p in parts if p).strip()
