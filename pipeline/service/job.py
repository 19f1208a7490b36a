"""The whole dekad job, stage by stage: poll → ledger → standings → circular → delivery;
and the poll alone (ingest, then the after-poll steps) that `serve` runs between cutoffs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from pipeline import runtime
from pipeline.config import Config
from pipeline.intake.backlog import Ingested, ingest
from pipeline.ledger import Ledger, open_ledger
from pipeline.ledger.records import RunSummary
from pipeline.mailbox import open_source
from pipeline.runtime import Say
from pipeline.service import followup, logs
from pipeline.standings.periods import Period, latest_closed, period_of
from pipeline.standings.timetable import first_use, unasked

if TYPE_CHECKING:
    from pipeline.outputs import Published

# Re-exported: the service loop opens the ledger, and tests ingest, through job.
__all__ = ["Ingested", "ingest", "open_ledger"]

_log = logging.getLogger("xunbao.job")


def default_period(config: Config, now: datetime | None = None) -> Period:
    return latest_closed(now or datetime.now(UTC), config.schedule)


# ── the whole cycle ────────────────────────────────────────────


@dataclass
class CycleResult:
    run: int
    period: Period
    trigger: str
    ingested: Ingested
    published: Published | None  # None: the period's circular is made only on request
    sent: int | None = None  # None: the circular was not sent
    skipped: int = 0
    followed: followup.FollowUp = field(default_factory=followup.FollowUp)

    def summary(self) -> RunSummary:
        return replace(
            _ingest_summary(self.ingested),
            pdf=str(self.published.pdf) if self.published else None,
            made=self.published is not None,
            sent=self.sent,
            skipped=self.skipped,
            letters=self.followed.letters(),
        )


@dataclass
class PollResult:
    """One look at the mailbox between cutoffs, and what the after-poll steps did."""

    run: int
    ingested: Ingested
    followed: followup.FollowUp

    def summary(self) -> RunSummary:
        return replace(_ingest_summary(self.ingested), letters=self.followed.letters())


def _ingest_summary(ingested: Ingested) -> RunSummary:
    o = ingested.outcomes
    return RunSummary(
        new=ingested.new,
        counted=o["counted"],
        review=o["review"],
        ignored=o["ignored"],
        already_known=ingested.already_known,
    )


@dataclass
class Progress:
    """What a run has done so far: kept in its `runs` row however the run ends."""

    so_far: RunSummary = field(default_factory=RunSummary)


def cycle(
    config: Config,
    period: Period,
    *,
    send: bool = True,
    out: Path | None = None,
    trigger: str = "manual",
    echo: Say | None = None,
    now: datetime | None = None,
    asked: bool = False,
) -> CycleResult:
    """Poll, ingest, publish and deliver one period; the ledger's `runs` table keeps the result.

    `echo` receives one Chinese line per stage (the CLI prints them, `serve` logs them);
    `now` is the server's clock (the after-poll steps decide by it). A period that
    timetable.unasked names is published only when `asked` (run --period).
    """
    say = echo or _log.info
    moment = now or datetime.now(UTC)
    lock = runtime.one_cycle_at_a_time(config, say)
    with lock, open_ledger(config) as ledger:
        first = first_use(ledger)

        def stages(done: Progress) -> CycleResult:
            ingested = _ingest_mailbox(config, ledger, say, done)
            why = unasked(config, ledger, period, first)
            named = f"{period.label()}（截至 {period}）"
            if why and not asked:
                say(
                    f"{named}{why}：不自动生成、发送通报。"
                    f"如确需要，请运行 xunbao run --period {period}。"
                )
                result = CycleResult(0, period, "", ingested, None)
                return _follow(config, ledger, result, send, say, moment)
            if why:
                say(f"按要求生成{named}的通报（该旬{why}，不会自动生成）。")
            return _stages(config, ledger, period, send, out, say, done, moment, ingested)

        return _recorded(ledger, str(period), trigger, moment, stages)


def poll(config: Config, *, echo: Say | None = None, now: datetime | None = None) -> PollResult:
    """Read new mail and run the after-poll steps; no circular. Recorded as a `poll` run of
    the period now collecting."""
    say = echo or _log.info
    moment = now or datetime.now(UTC)
    period = period_of(moment, config.schedule)

    def stages(done: Progress) -> PollResult:
        ingested = _ingest_mailbox(config, ledger, say, done)
        return PollResult(0, ingested, followup.follow_up(config, ledger, moment, say))

    lock = runtime.one_cycle_at_a_time(config, say)
    with lock, open_ledger(config) as ledger:
        return _recorded(ledger, str(period), "poll", moment, stages)


class _Recorded(Protocol):
    run: int

    def summary(self) -> RunSummary: ...


R = TypeVar("R", bound=_Recorded)


def _recorded(
    ledger: Ledger,
    period: str,
    trigger: str,
    now: datetime,
    stages: Callable[[Progress], R],
) -> R:
    """Run `stages` as one row of `runs`: its outcome and summary, however it ends."""
    # Under the cycle lock no other run is going on: one left open was killed.
    if stale := ledger.close_stale_runs():
        _log.warning("发现 %d 次未正常结束的运行（曾被强行终止），已标记为中断。", stale)
    run = ledger.start_run(period, trigger, now)
    done = Progress()
    try:
        result = stages(done)
    except Exception as exc:
        failed = replace(done.so_far, error=str(exc) or type(exc).__name__)
        ledger.finish_run(run, "failed", failed)
        raise
    except BaseException:
        ledger.finish_run(run, "interrupted", done.so_far)
        raise
    result.run = run
    ledger.finish_run(run, "ok", result.summary())
    return result


def _ingest_mailbox(config: Config, ledger: Ledger, say: Say, done: Progress) -> Ingested:
    source = open_source(config, ledger)
    try:
        ingested = ingest(config, ledger, logs.with_progress(source))
    finally:
        source.close()
    done.so_far = _ingest_summary(ingested)
    from pipeline.clerk.recheck import unsure

    unsure(config, ledger, say)  # senders DNS could not vouch for last time
    o = ingested.outcomes
    say(
        f"收取新邮件 {ingested.new} 封：计入 {o['counted']}，待审核 {o['review']}，"
        f"忽略 {o['ignored']}；此前已处理 {ingested.already_known} 封。"
    )
    return ingested


def _stages(
    config: Config,
    ledger: Ledger,
    period: Period,
    send: bool,
    out: Path | None,
    say: Say,
    done: Progress,
    now: datetime,
    ingested: Ingested,
) -> CycleResult:
    from pipeline import issuance

    settled = issuance.settle_period(config, ledger, period, now, send=send, out=out)
    assert settled.published is not None
    published = settled.published
    done.so_far = replace(done.so_far, pdf=str(published.pdf))
    say(f"{period.label()}（截至 {period}）通报已生成：{published.pdf}")
    result = CycleResult(0, period, "", ingested, published)
    for line in issuance.describe(config, settled, send):
        say(line)
    result.sent, result.skipped = settled.sent, settled.skipped
    _follow(config, ledger, result, send, say, now)
    held = settled.state.held
    if held:
        say(f"本旬有 {held} 封邮件需要人工审核，请运行 xunbao review 查看。")
    if settled.state.pending_units:
        say(f"报表待核实的单位：{'、'.join(settled.state.pending_units)}。")
    return result


def _follow(
    config: Config, ledger: Ledger, result: CycleResult, send: bool, say: Say, now: datetime
) -> CycleResult:
    """The after-poll steps (receipts, reminders); --no-send: no mail at all."""
    if send:
        result.followed = followup.follow_up(config, ledger, now, say)
        if not result.followed.busy:
            say(result.followed.line())
    return result
