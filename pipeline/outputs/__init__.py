"""Every file of a period's circular: the PDF (and its Word copy), the standings as .xlsx
and .json, and the year's summary after its last dekad. What issuance keeps and delivery
sends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.ledger import Ledger
from pipeline.standings.periods import Period

if TYPE_CHECKING:
    from pipeline.outputs.circular import Circular
    from pipeline.outputs.corrections import Correction
    from pipeline.standings.table import Standings


@dataclass(frozen=True)
class Published:
    period: Period
    folder: Path
    pdf: Path
    xlsx: Path
    json: Path
    standings: Standings


def compose(
    config: Config, ledger: Ledger, table: Standings, correction: Correction | None = None
) -> Circular:
    """The circular as it goes out: under its document number, with the last circular's
    约谈 followed up, marked 更正 when `correction`. The desk's draft is composed here too,
    so a leader signs what is sent."""
    from pipeline.outputs import circular, notices
    from pipeline.outputs.corrections import doc_number

    number = doc_number(config, table.period, ledger.versions())
    followed = notices.followups(config, ledger, table)
    return circular.compose(config, table, correction, number, followed)


def publish(
    config: Config,
    ledger: Ledger,
    period: Period,
    *,
    table: Standings,
    out: Path | None = None,
    correction: Correction | None = None,
) -> Published:
    """Write the period's circular (marked 更正 when `correction`), xlsx and json."""
    from pipeline.outputs import circular  # WeasyPrint: publishing
    from pipeline.outputs import tables as exports

    folder = (out or config.resolve(config.output.dir)) / str(period)
    pdf, _ = circular.write(compose(config, ledger, table, correction), folder)
    xlsx = exports.write_xlsx(
        table, folder / "standings.xlsx", config.circular.issuer, config.campaign.measure
    )
    data = exports.write_json(table, folder / "standings.json")
    return Published(period, folder, pdf, xlsx, data, table)
