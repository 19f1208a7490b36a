"""The whole dekad job, stage by stage: poll → ledger → standings → circular → delivery;
and the poll alone (ingest, then the after-poll steps) that `serve` runs between cutoffs."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from . import followup, logs, originals, runtime
from .config import Config
from .errors import SourceError
from .ledger import Ledger, open_ledger
from .periods import Period, latest_closed, period_of
from .sandbox import QUARANTINED, Pool, Unread
from .sources import RawMessage, Source, open_source

if TYPE_CHECKING:
    from .corrections import Correction
    from .intake import Assessment, Intake
    from .sandbox import Read
    from .standings import Standings

__all__ = ["open_ledger"]  # re-exported: the service loop opens the ledger through job

_log = logging.getLogger("xunbao.job")


@dataclass
class Ingested:
    outcomes: Counter[str] = field(default_factory=Counter)
    already_known: int = 0

    @property
    def new(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True)
class Published:
    period: Period
    folder: Path
    pdf: Path
    xlsx: Path
    json: Path
    standings: Standings


def ingest(config: Config, ledger: Ledger, source: Source) -> Ingested:
    """Give every new message an outcome, committed before the message is acknowledged.

    Messages stream through the sandbox's readers in the source's order; each outcome is
    committed as it comes, and the disk is synced once per `mailbox.batch_size` messages,
    before they are acknowledged: a crash loses at most what was not acknowledged, which is
    read again. A message already in the ledger is only acknowledged: the same ref (re-read
    after a crash), or the same bytes from the same IMAP folder under an earlier
    UIDVALIDITY (the server rebuilt the folder) — neither adds a row nor counts again.
    """
    from .intake import Intake  # the readers load heavy libraries: only ingest needs them

    intake = Intake(config, ledger)
    if charged := ledger.charge_interrupted():
        _log.warning("上次运行在处理邮件 %s 时中断，记为一次未完成的处理", charged)
    result = Ingested()
    kept = originals.folder(config)
    unacknowledged: list[RawMessage] = []
    storage = config.resolve(config.storage.path).parent
    with Pool(config.limits, storage, intake.wording) as pool, ledger.unsynced():
        upcoming = _Upcoming(source.poll())
        for raw, read in _reads(ledger, pool, upcoming, kept):
            if read is _KNOWN:
                result.already_known += 1
            else:
                assessment = _assess(intake, raw, read)
                ledger.record(assessment.entry, assessment.report)
                result.outcomes[assessment.entry.outcome] += 1
            unacknowledged.append(raw)
            if len(unacknowledged) >= config.mailbox.batch_size:
                _acknowledge(ledger, source, unacknowledged, kept)
        _acknowledge(ledger, source, unacknowledged, kept)
    if upcoming.failure:
        raise upcoming.failure
    originals.prune(kept, config.storage.keep_originals_days)
    return result


_QUARANTINE = Unread(QUARANTINED)
_KNOWN = Unread("")  # a marker: the message is in the ledger already


def _reads(
    ledger: Ledger, pool: Pool, upcoming: _Upcoming, kept: Path
) -> Iterator[tuple[RawMessage, Read | None]]:
    """Each message in the source's order with what the readers made of it (None: too
    large to read). Each is noted as it goes to a reader and as a reader begins it. A
    message charged with an interrupted run (xunbao died waiting on it) is read alone, the
    pool drained first, so a message that kills xunbao twice is quarantined without taking
    its neighbours along; one charged twice is not read again. Each original is stored
    (before the ledger names it) as its message goes to a reader."""

    def begun(raw: RawMessage) -> None:
        ledger.note_attempt(raw.ref)

    for raw in upcoming:
        if _already_known(ledger, raw):
            _keep(kept, raw)  # if a power cut took it since (it was not synced)
            yield raw, _KNOWN
        elif raw.too_large:
            yield raw, None
        elif (tries := ledger.attempts(raw.ref)) >= 2:
            _log.warning("邮件 %s 已两次未能处理完，隔离", raw.ref)
            _keep(kept, raw)  # still kept for the clerk
            yield raw, _QUARANTINE
        elif tries:
            _hand_over(ledger, raw, upcoming, kept)
            yield from pool.read([(raw, raw.raw)], begun)
        else:
            upcoming.put_back(raw)
            yield from pool.read(_plain_run(ledger, upcoming, kept), begun)


def _plain_run(
    ledger: Ledger, upcoming: _Upcoming, kept: Path
) -> Iterator[tuple[RawMessage, bytes]]:
    """The messages from here on that go to the readers as a stream: new ones, of a size
    to read, never charged with a crash. Drawn as a reader has room."""
    for raw in upcoming:
        if raw.too_large or _already_known(ledger, raw) or ledger.attempts(raw.ref):
            upcoming.put_back(raw)
            return
        _hand_over(ledger, raw, upcoming, kept)
        yield raw, raw.raw


def _hand_over(ledger: Ledger, raw: RawMessage, upcoming: _Upcoming, kept: Path) -> None:
    ledger.note_queued(raw.ref, upcoming.position[raw.ref])
    _keep(kept, raw)


def _keep(kept: Path, raw: RawMessage) -> None:
    if not raw.too_large:
        originals.store(kept, raw.raw, raw.sha256, durable=False)


class _Upcoming:
    """The source's messages, with room to put one back, and each one's position in the
    run. If the mailbox fails mid-poll the messages end there, and `failure` says why:
    those in hand are still read and recorded."""

    def __init__(self, messages: Iterable[RawMessage]) -> None:
        self._messages = iter(messages)
        self._back: list[RawMessage] = []
        self.position: dict[str, int] = {}
        self.failure: SourceError | None = None

    def __iter__(self) -> Iterator[RawMessage]:
        while True:
            if self._back:
                yield self._back.pop()
                continue
            try:
                raw = next(self._messages)
            except StopIteration:
                return
            except SourceError as failure:
                self.failure = failure
                return
            self.position[raw.ref] = len(self.position)
            yield raw

    def put_back(self, raw: RawMessage) -> None:
        self._back.append(raw)


def _acknowledge(ledger: Ledger, source: Source, messages: list[RawMessage], kept: Path) -> None:
    """On disk first (originals, then the ledger), then acknowledged (moved to the
    processed folder, the mark raised)."""
    originals.settle(kept)
    ledger.sync()
    for raw in messages:
        source.acknowledge(raw)
    messages.clear()


def _assess(intake: Intake, raw: RawMessage, read: Read | None) -> Assessment:
    """One bad message must not stop the job (or every later run): hold it for a person."""
    try:
        return intake.assess(raw, read)
    except Exception:
        _log.exception("处理邮件 %s 时出错", raw.ref)
        return intake.failed(raw)


def _already_known(ledger: Ledger, raw: RawMessage) -> bool:
    if ledger.has_ref(raw.ref):
        return True
    # A too-large message has no bytes to compare: its ref alone identifies it.
    return not raw.too_large and ledger.rediscovered(raw.ref, raw.sha256)


def default_period(config: Config, now: datetime | None = None) -> Period:
    return latest_closed(now or datetime.now(UTC), config.schedule)


def publish(
    config: Config,
    ledger: Ledger,
    period: Period,
    out: Path | None = None,
    *,
    table: Standings | None = None,
    correction: Correction | None = None,
) -> Published:
    """Write the period's circular (marked 更正 when `correction`), xlsx and json."""
    from . import circular, exports, summary  # pandas, WeasyPrint: publishing only

    if table is None:
        from .issuance import standings_for

        table = standings_for(config, ledger, period)
    folder = (out or config.resolve(config.output.dir)) / str(period)
    pdf, _ = circular.write(circular.compose(config, table, correction), folder)
    xlsx = exports.write_xlsx(
        table, folder / "standings.xlsx", config.circular.issuer, config.campaign.measure
    )
    data = exports.write_json(table, folder / "standings.json")
    summary.after_final(config, ledger, period, folder.parent)  # the year, after its last dekad
    return Published(period, folder, pdf, xlsx, data, table)


