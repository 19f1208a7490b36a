"""Figures no clerk would accept: above `rules.plausible_factor` × the unit's target, or a
cumulative figure that jumps from the unit's last one by more than a dekad has ever added
(the largest increase of any unit in one dekad so far × `rules.jump_factor`, or the fixed
`rules.max_jump`). Mailed figures like these are held with the comparison in the reason;
typed ones are refused until confirmed (inputs.plausible)."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

from .config import Config
from .ledger import Ledger


def implausible(
    config: Config, ledger: Ledger, unit: str, period: str, metric: str, value: int
) -> str | None:
    """Why `value` is not believable without a person's look, with the comparison; None."""
    chosen = next(m for m in config.metrics if m.key == metric)
    target = config.unit_target(config.unit(unit), chosen) or 0
    factor = config.rules.plausible_factor
    if target and value > target * factor:
        return (
            f"完成数 {value:,} 超过该单位目标任务数 {target:,} 的 {factor:g} 倍"
            f"（{target * factor:,.0f}），请核实是否填错"
        )
    previous = ledger.previous_value(unit, period, metric)
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
        return rules.max_jump, f"设定的单旬增幅上限 {rules.max_jump:,}（rules.max_jump）"
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
