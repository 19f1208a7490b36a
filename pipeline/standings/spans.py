"""What one circular covers (the seed's 定期或不定期通报, 每月通报): a dekad, a month, or an
ad-hoc date.

- a dekad circular (circular.every: dekad) covers its own dekad;
- with circular.every: month, only each month's last dekad has a circular, and it covers
  the month's dekads: a unit reported when it sent a form in any of them;
- an ad-hoc circular (`xunbao run --period` on a date that is no deadline) counts the
  reports that arrived by that date's cutoff, and a unit reported when it sent a form in
  the last closed dekad or since.

`since` is the one decision: the last period *before* the span. Reports are labelled by
dekad; `relabel` gives an ad-hoc date the reports of its dekad that arrived by its cutoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pipeline.config import Config
from pipeline.standings.periods import Period, between, following, is_deadline, previous

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["dekad", "month", "adhoc"]


def kind(config: Config, period: Period) -> Kind:
    schedule = config.schedule
    if not is_deadline(period.end, schedule):
        return "adhoc"
    if config.circular.every == "month" and month_end(config, period):
        return "month"
    return "dekad"


def month_end(config: Config, period: Period) -> bool:
    """The month's last dekad (the one whose circular is the monthly one)."""
    return following(period, config.schedule).end.month != period.end.month


def since(config: Config, period: Period) -> Period:
    """The last period before the span the circular covers (exclusive bound)."""
    schedule = config.schedule
    chosen = kind(config, period)
    if chosen == "adhoc":
        return previous(previous(period, schedule), schedule)
    if chosen == "month":
        first = period
        while previous(first, schedule).end.month == period.end.month:
            first = previous(first, schedule)
        return previous(first, schedule)
    return previous(period, schedule)


def reach(config: Config, period: Period) -> Period:
    """The dekad whose reports an ad-hoc date needs (its own for a deadline)."""
    if is_deadline(period.end, config.schedule):
        return period
    return following(previous(period, config.schedule), config.schedule)


def relabel(config: Config, reports: pd.DataFrame, period: Period) -> pd.DataFrame:
    """For an ad-hoc date: its dekad's reports that arrived by its cutoff become its own,
    the later ones are dropped. A deadline's reports are returned as they are."""
    if is_deadline(period.end, config.schedule):
        return reports
    import pandas as pd

    dekad = str(reach(config, period))
    cutoff = pd.Timestamp(period.cutoff(config.schedule))
    inside = reports["period"] == dekad
    late = inside & (reports["arrival"] > cutoff)
    kept = reports[~late].copy()
    kept.loc[kept["period"] == dekad, "period"] = str(period)
    return kept


def label(config: Config, period: Period) -> str:
    """2015年9月中旬, 2015年9月 (monthly) or 2015年9月25日 (ad hoc)."""
    chosen = kind(config, period)
    end = period.end
    if chosen == "month":
        return f"{end.year}年{end.month}月"
    if chosen == "adhoc":
        return f"{end.year}年{end.month}月{end.day}日"
    return period.label()


def term(config: Config, period: Period) -> str:
    """How the circular calls its span: 本旬, 本月 or 本期."""
    return {"dekad": "本旬", "month": "本月", "adhoc": "本期"}[kind(config, period)]


def wanted(config: Config, period: Period) -> bool:
    """Whether the schedule makes a circular for this dekad (every: month — its last one)."""
    return config.circular.every == "dekad" or month_end(config, period)


def counted(config: Config, period: Period, issued: frozenset[str]) -> list[Period]:
    """The periods whose classification feeds the streaks, ending with `period` itself: the
    scheduled circulars' periods (each dekad, or each month's last) and, when streaks count
    issued circulars (rules.streaks), only the issued ones, ad-hoc ones included."""
    dekads = between(config.campaign.start, period, config.schedule)
    earlier = [p for p in dekads if p < period and wanted(config, p)]
    if config.rules.streaks == "circulars":
        adhoc = {Period.parse(p) for p in issued} - set(dekads)
        earlier = [p for p in earlier if str(p) in issued]
        earlier = sorted([*earlier, *(p for p in adhoc if p < period)])
    return [*earlier, period]


def held(config: Config, by_period: Mapping[str, frozenset[str]], period: Period) -> frozenset[str]:
    """Units with a message held for review in the circular's span."""
    low, high = str(since(config, period)), str(reach(config, period))
    return frozenset().union(*(u for p, u in by_period.items() if low < p <= high))