# ── the whole cycle ────────────────────────────────────────────
Echo = Callable[[str], None]


@dataclass
class CycleResult:
    run: int
    period: Period
    trigger: str
    ingested: Ingested
    published: Published
    sent: int | None = None  # None: the circular was not sent
    skipped: int = 0
    followed: followup.FollowUp = field(default_factory=followup.FollowUp)

    def summary(self) -> dict[str, Any]:
        return {**_ingest_summary(self.ingested), "pdf": str(self.published.pdf)} | {
            "sent": self.sent,
            "skipped": self.skipped,
            **self.followed.summary(),
        }


@dataclass
class PollResult:
    """One look at the mailbox between cutoffs, and what the after-poll steps did."""

    run: int
    ingested: Ingested
    followed: followup.FollowUp

    def summary(self) -> dict[str, Any]:
        return {**_ingest_summary(self.ingested), **self.followed.summary()}


def _ingest_summary(ingested: Ingested) -> dict[str, Any]:
    o = ingested.outcomes
    return {
        "new": ingested.new,
        "counted": o["counted"],
        "review": o["review"],
        "ignored": o["ignored"],
        "already_known": ingested.already_known,
    }


def cycle(
    config: Config,
    period: Period,
    *,
    send: bool = True,
    out: Path | None = None,
    trigger: str = "manual",
    echo: Echo | None = None,
    now: datetime | None = None,
) -> CycleResult:
    """Poll, ingest, publish and deliver one period; the ledger's `runs` table keeps the result.

    `echo` receives one Chinese line per stage (the CLI prints them, `serve` logs them);
    `now` is the server's clock (the after-poll steps decide by it).
    """
    say = echo or _log.info
    moment = now or datetime.now(UTC)
    lock = runtime.one_cycle_at_a_time(config, say)
    with lock, open_ledger(config) as ledger:
        return _recorded(
            ledger,
            str(period),
            trigger,
            moment,
            lambda done: _stages(config, ledger, period, send, out, say, done, moment),
        )


