"""Standings of one period with pandas: each unit's figure against its target.

completed  = the unit's latest accepted cumulative figure (by arrival) up to the cutoff,
             or, for per-period campaigns, the sum of each period's latest figure;
reported   = an accepted report arrived in the circular's span (`spans`: this dekad, the
             month's dekads for a monthly circular, the last dekad and since for an ad-hoc one);
pending    = no accepted report, but a message of the unit is held for review (`Facts.held`).
Statuses, summons, escalation, good examples and group figures come from `rules`; every
period since the campaign began is classified in turn so that streaks carry over (by
default only periods whose circular was issued count: `Facts.issued`, `rules.streaks`).
Non-reporting buckets (其他) are rows of their own (`others`) that count in the total; a
bucket's figure is the sum of its enterprises' (units with `part_of`) latest figures.
Reports stored under a unit's old name count for it while the old name is an alias.

A multi-metric campaign (campaign.metrics) gets these standings once per metric; the first
metric's are the headline (ranking, lagging, summons, examples), with all of them in
`metrics`. A unit has reported when it sent any figure this period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

import pandas as pd

from pipeline.config import Config, Metric, iter_unit_names
from pipeline.standings import rules, spans
from pipeline.standings.periods import Period
from pipeline.standings.rules import STATUS_LABELS, GroupFigures, rate_of

__all__ = [
    "STATUS_LABELS",
    "Example",
    "Facts",
    "Standing",
    "Standings",
    "compute",
    "expected_progress",
]

_JSON_KEYS = (
    "unit",
    "target",
    "completed",
    "rate",
    "rank",
    "reported",
    "status",
    "lagging_streak",
    "summoned",
    "summoned_streak",
    "escalated",
)


@dataclass(frozen=True)
class Standing:
    unit: str
    section: str
    target: int
    completed: int
    rate: float
    rank: int
    reported: bool
    status: str
    behind: bool
    lagging_streak: int
    measures: str
    corrected: bool
    summoned: bool = False
    summoned_streak: int = 0
    escalated: bool = False
    registered: int | None = None  # 实名登记: people on its name lists so far, if any
    # A bucket's enterprises (units with part_of) and each one's latest figure: its sum.
    parts: tuple[tuple[str, int], ...] = ()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def registered_rate(self) -> float | None:
        """实名登记 among the new members it claims; None: it never sent a name list."""
        if self.registered is None:
            return None
        return min(self.registered / self.completed, 1.0) if self.completed else 0.0


@dataclass(frozen=True)
class Facts:
    """What the ledger knows besides the reports: the units with a message held for review,
    by period, and the periods whose circular has been issued."""

    held: Mapping[str, frozenset[str]] = field(default_factory=dict)
    issued: frozenset[str] = frozenset()
    registered: Mapping[str, int] = field(default_factory=dict)  # 实名登记 (counts only)
    # Per issued period, whom its circular summoned: earlier periods' streaks use these.
    summons: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    """A good example (先进典型): a unit and an excerpt of its measures (plain text)."""

    unit: str
    rate: float
    excerpt: str


@dataclass(frozen=True)
class Standings:
    period: Period
    campaign: str
    expected: float  # share of the target's time (campaign.progress_from…end) at the cutoff
    target: int
    completed: int
    units: list[Standing]
    groups: tuple[GroupFigures, ...] = ()
    examples: tuple[Example, ...] = ()
    metric: Metric | None = None
    by_unit: bool = True  # the metric has unit targets (else a city-wide target only)
    metrics: tuple[Standings, ...] = ()  # every metric's standings, in a multi-metric campaign
    others: tuple[Standing, ...] = ()  # non-reporting buckets (其他): no rank, no status

    @property
    def reported_count(self) -> int:
        return sum(s.reported for s in self.units)

    @property
    def unreported_count(self) -> int:
        """Units without a report this period and none held: 应报送 = 按时报送 + 未报送 + 待核实."""
        return sum(not s.reported and s.status != "pending" for s in self.units)

    @property
    def rate(self) -> float:
        return rate_of(self.completed, self.target)

    def having(self, status: str) -> list[Standing]:
        return [s for s in self.units if s.status == status]

    @property
    def unlisted(self) -> list[Standing]:
        """Units that claim new members but never sent a name list (未附实名登记名单)."""
        return [s for s in self.units if s.registered is None and s.completed > 0]

    @property
    def registered(self) -> int:
        return sum(s.registered or 0 for s in self.units)

    @property
    def summoned(self) -> list[Standing]:
        return [s for s in self.units if s.summoned]

    @property
    def escalated(self) -> list[Standing]:
        return [s for s in self.units if s.escalated]

    def to_json(self) -> dict[str, Any]:
        return {
            "period": str(self.period),
            "campaign": self.campaign,
            "total": {
                "target": self.target,
                "completed": self.completed,
                "rate": round(self.rate, 4),
            },
            "expected": round(self.expected, 4),
            "units": [
                {
                    k: (round(v, 4) if k == "rate" else v)
                    for k, v in asdict(s).items()
                    if k in _JSON_KEYS
                }
                for s in self.units
            ],
            "others": [
                {"unit": s.unit, "target": s.target, "completed": s.completed} for s in self.others
            ],
            "pending": [s.unit for s in self.having("pending")],
            "summoned": [s.unit for s in self.summoned],
            "escalated": [s.unit for s in self.escalated],
            "examples": [e.unit for e in self.examples],
            "groups": [
                {
                    "name": g.name,
                    "units": g.units,
                    "target": g.target,
                    "completed": g.completed,
                    "rate": round(g.rate, 4),
                }
                for g in self.groups
            ],
        } | ({"metrics": [m.metric_json() for m in self.metrics]} if self.metrics else {})

    def metric_json(self) -> dict[str, Any]:
        """One metric's totals and unit figures (target, rate, rank, status: with unit targets)."""
        assert self.metric is not None
        ranked = ("target", "rate", "rank", "status") if self.by_unit else ()
        keys = ("unit", "completed", "reported", *ranked)
        return {
            **self.metric.model_dump(include={"key", "name", "measure", "cumulative"}),
            "by_unit": self.by_unit,
            "total": {  # a metric with no target has no rate: shown, never rated
                "target": self.target or None,
                "completed": self.completed,
                "rate": round(self.rate, 4) if self.target else None,
            },
            "units": [
                {k: (round(v, 4) if k == "rate" else v) for k, v in asdict(s).items() if k in keys}
                for s in self.units
            ],
        }


