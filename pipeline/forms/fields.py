"""Find the 旬报表's fields in a grid of cells, whatever format the grid came from.

Every reader turns its file into rows of cell texts (a body text is rows of one cell).
The form's labels are then found the same way everywhere: a label's value is the rest
of its own cell (the blank inside "新增 ___ 名"), else the next filled cell to its right.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import cn2an

Rows = list[list[str]]


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

    @property
    def is_form(self) -> bool:
        return bool(self.unit or self.value is not None or self.problem)


_UNIT = "报送单位"
_DATE = "报送时间"
_FIGURE = ("已完成目标任务数", "已完成任务数", "已完成数")
_MEASURES = "主要工作举措"
_STOP = ("说明", "报送方式", "联系人", "填报人", "审核人")


def compact(text: str) -> str:
    """NFKC (full-width digits and punctuation to ASCII) without any white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def extract(rows: Rows, origin: str) -> Reading:
    rows = [[cell.strip() for cell in row] for row in rows]
    rows = [row for row in rows if any(row)]
    value, problem = _figure(rows, _FIGURE, _BLANK)
    return Reading(
        origin=origin,
        unit=_clean_unit(_labelled(rows, _UNIT)),
        reported_on=parse_date(_labelled(rows, _DATE) or ""),
        value=value,
        problem=problem,
        measures=_measures(rows),
        rows=tuple(tuple(row) for row in rows),
    )


Figure = tuple[int | None, str | None]  # (value, why it cannot be trusted)


def figures(reading: Reading, labels: Mapping[str, str]) -> dict[str, Figure]:
    """A multi-metric form: metric key → figure, for each metric whose row label is found.

    The figure is read as the single-metric one is: after a colon in the label's own cell,
    else the next filled cell to its right.
    """
    rows = [list(row) for row in reading.rows]
    found = {key: _figure(rows, (compact(label),), None) for key, label in labels.items()}
    return {key: figure for key, figure in found.items() if figure != _ABSENT}


def _find(rows: Rows, labels: tuple[str, ...]) -> tuple[int, int] | None:
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if any(label in compact(cell) for label in labels):
                return i, j
    return None


def _after_label(cell: str, label: str) -> str:
    text = unicodedata.normalize("NFKC", cell)
    pos = compact(text).find(label)
    # Walk the original text to the character after the label, skipping white space.
    seen = 0
    for k, ch in enumerate(text):
        if seen == pos + len(label):
            text = text[k:]
            break
        if not ch.isspace():
            seen += 1
    else:
        text = ""
    return text.lstrip(":：)） ").strip()


def _right_of(rows: Rows, i: int, j: int) -> str:
    return next((cell for cell in rows[i][j + 1 :] if cell), "")


def _labelled(rows: Rows, label: str) -> str | None:
    at = _find(rows, (label,))
    if at is None:
        return None
    i, j = at
    inline = _after_label(rows[i][j], label)
    # A cell may hold the next label too ("报送单位：X 报送时间：Y" on one line).
    for other in (_UNIT, _DATE):
        if other != label and other in compact(inline):
            inline = inline[: unicodedata.normalize("NFKC", inline).find(other[0])].strip()
    return inline or _right_of(rows, i, j) or None


def _clean_unit(text: str | None) -> str | None:
    if not text:
        return None
    text = re.split(r"[（(]盖章|\s{2,}|\t", text)[0].strip(" ：:")
    return text or None


_BLANK = re.compile(r"新增(.*?)名", re.DOTALL)  # the blank inside the 2015 label
_ABSENT: Figure = (None, None)


def _figure(rows: Rows, labels: tuple[str, ...], blank_in: re.Pattern[str] | None) -> Figure:
    # Only the form's own label counts: a loose "新增…名" in prose is often a per-dekad
    # increment, and a wrong figure is worse than a held one.
    at = _find(rows, labels)
    if at is None:
        return _ABSENT
    i, j = at
    cell = unicodedata.normalize("NFKC", rows[i][j])
    blank = blank_in.search(cell) if blank_in else None
    candidates = []
    if blank and blank.group(1).strip(" _＿"):
        candidates.append(blank.group(1))
    elif not blank:
        tail = re.split(r"[:：]", cell, maxsplit=1)
        if len(tail) == 2 and tail[1].strip():
            candidates.append(tail[1])
    right = _right_of(rows, i, j)
    if right:
        candidates.append(right)
    readings = [parse_figure(text) for text in candidates]
    problems = [p for _, p in readings if p]
    if problems:
        return None, problems[0]
    values = sorted({v for v, _ in readings if v is not None})
    if len(values) > 1:
        shown = "、".join(str(v) for v in values)
        return None, f"表中有两个不同的完成数（{shown}），无法确定以哪个为准"
    return (values[0], None) if values else (None, None)


_DOUBT = re.compile(r"约|左右|大约|近|余|多|以上|不到|估")
_RANGE = re.compile(r"\d\s*(-|~|～|至|到)\s*\d")
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖拾佰仟]+")


def parse_figure(text: str) -> tuple[int | None, str | None]:
    """'2,650' / '２６５０' / '2650.0' / '一千二百五十' → (value, None); doubt → (None, why)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None, None
    if _DOUBT.search(text) or _RANGE.search(text):
        return None, f"完成数写作“{text}”，不是确切数字"
    numbers = re.findall(r"\d[\d,]*(?:\.\d+)?", text)
    values = {_to_int(n) for n in numbers}
    if None in values:
        return None, f"完成数“{text}”不是整数"
    if len(values) > 1:
        return None, f"完成数一栏有多个数字（{text}）"
    if values:
        return values.pop(), None
    chinese = _CN_NUMBER.search(text)
    if chinese:
        try:
            return int(cn2an.cn2an(chinese.group(0), "smart")), None
        except (ValueError, KeyError):
            return None, f"无法识别中文数字“{chinese.group(0)}”"
    return None, None


def _to_int(number: str) -> int | None:
    digits = number.replace(",", "")
    if "." in digits:
        whole, frac = digits.split(".", 1)
        return int(whole) if set(frac) <= {"0"} else None
    return int(digits)


_DATE_RE = re.compile(r"(\d{4})\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})")


def parse_date(text: str) -> date | None:
    match = _DATE_RE.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _measures(rows: Rows) -> str:
    at = _find(rows, (_MEASURES,))
    if at is None:
        return ""
    i, j = at
    inline = re.sub(r"^[(（]\s*\d+\s*字左右\s*[)）]", "", _after_label(rows[i][j], _MEASURES))
    parts = [inline.strip(" :：")] + [c for c in rows[i][j + 1 :] if c]
    if len(rows[i]) == 1:
        # Body text: the measures are the lines that follow, up to the footer.
        for row in rows[i + 1 :]:
            if any(compact(row[0]).startswith(stop) for stop in _STOP):
                break
            parts.append(" ".join(c for c in row if c))
    return "\n".join(p for p in parts if p).strip()
