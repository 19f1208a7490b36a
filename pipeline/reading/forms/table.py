"""A metric table read by its structure: head rows give each column a role, row labels
name the metrics, and a metric's figure is the cell where its row meets its column.

    序号 | 工作项目               | 本旬数 | 累计数
    1    | 新发展农民工会员（名） | 191    | 545

The head may span two rows (完成情况 merged over 本旬 | 累计); a column keeps its role for
every row below it, however many rows follow, so a 序号 is never a figure. Rows are
matched to the configured metrics by label (synonyms, measure suffixes and numbering
ignored, order free); rows that match no metric are named, never read. A blank cell, or
one holding only a dash or 无, leaves that metric unreported: a blank is not 0.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from pipeline.reading.forms.numbers import Figure, parse_figure


class Role(Enum):
    SEQ = "序号"
    ITEM = "项目"
    PREVIOUS = "上期"
    TOTAL = "累计"
    DEKAD = "本旬"
    TARGET = "目标"
    NOTE = "备注"
    MEASURE = "计量单位"
    VALUE = "数值"  # one figure column of no stated kind (完成数, 数量)


FIGURE_ROLES = (Role.PREVIOUS, Role.TOTAL, Role.DEKAD, Role.VALUE)
# Whole head texts (brackets and spaces removed) with a role.
_EXACT = {
    Role.SEQ: ("序号", "编号", "序", "No", "No."),
    Role.ITEM: (
        "工作项目",
        "项目",
        "指标",
        "指标名称",
        "工作内容",
        "内容",
        "项目名称",
        "名称",
        "工作任务",
        "任务项目",
        "统计项目",
        "类别",
    ),
    Role.MEASURE: ("单位", "计量单位", "计量"),
    Role.NOTE: ("备注", "说明", "备考"),
    Role.VALUE: (
        "完成数",
        "数量",
        "完成情况",
        "数值",
        "数字",
        "完成",
        "完成数量",
        "情况",
        "工作完成情况",
    ),
}
# Words a head contains, tried in this order (上期累计 is the previous total, not the total).
_CONTAINS = (
    (Role.PREVIOUS, ("上期", "上旬", "上月", "此前", "前期")),
    (Role.TOTAL, ("累计", "合计", "总计", "总数", "全年", "年度")),
    (Role.DEKAD, ("本旬", "本期", "当旬", "本月", "当期", "新增", "本次")),
    (Role.TARGET, ("目标", "任务数")),
)
_EXAMPLE = {"示例", "样例", "例", "范例", "填写示例", "举例"}
_HEAD_CHARS = 12  # a head is short; a longer cell is a label or prose
_BRACKETS = re.compile(r"[（(\[【][^（）()\[\]【】]*[)）\]】]")
_NUMBERING = re.compile(
    r"^(?:\d{1,2}|[一二三四五六七八九十]{1,3})[.、．)）:：]|^[（(][一二三四五六七八九十\d]{1,3}[)）]"
)
EMPTY = {"", "-", "—", "——", "－", "/", "／", "无", "\\", "空", "—-"}
_MEASURE_TAIL = re.compile(r"(人次|场次|个数|人数|场数|份数|名|人|个|场|次|份|项|家|户)$")


@dataclass(frozen=True)
class MetricSpec:
    """What the reader needs of a metric: its key, its row labels, its column."""

    key: str
    labels: tuple[str, ...]
    column: Role | None  # TOTAL or DEKAD; None: the table's one figure column


@dataclass(frozen=True)
class TableFigures:
    figures: dict[str, Figure]  # metric key → (value, problem); blank metrics absent
    unknown_rows: tuple[str, ...]  # row labels that match no metric


def flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@functools.lru_cache(maxsize=4096)
def head_role(cell: str) -> Role | None:
    text = _BRACKETS.sub("", flat(cell)).rstrip(":：")
    if not text or len(text) > _HEAD_CHARS or _is_number(text):
        return None
    for role, words in _EXACT.items():
        if text in words:
            return role
    for role, words in _CONTAINS:
        if any(word in text for word in words):
            return role
    return None


def _is_number(text: str) -> bool:
    return parse_figure(text)[0] is not None


@functools.lru_cache(maxsize=4096)
def label_key(text: str) -> str:
    """A row label as compared: no numbering, brackets, spaces or measure word at the end."""
    text = _BRACKETS.sub("", flat(text))
    text = _NUMBERING.sub("", text)
    return _MEASURE_TAIL.sub("", text.rstrip(":：")) if len(text) > 3 else text


def match_metric(label: str, metrics: Sequence[MetricSpec]) -> MetricSpec | None:
    return _match(label_key(label), tuple(metrics))


@functools.lru_cache(maxsize=4096)
def _match(key: str, metrics: tuple[MetricSpec, ...]) -> MetricSpec | None:
    """The metric a row label names: an exact label first, else the longest label the
    row's contains; two metrics tied name none."""
    if len(key) < 2:
        return None
    best: list[tuple[int, MetricSpec]] = []
    for metric in metrics:
        for name in metric.labels:
            wanted = label_key(name)
            if wanted == key:
                return metric
            # The row's label may say more than the metric's (新增农民工入会人数), never
            # less: 目标任务数 is not 已完成目标任务数.
            if len(wanted) >= 4 and wanted in key:
                best.append((len(wanted), metric))
    if not best:
        return None
    best.sort(key=lambda pair: -pair[0])
    top = [m for score, m in best if score == best[0][0]]
    return top[0] if len({m.key for m in top}) == 1 else None


