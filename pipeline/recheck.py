"""Re-assessing held messages against today's config (a sender address fixed, an alias
added, a metric's label corrected): each stored original is read again in the sandbox and
judged by the same intake rules as new mail, every check included (figures, the unit, a
fall below earlier figures, the name list of 实名登记).

Only a message that would now be counted changes outcome; one still held gets today's
reason. A message whose original was not kept (or was removed by retention), or that a
reader died on, stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import originals
from .config import Config
from .intake import Intake
from .ledger import Ledger, MessageRecord, Report
from .mail import SERVER_TIME
from .periods import Period
from .review import actor
from .sandbox import CRASHED, QUARANTINED, Pool
from .sources import RawMessage


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
    held = ledger.messages(period=str(period) if period else None, outcome="review")
    # A message a reader died on (or was quarantined for) would only die again: a person's.
    held = [m for m in held if m.reason != QUARANTINED and CRASHED not in m.reason]
    kept = originals.folder(config)
    found = [(row, raw) for row in held if row.sha256 and (raw := originals.load(kept, row.sha256))]
    if not found:
        return []
    intake = Intake(config, ledger)
    who = actor(by)
    results = []
    storage = config.resolve(config.storage.path).parent
    with Pool(config.limits, storage, intake.wording) as pool:
        reads = pool.read(found, lambda _: None)
        for (row, read), (_, raw) in zip(reads, found, strict=True):
            judged = intake.assess(_as_received(row, raw), read, registered_as=row.id)
            entry, report = judged.entry, judged.report
            if entry.outcome == "counted" and report is not None:
                reason = f"按现行配置重新判断后{entry.reason}（原因曾为：{row.reason}）"
                ledger.settle(
                    row.id, "counted", reason, report, who, kind="recheck", also=judged.also
                )
                results.append(Rechecked(row.id, row.reason, report, reason))
                continue
            if entry.reason != row.reason:
                ledger.settle(row.id, "review", entry.reason, None, who, kind="recheck")
            results.append(Rechecked(row.id, row.reason, None, entry.reason))
    return results


def _as_received(row: MessageRecord, raw: bytes) -> RawMessage:
    """The message as its source gave it: with the server's arrival time, if it had one."""
    server = row.arrival if row.arrival and row.arrival_basis == SERVER_TIME else None
    return RawMessage(row.source_ref, raw, datetime.fromisoformat(server) if server else None)
