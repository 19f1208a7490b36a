"""The register (收件登记): every message with its outcome, as typed rows, and as .xlsx.

The CLI's `xunbao messages` and the desk's 收件登记 page both read it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from pipeline.config import Config
from pipeline.ledger import Ledger
from pipeline.standings.periods import local_text

OUTCOME_NAMES = {
    "counted": "计入",
    "review": "待审核",
    "ignored": "忽略",
    "recorded": "手工录入",
    "withdrawn": "已撤回",
}


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
    kind: str = "mail"  # "record": a figure recorded by hand (its id is the record's)
    values: dict[str, int] | None = None  # metric key → figure, for a message with a report


def rows(
    ledger: Ledger,
    period: str | None = None,
    outcome: str | None = None,
    unit: str | None = None,
    page: tuple[int, int] | None = None,
    notes: Mapping[int, str] | None = None,
) -> list[Row]:
    """The register's rows (one page of them: `page` = (limit, offset)); `notes` adds to a
    message's reason (sendback.notes: 退回 → 已重报)."""
    found = ledger.messages(period=period, outcome=outcome, unit=unit, page=page)
    figures = ledger.figures_of([r.id for r in found])
    return [
        Row(
            id=r.id,
            message_id=r.message_id,
            sender=r.sender,
            subject=r.subject,
            arrival=r.arrival,
            outcome=r.outcome,
            unit=r.unit,
            value=r.value,
            period=r.period,
            reason=r.reason
            + (f"；已被第 {r.superseded_by} 号邮件取代" if r.superseded_by else "")
            + (notes or {}).get(r.id, ""),
            values=figures.get(r.id),
        )
        for r in found
    ]


def recorded(ledger: Ledger, period: str | None = None) -> list[Row]:
    """The figures recorded by hand, as rows to show beside the mails (withdrawn ones too)."""
    return [
        Row(
            id=r.id,
            message_id="",
            sender="手工录入",
            subject="",
            arrival=r.arrival,
            outcome="withdrawn" if r.withdrawn_at else "recorded",
            unit=r.unit,
            value=r.value,
            period=r.period,
            reason=f"手工录入第 {r.id} 号：{r.note}"
            + (f"；已于 {r.withdrawn_at} 撤回" if r.withdrawn_at else ""),
            kind="record",
        )
        for r in ledger.recorded_reports()
        if period in (None, r.period)
    ]


def as_dict(row: Row) -> dict[str, object]:
    return {f.name: getattr(row, f.name) for f in fields(row)}


def local_iso(arrival: str | None, config: Config) -> str | None:
    """A stored arrival (UTC) as ISO time in the campaign's zone, e.g. …T10:15:37+08:00."""
    if not arrival:
        return None
    return datetime.fromisoformat(arrival).astimezone(config.schedule.zone).isoformat()


def xlsx(found: list[Row], config: Config, title: str = "收件登记簿") -> bytes:
    """The register as a printable workbook, times in the campaign's zone. Text from mail
    (a subject such as "=HYPERLINK(…)") stays text: `sheets` never writes it as a formula."""
    from pipeline.outputs import (
        sheets,  # openpyxl: only for the export, not for listing the register
    )

    columns = [
        sheets.Column("编号", 7),
        sheets.Column("Message-ID", 24),
        sheets.Column("发件人", 24),
        sheets.Column("主题", 30, wrap=True),
        sheets.Column(f"到达时间（{config.schedule.timezone}）", 18),
        sheets.Column("结果", 8),
        sheets.Column("单位", 14),
        sheets.Column(f"数字（{config.campaign.measure}）", 10, sheets.THOUSANDS),
        sheets.Column("所属旬", 11),
        sheets.Column("说明", 50, wrap=True),
    ]
    table = [
        [
            row.id,
            row.message_id,
            row.sender,
            row.subject,
            local_text(row.arrival, config.schedule, seconds=True),
            OUTCOME_NAMES.get(row.outcome, row.outcome),
            row.unit or "",
            row.value,
            row.period or "",
            row.reason,
        ]
        for row in found
    ]
    marks = ["review" if row.outcome == "review" else None for row in found]
    sheet = sheets.Sheet(
        name="收件登记",
        title=f"{config.campaign.name}　{title}",
        subtitle=f"{config.circular.department}　共 {len(found)} 封",
        columns=columns,
        rows=table,
        marks=marks,
        note=sheets.legend(marks),
    )
    return sheets.workbook_bytes([sheet])
