"""Re-assessing held messages against today's config (a sender address fixed, an alias
added), from what intake kept of each form: its readings, the sender and the arrival.

Only the unit decision and the check against earlier figures are re-run: a message held
because its form was unreadable or its figure doubtful stays held (a person must look).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .config import Config
from .intake import Intake
from .ledger import Ledger, MessageRecord, Report
from .periods import Period
from .review import actor


@dataclass(frozen=True)
class Rechecked:
    message: int
    before: str  # the reason it was held for
    counted: Report | None  # now counted, or None: still held
    reason: str  # the reason now

    @property
    def changed(self) -> bool:
        return self.counted is not None or self.reason != self.before


def recheck(
    config: Config, ledger: Ledger, period: Period | None = None, *, by: str | None = None
) -> list[Rechecked]:
    """Every held message (of `period`) judged again; those now counted are settled."""
    intake = Intake(config, ledger)
    who = actor(by)
    results = []
    for row in ledger.messages(period=str(period) if period else None, outcome="review"):
        judged = _judge(config, intake, row)
        if judged is None:
            continue
        if judged.counted is not None:
            ledger.settle(row.id, "counted", judged.reason, judged.counted, who, kind="recheck")
        elif judged.changed:
            ledger.settle(row.id, "review", judged.reason, None, who, kind="recheck")
        results.append(judged)
    return results


def _judge(config: Config, intake: Intake, row: MessageRecord) -> Rechecked | None:
    """None when the stored readings cannot decide (no single clean figure)."""
    readings = row.detail.get("readings") or []
    values = {r.get("value") for r in readings}
    clean = readings and not any(r.get("problem") for r in readings)
    if config.campaign.metrics or not clean or len(values) != 1 or None in values:
        return None
    if row.period is None or row.arrival is None:
        return None
    value = int(next(iter(values)))
    written = {str(r["unit"]) for r in readings if r.get("unit")}
    unit, problem = intake.unit_of(row.sender, written)
    if unit is None:
        return Rechecked(row.id, row.reason, None, problem or row.reason)
    fall = intake.fall(unit, row.period, {"": value})
    if fall:
        return Rechecked(row.id, row.reason, None, fall)
    reading = row.reading
    report = Report(
        unit=unit,
        period=row.period,
        value=value,
        arrival=datetime.fromisoformat(row.arrival),
        measures=reading.get("measures", ""),
        reported_on=reading.get("reported_on"),
        note="更正" if "更正" in row.subject else "",
    )
    reason = f"按现行配置重新判断后计入 {unit}：{value}（原因曾为：{row.reason}）"
    return Rechecked(row.id, row.reason, report, reason)
