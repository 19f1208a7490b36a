"""The ledger: one SQLite file holding every message's outcome and every accepted figure.

A message and its report are written in one transaction, so a crash leaves either both
or neither; `source_ref` is unique, so re-reading a mailbox never adds a row twice.
The schema is versioned with PRAGMA user_version; migrations only ever append.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

Outcome = Literal["counted", "review", "ignored"]

_MIGRATIONS = [
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        source_ref TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL DEFAULT '',
        sha256 TEXT NOT NULL,
        sender TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        arrival TEXT,
        arrival_basis TEXT NOT NULL DEFAULT '',
        period TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('counted', 'review', 'ignored')),
        reason TEXT NOT NULL DEFAULT '',
        unit TEXT,
        value INTEGER,
        detail TEXT NOT NULL DEFAULT '{}',
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX messages_message_id ON messages (message_id);
    CREATE INDEX messages_sha256 ON messages (sha256);
    CREATE INDEX messages_period ON messages (period);
    CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        message INTEGER REFERENCES messages (id),
        unit TEXT NOT NULL,
        period TEXT NOT NULL,
        value INTEGER NOT NULL,
        measures TEXT NOT NULL DEFAULT '',
        reported_on TEXT,
        arrival TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('mail', 'approved', 'recorded')),
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX reports_unit_period ON reports (unit, period);
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        message INTEGER REFERENCES messages (id),
        unit TEXT,
        period TEXT,
        value INTEGER,
        note TEXT NOT NULL DEFAULT ''
    );
    """,
    """
    CREATE TABLE poll_state (
        folder TEXT PRIMARY KEY,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        period TEXT NOT NULL,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (period, recipient, kind)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        period TEXT,
        trigger TEXT NOT NULL DEFAULT 'manual',
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT,
        summary TEXT NOT NULL DEFAULT '{}'
    );
    """,
]


@dataclass(frozen=True)
class Report:
    unit: str
    period: str
    value: int
    arrival: datetime
    measures: str = ""
    reported_on: str | None = None
    origin: Literal["mail", "approved", "recorded"] = "mail"
    note: str = ""


@dataclass(frozen=True)
class Entry:
    """What became of one message."""

    source_ref: str
    sha256: str
    outcome: Outcome
    reason: str
    message_id: str = ""
    sender: str = ""
    subject: str = ""
    arrival: datetime | None = None
    arrival_basis: str = ""
    period: str | None = None
    unit: str | None = None
    value: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA busy_timeout = 10000")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            # executescript runs outside the driver's transaction handling: wrap it in SQL.
            self.db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ── messages ───────────────────────────────────────────────
    def has_ref(self, source_ref: str) -> bool:
        row = self.db.execute("SELECT 1 FROM messages WHERE source_ref = ?", (source_ref,))
        return row.fetchone() is not None

    def duplicate_of(self, message_id: str, sha256: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM messages WHERE sha256 = ? OR (? != '' AND message_id = ?)"
            " ORDER BY id LIMIT 1",
            (sha256, message_id, message_id),
        ).fetchone()
        return int(row["id"]) if row else None

    def record(self, entry: Entry, report: Report | None) -> int:
        """Store the outcome and, for a counted message, its report, atomically."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO messages (source_ref, message_id, sha256, sender, subject, arrival,"
                " arrival_basis, period, outcome, reason, unit, value, detail, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.source_ref,
                    entry.message_id,
                    entry.sha256,
                    entry.sender,
                    entry.subject,
                    entry.arrival.isoformat() if entry.arrival else None,
                    entry.arrival_basis,
                    entry.period,
                    entry.outcome,
                    entry.reason,
                    entry.unit,
                    entry.value,
                    json.dumps(entry.detail, ensure_ascii=False),
                    now(),
                ),
            )
            message = int(cursor.lastrowid or 0)
            if report is not None:
                self._insert_report(report, message)
        return message

    def _insert_report(self, report: Report, message: int | None) -> int:
        cursor = self.db.execute(
            "INSERT INTO reports (message, unit, period, value, measures, reported_on, arrival,"
            " origin, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message,
                report.unit,
                report.period,
                report.value,
                report.measures,
                report.reported_on,
                report.arrival.isoformat(),
                report.origin,
                report.note,
            ),
        )
        return int(cursor.lastrowid or 0)

    def message(self, message: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (message,)).fetchone()
        return _message_dict(row) if row else None

    def messages(
        self, period: str | None = None, outcome: str | None = None
    ) -> list[dict[str, Any]]:
        """The register: every message, oldest arrival first, with 'superseded by' notes."""
        rows = self.db.execute(
            "SELECT m.*, (SELECT later.message FROM reports mine JOIN reports later"
            "   ON later.unit = mine.unit AND later.period = mine.period"
            "   AND later.arrival > mine.arrival AND later.message IS NOT NULL"
            "   WHERE mine.message = m.id ORDER BY later.arrival DESC LIMIT 1) AS superseded_by"
            " FROM messages m WHERE (? IS NULL OR m.period = ?) AND (? IS NULL OR m.outcome = ?)"
            " ORDER BY m.arrival, m.id",
            (period, period, outcome, outcome),
        ).fetchall()
        return [_message_dict(row) for row in rows]

    # ── reports ────────────────────────────────────────────────
    def previous_value(self, unit: str, period: str) -> int | None:
        """The unit's latest accepted figure from an earlier period."""
        row = self.db.execute(
            "SELECT value FROM reports WHERE unit = ? AND period < ?"
            " ORDER BY period DESC, arrival DESC, id DESC LIMIT 1",
            (unit, period),
        ).fetchone()
        return int(row["value"]) if row else None

    def reports(self, until: str) -> pd.DataFrame:
        """Accepted reports of every period up to and including `until`."""
        frame = pd.read_sql_query(
            "SELECT id, message, unit, period, value, measures, reported_on, arrival, origin, note"
            " FROM reports WHERE period <= ? ORDER BY arrival, id",
            self.db,
            params=(until,),
        )
        frame["arrival"] = pd.to_datetime(frame["arrival"], utc=True, format="ISO8601")
        return frame


def _message_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["detail"] = json.loads(data.get("detail") or "{}")
    return data
