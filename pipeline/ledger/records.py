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
class RunRecord:
    """One run of a cycle (manual, scheduled, poll): when, for which period, how it ended."""

    id: int
    period: str | None
    trigger: str
    started_at: str
    finished_at: str | None
    outcome: str | None  # ok, failed, interrupted; None while running (or killed)
    summary: dict[str, Any]

    @classmethod
    def of(cls, row: sqlite3.Row) -> RunRecord:
        return cls(**{**dict(row), "summary": json.loads(row["summary"] or "{}")})


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
