"""The ledger's clerk side: attributed actions, reopening and withdrawing, the issued
versions of each period's circular and the leaders' signatures.

A mixin of `Ledger` (same connection and transactions), kept apart so each file stays small.
Nothing is deleted: a withdrawn report keeps its row with `withdrawn_at` set, a reopened
message goes back to the queue with its reports withdrawn, and every step is an action.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from pipeline.ledger.records import (
    ActionRecord,
    ReportRecord,
    Signature,
    Snapshot,
    VersionRecord,
    of_row,
)


class _Figure(Protocol):
    @property
    def unit(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def value(self) -> int: ...


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ClerkBook:
    db: sqlite3.Connection
    actor: str  # who acts through this connection (a desk account, the CLI's login name)

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    # ── actions ────────────────────────────────────────────────
    def action(
        self,
        kind: str,
        actor: str,
        note: str,
        *,
        message: int | None = None,
        report: _Figure | None = None,
        report_id: int | None = None,
        period: str | None = None,
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO actions (at, kind, actor, message, report, unit, period, value, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                now(),
                kind,
                actor or self.actor,
                message,
                report_id,
                report.unit if report else None,
                report.period if report else period,
                report.value if report else None,
                note,
            ),
        )
        return int(cursor.lastrowid or 0)

    def actions(self, period: str | None = None) -> list[ActionRecord]:
        rows = self.db.execute(
            "SELECT * FROM actions WHERE ? IS NULL OR period = ? ORDER BY id", (period, period)
        )
        return [of_row(ActionRecord, r) for r in rows]

    # ── reports ────────────────────────────────────────────────
    def report(self, number: int) -> ReportRecord | None:
        row = self.db.execute("SELECT * FROM reports WHERE id = ?", (number,)).fetchone()
        return of_row(ReportRecord, row) if row else None

    def active_reports(
        self, unit: str | None = None, period: str | None = None, origin: str | None = None
    ) -> list[ReportRecord]:
        """Reports not withdrawn, oldest arrival first, optionally of one unit / period / origin."""
        rows = self.db.execute(
            "SELECT * FROM reports WHERE withdrawn_at IS NULL AND (? IS NULL OR unit = ?)"
            " AND (? IS NULL OR period = ?) AND (? IS NULL OR origin = ?) ORDER BY arrival, id",
            (unit, unit, period, period, origin, origin),
        )
        return [of_row(ReportRecord, r) for r in rows]

    def recorded_reports(self) -> list[ReportRecord]:
        """Every figure recorded by hand, withdrawn ones included (they show as such)."""
        rows = self.db.execute("SELECT * FROM reports WHERE origin = 'recorded' ORDER BY id")
        return [of_row(ReportRecord, r) for r in rows]

    def withdraw(self, number: int, actor: str, why: str) -> ReportRecord:
        with self.transaction() as db:
            db.execute("UPDATE reports SET withdrawn_at = ? WHERE id = ?", (now(), number))
            withdrawn = self.report(number)
            assert withdrawn is not None
            self.action("withdraw", actor, why, report=withdrawn, report_id=number)
        return withdrawn

    def reopen(self, message: int, period: str | None, actor: str, why: str) -> list[int]:
        """Back to the queue: the message's reports are withdrawn; returns their ids."""
        with self.transaction() as db:
            ids = [
                int(r["id"])
                for r in db.execute(
                    "SELECT id FROM reports WHERE message = ? AND withdrawn_at IS NULL", (message,)
                )
            ]
            db.execute(
                "UPDATE reports SET withdrawn_at = ? WHERE message = ? AND withdrawn_at IS NULL",
                (now(), message),
            )
            db.execute(
                "UPDATE messages SET outcome = 'review', reason = ?, unit = NULL, value = NULL"
                " WHERE id = ?",
                (f"重新审核：{why}", message),
            )
            self.action("reopen", actor, why, message=message, period=period)
        return ids

    # ── circular versions and signatures ───────────────────────
    def versions(self, period: str | None = None) -> list[VersionRecord]:
        rows = self.db.execute(
            "SELECT * FROM circulars WHERE ? IS NULL OR period = ? ORDER BY period, version",
            (period, period),
        )
        return [VersionRecord.of(r) for r in rows]

    def latest_version(self, period: str) -> VersionRecord | None:
        found = self.versions(period)
        return found[-1] if found else None

    def issued_periods(self) -> frozenset[str]:
        return frozenset(r[0] for r in self.db.execute("SELECT DISTINCT period FROM circulars"))

    def issued_summons(self, before: str | None = None) -> dict[str, frozenset[str]]:
        """Per issued period, the units its latest version summoned (约谈): a streak counts
        what the circulars said, not what a later approval would make of that dekad.
        `before`: only the circulars first issued before that period's was, if it was. An
        issued circular's streaks stay as they went out (and its corrections keep them)
        when an older period's circular is issued after it."""
        versions = self.versions()  # by period, then version: the latest one last
        # the order of issue is the order of insertion (issued_at has whole seconds)
        rows = self.db.execute("SELECT period, min(rowid) FROM circulars GROUP BY period")
        first: dict[str, int] = {str(p): int(n) for p, n in rows}
        bound = first.get(before) if before else None
        return {
            v.period: frozenset(v.standings.summoned)
            for v in versions
            if bound is None or first[v.period] < bound
        }

    def add_version(
        self,
        period: str,
        number: int,
        fingerprint: str,
        standings: Snapshot,
        correction: str,
        doc_number: str,
        signature: Signature | None,
    ) -> VersionRecord:
        """Version `number` of the period's circular, recorded before anything is sent
        (the primary key refuses a second writer of the same number)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO circulars (period, version, fingerprint, standings, correction,"
                " doc_number, signed_by, signed_at, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    period,
                    number,
                    fingerprint,
                    json.dumps(standings.to_json(), ensure_ascii=False),
                    correction,
                    doc_number,
                    signature.signer if signature else "",
                    signature.signed_at.isoformat(timespec="seconds") if signature else None,
                    now(),
                ),
            )
            self.action("issue", "", f"第 {number} 版", period=period)
        version = self.latest_version(period)
        assert version is not None
        return version

    def sign(self, period: str, fingerprint: str, signer: str) -> Signature:
        with self.transaction():
            at = now()
            self.db.execute(
                "INSERT INTO signatures (period, fingerprint, signer, signed_at)"
                " VALUES (?, ?, ?, ?)",
                (period, fingerprint, signer, at),
            )
            self.action("sign", signer, f"签发 {period}", period=period)
        return Signature(period, fingerprint, signer, datetime.fromisoformat(at))

    def change_mark(self) -> str:
        """Changes whenever anything standings or a circular rest on may have: a clerk's
        action (issuing included), a report added or withdrawn, a message recorded. Only
        two indexed look-ups and a count: every desk page asks."""
        row = self.db.execute(
            "SELECT (SELECT max(id) FROM actions),"
            " (SELECT count(*) || '-' || max(id) FROM reports),"
            " (SELECT max(id) FROM messages)"
        ).fetchone()
        return "/".join(str(v or 0) for v in row)

    def settings(self, prefix: str) -> list[str]:
        """The keys of the settings table that start with `prefix`."""
        rows = self.db.execute(
            "SELECT key FROM settings WHERE substr(key, 1, length(?)) = ? ORDER BY key",
            (prefix, prefix),
        )
        return [str(r[0]) for r in rows]

    def signature(self, period: str, fingerprint: str) -> Signature | None:
        row = self.db.execute(
            "SELECT * FROM signatures WHERE period = ? AND fingerprint = ? ORDER BY id DESC",
            (period, fingerprint),
        ).fetchone()
        return Signature.of(row) if row else None
