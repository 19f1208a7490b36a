"""The final 年度 circular's figures: the year's total against the base year and the growth
goal, and each shared base's group (base_groups) — the campaign's last period only.

The last period of a campaign (with `schedule.year_end`, the one ending at 24:00 on
31 December) is the year-end one: its circular carries `circular.final_title` and this
section, and the year's summary follows it (summary_output.after_final)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import Config, iter_unit_names
from pipeline.standings.periods import Period, between
from pipeline.standings.rules import growth_of
from pipeline.standings.table import Standings


@dataclass(frozen=True)
class GroupGrowth:
    name: str
    base: int
    completed: int

    @property
    def growth(self) -> float:
        return growth_of(self.completed, self.base) or 0.0


@dataclass(frozen=True)
class Annual:
    year: int
    completed: int
    target: int
    base: int | None  # the base year's members, city-wide
    goal: float | None  # e.g. 0.22
    groups: tuple[GroupGrowth, ...]

    @property
    def growth(self) -> float | None:
        return growth_of(self.completed, self.base)


def final_period(config: Config, year: int | None = None) -> Period | None:
    """The campaign's last period (in `year`, when given)."""
    every = between(config.campaign.start, Period(config.campaign.end), config.schedule)
    chosen = [p for p in every if year is None or p.end.year == year]
    return chosen[-1] if chosen else None


def of(config: Config, standings: Standings) -> Annual | None:
    """The year's figures when `standings` are of the campaign's last period; else None."""
    period = standings.period
    if period != final_period(config, period.end.year):
        return None
    canonical = dict(iter_unit_names(config))
    rows = {s.unit: s.completed for s in [*standings.units, *standings.others]}
    groups = tuple(
        GroupGrowth(
            g.name,
            g.base,
            sum(rows.get(m, 0) for m in dict.fromkeys(canonical.get(u, u) for u in g.units)),
        )
        for g in config.base_groups
    )
    goal = config.campaign.growth_goal
    if goal is None and config.campaign.base:
        goal = config.campaign.target / config.campaign.base
    return Annual(
        period.end.year, standings.completed, standings.target, config.campaign.base, goal, groups
    )
