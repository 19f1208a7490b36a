"""Inputs a clerk can get wrong, checked before anything is stored: a period that is no
cutoff or lies outside the campaign, and a figure far from what is plausible.

Mailed figures no clerk would accept (`implausible`) are held by intake instead: above
`rules.plausible_factor` × the unit's target, or a cumulative figure that rises from the
unit's last one by more than a dekad has ever added (the largest rise of any unit in one
dekad so far × `rules.jump_factor`, or the fixed `rules.max_jump`), with the comparison."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from itertools import pairwise

from pipeline.config import Config, Metric
from pipeline.errors import NeedsConfirmation, UsageError
from pipeline.ledger import Ledger
from pipeline.standings.periods import Period, is_deadline, nearest, window


def period(config: Config, text: str, adhoc: bool = False) -> Period:
    """A real cutoff of the campaign, or a UsageError naming the nearest ones; with `adhoc`,
    any day of the campaign (an ad-hoc circular: 不定期通报)."""
    try:
        chosen = Period.parse(text)
    except ValueError:
        raise UsageError(
            f"旬的写法应为 YYYY-MM-DD，例如 2015-09-20（收到“{text}”）。", "bad_period"
        ) from None
    schedule = config.schedule
    if not adhoc and not is_deadline(chosen.end, schedule):
        before, after = nearest(chosen.end, schedule)
        raise UsageError(
            f"{chosen} 不是报送截止日。最近的截止日是 {before}（{before.label()}）和 "
            f"{after}（{after.label()}）。"
        )
    first, last = window(config.campaign.start, config.campaign.end, schedule)
    if not first <= chosen <= last:
        raise UsageError(
            f"{chosen} 不在活动“{config.campaign.name}”期间（第一旬 {first}，最后一旬 {last}）。"
        )
    return chosen


def plausible(
    config: Config,
    ledger: Ledger,
    unit: str,
    period: str,
    value: int,
    metric: str,
    force: bool,
    confirmed: Collection[str] = (),
) -> None:
    """Refuse, unless forced, a figure above target × rules.plausible_factor or (cumulative)
    below the unit's figure of an earlier period. `confirmed` holds the keys of the checks a
    person has already confirmed one by one (the desk's 仍然计入)."""
    if value < 0:
        raise UsageError(f"完成数不能为负数（{value}）。", "negative")
    if force:
        return
    label = f"（{metric}）" if metric else ""
    chosen = next(m for m in config.metrics if m.key == metric)
    target = config.unit_target(config.unit(unit), chosen) or 0
    factor = config.rules.plausible_factor
    if target and value > target * factor and f"too_high:{metric}" not in confirmed:
        raise NeedsConfirmation(
            f"{unit} 的完成数{label} {value:,} 超过其目标任务数 {target:,} 的 {factor:g} 倍，"
            "很可能填错了，请核实。",
            "too_high",
            (
                ("本次数字", f"{value:,}"),
                ("目标任务数", f"{target:,}"),
                (f"目标的 {factor:g} 倍", f"{target * factor:,.0f}"),
            ),
            f"too_high:{metric}",
        )
    previous = ledger.previous_value(unit, period, metric)
    below = chosen.cumulative and previous is not None and value < previous
    if below and previous is not None and f"below_previous:{metric}" not in confirmed:
        raise NeedsConfirmation(
            f"{unit} 的累计完成数{label} {value:,} 低于此前已确认的 {previous:,}，请核实。",
            "below_previous",
            (("本次累计数", f"{value:,}"), ("此前已确认", f"{previous:,}")),
            f"below_previous:{metric}",
        )


def implausible(
    config: Config,
    ledger: Ledger,
    unit: str,
    period: str,
    metric: str,
    value: int,
    previous: int | None,
) -> str | None:
    """Why `value` is not believable without a person's look, with the comparison; None.
    `previous`: the unit's figure of an earlier period (`Ledger.previous_value`)."""
    chosen = next(m for m in config.metrics if m.key == metric)
    target = config.unit_target(config.unit(unit), chosen) or 0
    factor = config.rules.plausible_factor
    if target and value > target * factor:
        return (
            f"完成数 {value:,} 超过该单位目标任务数 {target:,} 的 {factor:g} 倍"
            f"（{target * factor:,.0f}），请核实是否填错"
        )
    if not chosen.cumulative or previous is None:
        return None
    limit, why = _jump_limit(config, ledger, period, metric)
    jump = value - previous
    if limit and jump > limit:
        return f"比该单位此前的 {previous:,} 增加 {jump:,}，超过{why}，请核实是否填错"
    return None


def _jump_limit(config: Config, ledger: Ledger, period: str, metric: str) -> tuple[int, str]:
    """The largest believable increase in one dekad, and what it is, in words."""
    rules = config.rules
    if rules.max_jump:
        return rules.max_jump, f"设定的单旬增幅上限 {rules.max_jump:,}"
    latest: dict[tuple[str, str], int] = {}  # (unit, period) → its latest figure
    for r in ledger.active_reports():
        if r.metric == metric and r.period < period:
            latest[r.unit, r.period] = r.value
    by_unit: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (unit, when), value in sorted(latest.items()):
        by_unit[unit].append((when, value))
    seen = max(
        (b - a for rows in by_unit.values() for (_, a), (_, b) in pairwise(rows)),
        default=0,
    )
    if seen <= 0:
        return 0, ""
    limit = int(seen * rules.jump_factor)
    shown = f"本活动以来单旬最大增幅 {seen:,}" + (
        f" 的 {rules.jump_factor:g} 倍（{limit:,}）" if rules.jump_factor != 1 else ""
    )
    return limit, shown


def named(metric: Metric, then: str) -> str:
    """How a figure is named in a reason: not at all in a single-metric campaign."""
    return f"{metric.name}{then}" if metric.key else ""


def fell(
    metrics: dict[str, Metric], figures: dict[str, int], previous: dict[str, int | None]
) -> str | None:
    """Why a cumulative figure below the unit's earlier one must be held, if it is."""
    for key, value in figures.items():
        before = previous[key]
        if metrics[key].cumulative and before is not None and value < before:
            return (
                f"{named(metrics[key], '一栏')}累计完成数 {value} "
                f"低于该单位此前已确认的 {before}，请核实是否填错"
            )
    return None


def doubtful(
    config: Config,
    ledger: Ledger,
    unit: str,
    period: str,
    figures: dict[str, int],
    previous: dict[str, int | None],
) -> str | None:
    """The first figure of the report no clerk would accept (`implausible`), and why."""
    for key, value in figures.items():
        why = implausible(config, ledger, unit, period, key, value, previous[key])
        if why:
            return why
    return None