@dataclass(frozen=True)
class Head:
    row: int  # the last head row
    roles: dict[int, Role]  # column → role


def find_heads(rows: Sequence[Sequence[str]]) -> list[Head]:
    """Every head block: a row with two or more role cells, one of them a figure column;
    a head row right above it (a merged 完成情况 over 本旬 | 累计) lends the roles of
    columns it leaves empty."""
    heads: list[Head] = []
    for i, row in enumerate(rows):
        roles = {j: r for j, cell in enumerate(row) if (r := head_role(cell)) is not None}
        if len(roles) < 2 or not any(r in FIGURE_ROLES for r in roles.values()):
            continue
        if any(_is_number(flat(cell)) for cell in row):
            continue
        if any(flat(cell) in _EXAMPLE for cell in row):
            continue  # the example in a 填表说明 (示例 | 工作项目 | 本旬数 | 累计数)
        if heads and heads[-1].row == i - 1:
            upper = heads.pop().roles
            lower_figures = any(r in FIGURE_ROLES for r in roles.values())
            for j, role in upper.items():
                if j not in roles and not (lower_figures and role is Role.VALUE):
                    roles[j] = role
        heads.append(Head(i, dict(sorted(roles.items()))))
    return heads


def read_table(rows: Sequence[Sequence[str]], metrics: Sequence[MetricSpec]) -> TableFigures | None:
    """The metrics' figures from the first head block whose rows name a metric."""
    for head in find_heads(rows):
        found = _read_below(rows, head, metrics)
        if found is not None:
            return found
    return None


def _read_below(
    rows: Sequence[Sequence[str]], head: Head, metrics: Sequence[MetricSpec]
) -> TableFigures | None:
    figures: dict[str, Figure] = {}
    seen: set[str] = set()
    unknown: list[str] = []
    for row in rows[head.row + 1 :]:
        if not any(cell.strip() for cell in row):
            continue
        if any(_ends_table(cell) for cell in row):
            if seen:
                break  # the measures or the footer: the table has ended
            continue
        label = _row_label(row, head)
        if label is None:
            if seen:
                break  # the table has ended (a footer, the measures)
            continue
        metric = match_metric(label, metrics)
        if metric is None:
            unknown.append(label.strip()[:40])
            continue
        if metric.key in seen:
            continue
        seen.add(metric.key)
        figure = _figure_in_row(row, head, metric)
        if figure != (None, None):
            figures[metric.key] = figure
    if not seen:
        return None
    return TableFigures(figures, tuple(unknown))


_TABLE_ENDS = ("主要工作", "工作举措", "填报人", "审核人", "联系电话", "联系人", "说明", "备注")


def _ends_table(label: str) -> bool:
    return flat(label).startswith(_TABLE_ENDS)


def _row_label(row: Sequence[str], head: Head) -> str | None:
    """The row's label: its 项目 cell, else its first text cell outside the figure,
    序号, measure and note columns."""
    items = [j for j, role in head.roles.items() if role is Role.ITEM]
    for j in items:
        if j < len(row) and row[j].strip() and not _is_number(flat(row[j])):
            return row[j]
    skip = {j for j, role in head.roles.items() if role is not Role.ITEM}
    for j, cell in enumerate(row):
        text = flat(cell)
        if j in skip or not text or _is_number(text) or text in EMPTY:
            continue
        return cell
    return None


def _figure_in_row(row: Sequence[str], head: Head, metric: MetricSpec) -> Figure:
    column = _column_for(head, metric)
    if column is None:
        return None, "表中没有可以确定的数字栏（如“本旬数”“累计数”）"
    cell = row[column].strip() if column < len(row) else ""
    if flat(cell) in EMPTY:
        return None, None
    return parse_figure(cell)


def _column_for(head: Head, metric: MetricSpec) -> int | None:
    columns = {role: [j for j, r in head.roles.items() if r is role] for role in Role}
    if metric.column is not None and len(columns[metric.column]) == 1:
        return columns[metric.column][0]
    if metric.column is not None and columns[metric.column]:
        return None  # two columns of the same kind: which one is meant is unclear
    figures = [j for role in (Role.TOTAL, Role.DEKAD, Role.VALUE) for j in columns[role]]
    if metric.column is None and len(figures) == 1:
        return figures[0]
    if metric.column is Role.TOTAL and not columns[Role.DEKAD] and len(columns[Role.VALUE]) == 1:
        return columns[Role.VALUE][0]  # one plain figure column: a running-total form
    if metric.column is Role.DEKAD and not columns[Role.TOTAL] and len(columns[Role.VALUE]) == 1:
        return columns[Role.VALUE][0]
    return None
