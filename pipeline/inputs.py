"""Inputs a clerk can get wrong, checked before anything is stored: a period that is no
cutoff or lies outside the campaign, and a figure far from what is plausible."""

from __future__ import annotations

from .config import Config
from .errors import UsageError
from .ledger import Ledger
from .periods import Period, is_deadline, nearest, window


def period(config: Config, text: str) -> Period:
    """A real cutoff of the campaign, or a UsageError naming the nearest ones."""
    try:
        chosen = Period.parse(text)
    except ValueError:
        raise UsageError(
            f"--period 的格式应为 YYYY-MM-DD，例如 2015-09-20（收到 {text!r}）"
        ) from None
    schedule = config.schedule
    if not is_deadline(chosen.end, schedule):
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
    config: Config, ledger: Ledger, unit: str, period: str, value: int, metric: str, force: bool
) -> None:
    """Refuse, unless forced, a figure above target × rules.plausible_factor or (cumulative)
    below the unit's figure of an earlier period."""
    if value < 0:
        raise UsageError(f"完成数不能为负数（{value}）。")
    if force:
        return
    chosen = next(m for m in config.metrics if m.key == metric)
    target = config.unit_target(config.unit(unit), chosen) or 0
    factor = config.rules.plausible_factor
    if target and value > target * factor:
        raise UsageError(
            f"{unit} 的完成数 {value:,} 超过其目标任务数 {target:,} 的 {factor:g} 倍，"
            "很可能填错了。请核实；确认无误请加 --force。"
        )
    previous = ledger.previous_value(unit, period, metric)
    if chosen.cumulative and previous is not None and value < previous:
        raise UsageError(
            f"{unit} 的累计完成数 {value:,} 低于此前已确认的 {previous:,}，请核实；"
            "确认无误请加 --force。"
        )
