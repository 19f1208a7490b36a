"""The period's state, decided in one place: the phase of its circular (collecting, waiting
for review or a signature, ready, issued, corrected), the standings it would state now, and
whether they moved since the latest issued version. The desk, `status` and every way a
circular goes out read it from here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipeline.config import Config
from pipeline.ledger import Ledger
from pipeline.ledger.records import Signature, VersionRecord
from pipeline.outputs import corrections
from pipeline.standings.inputs import PeriodInputs
from pipeline.standings.periods import Period

if TYPE_CHECKING:
    from pipeline.standings.table import Standings

_MEMO = "standings-outline:"  # settings key: a period's fingerprint under its inputs' digest

# The code the standings are computed by, config's included: a change to it (an upgrade)
# recomputes them. Named by module, so the files are found wherever the modules live.
_STANDINGS_CODE = (
    "pipeline.standings.table",
    "pipeline.standings.rules",
    "pipeline.outputs.corrections",
    "pipeline.standings.periods",
    "pipeline.standings.spans",
    "pipeline.config",
    "pipeline.config.sections",
)

Phase = Literal[
    "collecting", "awaiting_review", "awaiting_sign_off", "ready", "issued", "corrected"
]
PHASE_LABELS = {
    "collecting": "收集中（截止时间未到）",
    "awaiting_review": "等待审核（有邮件待审核，暂缓发送）",
    "awaiting_sign_off": "等待签发",
    "ready": "可以发送",
    "issued": "已发出",
    "corrected": "已发出更正",
}


@dataclass(frozen=True)
class PeriodState:
    """Where one period's circular stands: the desk and `status` show this."""

    period: Period
    phase: Phase
    held: int  # messages of the period waiting in the review queue
    pending_units: tuple[str, ...]  # units shown as 待核实
    fingerprint: str  # of the standings as they are now
    latest: VersionRecord | None  # the latest issued version
    signature: Signature | None  # a signature covering the standings as they are now
    send_by: datetime | None  # auto: when it goes out even with messages held
    waiting: int = 0  # recipients whose server has not yet accepted the latest version
    sending: bool = True  # a mail server is configured (delivery.host)

    @property
    def correction_due(self) -> bool:
        """The standings moved since the latest issued version."""
        return self.latest is not None and self.latest.fingerprint != self.fingerprint

    @property
    def next_version(self) -> int:
        return self.latest.version + 1 if self.latest else 1

    @property
    def label(self) -> str:
        text = PHASE_LABELS[self.phase]
        if self.latest is not None and not self.sending and self.phase in ("issued", "corrected"):
            # finalised, but with no mail server nothing went out: never say 已发出
            text = f"第 {self.latest.version} 版已定稿；未设置发送邮件的服务器，没有发出"
        elif self.latest is not None and self.waiting and self.phase in ("issued", "corrected"):
            text = f"第 {self.latest.version} 版已定稿，{self.waiting} 位收件人尚未送达"
        elif self.latest is not None and self.correction_due:
            text += (
                f"；与已发出的第 {self.latest.version} 版不同，"
                f"待发更正（第 {self.next_version} 版）"
            )
        elif self.latest is not None:
            text += f"（第 {self.latest.version} 版）"
        elif self.phase == "ready" and self.held:  # never 可以发送 while mail is held
            text = f"仍有 {self.held} 封邮件待审核（已过等待时间，发送时其单位列为待核实）"
        return text


class PeriodContext(PeriodInputs):
    """One period as one step sees it (a cycle's settling, a desk page, a command): its
    standings' inputs read from the ledger once, the standings computed at most once, and
    its state decided from them. Made per step, so it never outlives a change."""

    def __init__(
        self, config: Config, ledger: Ledger, period: Period, table: Standings | None = None
    ) -> None:
        super().__init__(config, ledger, period)
        if table is not None:  # computed by the caller from the same ledger
            self.__dict__["standings"] = table

    @functools.cached_property
    def inputs_digest(self) -> str:
        """Everything the standings are computed from, and the code that computes them."""
        config, ledger = self.config, self.ledger
        inputs = [
            str(self.period),
            config.digest,
            ledger.reports_digest(str(self.reach)),
            {p: sorted(units) for p, units in self.held_units.items()},
            {p: sorted(units) for p, units in self.summons.items()},  # issued, as said
            self.registered,
            _code_version(),
        ]
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    def outline(self) -> tuple[str, tuple[str, ...]]:
        """The standings' fingerprint and 待核实 units. Standings are a pure function of
        their inputs, so these are memoised in the ledger under the inputs' digest: a
        command that only shows the state (status, the desk) then needs no pandas."""
        memo = _MEMO + str(self.period)
        found = json.loads(self.ledger.setting(memo) or "{}")
        if found.get("key") == self.inputs_digest and "standings" not in self.__dict__:
            return found["fingerprint"], tuple(found["pending"])
        table = self.standings
        fingerprint = corrections.fingerprint(table)
        pending = [s.unit for s in table.having("pending")]
        kept = {"key": self.inputs_digest, "fingerprint": fingerprint, "pending": pending}
        if kept != found:  # a page view that changed nothing writes nothing
            self.ledger.set_setting(memo, json.dumps(kept, ensure_ascii=False))
        return fingerprint, tuple(pending)

    def state(self, now: datetime) -> PeriodState:
        """The one place that decides the period's state."""
        return _decide(self, now)


def change_digest(config: Config, ledger: Ledger) -> str:
    """The one answer to "has anything changed?": the ledger's change mark, the config and
    the standings code. The desk keeps its standings and drafts under it, and the
    after-poll circulars step looks at issued periods again only when it moved."""
    parts = (str(ledger.path), ledger.change_mark(), config.digest, *_code_version())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def standings_for(config: Config, ledger: Ledger, period: Period) -> Standings:
    return PeriodContext(config, ledger, period).standings


def state(
    config: Config, ledger: Ledger, period: Period, now: datetime, table: Standings | None = None
) -> PeriodState:
    """The period's state; `table`: its standings, when the caller computed them."""
    return PeriodContext(config, ledger, period, table).state(now)


def _decide(context: PeriodContext, now: datetime) -> PeriodState:
    config, ledger, period = context.config, context.ledger, context.period
    fingerprint, pending = context.outline()
    latest = ledger.latest_version(str(period))
    held = len(ledger.messages(period=str(period), outcome="review"))
    signature = ledger.signature(str(period), fingerprint)
    cutoff = period.cutoff(config.schedule)
    wait = None
    if config.delivery.sign_off == "auto":
        wait = cutoff + timedelta(hours=config.delivery.review_wait_hours)
    phase: Phase
    if now < cutoff:
        phase = "collecting"
    elif latest is not None and latest.fingerprint == fingerprint:
        phase = "corrected" if latest.version > 1 else "issued"
    elif config.delivery.sign_off == "required":
        phase = "ready" if signature else "awaiting_sign_off"
    elif held and wait is not None and now < wait:
        phase = "awaiting_review"
    else:
        phase = "ready"
    waiting = 0
    if latest is not None and config.delivery.host:
        from pipeline.delivery.state import copies

        waiting = len(copies(config, ledger, str(period), latest.version).waiting)
    sending = bool(config.delivery.host)
    return PeriodState(
        period, phase, held, pending, fingerprint, latest, signature, wait, waiting, sending
    )


@functools.cache
def _code_version() -> tuple[str, ...]:
    """The digests of the standings code this process runs: read once (every page of the
    desk asks for the state), and a serve started before an upgrade keeps its own."""
    return tuple(_code_digest(name) for name in _STANDINGS_CODE)


def _code_digest(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()
