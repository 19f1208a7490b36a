"""The clerk's side of the review queue: approve, reject, or record a figure by hand.

Every decision is one ledger transaction holding the new outcome, the report (if any)
and an `actions` row with its time, so the register always shows who decided what.
"""

from __future__ import annotations

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
) -> Report:
    row = held(ledger, message)
    reading = row["detail"].get("reading", {})
    chosen_unit = canonical_unit(config, unit) if unit else row["unit"] or reading.get("unit")
    chosen_value = value if value is not None else row["value"]
    if chosen_unit is None or chosen_value is None:
        missing = "单位（--unit）" if chosen_unit is None else "完成数（--value）"
        raise UsageError(f"第 {message} 号邮件没有可用的{missing}，请在命令中写明。")
    if chosen_unit not in {u.name for u in config.reporting_units}:
        chosen_unit = canonical_unit(config, chosen_unit)
    if row["period"] is None or row["arrival"] is None:
        raise UsageError(f"第 {message} 号邮件没有到达时间，无法确定所属旬；请改用 xunbao record。")
    report = Report(
        unit=chosen_unit,
        period=row["period"],
        value=_non_negative(chosen_value),
        arrival=datetime.fromisoformat(row["arrival"]),
        measures=reading.get("measures", ""),
        reported_on=reading.get("reported_on"),
        origin="approved",
        note="人工审核通过",
        metric=metric_key(config, metric),
    )
    reason = f"人工审核通过，计入 {report.unit}：{report.value}（原因：{row['reason']}）"
    ledger.settle(message, "counted", reason, report)
    return report


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
