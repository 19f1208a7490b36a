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

from pipeline.clerk.review import actor
from pipeline.config import Config
from pipeline.ledger import Ledger, MessageRecord, Report, originals
from pipeline.mailbox import RawMessage
from pipeline.reading import walls
from pipeline.reading.sandbox import CRASHED, QUARANTINED, Pool
from pipeline.runtime import Say
from pipeline.standings.periods import Period


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
    config: Config,
    ledger: Ledger,
    period: Period | None = None,
    *,
    by: str | None = None,
    reason: str | None = None,
) -> list[Rechecked]:
    """Every held message (of `period`; held for `reason`) judged again; those now counted
    are settled."""
    held = ledger.messages(period=str(period) if period else None, outcome="review")
    held = [m for m in held if reason is None or m.reason == reason]
    # A message a reader died on (or was quarantined for) would only die again: a person's.
    held = [m for m in held if m.reason != QUARANTINED and CRASHED not in m.reason]
    kept = originals.folder(config)
    found = [(row, raw) for row in held if row.sha256 and (raw := originals.load(kept, row.sha256))]
    if not found:
        return []
    return _judge(config, ledger, found, actor(by), "recheck")


def rereadable(row: MessageRecord) -> bool:
    """A held message that a reader died on or that was quarantined: a clerk may have it
    read again (重新读取), in the sandbox under the same limits."""
    return row.outcome == "review" and (row.reason == QUARANTINED or CRASHED in row.reason)


def reread(config: Config, ledger: Ledger, row: MessageRecord, by: str) -> Rechecked | None:
    """重新读取: one quarantined or crashed message read again by a reader of its own and
    judged like new mail; None when its original was not kept."""
    raw = originals.load(originals.folder(config), row.sha256) if row.sha256 else None
    if raw is None or not rereadable(row):
        return None
    (result,) = _judge(config, ledger, [(row, raw)], by, "reread", workers=1)
    return result


def _judge(
    config: Config,
    ledger: Ledger,
    found: list[tuple[MessageRecord, bytes]],
    who: str,
    kind: str,
    workers: int | None = None,
) -> list[Rechecked]:
    from pipeline.intake.judge import (
        Intake,  # the readers' code: not loaded by a desk page that only asks
    )

    intake = Intake(config, ledger)
    results = []
    storage = config.resolve(config.storage.path).parent
    limits = config.limits.model_copy(update={"workers": workers or config.limits.workers})
    with Pool(limits, storage, intake.wording, walls.private(config)) as pool:
        reads = pool.read(found, lambda _: None)
        for (row, read), (_, raw) in zip(reads, found, strict=True):
            judged = intake.assess(_as_received(row, raw), read, registered_as=row.id)
            entry, report = judged.entry, judged.report
            if entry.outcome == "counted" and report is not None:
                reason = f"按现行配置重新判断后{entry.reason}（原因曾为：{row.reason}）"
                ledger.decide(row.id, "counted", reason, report, who, kind=kind, also=judged.also)
                results.append(Rechecked(row.id, row.reason, report, reason))
                continue
            if entry.reason != row.reason or kind == "reread":
                ledger.decide(row.id, "review", entry.reason, None, who, kind=kind)
            results.append(Rechecked(row.id, row.reason, None, entry.reason))
    return results


def _as_received(row: MessageRecord, raw: bytes) -> RawMessage:
    """The message as its source gave it: with the server's arrival time, if it had one."""
    from pipeline.mailbox.parse import (
        SERVER_TIME,  # mail-parser: not loaded by the desk's own process
    )

    server = row.arrival if row.arrival and row.arrival_basis == SERVER_TIME else None
    return RawMessage(row.source_ref, raw, datetime.fromisoformat(server) if server else None)


def unsure(config: Config, ledger: Ledger, say: Say) -> list[Rechecked]:
    """After each read of the mailbox: messages held because DNS gave no answer about the
    sender's DKIM key are verified again (never left held for good, never counted unseen)."""
    from pipeline.mailbox.senders import UNSURE

    if not ledger.count_messages(outcome="review"):
        return []
    if not any(m.reason == UNSURE for m in ledger.messages(outcome="review")):
        return []
    done = recheck(config, ledger, reason=UNSURE, by="系统（重新验证发件人）")
    settled = [r for r in done if r.reason != UNSURE]
    if settled:
        say(f"重新验证发件人身份：{len(settled)} 封邮件已有结论（其余 DNS 仍无答复，下次再验证）。")
    return done
