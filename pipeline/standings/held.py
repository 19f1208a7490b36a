"""Units with a report held for review, per period: the circular shows them as 待核实
(never as not reported), the reminders leave them out and issuing waits for them."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.config.units import Directory
from pipeline.ledger import Ledger


def pending_units(config: Config, ledger: Ledger) -> dict[str, frozenset[str]]:
    """period → units with a message held for review: the unit read or matched at intake,
    the unit the form names, or the unit the sender is registered for."""
    directory = Directory(config)
    found_units: dict[str, set[str]] = {}
    for row in ledger.messages(outcome="review"):
        if row.period is None:
            continue
        named = {row.unit, row.detail.said.unit, directory.by_sender(row.sender)}
        found_units.setdefault(row.period, set()).update(str(u) for u in named if u)
    return {period: frozenset(units) for period, units in found_units.items()}
