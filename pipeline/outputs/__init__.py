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
    from pipeline.outputs import (
        circular,  # pandas, WeasyPrint: publishing
        notices,
    )
    from pipeline.outputs import tables as exports
    from pipeline.outputs.corrections import doc_number

    folder = (out or config.resolve(config.output.dir)) / str(period)
    number = doc_number(config, period, ledger.versions())
    followed = notices.followups(config, ledger, table)  # the last circular's 约谈, followed up
    made = circular.compose(config, table, correction, number, followed)
    pdf, _ = circular.write(made, folder)
    xlsx = exports.write_xlsx(
        table, folder / "standings.xlsx", config.circular.issuer, config.campaign.measure
    )
    data = exports.write_json(table, folder / "standings.json")
    return Published(period, folder, pdf, xlsx, data, table)
