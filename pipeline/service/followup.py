"""What follows each look at the mailbox: the after-poll steps.

`serve` reads the mailbox between cutoffs, and every cycle reads it at the cutoff; after
each read these steps run in order with the ledger and the server's clock: receipts for
the mail just recorded, reminders due before the cutoff, and the circulars
(`issuance.settle_known`: one waiting for its queue to empty or a signature, a correction of
one already issued). A step that fails is logged and counted; it never stops the others
or the mailbox, and the next poll tries again.
A new step is one entry in `steps()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.config import Config
from pipeline.delivery.sending import StepResult
from pipeline.errors import XunbaoError
from pipeline.ledger import Ledger
from pipeline.ledger.records import LetterCounts
from pipeline.runtime import Say

_log = logging.getLogger("xunbao.followup")


@dataclass(frozen=True)
class Step:
    name: str  # the key in a run's summary
    label: str  # what it sends, in Chinese
    run: Callable[[Config, Ledger, datetime], StepResult]


@dataclass
class FollowUp:
    results: dict[str, StepResult] = field(default_factory=dict)

    def letters(self) -> dict[str, LetterCounts]:
        """Each step's letters sent and failed, for the run's row in the ledger."""
        return {name: LetterCounts(r.sent, len(r.failures)) for name, r in self.results.items()}

    def line(self) -> str:
        """'回执发出 2 封，催报发出 0 封。' (and what failed), for the clerk's console."""
        parts = []
        for step in steps():
            if step.name in self.results:
                r = self.results[step.name]
                failed = f"（未能发出 {len(r.failures)} 封，下次收信时重试）" if r.failures else ""
                parts.append(f"{step.label}发出 {r.sent} 封{failed}")
        return "，".join(parts) + "。"

    @property
    def busy(self) -> bool:
        """Anything sent or failed."""
        return any(r.sent or r.failures for r in self.results.values())

    def sent(self, name: str) -> int:
        return self.results[name].sent if name in self.results else 0


def steps() -> list[Step]:
    from pipeline.delivery import (
        receipts,  # imported late: they pull in the SMTP side
        reminders,
    )

    return [
        Step("receipts", "回执", receipts.send_due),
        Step("reminders", "催报", reminders.send_due),
        Step("circulars", "通报", circulars),
    ]


def circulars(config: Config, ledger: Ledger, now: datetime) -> StepResult:
    """`issuance.settle_known` as an after-poll step: the circulars that wait or changed."""
    from pipeline import issuance  # imported late: it pulls in rendering and the SMTP side

    result = StepResult()
    for settled in issuance.settle_known(config, ledger, now):
        result.sent += settled.sent or 0
        if settled.issued is not None or settled.notified:
            label = f"{settled.period.label()}通报："
            result.lines += [label + line for line in issuance.describe(config, settled, send=True)]
    return result


def follow_up(config: Config, ledger: Ledger, now: datetime, say: Say) -> FollowUp:
    """Run every step, then say what they sent when they sent or failed anything."""
    done = FollowUp()
    for step in steps():
        try:
            result = step.run(config, ledger, now)
        except XunbaoError as exc:
            result = StepResult(failures=[str(exc)])
        except Exception as exc:  # one bad step must not stop the mailbox or the others
            _log.exception("%s步骤出错", step.label)
            result = StepResult(failures=[f"程序内部错误：{exc!r}"])
        done.results[step.name] = result
        for line in result.lines:
            say(line)
        for why in result.failures:
            _log.warning("%s未能发出：%s", step.label, why)
    if done.busy:
        say(done.line())
    return done
