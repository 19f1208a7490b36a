"""Typed records the ledger hands out: a message of the register, a stored report, a clerk's
action, an issued circular version, a delivery and a signature. Rows never leave the ledger
as dicts, and records are read by attribute only."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

Outcome = Literal["counted", "review", "ignored"]
T = TypeVar("T")


def of_row(cls: type[T], row: sqlite3.Row) -> T:
    """A record whose fields are all columns of the row, by name."""
    return cls(**{k: row[k] for k in cls.__dataclass_fields__})  # type: ignore[attr-defined]


@dataclass(frozen=True)
class MessageRecord:
    """One message of the register and its current outcome."""

    id: int
    source_ref: str
    message_id: str
    sha256: str
    sender: str
    subject: str
    arrival: str | None
    arrival_basis: str
    period: str | None
    outcome: Outcome
    reason: str
    unit: str | None
    value: int | None
    detail: dict[str, Any] = field(default_factory=dict)
    recorded_at: str = ""
    superseded_by: int | None = None

    @property
    def reading(self) -> dict[str, Any]:
        """What the form said (unit matched, value, measures), kept at intake."""
        found: dict[str, Any] = self.detail.get("reading", {})
        return found

    @classmethod
    def of(cls, row: sqlite3.Row) -> MessageRecord:
        data = dict(row)
        data["detail"] = json.loads(data.get("detail") or "{}")
        data.setdefault("superseded_by", None)
        return cls(**data)


@dataclass(frozen=True)
class ReportRecord:
    """A stored figure: from a mail, approved by a clerk, or recorded by hand."""

    id: int
    message: int | None
    unit: str
    period: str
    value: int
    arrival: str
    origin: str
    note: str
    metric: str
    withdrawn_at: str | None


@dataclass(frozen=True)
class ActionRecord:
    """A clerk's action: who, when, what and why."""

    id: int
    at: str
    kind: str
    actor: str
    message: int | None
    report: int | None
    unit: str | None
    period: str | None
    value: int | None
    note: str


@dataclass(frozen=True)
class VersionRecord:
    """One issued version of a period's circular (1 is the first issue, 2… corrections)."""

    period: str
    version: int
    fingerprint: str
    standings: dict[str, Any]  # the standings JSON as issued, for the next 更正说明
    correction: str  # 更正说明; '' for version 1
    doc_number: str
    signed_by: str
    signed_at: str | None
    issued_at: str

    @classmethod
    def of(cls, row: sqlite3.Row) -> VersionRecord:
        data = dict(row)
        data["standings"] = json.loads(data["standings"])
        return cls(**data)


@dataclass(frozen=True)
class LetterCounts:
    """Receipts or reminders a run sent, and those it could not send."""

    sent: int = 0
    failed: int = 0


_COUNTS = ("new", "counted", "review", "ignored", "already_known")
_LETTERS = ("receipts", "reminders")


@dataclass(frozen=True)
class RunSummary:
    """What a run did, as far as it got: kept as JSON in its `runs` row, read by `status`.
    A count is None when the run ended before it."""

    new: int | None = None
    counted: int | None = None
    review: int | None = None
    ignored: int | None = None
    already_known: int | None = None
    pdf: str | None = None  # the circular it wrote
    made: bool = True  # False: the period's circular is made only on request, none was
    sent: int | None = None  # copies of the circular sent; None: it was not sent
    skipped: int = 0
    letters: dict[str, LetterCounts] = field(default_factory=dict)  # receipts, reminders
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            k: getattr(self, k) for k in _COUNTS if getattr(self, k) is not None
        }
        if self.pdf is not None or not self.made:
            data["pdf"] = self.pdf
        if self.sent is not None or self.skipped:
            data |= {"sent": self.sent, "skipped": self.skipped}
        data |= {kind: {"sent": n.sent, "failed": n.failed} for kind, n in self.letters.items()}
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> RunSummary:
        return cls(
            **{k: int(data[k]) for k in _COUNTS if data.get(k) is not None},
            pdf=data.get("pdf"),
            made=data.get("pdf", True) is not None,
            sent=data.get("sent"),
            skipped=int(data.get("skipped", 0)),
            letters={
                kind: LetterCounts(int(data[kind].get("sent", 0)), int(data[kind].get("failed", 0)))
                for kind in _LETTERS
                if isinstance(data.get(kind), dict)
            },
            error=data.get("error"),
        )


@dataclass(frozen=True)
class RunRecord:
    """One run of a cycle (manual, scheduled, poll): when, for which period, how it ended."""

    id: int
    period: str | None
    trigger: str
    started_at: str
    finished_at: str | None
    outcome: str | None  # ok, failed, interrupted; None while running (or killed)
    summary: RunSummary

    @classmethod
    def of(cls, row: sqlite3.Row) -> RunRecord:
        stored = json.loads(row["summary"] or "{}")
        return cls(**{**dict(row), "summary": RunSummary.of_json(stored)})


@dataclass(frozen=True)
class DeliveryRecord:
    """A copy of something (circular version, receipt, reminder) that reached a recipient."""

    period: str
    recipient: str
    kind: str
    sent_at: str


@dataclass(frozen=True)
class OutboxRecord:
    """A copy not (yet) accepted by the server: tries that went unconfirmed, the last error."""

    period: str
    recipient: str
    kind: str
    message_id: str
    tries: int
    last_at: str
    error: str


@dataclass(frozen=True)
class Signature:
    period: str
    fingerprint: str
    signer: str
    signed_at: datetime

    @classmethod
    def of(cls, row: sqlite3.Row) -> Signature:
        at = datetime.fromisoformat(row["signed_at"])
        return cls(row["period"], row["fingerprint"], row["signer"], at)
