"""Standings of one period with pandas: each unit's figure against its target.

completed  = the unit's latest accepted cumulative figure (by arrival) up to the cutoff,
             or, for per-period campaigns, the sum of each period's latest figure;
reported   = an accepted report arrived in this very period;
status     = completed | missing | lagging | on_track, in that order of precedence;
lagging    = the bottom N by rate among reporting units behind the time-elapsed progress.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pandas as pd

from .config import Config
from .periods import Period, between

STATUS_LABELS = {
    "completed": "已完成",
    "on_track": "推进中",
    "lagging": "末位",
    "missing": "未报送",
}


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

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class Standings:
    period: Period
    campaign: str
    expected: float  # share of the campaign's time elapsed at the cutoff
    target: int
    completed: int
    units: list[Standing]

    @property
    def rate(self) -> float:
        return self.completed / self.target if self.target else 0.0

    def having(self, status: str) -> list[Standing]:
        return [s for s in self.units if s.status == status]

    def to_json(self) -> dict[str, Any]:
        keys = (
            "unit",
            "target",
            "completed",
            "rate",
            "rank",
            "reported",
            "status",
            "lagging_streak",
        )
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
                {k: (round(v, 4) if k == "rate" else v) for k, v in asdict(s).items() if k in keys}
                for s in self.units
            ],
        }


def expected_progress(config: Config, period: Period) -> float:
    zone = config.schedule.zone
    start = datetime.combine(config.campaign.start, time(0), tzinfo=zone)
    end = datetime.combine(config.campaign.end + timedelta(days=1), time(0), tzinfo=zone)
    share = (period.cutoff(config.schedule) - start) / (end - start)
    return min(max(share, 0.0), 1.0)


def compute(config: Config, reports: pd.DataFrame, period: Period) -> Standings:
    """Standings for `period`; earlier periods are computed too, for the lagging streak."""
    streak: dict[str, int] = {}
    table = pd.DataFrame()
    for each in between(config.campaign.start, period, config.schedule):
        table = _table(config, reports[reports["period"] <= str(each)], each)
        for unit, status in table["status"].items():
            streak[str(unit)] = streak.get(str(unit), 0) + 1 if status == "lagging" else 0
    if table.empty:
        table = _table(config, reports.iloc[0:0], period)
    units = [
        Standing(
            unit=str(unit),
            section=str(row["section"]),
            target=int(row["target"]),
            completed=int(row["completed"]),
            rate=float(row["rate"]),
            rank=int(row["rank"]),
            reported=bool(row["reported"]),
            status=str(row["status"]),
            behind=bool(row["behind"]),
            lagging_streak=streak.get(str(unit), 0),
            measures=str(row["measures"]),
            corrected=bool(row["corrected"]),
        )
        for unit, row in table.iterrows()
    ]
    return Standings(
        period=period,
        campaign=config.campaign.name,
        expected=expected_progress(config, period),
        target=config.campaign.target,
        completed=sum(s.completed for s in units),
        units=units,
    )


def _table(config: Config, reports: pd.DataFrame, period: Period) -> pd.DataFrame:
    table = pd.DataFrame(
        [{"unit": u.name, "section": u.section, "target": u.target} for u in config.reporting_units]
    ).set_index("unit")
    ordered = reports.sort_values(["arrival", "id"])
    if config.campaign.cumulative:
        completed = ordered.groupby("unit")["value"].last()
    else:
        completed = ordered.groupby(["unit", "period"])["value"].last().groupby("unit").sum()
    current = ordered[ordered["period"] == str(period)]
    table["completed"] = completed.reindex(table.index).fillna(0).astype(int)
    table["reported"] = table.index.isin(current["unit"])
    table["measures"] = current.groupby("unit")["measures"].last().reindex(table.index).fillna("")
    counts = current.groupby("unit").size().reindex(table.index).fillna(0)
    table["corrected"] = counts > 1
    target = table["target"].where(table["target"] > 0)
    table["rate"] = (table["completed"] / target).fillna(1.0)
    table["rank"] = table["rate"].rank(ascending=False, method="min").astype(int)
    done = table["completed"] >= table["target"]
    expected = expected_progress(config, period) * config.rules.behind_margin
    table["behind"] = ~done & (table["rate"] < expected)
    candidates = table[table["behind"] & table["reported"]]
    bottom = candidates.nsmallest(config.rules.lagging_count, "rate", keep="all").index
    table["status"] = "on_track"
    table.loc[table.index.isin(bottom), "status"] = "lagging"
    table.loc[~table["reported"], "status"] = "missing"
    table.loc[done, "status"] = "completed"
    return table.sort_values(["rank", "unit"])
