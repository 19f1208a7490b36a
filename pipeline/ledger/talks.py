"""The ledger's record of the talks (约谈) with summoned units: when, who came, the measures
agreed and their deadline. A mixin of `Ledger`; one row per circular and unit, a later
record of the same talk replaces the earlier one (and the change is an action)."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING


@dataclass(frozen=True)
class Talk:
    period: str  # the circular that summoned the unit
    unit: str
    held_on: date
    attendees: str  # who attended (参加人员)
    measures: str  # 整改措施 agreed
    deadline: date | None  # by when
    recorded_by: str = ""


class TalksBook:
    db: sqlite3.Connection

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def action(self, kind: str, actor: str, note: str, *, period: str | None = None) -> int: ...

    def record_talk(self, talk: Talk) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO talks (period, unit, held_on, attendees, measures,"
                " deadline, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    talk.period,
                    talk.unit,
                    talk.held_on.isoformat(),
                    talk.attendees,
                    talk.measures,
                    talk.deadline.isoformat() if talk.deadline else None,
                    talk.recorded_by,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
            self.action("talk", talk.recorded_by, f"约谈记录：{talk.unit}", period=talk.period)

    def talks(self, period: str | None = None) -> list[Talk]:
        rows = self.db.execute(
            "SELECT * FROM talks WHERE ? IS NULL OR period = ? ORDER BY period, unit",
            (period, period),
        )
        return [
            Talk(
                period=r["period"],
                unit=r["unit"],
                held_on=date.fromisoformat(r["held_on"]),
                attendees=r["attendees"],
                measures=r["measures"],
                deadline=date.fromisoformat(r["deadline"]) if r["deadline"] else None,
                recorded_by=r["recorded_by"],
            )
            for r in rows
        ]
