"""The register (收件登记): every message with its outcome, as typed rows, and as .xlsx.

The CLI's `xunbao messages` and the desk's 收件登记 page both read it from here.
"""

from __future__ import annotations

import io
from dataclasses import astuple, dataclass, fields

from openpyxl import Workbook
from openpyxl.styles import Font

from .ledger import Ledger

OUTCOME_NAMES = {"counted": "计入", "review": "待审核", "ignored": "忽略"}


@dataclass(frozen=True)
class Row:
    id: int
    message_id: str
    sender: str
    subject: str
    arrival: str | None
    outcome: str
    unit: str | None
    value: int | None
    period: str | None
    reason: str  # with "superseded by N" where a later message replaced it


HEADERS = (
    "编号",
    "Message-ID",
    "发件人",
    "主题",
    "到达时间",
    "结果",
    "单位",
    "数字",
    "所属旬",
    "说明",
)


def rows(
    ledger: Ledger,
    period: str | None = None,
    outcome: str | None = None,
    unit: str | None = None,
) -> list[Row]:
    found = ledger.messages(period=period, outcome=outcome)
    return [
        Row(
            id=r["id"],
            message_id=r["message_id"],
            sender=r["sender"],
            subject=r["subject"],
            arrival=r["arrival"],
            outcome=r["outcome"],
            unit=r["unit"],
            value=r["value"],
            period=r["period"],
            reason=r["reason"]
            + (f"；已被第 {r['superseded_by']} 号邮件取代" if r.get("superseded_by") else ""),
        )
        for r in found
        if unit is None or r["unit"] == unit
    ]


def as_dict(row: Row) -> dict[str, object]:
    return {f.name: getattr(row, f.name) for f in fields(row)}


def xlsx(found: list[Row]) -> bytes:
    """The register as a workbook. Every text cell is written as text: a subject such as
    "=HYPERLINK(…)" from a mail must never become a formula."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "收件登记"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in found:
        values = list(astuple(row))
        values[5] = OUTCOME_NAMES.get(row.outcome, row.outcome)
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJ", (7, 24, 24, 30, 18, 8, 12, 9, 12, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
