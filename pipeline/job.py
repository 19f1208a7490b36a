"""The whole dekad job, stage by stage: poll → ledger → standings → circular → delivery."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import circular, exports, standings
from .config import Config
from .intake import Intake
from .ledger import Ledger
from .periods import Period, latest_closed
from .sources import Source
from .sources.directory import DirectorySource


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
    standings: standings.Standings


def open_ledger(config: Config) -> Ledger:
    return Ledger(config.resolve(config.storage.path))


def open_source(config: Config, ledger: Ledger) -> Source:
    if config.mailbox.source == "imap":
        from .sources.imap import ImapSource  # imported late: directory users need no network

        return ImapSource(config.mailbox, ledger)
    return DirectorySource(config.resolve(config.mailbox.path))


def ingest(config: Config, ledger: Ledger, source: Source) -> Ingested:
    """Give every new message an outcome; each is committed before it is acknowledged."""
    intake = Intake(config, ledger)
    result = Ingested()
    for raw in source.poll():
        if ledger.has_ref(raw.ref):
            result.already_known += 1
        else:
            assessment = intake.assess(raw)
            ledger.record(assessment.entry, assessment.report)
            result.outcomes[assessment.entry.outcome] += 1
        source.acknowledge(raw)
    return result


def default_period(config: Config, now: datetime | None = None) -> Period:
    return latest_closed(now or datetime.now(UTC), config.schedule)


def publish(config: Config, ledger: Ledger, period: Period, out: Path | None = None) -> Published:
    table = standings.compute(config, ledger.reports(str(period)), period)
    folder = (out or config.resolve(config.output.dir)) / str(period)
    pdf, _ = circular.write(circular.compose(config, table), folder)
    xlsx = exports.write_xlsx(table, folder / "standings.xlsx")
    data = exports.write_json(table, folder / "standings.json")
    return Published(period, folder, pdf, xlsx, data, table)
