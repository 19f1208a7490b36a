"""Typed records the ledger hands out: a message of the register, a stored report, a clerk's
action, an issued circular version, a delivery and a signature. Rows never leave the ledger
as dicts, and records are read by attribute only."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal, TypeVar

from pipeline.ledger.detail import MessageDetail

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
    noted: str = "{}"  # the detail column as stored: read on first use of `detail`
    recorded_at: str = ""
    superseded_by: int | None = None

    @cached_property
    def detail(self) -> MessageDetail:
        """What intake noted. Parsed only when asked: a register page lists hundreds of
        messages and needs none of it (a name list's hashes make it kilobytes)."""
        return MessageDetail.of_json(self.noted)

    @classmethod
    def of(cls, row: sqlite3.Row) -> MessageRecord:
        data = dict(row)
        data["noted"] = data.pop("detail", None) or "{}"
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
class UnitSnapshot:
    """One unit as an issued circular stated it (其他 and the like: no rank or status)."""

    unit: str
    target: int
    completed: int
    rank: int | None = None
    reported: bool = False
    status: str = "bucket"  # bucket: a non-reporting row (其他), never ranked
    summoned_streak: int = 0

    def to_json(self) -> dict[str, Any]:
        if self.status == "bucket":
            return {"unit": self.unit, "target": self.target, "completed": self.completed}
        return {k: getattr(self, k) for k in _UNIT_KEYS}


_UNIT_KEYS = ("unit", "target", "completed", "rank", "reported", "status", "summoned_streak")


@dataclass(frozen=True)
class Snapshot:
    """What an issued circular stated: the figures the next version's 更正说明 is made from
    and the fingerprint compares. Stored as JSON in the version's row; its shape is fixed
    (a new key would make every issued circular look changed)."""

    target: int
    completed: int
    rate: float
    units: tuple[UnitSnapshot, ...] = ()
    others: tuple[UnitSnapshot, ...] = ()  # non-reporting rows (其他)
    summoned: tuple[str, ...] = ()
    escalated: tuple[str, ...] = ()
    excerpts: tuple[tuple[str, str], ...] = ()
    metrics: tuple[Snapshot, ...] = ()  # each metric's, in a multi-metric campaign

    def to_json(self) -> dict[str, Any]:
        return {
            "total": {"target": self.target, "completed": self.completed, "rate": self.rate},
            "units": [u.to_json() for u in self.units],
            "others": [u.to_json() for u in self.others],
            "summoned": list(self.summoned),
            "escalated": list(self.escalated),
            "excerpts": [list(e) for e in self.excerpts],
            "metrics": [m.to_json() for m in self.metrics],
        }

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> Snapshot:
        """From a version's row (rows written before a key existed lack it)."""
        total = data.get("total", {})
        return cls(
            target=int(total.get("target", 0)),
            completed=int(total.get("completed", 0)),
            rate=float(total.get("rate", 0.0)),
            units=tuple(UnitSnapshot(**u) for u in data.get("units", [])),
            others=tuple(UnitSnapshot(**u) for u in data.get("others", [])),
            summoned=tuple(data.get("summoned", [])),
            escalated=tuple(data.get("escalated", [])),
            excerpts=tuple((str(u), str(e)) for u, e in data.get("excerpts", [])),
            metrics=tuple(cls.of_json(m) for m in data.get("metrics", [])),
        )


@dataclass(frozen=True)
class VersionRecord:
    """One issued version of a period's circular (1 is the first issue, 2… corrections)."""

    period: str
    version: int
    fingerprint: str
    standings: Snapshot  # as issued, for the next 更正说明
    correction: str  # 更正说明; '' for version 1
    doc_number: str
    signed_by: str
    signed_at: str | None
    issued_at: str

    @classmethod
    def of(cls, row: sqlite3.Row) -> VersionRecord:
        data = dict(row)
        data["standings"] = Snapshot.of_json(json.loads(data["standings"]))
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
