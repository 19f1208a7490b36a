"""The ledger's side of reading a mailbox: where each IMAP folder was read to, the attempts
that poison-message quarantine counts, and how a backlog is committed without one disk
sync per message.

A mixin of `Ledger` (it uses its connection), kept apart so ledger.py stays the register.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.ledger.clerk import now


@dataclass(frozen=True)
class History:
    """A message's past in the ledger: recorded already; runs that died while it was read
    alone (its own reading's doing); a run died waiting on it among others, so it is read
    alone next."""

    recorded: bool
    attempts: int
    suspect: bool


class MailboxBook:
    db: sqlite3.Connection
    path: Path
    _unsynced = False  # inside unsynced(): the connection runs synchronous=NORMAL

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    # ── poison-message quarantine ──────────────────────────────
    def history(self, source_ref: str) -> History:
        """What the ledger knows of a message drawn from the source, in one look-up."""
        row = self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE source_ref = :ref) AS recorded,"
            " (SELECT count FROM attempts WHERE source_ref = :ref) AS attempts,"
            " (SELECT suspect FROM attempts WHERE source_ref = :ref) AS suspect",
            {"ref": source_ref},
        ).fetchone()
        return History(bool(row["recorded"]), int(row["attempts"] or 0), bool(row["suspect"]))

    def note_queued(self, source_ref: str, position: int, isolated: bool = False) -> None:
        """The message goes to a reader, `position` in this run's stream (`isolated`: alone,
        the pool drained). Committed on its own until its outcome is recorded, and not
        synced to disk (a crash of the process keeps it; a power cut may cost one more
        isolated read), so a backlog of thousands of messages does not pay thousands of
        fsyncs."""
        with self.unsynced():
            self.db.execute(
                "INSERT INTO attempts (source_ref, count, last_at, in_hand, isolated)"
                " VALUES (?, 0, ?, ?, ?) ON CONFLICT (source_ref) DO UPDATE SET"
                " in_hand = excluded.in_hand, begun = 0, last_at = excluded.last_at,"
                " isolated = excluded.isolated",
                (source_ref, now(), position, int(isolated)),
            )

    def note_attempt(self, source_ref: str) -> None:
        """A reader has begun the message (queued before)."""
        with self.unsynced():
            self.db.execute(
                "UPDATE attempts SET begun = 1, last_at = ? WHERE source_ref = ?",
                (now(), source_ref),
            )

    def charge_interrupted(self) -> tuple[str, bool] | None:
        """What a run that died left in the readers' hands. The oldest of it is the message
        that run was waiting on or judging, if a reader had begun it: read alone, it is
        charged (its own reading may have killed the run); read among others it becomes a
        suspect, charged nothing (a kill from outside, a power cut, an OOM kill elsewhere
        land as easily on an innocent message) but read alone by the next run. The others,
        read alongside or queued, are neither. Call it before a new run reads; returns the
        message's ref and whether it was charged."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT source_ref, begun, isolated FROM attempts WHERE in_hand IS NOT NULL"
                " ORDER BY in_hand LIMIT 1"
            ).fetchone()
            begun = row is not None and row["begun"]
            found = (str(row["source_ref"]), bool(row["isolated"])) if begun else None
            if found:
                column = "count = count + 1" if found[1] else "suspect = 1"
                db.execute(f"UPDATE attempts SET {column} WHERE source_ref = ?", (found[0],))
            db.execute("UPDATE attempts SET in_hand = NULL, begun = 0, isolated = 0")
            db.execute("DELETE FROM attempts WHERE count = 0 AND suspect = 0")
        return found

    # ── durability in a backlog ────────────────────────────────
    @contextmanager
    def unsynced(self) -> Iterator[None]:
        """Commits inside reach the operating system (a killed process keeps them) but not
        the disk until `sync()`: a backlog pays one fsync per batch, not one per message."""
        if self._unsynced:
            yield
            return
        self._unsynced = True
        self.db.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            self.db.execute("PRAGMA synchronous = FULL")
            self._unsynced = False

    def sync(self) -> None:
        """Everything committed so far is on disk, as if each commit had been synced: in WAL
        mode a commit appends to the -wal file, and SQLite syncs it (and the database) at
        each checkpoint, so syncing that file covers the commits since."""
        with contextlib.suppress(FileNotFoundError), open(f"{self.path}-wal", "rb") as wal:
            os.fsync(wal.fileno())

    # ── where each IMAP folder was read to ─────────────────────
    def poll_state(self, folder: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, highest UID acknowledged) of an IMAP folder polled before."""
        row = self.db.execute(
            "SELECT uidvalidity, last_uid FROM poll_state WHERE folder = ?", (folder,)
        ).fetchone()
        return (int(row["uidvalidity"]), int(row["last_uid"])) if row else None

    def reset_poll_state(self, folder: str, uidvalidity: int, last_uid: int = 0) -> None:
        """Start a folder afresh under a (new) UIDVALIDITY."""
        self.db.execute(
            "INSERT INTO poll_state (folder, uidvalidity, last_uid, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (folder) DO UPDATE SET"
            " uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,"
            " updated_at = excluded.updated_at",
            (folder, uidvalidity, last_uid, now()),
        )

    def advance_poll_state(self, folder: str, uidvalidity: int, uid: int) -> None:
        """Raise the high-water mark; a stale UIDVALIDITY changes nothing."""
        self.db.execute(
            "UPDATE poll_state SET last_uid = MAX(last_uid, ?), updated_at = ?"
            " WHERE folder = ? AND uidvalidity = ?",
            (uid, now(), folder, uidvalidity),
        )

    def rediscovered(self, ref: str, sha256: str) -> bool:
        """The same bytes already recorded from the same IMAP folder under an earlier
        UIDVALIDITY: the folder was rebuilt, this is not a new message."""
        if not ref.startswith("imap:") or ref.count(":") < 3:
            return False
        folder_ref, uidvalidity, _uid = ref.rsplit(":", 2)
        family, own = f"{folder_ref}:", f"{folder_ref}:{uidvalidity}:"
        row = self.db.execute(
            "SELECT 1 FROM messages WHERE sha256 = ?"
            " AND substr(source_ref, 1, length(?)) = ? AND substr(source_ref, 1, length(?)) != ?"
            " LIMIT 1",
            (sha256, family, family, own, own),
        ).fetchone()
        return row is not None