def expected_progress(config: Config, period: Period) -> float:
    zone = config.schedule.zone
    start = datetime.combine(config.campaign.progress_start, time(0), tzinfo=zone)
    end = datetime.combine(config.campaign.end + timedelta(days=1), time(0), tzinfo=zone)
    return rules.expected_share(start, end, period.cutoff(config.schedule))


def compute(
    config: Config, reports: pd.DataFrame, period: Period, facts: Facts | None = None
) -> Standings:
    """Standings for `period`; earlier periods are classified too, for the streaks."""
    if "metric" not in reports.columns:  # frames from before multi-metric campaigns
        reports = reports.assign(metric="")
    canonical = dict(iter_unit_names(config))
    reports = reports.assign(unit=reports["unit"].map(lambda u: canonical.get(u, u)))
    known = facts or Facts()
    each = [_compute(config, reports, period, metric, known) for metric in config.metrics]
    return replace(each[0], metrics=tuple(each)) if config.campaign.metrics else each[0]


def _compute(
    config: Config, reports: pd.DataFrame, period: Period, metric: Metric, facts: Facts
) -> Standings:
    streaks = rules.Streaks()
    table = pd.DataFrame()
    for i, each in enumerate(spans.counted(config, period, facts.issued)):
        seen = spans.relabel(config, reports, each)
        seen = seen[seen["period"] <= str(each)]
        table = _classified(config, seen, each, metric, spans.held(config, facts.held, each))
        if each != period and str(each) in facts.summons:
            table = table.assign(summoned=table.index.isin(facts.summons[str(each)]))
        if i or config.rules.count_first_circular:
            streaks = streaks.advance(table)
    escalated = streaks.escalated(config.rules)
    units = [
        replace(
            _standing(str(unit), row, streaks, escalated),
            registered=facts.registered.get(str(unit)),
        )
        for unit, row in table.iterrows()
    ]
    seen = spans.relabel(config, reports, period)
    others = _others(config, seen[seen["period"] <= str(period)], period, metric)
    split = sum(s.target for s in [*units, *others])
    return Standings(
        period=period,
        campaign=config.campaign.name,
        expected=expected_progress(config, period),
        target=split if metric.target is None else metric.target,
        completed=sum(s.completed for s in [*units, *others]),
        units=units,
        others=tuple(others),
        groups=tuple(rules.group_figures(_groups(config), table)),
        examples=tuple(_examples(config, table)),
        metric=metric,
        by_unit=_by_unit(config, metric),
    )


def _by_unit(config: Config, metric: Metric) -> bool:
    """Whether the metric's target is split over the units (else it is city-wide only)."""
    return any(config.unit_target(u, metric) is not None for u in config.units)


