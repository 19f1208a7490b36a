"""Reading the mailbox into the ledger: every message from the source, through the
sandbox's readers, judged by intake and recorded, then acknowledged to the source."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pipeline.config import Config
from pipeline.errors import SourceError
from pipeline.ledger import Ledger, originals
from pipeline.mailbox import RawMessage, Source
from pipeline.reading import walls
from pipeline.reading.sandbox import QUARANTINED, Pool, Unread

if TYPE_CHECKING:
    from pipeline.intake.judge import Assessment, Intake
    from pipeline.reading.sandbox import Read

_log = logging.getLogger("xunbao.backlog")


@dataclass
class Ingested:
    outcomes: Counter[str] = field(default_factory=Counter)
    already_known: int = 0

    @property
    def new(self) -> int:
        return sum(self.outcomes.values())


def ingest(config: Config, ledger: Ledger, source: Source) -> Ingested:
    """Give every new message an outcome, committed before the message is acknowledged.

    Messages stream through the sandbox's readers in the source's order; each outcome is
    committed as it comes, and the disk is synced once per `mailbox.batch_size` messages,
    before they are acknowledged: a crash loses at most what was not acknowledged, which is
    read again. A message already in the ledger is only acknowledged: the same ref (re-read
    after a crash), or the same bytes from the same IMAP folder under an earlier
    UIDVALIDITY (the server rebuilt the folder) — neither adds a row nor counts again.
    """
    from pipeline.intake.judge import (
        Intake,  # the readers load heavy libraries: only ingest needs them
    )

    intake = Intake(config, ledger)
    if interrupted := ledger.charge_interrupted():
        ref, charged = interrupted
        if charged:
            _log.warning("上次运行在单独处理邮件 %s 时中断，该邮件将被隔离", ref)
        else:
            _log.warning("上次运行在处理邮件 %s 时中断，本次先单独读取这封邮件", ref)
    result = Ingested()
    kept = originals.folder(config)
    unacknowledged: list[RawMessage] = []
    storage = config.resolve(config.storage.path).parent
    secrets = walls.private(config)
    with (
        Pool(config.limits, storage, intake.wording, secrets) as pool,
        originals.Keeper(kept) as keeper,
        ledger.unsynced(),
    ):
        upcoming = _Upcoming(source.poll(), lambda raw: _kind(ledger, raw))
        for raw, read in _reads(ledger, pool, upcoming, keeper):
            if read is _KNOWN:
                result.already_known += 1
            else:
                keeper.stored(raw.sha256)  # the original is on file before the ledger names it
                assessment = _assess(intake, raw, read)
                ledger.record(assessment.entry, assessment.report, assessment.also)
                result.outcomes[assessment.entry.outcome] += 1
            unacknowledged.append(raw)
            if len(unacknowledged) >= config.mailbox.batch_size:
                _acknowledge(ledger, source, unacknowledged, keeper)
        _acknowledge(ledger, source, unacknowledged, keeper)
    if upcoming.failure:
        raise upcoming.failure
    originals.prune(kept, config.storage.keep_originals_days)
    originals.mask_ids(kept, config.storage.id_days)  # 实名登记 ID numbers: not kept for long
    return result


_QUARANTINE = Unread(QUARANTINED)
_KNOWN = Unread("")  # a marker: the message is in the ledger already

# What becomes of a message drawn from the source, decided once.
Kind = Literal["known", "too large", "quarantined", "suspect", "plain"]


def _kind(ledger: Ledger, raw: RawMessage) -> Kind:
    past = ledger.history(raw.ref)
    # The same bytes from the same IMAP folder under an earlier UIDVALIDITY are known too;
    # a too-large message has no bytes to compare: its ref alone identifies it.
    if past.recorded or (not raw.too_large and ledger.rediscovered(raw.ref, raw.sha256)):
        return "known"
    if raw.too_large:
        return "too large"
    if past.attempts:  # a run died while it was read alone
        return "quarantined"
    return "suspect" if past.suspect else "plain"


def _reads(
    ledger: Ledger, pool: Pool, upcoming: _Upcoming, kept: originals.Keeper
) -> Iterator[tuple[RawMessage, Read | None]]:
    """Each message in the source's order with what the readers made of it (None: too
    large to read). Each is noted as it goes to a reader and as a reader begins it. A
    suspect (xunbao died waiting on it among others) is read alone, the pool drained
    first: if xunbao dies again then, the message is quarantined without taking its
    neighbours along, and not read again. Each original is stored (before the ledger
    names it) as its message goes to a reader."""

    def begun(raw: RawMessage) -> None:
        ledger.note_attempt(raw.ref)

    for raw, kind in upcoming:
        if kind == "known":
            _keep(kept, raw)  # if a power cut took it since (it was not synced)
            yield raw, _KNOWN
        elif kind == "too large":
            yield raw, None
        elif kind == "quarantined":
            _log.warning("邮件 %s 单独读取时程序中断，隔离", raw.ref)
            _keep(kept, raw)  # still kept for the clerk
            yield raw, _QUARANTINE
        elif kind == "suspect":
            _hand_over(ledger, raw, upcoming, kept, isolated=True)
            yield from pool.read([(raw, raw.raw)], begun)
        else:
            upcoming.put_back(raw, kind)
            yield from pool.read(_plain_run(ledger, upcoming, kept), begun)


def _plain_run(
    ledger: Ledger, upcoming: _Upcoming, kept: originals.Keeper
) -> Iterator[tuple[RawMessage, bytes]]:
    """The messages from here on that go to the readers as a stream: new ones, of a size
    to read, never charged with a crash. Drawn as a reader has room."""
    for raw, kind in upcoming:
        if kind != "plain":
            upcoming.put_back(raw, kind)
            return
        _hand_over(ledger, raw, upcoming, kept)
        yield raw, raw.raw


def _hand_over(
    ledger: Ledger,
    raw: RawMessage,
    upcoming: _Upcoming,
    kept: originals.Keeper,
    isolated: bool = False,
) -> None:
    ledger.note_queued(raw.ref, upcoming.position[raw.ref], isolated)
    _keep(kept, raw)


def _keep(kept: originals.Keeper, raw: RawMessage) -> None:
    if not raw.too_large:
        kept.keep(raw.raw, raw.sha256)


class _Upcoming:
    """The source's messages, each with its kind and position in the run, and room to put
    one back. If the mailbox fails mid-poll the messages end there, and `failure` says why:
    those in hand are still read and recorded."""

    def __init__(self, messages: Iterable[RawMessage], kind: Callable[[RawMessage], Kind]) -> None:
        self._messages = iter(messages)
        self._kind = kind
        self._back: list[tuple[RawMessage, Kind]] = []
        self.position: dict[str, int] = {}
        self.failure: SourceError | None = None

    def __iter__(self) -> Iterator[tuple[RawMessage, Kind]]:
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
            yield raw, self._kind(raw)

    def put_back(self, raw: RawMessage, kind: Kind) -> None:
        self._back.append((raw, kind))


def _acknowledge(
    ledger: Ledger, source: Source, messages: list[RawMessage], kept: originals.Keeper
) -> None:
    """On disk first (originals, then the ledger), then acknowledged (moved to the
    processed folder, the mark raised)."""
    kept.flush()
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
