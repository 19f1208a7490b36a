"""The ledger: one SQLite file holding every message's outcome and every accepted figure.

A message and its report are written in one transaction, so a crash leaves either both or
neither; `source_ref` is unique, so re-reading a mailbox never adds a row twice (schema.py).

Periods are keys here: the ISO date a dekad (or month) ends, as stored, which sort as the
periods do. The `Period` type lives with the standings, a stage after the ledger; callers
hand the ledger `str(period)` and parse what it returns with `Period.parse`.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipeline.atomic import private
from pipeline.ledger.clerk import ClerkBook, now
from pipeline.ledger.detail import MessageDetail
from pipeline.ledger.letters import LettersLedger
from pipeline.ledger.mailbox import MailboxBook
from pipeline.ledger.records import MessageRecord, Outcome, RunRecord, RunSummary
from pipeline.ledger.schema import MIGRATIONS
from pipeline.ledger.talks import TalksBook

__all__ = ["Entry", "Ledger", "MessageRecord", "Outcome", "Report", "now"]

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.config import Config

# Accepted reports up to a period (of one unit, or all when the unit is NULL).
_REPORTS = (
    "SELECT id, message, unit, period, value, measures, reported_on, arrival, origin, note,"
    " metric FROM reports WHERE period <= ? AND (? IS NULL OR unit = ?)"
    " AND withdrawn_at IS NULL ORDER BY arrival, id"
)
CIRCULAR = "circular"  # deliveries.kind of a circular (a receipt's is "receipt:<message id>")


def circular_kind(version: int) -> str:
    """deliveries.kind of a circular's version: "circular" for the first, "circular:vN" after."""
    return CIRCULAR if version == 1 else f"{CIRCULAR}:v{version}"


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
    metric: str = ""  # the metric's key; '' in a single-metric campaign
    # A multi-metric report: (metric key, value) pairs, stored as one row each.
    figures: tuple[tuple[str, int], ...] = ()
    roster: frozenset[str] = frozenset()  # salted hashes of its name list's ID numbers

    def rows(self) -> tuple[tuple[str, int], ...]:
        return self.figures or ((self.metric, self.value),)


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
    detail: MessageDetail = field(default_factory=MessageDetail)


def cli_actor() -> str:
    """An action taken at the command line names the system account that ran it."""
    try:
        return f"命令行:{getpass.getuser()}"
    except (KeyError, OSError):
        return "命令行"


def open_ledger(config: Config) -> Ledger:
    return Ledger(config.resolve(config.storage.path))


