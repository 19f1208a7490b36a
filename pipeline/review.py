"""The clerk's side of the review queue: approve, reject, or record a figure by hand.

Every decision is one ledger transaction holding the new outcome, the report (if any)
and an `actions` row with its time, so the register always shows who decided what.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .config import Config
from .errors import UsageError
from .ledger import Ledger, Report
from .periods import Period
from .units import Directory


def held(ledger: Ledger, message: int) -> dict[str, Any]:
    row = ledger.message(message)
    if row is None:
        raise UsageError(f"没有编号为 {message} 的邮件。请用 xunbao review 查看待审核邮件的编号。")
    if row["outcome"] != "review":
        raise UsageError(f"第 {message} 号邮件不在待审核队列中（当前结果：{row['outcome']}）。")
    return row


def canonical_unit(config: Config, written: str) -> str:
    match = Directory(config).match(written)
    if match.unit is None:
        raise UsageError(f"{match.problem}。请写 config.yaml 中登记的单位名称。")
    return match.unit


def metric_key(config: Config, given: str | None) -> str:
    """The metric a clerk's figure is for: '' in a single-metric campaign, else a listed key
    (default: the headline metric)."""
    keys = [m.key for m in config.campaign.metrics]
    if not keys:
        if given:
            raise UsageError("本活动只有一个统计指标，不需要 --metric。")
        return ""
    if given is None:
        return keys[0]
    if given not in keys:
        raise UsageError(f"没有指标 {given!r}。可用的指标：{'、'.join(keys)}。")
    return given


def approve(
    config: Config,
    ledger: Ledger,
    message: int,
    unit: str | None,
    value: int | None,
    metric: str | None = None,
    values: Mapping[str, int] | None = None,
) -> Report:
    """Count a held message; `value` (for `metric`) and `values` (metric key → figure)
    override what the form was read as, metric by metric."""
    row = held(ledger, message)
    reading = row["detail"].get("reading", {})
    chosen_unit = canonical_unit(config, unit) if unit else row["unit"] or reading.get("unit")
    figures = chosen_figures(config, row, value, metric, values)
    if chosen_unit is None or not figures:
        missing = "单位（--unit）" if chosen_unit is None else "完成数（--value）"
        raise UsageError(f"第 {message} 号邮件没有可用的{missing}，请在命令中写明。")
    if chosen_unit not in {u.name for u in config.reporting_units}:
        chosen_unit = canonical_unit(config, chosen_unit)
    if row["period"] is None or row["arrival"] is None:
        raise UsageError(f"第 {message} 号邮件没有到达时间，无法确定所属旬；请改用 xunbao record。")
    report = Report(
        unit=chosen_unit,
        period=row["period"],
        value=figures[0][1],
        arrival=datetime.fromisoformat(row["arrival"]),
        measures=reading.get("measures", ""),
        reported_on=reading.get("reported_on"),
        origin="approved",
        note="人工审核通过",
        metric=figures[0][0],
        figures=figures,
    )
    shown = "、".join(f"{key}={v}" if key else str(v) for key, v in figures)
    reason = f"人工审核通过，计入 {report.unit}：{shown}（原因：{row['reason']}）"
    ledger.settle(message, "counted", reason, report)
    return report


def chosen_figures(
    config: Config,
    row: dict[str, Any],
    value: int | None,
    metric: str | None,
    values: Mapping[str, int] | None,
) -> tuple[tuple[str, int], ...]:
    """One figure per metric, in the campaign's order: the clerk's, else the form's."""
    given = {metric_key(config, key or None): v for key, v in (values or {}).items()}
    if value is not None:
        given[metric_key(config, metric)] = value
    read = dict(row["detail"].get("reading", {}).get("figures", {}))
    if not config.campaign.metrics and row["value"] is not None:
        read[""] = row["value"]
    chosen = ((m.key, given.get(m.key, read.get(m.key))) for m in config.metrics)
    return tuple((key, _non_negative(int(v))) for key, v in chosen if v is not None)


def reject(ledger: Ledger, message: int, why: str) -> None:
    held(ledger, message)
    if not why.strip():
        raise UsageError("驳回时请用 --reason 写明理由。")
    ledger.settle(message, "ignored", f"人工驳回：{why.strip()}", None)


def record(
    config: Config,
    ledger: Ledger,
    unit: str,
    period: Period,
    value: int,
    note: str,
    metric: str | None = None,
) -> Report:
    """A figure given by phone or on paper; it counts as arriving at the period's cutoff,
    so it is the period's last word but never overtakes a later period's reports."""
    report = Report(
        unit=canonical_unit(config, unit),
        period=str(period),
        value=_non_negative(value),
        arrival=period.cutoff(config.schedule),
        origin="recorded",
        note=note.strip() or "人工录入",
        metric=metric_key(config, metric),
    )
    ledger.add_report(report)
    return report


def _non_negative(value: int) -> int:
    if value < 0:
        raise UsageError(f"完成数不能为负数（{value}）。")
    return value