def poll(config: Config, *, echo: Echo | None = None, now: datetime | None = None) -> PollResult:
    """Read new mail and run the after-poll steps; no circular. Recorded as a `poll` run of
    the period now collecting."""
    say = echo or _log.info
    moment = now or datetime.now(UTC)
    period = period_of(moment, config.schedule)

    def stages(done: dict[str, Any]) -> PollResult:
        ingested = _ingest_mailbox(config, ledger, say, done)
        return PollResult(0, ingested, followup.follow_up(config, ledger, moment, say))

    lock = runtime.one_cycle_at_a_time(config, say)
    with lock, open_ledger(config) as ledger:
        return _recorded(ledger, str(period), "poll", moment, stages)


class _Recorded(Protocol):
    run: int

    def summary(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=_Recorded)


def _recorded(
    ledger: Ledger,
    period: str,
    trigger: str,
    now: datetime,
    stages: Callable[[dict[str, Any]], R],
) -> R:
    """Run `stages` as one row of `runs`: its outcome and summary, however it ends."""
    # Under the cycle lock no other run is going on: one left open was killed.
    if stale := ledger.close_stale_runs():
        _log.warning("发现 %d 次未正常结束的运行（曾被强行终止），已标记为中断。", stale)
    run = ledger.start_run(period, trigger, now)
    done: dict[str, Any] = {}
    try:
        result = stages(done)
    except Exception as exc:
        ledger.finish_run(run, "failed", {**done, "error": str(exc) or type(exc).__name__})
        raise
    except BaseException:
        ledger.finish_run(run, "interrupted", done)
        raise
    result.run = run
    ledger.finish_run(run, "ok", result.summary())
    return result


def _ingest_mailbox(config: Config, ledger: Ledger, say: Echo, done: dict[str, Any]) -> Ingested:
    source = open_source(config, ledger)
    try:
        ingested = ingest(config, ledger, logs.with_progress(source))
    finally:
        source.close()
    done.update(_ingest_summary(ingested))
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
    say: Echo,
    done: dict[str, Any],
    now: datetime,
) -> CycleResult:
    from . import issuance

    ingested = _ingest_mailbox(config, ledger, say, done)
    settled = issuance.settle_period(config, ledger, period, now, send=send, out=out)
    assert settled.published is not None
    published = settled.published
    done["pdf"] = str(published.pdf)
    say(f"{period.label()}（截至 {period}）通报已生成：{published.pdf}")
    result = CycleResult(0, period, "", ingested, published)
    for line in issuance.describe(config, settled, send):
        say(line)
    result.sent, result.skipped = settled.sent, settled.skipped
    if send:  # --no-send: no mail at all, receipts and reminders neither
        result.followed = followup.follow_up(config, ledger, now, say)
        if not result.followed.busy:
            say(result.followed.line())
    held = settled.state.held
    if held:
        say(f"本旬有 {held} 封邮件需要人工审核，请运行 xunbao review 查看。")
    if settled.state.pending_units:
        say(f"报表待核实的单位：{'、'.join(settled.state.pending_units)}。")
    return result
