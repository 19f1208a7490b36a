"""What a period's standings are computed from, read from the ledger once: the reports in
its reach, the units held for review, whom the issued circulars summoned, and the name
lists. The circular, the desk and the year's summary all compute standings through this,
so they state the same facts.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.ledger import Ledger
from pipeline.standings import spans
from pipeline.standings.held import pending_units
from pipeline.standings.periods import Period

if TYPE_CHECKING:
    from pipeline.standings.table import Standings


class PeriodInputs:
    """One period's inputs, each read at most once. `held_units` is the same for every
    period: a caller computing several periods hands it on."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        period: Period,
        *,
        held_units: dict[str, frozenset[str]] | None = None,
    ) -> None:
        self.config, self.ledger, self.period = config, ledger, period
        if held_units is not None:
            self.__dict__["held_units"] = held_units

    @functools.cached_property
    def held_units(self) -> dict[str, frozenset[str]]:
        """period → units with a report held for review (shown 待核实)."""
        return pending_units(self.config, self.ledger)

    @functools.cached_property
    def summons(self) -> dict[str, frozenset[str]]:
        """By issued period: whom each circular summoned (for the streaks); for a period
        already issued, only the circulars that went out before it did."""
        return self.ledger.issued_summons(before=str(self.period))

    @functools.cached_property
    def registered(self) -> dict[str, int]:
        return self.ledger.registered(str(self.period))

    @functools.cached_property
    def reach(self) -> Period:
        """The last period whose reports count: an ad hoc period's reach includes its
        dekads'."""
        return spans.reach(self.config, self.period)

    @functools.cached_property
    def standings(self) -> Standings:
        from pipeline.standings import table  # pandas: only when standings are computed

        facts = table.Facts(self.held_units, frozenset(self.summons), self.registered, self.summons)
        reports = self.ledger.reports(str(self.reach))
        return table.compute(self.config, reports, self.period, facts)