class Ledger(ClerkBook, LettersLedger, MailboxBook, TalksBook):
    def __init__(self, path: Path, actor: str = "") -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private(path)
        self.path = path
        # Who acts through this connection: a desk account, or the CLI's login name.
        self.actor = actor or cli_actor()
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA busy_timeout = 10000")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript runs outside the driver's transaction handling: wrap it in SQL.
            self.db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing. Inside an open transaction this is a savepoint, so ingest can
        commit a batch of messages at once while each message stays atomic."""
        nested = self.db.in_transaction
        self.db.execute("SAVEPOINT nested" if nested else "BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK TO nested; RELEASE nested" if nested else "ROLLBACK")
            raise
        self.db.execute("RELEASE nested" if nested else "COMMIT")

    # ── messages ───────────────────────────────────────────────
    def duplicate_of(self, message_id: str, sha256: str, before: int | None = None) -> int | None:
        """The first message with the same Message-ID or bytes (of those before `before`)."""
        # Two indexed look-ups in one statement: an OR across both columns would scan the
        # whole table. An empty Message-ID matches nothing.
        row = self.db.execute(
            "SELECT (SELECT min(id) FROM messages WHERE sha256 = :sha"
            "        AND (:before IS NULL OR id < :before)) AS by_bytes,"
            " (SELECT min(id) FROM messages WHERE message_id = :mid AND :mid != ''"
            "        AND (:before IS NULL OR id < :before)) AS by_id",
            {"sha": sha256, "mid": message_id, "before": before},
        ).fetchone()
        found = [int(row[k]) for k in ("by_bytes", "by_id") if row[k] is not None]
        return min(found) if found else None

    def record(self, entry: Entry, report: Report | None, also: Sequence[Report] = ()) -> int:
        """Store the outcome and, for a counted message, its report (and other units'
        reports it carries, `also`), atomically."""
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
                    entry.detail.to_json(),
                    now(),
                ),
            )
            message = int(cursor.lastrowid or 0)
            for each in [report, *also] if report is not None else []:
                self._insert_report(each, message)
            db.execute("DELETE FROM attempts WHERE source_ref = ?", (entry.source_ref,))
        return message

    def _insert_report(self, report: Report, message: int | None) -> int:
        """One row per metric of the report; returns the first row's id."""
        ids = [
            self.db.execute(
                "INSERT INTO reports (message, unit, period, value, measures, reported_on,"
                " arrival, origin, note, metric) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message,
                    report.unit,
                    report.period,
                    value,
                    report.measures,
                    report.reported_on,
                    report.arrival.isoformat(),
                    report.origin,
                    report.note,
                    metric,
                ),
            ).lastrowid
            for metric, value in report.rows()
        ]
        self.db.executemany(
            "INSERT OR IGNORE INTO roster (unit, hash, message) VALUES (?, ?, ?)",
            [(report.unit, digest, message) for digest in sorted(report.roster)],
        )
        return int(ids[0] or 0)

    def roster_known(self, unit: str, hashes: frozenset[str]) -> int:
        """How many of `hashes` the unit's earlier name lists already hold."""
        known = self.db.execute("SELECT hash FROM roster WHERE unit = ?", (unit,)).fetchall()
        return len(hashes & {row[0] for row in known})

    def registered(self, period: str) -> dict[str, int]:
        """Unit → distinct people on the name lists of its live reports up to `period`."""
        rows = self.db.execute(
            "SELECT roster.unit, COUNT(DISTINCT roster.hash) FROM roster"
            " WHERE roster.message IN"
            " (SELECT message FROM reports WHERE period <= ? AND withdrawn_at IS NULL)"
            " GROUP BY roster.unit",
            (period,),
        ).fetchall()
        return {str(unit): int(count) for unit, count in rows}

    def message(self, message: int) -> MessageRecord | None:
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (message,)).fetchone()
        return MessageRecord.of(row) if row else None

    def messages(
        self,
        period: str | None = None,
        outcome: str | None = None,
        unit: str | None = None,
        page: tuple[int, int] | None = None,
    ) -> list[MessageRecord]:
        """The register: every message, oldest arrival first, with 'superseded by' notes;
        `page` = (limit, offset) for one page of it."""
        where, values = _message_filter(period, outcome, unit)
        limit = " LIMIT ? OFFSET ?" if page else ""
        rows = self.db.execute(
            "SELECT m.*, (SELECT later.message FROM reports mine JOIN reports later"
            "   ON later.unit = mine.unit AND later.period = mine.period"
            "   AND later.arrival > mine.arrival AND later.message IS NOT NULL"
            "   AND later.withdrawn_at IS NULL AND mine.withdrawn_at IS NULL"
            "   WHERE mine.message = m.id ORDER BY later.arrival DESC LIMIT 1) AS superseded_by"
            f" FROM messages m WHERE {where} ORDER BY m.arrival, m.id{limit}",
            (*values, *(page or ())),
        ).fetchall()
        return [MessageRecord.of(row) for row in rows]

    def count_messages(
        self, period: str | None = None, outcome: str | None = None, unit: str | None = None
    ) -> int:
        where, values = _message_filter(period, outcome, unit)
        return int(
            self.db.execute(f"SELECT count(*) FROM messages m WHERE {where}", values).fetchone()[0]
        )

    # ── decisions by a person ──────────────────────────────────
    def decide(
        self,
        message: int,
        outcome: Outcome,
        reason: str,
        report: Report | None,
        actor: str = "",
        kind: str | None = None,
        also: Sequence[Report] = (),
    ) -> None:
        """A decision on a held message: new outcome, its report(s), and the action."""
        with self.transaction() as db:
            db.execute(
                "UPDATE messages SET outcome = ?, reason = ?, unit = ?, value = ? WHERE id = ?",
                (
                    outcome,
                    reason,
                    report.unit if report else None,
                    report.value if report else None,
                    message,
                ),
            )
            number = self._insert_report(report, message) if report is not None else None
            for other in also if report is not None else ():
                self._insert_report(other, message)
            chosen = kind or ("approve" if outcome == "counted" else "reject")
            self.action(chosen, actor, reason, message=message, report=report, report_id=number)

    def add_report(self, report: Report, actor: str = "") -> int:
        """A figure recorded by hand (e.g. reported by phone), with no message behind it."""
        with self.transaction():
            number = self._insert_report(report, None)
            self.action("record", actor, report.note, report=report, report_id=number)
        return number

    # ── reports ────────────────────────────────────────────────
    def figures_of(self, messages: list[int]) -> dict[int, dict[str, int]]:
        """Each message's report figures, metric key → value (withdrawn ones left out)."""
        found: dict[int, dict[str, int]] = {}
        for start in range(0, len(messages), 500):
            chunk = messages[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for message, metric, value in self.db.execute(
                f"SELECT message, metric, value FROM reports WHERE message IN ({marks})"
                " AND withdrawn_at IS NULL ORDER BY id",
                chunk,
            ):
                found.setdefault(message, {})[metric] = value
        return found

    def previous_value(self, unit: str, period: str, metric: str = "") -> int | None:
        """The unit's latest accepted figure (of `metric`) from an earlier period."""
        row = self.db.execute(
            "SELECT value FROM reports WHERE unit = ? AND period < ? AND metric = ?"
            " AND withdrawn_at IS NULL"
            " ORDER BY period DESC, arrival DESC, id DESC LIMIT 1",
            (unit, period, metric),
        ).fetchone()
        return int(row["value"]) if row else None

    def reports(self, until: str, unit: str | None = None) -> pd.DataFrame:
        """Accepted reports of every period up to and including `until` (of one unit)."""
        import pandas as pd  # only the standings need it: the light commands must not load it

        frame = pd.read_sql_query(_REPORTS, self.db, params=(until, unit, unit))
        frame["arrival"] = pd.to_datetime(frame["arrival"], utc=True, format="ISO8601")
        return frame

    def reports_digest(self, until: str) -> str:
        """A digest of exactly the rows `reports(until)` reads: equal digests, equal reports."""
        digest = hashlib.sha256()
        for row in self.db.execute(_REPORTS, (until, None, None)):
            digest.update(repr(tuple(row)).encode())
        return digest.hexdigest()

    # ── runs ───────────────────────────────────────────────────
    def start_run(self, period: str, trigger: str, started_at: datetime | None = None) -> int:
        """A `runs` row with no outcome yet: a row left like this means the run was cut off."""
        when = (started_at or datetime.now(UTC)).isoformat(timespec="seconds")
        cursor = self.db.execute(
            "INSERT INTO runs (period, trigger, started_at) VALUES (?, ?, ?)",
            (period, trigger, when),
        )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run: int, outcome: str, summary: RunSummary) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at = ?, outcome = ?, summary = ? WHERE id = ?",
            (now(), outcome, json.dumps(summary.to_json(), ensure_ascii=False), run),
        )

    def runs(self, triggers: tuple[str, ...] | None = None) -> list[RunRecord]:
        """Every run (of the given triggers), oldest first, `summary` decoded."""
        rows = self.db.execute(
            f"SELECT * FROM runs {_trigger_filter(triggers)} ORDER BY id", triggers or ()
        ).fetchall()
        return [RunRecord.of(r) for r in rows]

    def last_run(self, triggers: tuple[str, ...]) -> RunRecord | None:
        """The latest run of the given triggers, `summary` decoded."""
        row = self.db.execute(
            f"SELECT * FROM runs {_trigger_filter(triggers)} ORDER BY id DESC LIMIT 1", triggers
        ).fetchone()
        return RunRecord.of(row) if row else None

    def close_stale_runs(self, triggers: tuple[str, ...] | None = None) -> int:
        """Mark runs left without an outcome (the process was killed) as interrupted."""
        cursor = self.db.execute(
            "UPDATE runs SET outcome = 'interrupted', finished_at = ?"
            f" {_trigger_filter(triggers)} AND outcome IS NULL",
            (now(), *(triggers or ())),
        )
        return cursor.rowcount


def _trigger_filter(triggers: tuple[str, ...] | None) -> str:
    """A WHERE clause for runs of these triggers (all runs for None); bind the triggers."""
    if triggers is None:
        return "WHERE 1"
    return f"WHERE trigger IN ({', '.join('?' * len(triggers))})"


def _message_filter(
    period: str | None, outcome: str | None, unit: str | None
) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause with only the filters given, so SQLite can use their indexes."""
    chosen = {"m.period": period, "m.outcome": outcome, "m.unit": unit}
    given = {column: value for column, value in chosen.items() if value is not None}
    return " AND ".join(f"{column} = ?" for column, value in given.items()) or "1", tuple(
        given.values()
    )
