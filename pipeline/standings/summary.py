"""The year (or month) at a glance: every unit's figure at each dekad, its completion rate,
rank, growth against its 2014 base and the city's growth goal, and how often it was summoned
(约谈) and named before the whole city (全市通报) — the basis of the annual assessment (目标考核).

`summarise` computes it from the ledger: the standings of every period from its reports,
and the summons and city-wide namings as the issued circulars (their latest versions) made
them — a dekad whose circular was never issued named no one. `summary_output.write` puts it
beside the circulars as summary.xlsx and a short summary.pdf in the circular's official
style, with a trend chart of the city's completion.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pipeline.config import Config, iter_unit_names
from pipeline.config.sections import BaseGroup
from pipeline.ledger import Ledger
from pipeline.standings import table as standings_module
from pipeline.standings.held import pending_units
from pipeline.standings.inputs import PeriodInputs
from pipeline.standings.periods import Period, between
from pipeline.standings.rules import growth_of, rate_of
from pipeline.standings.table import Standings


@dataclass(frozen=True)
class UnitYear:
    unit: str
    section: str
    base: int | None  # 2014 members
    target: int
    figures: tuple[int, ...]  # completed at each column's period
    completed: int
    rate: float
    rank: int
    summoned: int  # issued circulars that summoned it (约谈)
    escalated: int  # issued circulars that named it before the whole city

    @property
    def growth(self) -> float | None:
        return growth_of(self.completed, self.base)


@dataclass(frozen=True)
class GroupYear:
    """A base shared by several units (config base_groups): their figures summed."""

    name: str
    units: tuple[str, ...]
    base: int
    target: int
    figures: tuple[int, ...]

    @property
    def completed(self) -> int:
        return self.figures[-1] if self.figures else 0

    @property
    def rate(self) -> float:
        return rate_of(self.completed, self.target)

    @property
    def growth(self) -> float | None:
        return growth_of(self.completed, self.base)


@dataclass(frozen=True)
class MetricYear:
    """One metric of a multi-metric campaign over the year: the city's figure per column."""

    name: str
    measure: str
    target: int | None  # None: a duty with no number (shown, never rated)
    figures: tuple[int, ...]

    @property
    def rate(self) -> float | None:
        return self.figures[-1] / self.target if self.target else None


@dataclass(frozen=True)
class YearSummary:
    year: int
    monthly: bool
    columns: tuple[Period, ...]  # every dekad, or each month's last
    labels: tuple[str, ...]
    units: tuple[UnitYear, ...]  # by final rank
    city: tuple[tuple[int, float, float], ...]  # per column: completed, rate, expected
    target: int
    goal: float | None  # the city's growth goal against the base year, e.g. 0.22
    metrics: tuple[MetricYear, ...] = ()  # every metric, in a multi-metric campaign
    groups: tuple[GroupYear, ...] = ()  # bases shared by several units

    @property
    def last(self) -> Period:
        return self.columns[-1]


def _final(config: Config) -> Period | None:
    from pipeline.standings.annual import final_period

    return final_period(config)


def last_period(config: Config, latest: Period) -> Period:
    """The latest closed period, but none after the campaign's end."""
    final = _final(config)
    return min(latest, final) if final else latest


def is_final(config: Config, period: Period) -> bool:
    """The campaign's last period: its circular is followed by the year's summary."""
    return period == _final(config)


def periods_of(config: Config, year: int, until: Period) -> list[Period]:
    return [p for p in between(config.campaign.start, until, config.schedule) if p.end.year == year]


def summarise(
    config: Config, ledger: Ledger, year: int, until: Period, monthly: bool
) -> YearSummary:
    dekads = periods_of(config, year, until)
    if not dekads:
        from pipeline.errors import UsageError

        raise UsageError(f"{year} 年没有已截止的旬（活动自 {config.campaign.start} 开始）。")
    # the same inputs as each dekad's circular (held units 待核实, name lists, streaks);
    # the held units, the same for every period, are read once
    held = pending_units(config, ledger)
    tables = {p: PeriodInputs(config, ledger, p, held_units=held).standings for p in dekads}
    columns = [p for i, p in enumerate(dekads) if not monthly or _month_last(dekads, i)]
    final = tables[dekads[-1]]
    named = _named(ledger, dekads)
    units = tuple(
        _unit_year(config, s.unit, final, columns, tables, named)
        for s in sorted(final.units, key=lambda s: (s.rank, s.unit))
    )
    city = tuple((tables[p].completed, tables[p].rate, tables[p].expected) for p in columns)
    goal = config.campaign.growth_goal
    if goal is None and config.campaign.base:
        goal = config.campaign.target / config.campaign.base
    labels = tuple(f"{p.end.month}月" if monthly else _dekad_label(p) for p in columns)
    metrics = tuple(
        MetricYear(
            name=m.metric.name if m.metric else "",
            measure=m.metric.measure if m.metric else "",
            target=m.target or None,
            figures=tuple(tables[p].metrics[i].completed for p in columns),
        )
        for i, m in enumerate(final.metrics)
    )
    groups = tuple(_group_year(config, g, columns, tables) for g in config.base_groups)
    return YearSummary(
        year, monthly, tuple(columns), labels, units, city, final.target, goal, metrics, groups
    )


def _group_year(
    config: Config, group: BaseGroup, columns: list[Period], tables: dict[Period, Standings]
) -> GroupYear:
    """The group's members (units and buckets alike) summed at each column."""
    canonical = dict(iter_unit_names(config))
    members = tuple(dict.fromkeys(canonical.get(m, m) for m in group.units))

    def rows(table: Standings) -> list[standings_module.Standing]:
        return [s for s in [*table.units, *table.others] if s.unit in members]

    final = rows(tables[columns[-1]])
    return GroupYear(
        name=group.name,
        units=members,
        base=group.base,
        target=sum(s.target for s in final),
        figures=tuple(sum(s.completed for s in rows(tables[p])) for p in columns),
    )


def _month_last(dekads: list[Period], i: int) -> bool:
    return i == len(dekads) - 1 or dekads[i + 1].end.month != dekads[i].end.month


def _dekad_label(period: Period) -> str:
    return f"{period.end.month}月{period.label()[-2]}旬"


def _named(ledger: Ledger, dekads: list[Period]) -> tuple[Counter[str], Counter[str]]:
    """How many issued circulars summoned each unit, and how many named it city-wide."""
    summoned: Counter[str] = Counter()
    escalated: Counter[str] = Counter()
    for period in dekads:
        if issued := ledger.latest_version(str(period)):
            summoned.update(issued.standings.summoned)
            escalated.update(issued.standings.escalated)
    return summoned, escalated


def _unit_year(
    config: Config,
    name: str,
    final: Standings,
    columns: list[Period],
    tables: dict[Period, Standings],
    named: tuple[Counter[str], Counter[str]],
) -> UnitYear:
    def row(table: Standings) -> standings_module.Standing:
        return next(s for s in table.units if s.unit == name)

    last = row(final)
    return UnitYear(
        unit=name,
        section=last.section,
        base=config.unit(name).base,
        target=last.target,
        figures=tuple(row(tables[p]).completed for p in columns),
        completed=last.completed,
        rate=last.rate,
        rank=last.rank,
        summoned=named[0][name],
        escalated=named[1][name],
    )
