"""Forms whose metrics stand across the top: a head row of labels over a value row.

    报送单位 | 报送时间 | 目标任务数 | 上期累计 | 本旬新增 | 累计 | 主要工作举措
    夹江县   | 10月28日 | 6430       | 2700     | 134      | 2834 | （一）……

    项目 | 新发展农民工会员（名） | 专项集体合同覆盖农民工（人） | …
    本旬 | 110名                  | 0人                          | …
    累计 | 315名                  | 60人                         | …

The first is a horizontal form: a metric's figure is the cell under its head (or under
the one running-total head of a single-figure form that names no metric). The second is
a metric table turned on its side: rows labelled 本旬 / 累计 give the roles that columns
give in `table`. And a line of text may carry both, "新发展农民工会员：本旬77名，累计77名".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pipeline.reading.forms.numbers import Figure, parse_figure
from pipeline.reading.forms.table import (
    EMPTY,
    FIGURE_ROLES,
    MetricSpec,
    Role,
    TableFigures,
    flat,
    head_role,
    match_metric,
)

IsLabel = Callable[[str], bool]
_SEGMENT = re.compile(r"[，,；;、。\s]+")


def read_crosswise(
    rows: Sequence[Sequence[str]], metrics: Sequence[MetricSpec], is_label: IsLabel
) -> TableFigures | None:
    """A transposed metric table first, else a horizontal head row over a value row."""
    return _transposed(rows, metrics) or _horizontal(rows, metrics, is_label)


def _transposed(
    rows: Sequence[Sequence[str]], metrics: Sequence[MetricSpec]
) -> TableFigures | None:
    for i, row in enumerate(rows):
        columns = {j: m for j, cell in enumerate(row) if (m := match_metric(cell, metrics))}
        if len({m.key for m in columns.values()}) < 2:
            continue
        roles = _role_rows(rows, i + 1)
        if not roles:
            continue
        figures: dict[str, Figure] = {}
        for j, metric in columns.items():
            wanted = roles.get(metric.column) if metric.column else None
            if wanted is None:
                if metric.column in roles or len(roles) != 1:
                    continue  # its kind of figure is not on this form: not reported
                wanted = next(iter(roles.values()))
            cell = wanted[j] if j < len(wanted) else ""
            if flat(cell) not in EMPTY:
                figures[metric.key] = parse_figure(cell)
        return TableFigures(figures, ())
    return None


def _role_rows(rows: Sequence[Sequence[str]], start: int) -> dict[Role, Sequence[str]]:
    """The rows right below a head whose first filled cell is a figure role (本旬, 累计)."""
    found: dict[Role, Sequence[str]] = {}
    for row in rows[start : start + 4]:
        first = next((cell for cell in row if cell.strip()), "")
        role = head_role(first)
        if role not in FIGURE_ROLES:
            break
        if role is not None and role not in found:
            found[role] = row
    return {role: row for role, row in found.items() if role is not Role.PREVIOUS}


def _horizontal(
    rows: Sequence[Sequence[str]], metrics: Sequence[MetricSpec], is_label: IsLabel
) -> TableFigures | None:
    for i, row in enumerate(rows):
        labels = [
            j for j, cell in enumerate(row) if cell.strip() and _is_head(cell, metrics, is_label)
        ]
        if len(labels) < 2 or any(_is_figure(cell) for cell in row):
            continue
        values = _value_row(rows, i + 1)
        if values is None:
            continue
        found = _under_heads(row, values, metrics)
        if found is not None:
            return found
    return None


def _is_head(cell: str, metrics: Sequence[MetricSpec], is_label: IsLabel) -> bool:
    return head_role(cell) is not None or match_metric(cell, metrics) is not None or is_label(cell)


def _is_figure(cell: str) -> bool:
    return parse_figure(cell)[0] is not None


def _value_row(rows: Sequence[Sequence[str]], start: int) -> Sequence[str] | None:
    for row in rows[start : start + 2]:
        if any(_is_figure(cell) for cell in row):
            return row
    return None


def _under_heads(
    heads: Sequence[str], values: Sequence[str], metrics: Sequence[MetricSpec]
) -> TableFigures | None:
    figures: dict[str, Figure] = {}
    for j, head in enumerate(heads):
        metric = match_metric(head, metrics)
        if metric is not None and metric.key not in figures:
            cell = values[j] if j < len(values) else ""
            if flat(cell) not in EMPTY:
                figures[metric.key] = parse_figure(cell)
    if figures:
        return TableFigures(_against_totals(heads, values, metrics, figures), ())
    if len(metrics) != 1:
        return None
    # A single-figure form naming no metric: 上期累计 | 本旬新增 | 累计 — the role it wants.
    metric = metrics[0]
    wanted = [j for j, head in enumerate(heads) if head_role(head) is metric.column]
    if len(wanted) != 1:
        return None
    cell = values[wanted[0]] if wanted[0] < len(values) else ""
    found = {} if flat(cell) in EMPTY else {metric.key: parse_figure(cell)}
    return TableFigures(found, ())


def _against_totals(
    heads: Sequence[str],
    values: Sequence[str],
    metrics: Sequence[MetricSpec],
    figures: dict[str, Figure],
) -> dict[str, Figure]:
    """新增农民工入会人数 4659 beside 累计入会 4759: a running total read under the metric's
    head and a different one under a 累计 head is two answers, and a person decides."""
    totals = {
        value
        for j, head in enumerate(heads)
        if head_role(head) is Role.TOTAL and match_metric(head, metrics) is None
        for value in [parse_figure(values[j] if j < len(values) else "")[0]]
        if value is not None
    }
    checked = dict(figures)
    for metric in metrics:
        value = figures.get(metric.key, (None, None))[0]
        if metric.column is Role.TOTAL and value is not None and totals - {value}:
            shown = "、".join(str(v) for v in sorted(totals | {value}))
            checked[metric.key] = (None, f"表中有两个不同的完成数（{shown}），无法确定以哪个为准")
    return checked


def other_mentions(
    rows: Sequence[Sequence[str]], at: tuple[int, int], labels: Sequence[str], metric: MetricSpec
) -> set[int]:
    """The figures of the metric's column said elsewhere in the form, in a line such as
    "（另：截至本旬新发展农民工会员累计523名）"."""
    word = {Role.TOTAL: "累计", Role.DEKAD: "本旬"}.get(metric.column or Role.VALUE)
    if word is None:
        return set()
    said = set()
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            text = flat(cell)
            if (i, j) == at or not any(label in text for label in labels):
                continue
            for match in re.finditer(word + r"[^0-9，,；;。]{0,6}?(\d[\d,]*)", text):
                value = parse_figure(match.group(1))[0]
                if value is not None:
                    said.add(value)
    return said


def inline_roles(text: str, metric: MetricSpec) -> Figure | None:
    """ "本旬77名，累计545名" after a metric's label: the figure of the role it wants, None
    when the text is not written that way. A role left out or dashed is not reported."""
    parts = [p for p in _SEGMENT.split(text.strip()) if p]
    said: dict[Role, str] = {}
    for part in parts:
        # Its own words, not head_role's: "新增2480名农民工入会" (the 2015 form's blank) is
        # a figure, though 新增 heads a dekad column in a table.
        match = re.match(
            r"(本旬数?|本期数?|本旬新增|累计数?|累计完成|截至本旬累计)[:：]?(.*)$", flat(part)
        )
        if match is None:
            return None
        role = head_role(match.group(1))
        if role is not None:
            said[role] = match.group(2)
    if not said or metric.column is None:
        return None
    written = said.get(metric.column, "")
    return (None, None) if flat(written) in EMPTY else parse_figure(written)
