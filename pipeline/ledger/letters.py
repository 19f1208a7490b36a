"""The ledger's side of the letters to units: what was sent (and what was about to be, the
outbox), what is owed a receipt, what a report replaced, how much went to an address, and
the switches kept across runs (`settings`).

A mixin of `Ledger` (it uses its connection), kept apart so ledger.py stays the register.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pipeline.ledger.detail import MessageDetail
from pipeline.ledger.records import DeliveryRecord, OutboxRecord, of_row

Outcome = Literal["counted", "review", "ignored"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Received:
    """A message the units may hear back about (a receipt): what became of it."""

    id: int
    sender: str
    subject: str
    message_id: str
    arrival: datetime | None
    period: str | None
    outcome: Outcome
    reason: str
    unit: str | None
    value: int | None
    vouched: bool = False  # its From domain was vouched for (senders.vouch)


@dataclass(frozen=True)
class Earlier:
    """An earlier report of the same unit and period that a later one replaced."""

    message: int | None  # None: recorded by hand
    value: int
    arrival: datetime


class LettersLedger:
    db: sqlite3.Connection

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    # ── deliveries ─────────────────────────────────────────────
    def delivered(self, period: str, recipient: str, kind: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM deliveries WHERE period = ? AND recipient = ? AND kind = ?",
            (period, recipient.lower(), kind),
        ).fetchone()
        return row is not None

    def record_delivery(self, period: str, recipient: str, kind: str) -> None:
        """Sent: the delivery is recorded and its intent (outbox row) cleared, at once."""
        key = (period, recipient.lower(), kind)
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO deliveries (period, recipient, kind, sent_at)"
                " VALUES (?, ?, ?, ?)",
                (*key, _now()),
            )
            db.execute("DELETE FROM outbox WHERE period = ? AND recipient = ? AND kind = ?", key)

    def intend_delivery(self, period: str, recipient: str, kind: str, message_id: str) -> int:
        """Recorded (and synced) before DATA: how many earlier tries went unconfirmed."""
        key = (period, recipient.lower(), kind)
        row = self.db.execute(
            "SELECT tries FROM outbox WHERE period = ? AND recipient = ? AND kind = ?", key
        ).fetchone()
        self.db.execute(
            "INSERT INTO outbox (period, recipient, kind, message_id, tries, last_at)"
            " VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (period, recipient, kind) DO UPDATE SET"
            " tries = tries + 1, message_id = excluded.message_id, last_at = excluded.last_at",
            (*key, message_id, _now()),
        )
        return int(row["tries"]) if row else 0

    def delivery_failed(
        self, period: str, recipient: str, kind: str, error: str, unconfirmed: bool
    ) -> None:
        """A try that the server did not accept: why. `unconfirmed` when the copy may have
        gone all the same (cut off during DATA); otherwise no try is left unconfirmed."""
        key = (period, recipient.lower(), kind)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO outbox (period, recipient, kind, message_id, tries, last_at, error)"
                " VALUES (?, ?, ?, '', 0, ?, ?) ON CONFLICT (period, recipient, kind) DO UPDATE"
                " SET error = excluded.error, last_at = excluded.last_at,"
                " tries = CASE WHEN ? THEN tries ELSE 0 END",
                (*key, _now(), error, unconfirmed),
            )

    def outbox(self) -> list[OutboxRecord]:
        rows = self.db.execute("SELECT * FROM outbox ORDER BY period, recipient, kind")
        return [of_row(OutboxRecord, row) for row in rows]

    def deliveries(self) -> list[DeliveryRecord]:
        rows = self.db.execute("SELECT * FROM deliveries ORDER BY sent_at, period, recipient")
        return [of_row(DeliveryRecord, row) for row in rows]

    def receipts_due(self, after: int) -> list[Received]:
        """Counted or held messages after message `after` whose sender has had no receipt
        (kind receipt:<id>) yet, oldest first."""
        rows = self.db.execute(
            "SELECT m.* FROM messages m WHERE m.id > ? AND m.outcome IN ('counted', 'review')"
            " AND m.sender != '' AND NOT EXISTS (SELECT 1 FROM deliveries d"
            "   WHERE d.kind = 'receipt:' || m.id AND d.recipient = m.sender)"
            " ORDER BY m.id",
            (after,),
        ).fetchall()
        return [
            Received(
                id=row["id"],
                sender=row["sender"],
                subject=row["subject"],
                message_id=row["message_id"],
                arrival=datetime.fromisoformat(row["arrival"]) if row["arrival"] else None,
                period=row["period"],
                outcome=row["outcome"],
                reason=row["reason"],
                unit=row["unit"],
                value=row["value"],
                vouched=bool(MessageDetail.of_json(row["detail"]).vouched),
            )
            for row in rows
        ]

    def replaced_by(self, message: int) -> Earlier | None:
        """The report of the same unit, period and metric that this message's report
        replaced: the latest one that arrived before it."""
        row = self.db.execute(
            "SELECT earlier.message, earlier.value, earlier.arrival FROM reports mine"
            " JOIN reports earlier ON earlier.unit = mine.unit AND earlier.period = mine.period"
            "  AND earlier.metric = mine.metric AND earlier.arrival < mine.arrival"
            " WHERE mine.message = ? ORDER BY mine.id, earlier.arrival DESC LIMIT 1",
            (message,),
        ).fetchone()
        if row is None:
            return None
        return Earlier(row["message"], int(row["value"]), datetime.fromisoformat(row["arrival"]))

    def sent_since(self, recipient: str, kind_prefix: str, since: datetime) -> int:
        """How many messages of a kind went to `recipient` since `since` (rate limits)."""
        row = self.db.execute(
            "SELECT count(*) FROM deliveries WHERE recipient = ? AND kind LIKE ? AND sent_at >= ?",
            (recipient.lower(), kind_prefix + "%", since.astimezone(UTC).isoformat()),
        ).fetchone()
        return int(row[0])

    def last_message_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0])

    # ── settings ───────────────────────────────────────────────
    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row["value"]) if row else None

    def set_setting(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, value, _now()),
        )

    def clear_setting(self, key: str) -> None:
        self.db.execute("DELETE FROM settings WHERE key = ?", (key,))

    def reported_units(self, period: str) -> set[str]:
        """Units with an accepted report (by mail, approved or recorded, not withdrawn) in the
        period."""
        rows = self.db.execute(
            "SELECT DISTINCT unit FROM reports WHERE period = ? AND withdrawn_at IS NULL",
            (period,),
        )
        return {str(row[0]) for row in rows}