def _standing(unit: str, row: pd.Series, streaks: rules.Streaks, escalated: set[str]) -> Standing:
    return Standing(
        unit=unit,
        section=str(row["section"]),
        target=int(row["target"]),
        completed=int(row["completed"]),
        rate=float(row["rate"]),
        rank=int(row["rank"]),
        reported=bool(row["reported"]),
        status=str(row["status"]),
        behind=bool(row["behind"]),
        lagging_streak=streaks.lagging.get(unit, 0),
        measures=str(row["measures"]),
        corrected=bool(row["corrected"]),
        summoned=bool(row["summoned"]),
        summoned_streak=streaks.summoned.get(unit, 0),
        escalated=unit in escalated,
    )


def _examples(config: Config, table: pd.DataFrame) -> list[Example]:
    limit = config.rules.excerpt_chars
    chosen = table.loc[rules.good_examples(table, config.rules)]
    return [
        Example(str(unit), float(rate), rules.excerpt(str(text), limit))
        for unit, rate, text in zip(chosen.index, chosen["rate"], chosen["measures"], strict=True)
    ]


def _groups(config: Config) -> list[tuple[str, list[str], list[str]]]:
    return [(g.name, g.leaders, config.group_units(g)) for g in config.groups]


def _members(config: Config, period: Period, reporting: bool) -> pd.DataFrame:
    """The units (reporting ones or buckets) in the campaign at `period`, with their targets."""
    rows = [
        {"unit": u.name, "section": u.section, "target": 0, "unit_config": u}
        for u in config.units
        if u.reporting == reporting and (u.since is None or u.since <= period.end)
    ]
    columns = ["unit", "section", "target", "unit_config"]
    return pd.DataFrame(rows, columns=columns).set_index("unit")


def _figures(
    config: Config, reports: pd.DataFrame, period: Period, metric: Metric, reporting: bool
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(table with target/completed/reported, this period's reports of any metric, this
    period's reports of `metric`)."""
    members = _members(config, period, reporting)
    table = members[["section"]].copy()
    table["target"] = [config.unit_target(u, metric) or 0 for u in members["unit_config"]]
    everything = reports.sort_values(["arrival", "id"])
    ordered = everything[everything["metric"] == metric.key]
    if metric.cumulative:
        completed = ordered.groupby("unit")["value"].last()
    else:
        completed = ordered.groupby(["unit", "period"])["value"].last().groupby("unit").sum()
    low = str(spans.since(config, period))  # the circular's span: a dekad, a month…
    sent = everything[(everything["period"] > low) & (everything["period"] <= str(period))]
    current = ordered[(ordered["period"] > low) & (ordered["period"] <= str(period))]
    table["completed"] = completed.reindex(table.index).fillna(0).astype(int)
    table["reported"] = table.index.isin(sent["unit"])
    return table, sent, current


def _others(
    config: Config, reports: pd.DataFrame, period: Period, metric: Metric
) -> list[Standing]:
    """Buckets (其他): their own figure, if any was filed under them, plus each of their
    enterprises' latest figure."""
    table, _, _ = _figures(config, reports, period, metric, reporting=False)
    part_of = {u.name: u.part_of for u in config.units if u.part_of}
    result = []
    for unit, row in table.iterrows():
        if unit in part_of:
            continue
        parts = tuple(
            (str(p), int(table.loc[p, "completed"]))
            for p in table.index
            if part_of.get(str(p)) == unit
        )
        completed = int(row["completed"]) + sum(n for _, n in parts)
        result.append(
            Standing(
                unit=str(unit),
                section=str(row["section"]),
                target=int(row["target"]),
                completed=completed,
                rate=rate_of(completed, row["target"]),
                rank=0,
                reported=bool(row["reported"]),
                status="bucket",
                behind=False,
                lagging_streak=0,
                measures="",
                corrected=False,
                parts=parts,
            )
        )
    return result


def _classified(
    config: Config, reports: pd.DataFrame, period: Period, metric: Metric, held: frozenset[str]
) -> pd.DataFrame:
    table, sent, current = _figures(config, reports, period, metric, reporting=True)
    table["pending"] = table.index.isin(held)
    measures = sent.groupby("unit")["measures"].last().reindex(table.index)
    table["measures"] = measures.fillna("").astype(str)
    counts = current.groupby("unit").size().reindex(table.index).fillna(0)
    table["corrected"] = counts > 1
    classified = rules.classify(table, expected_progress(config, period), config.rules)
    if not _by_unit(config, metric):
        # A city-wide target only: rank the units by their figures.
        by_figure = classified["completed"].rank(ascending=False, method="min")
        classified["rank"] = by_figure.astype(int)
    return classified.sort_values(["rank", "unit"])
