"""The clerk's actions on the register: approve, reject, reopen, record by hand, withdraw.

Every action is one ledger transaction holding the new outcome, the report (if any) and an
`actions` row with who (`by`, else the OS user), when and why; every one can be undone
(reopen a decided message, withdraw a recorded figure). The CLI and the web desk call
these functions and show their typed results.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from pipeline.config import Config
from pipeline.config.units import canonical_unit
from pipeline.errors import NeedsConfirmation, UsageError
from pipeline.intake import inputs, roster
from pipeline.ledger import Ledger, MessageRecord, Report
from pipeline.ledger.detail import NameList
from pipeline.ledger.records import ReportRecord
from pipeline.outputs.register import OUTCOME_NAMES
from pipeline.standings.periods import Period


@dataclass(frozen=True)
class Approved:
    message: int
    report: Report
    replaces: tuple[ReportRecord, ...]  # other counted reports of the unit and period


@dataclass(frozen=True)
class Reopened:
    message: int
    was: str  # the outcome before
    withdrawn: tuple[int, ...]  # report ids taken back


@dataclass(frozen=True)
class Recorded:
    id: int
    report: Report


def actor(by: str | None) -> str:
    """Who acts: the name given, else '' and the ledger's own actor (the desk
    account, or the CLI's system user)."""
    return (by or "").strip()


def held(ledger: Ledger, message: int) -> MessageRecord:
    row = found(ledger, message)
    if row.outcome != "review":
        raise UsageError(
            f"第 {message} 号邮件不在待审核队列中"
            f"（当前结果：{OUTCOME_NAMES.get(row.outcome, row.outcome)}），可能已由他人处理。",
            "not_held",
            message=message,
        )
    return row


def found(ledger: Ledger, message: int) -> MessageRecord:
    row = ledger.message(message)
    if row is None:
        raise UsageError(f"没有编号为 {message} 的邮件。", "no_message")
    return row


def metric_key(config: Config, given: str | None) -> str:
    """The metric a clerk's figure is for: '' in a single-metric campaign, else a listed key
    (default: the headline metric)."""
    keys = [m.key for m in config.campaign.metrics]
    if not keys:
        if given:
            raise UsageError("本活动只有一个统计指标，不需要指定指标。", "single_metric")
        return ""
    if given is None:
        return keys[0]
    if given not in keys:
        raise UsageError(f"没有指标 {given!r}。可用的指标：{'、'.join(keys)}。", "unknown_metric")
    return given


def approve(
    config: Config,
    ledger: Ledger,
    message: int,
    unit: str | None,
    value: int | None,
    metric: str | None = None,
    values: Mapping[str, int | None] | None = None,
    *,
    by: str | None = None,
    why: str = "",
    force: bool = False,
    confirmed: Collection[str] = (),
    dry_run: bool = False,
) -> Approved:
    """Count a held message (`dry_run`: only check it, store nothing). `value` (for
    `metric`) and `values` (metric key → figure) override what the form was read as,
    metric by metric (a metric given as None: the clerk emptied it, not reported this
    dekad). A figure outside what is plausible, or replacing another counted report of
    the unit and period, needs `force` (or its check's key in `confirmed`, one check at a
    time)."""
    row = held(ledger, message)
    said = row.detail.said
    chosen_unit = canonical_unit(config, unit) if unit else row.unit or said.unit
    figures = chosen_figures(config, row, value, metric, values)
    if chosen_unit is None or not figures:
        missing = "单位" if chosen_unit is None else "完成数"
        code = "unit_missing" if chosen_unit is None else "figure_missing"
        raise UsageError(f"第 {message} 号邮件没有可用的{missing}，请写明。", code)
    if chosen_unit not in {u.name for u in config.reporting_units}:
        chosen_unit = canonical_unit(config, chosen_unit)
    if row.period is None or row.arrival is None:
        raise UsageError(
            f"第 {message} 号邮件没有到达时间，无法确定所属旬；请改为手工录入该单位的数字。",
            "no_arrival",
        )
    for key, figure in figures:
        inputs.plausible(config, ledger, chosen_unit, row.period, figure, key, force, confirmed)
    others = tuple(ledger.active_reports(chosen_unit, row.period))
    if others and not force and "replaces" not in confirmed:
        shown = "、".join(_described(r) for r in others)
        compared = tuple((_described(r).rsplit(" ", 1)[0], f"{r.value:,}") for r in others)
        compared += ((f"第 {message} 号邮件", "、".join(f"{v:,}" for _, v in figures)),)
        raise NeedsConfirmation(
            f"{chosen_unit} 在 {row.period} 已有计入的报表（{shown}）。通过第 {message} 号邮件"
            "后将以到达时间较晚者为准。",
            "replaces",
            compared,
        )
    names = None if dry_run else _names(config, row)
    report = Report(
        unit=chosen_unit,
        period=row.period,
        value=figures[0][1],
        arrival=datetime.fromisoformat(row.arrival),
        measures=said.measures,
        reported_on=said.reported_on,
        origin="approved",
        note="人工审核通过",
        metric=figures[0][0],
        figures=figures,
        roster=names.hashes if names else frozenset(),
    )
    shown = "、".join(f"{key}={v}" if key else str(v) for key, v in figures)
    reason = f"人工审核通过，计入 {report.unit}：{shown}（原因：{row.reason}）"
    if names:
        reason += f"；实名登记 {names.valid} 名"
    if why.strip():
        reason += f"；说明：{why.strip()}"
    if not dry_run:
        ledger.decide(message, "counted", reason, report, actor(by))
    return Approved(message, report, others)


def _names(config: Config, row: MessageRecord) -> NameList | None:
    """The mail's name list as intake kept it. Mail noted before intake kept the list is
    read again, in the reader sandbox (a reader process: hundreds of milliseconds)."""
    noted = row.detail
    if noted.names is not None or noted.name_list is False:
        return noted.names
    return roster.of_original(config, row.sha256)


def chosen_figures(
    config: Config,
    row: MessageRecord,
    value: int | None,
    metric: str | None,
    values: Mapping[str, int | None] | None,
) -> tuple[tuple[str, int], ...]:
    """One figure per metric, in the campaign's order: the clerk's, else the form's. A
    metric the clerk emptied (None) is not reported: it never falls back to the form."""
    given: dict[str, int | None] = {
        metric_key(config, key or None): v for key, v in (values or {}).items()
    }
    if value is not None:
        given[metric_key(config, metric)] = value
    read = dict(row.detail.said.figures)
    if not config.campaign.metrics:
        fallback = row.value if row.value is not None else row.detail.said.value
        if fallback is not None:
            read[""] = fallback
    chosen = ((m.key, given[m.key] if m.key in given else read.get(m.key)) for m in config.metrics)
    return tuple((key, int(v)) for key, v in chosen if v is not None)


def confirm(config: Config, ledger: Ledger, message: int, *, by: str | None = None) -> Approved:
    """One step for a figure held as implausible: the clerk has checked it, and it counts as
    it was read (unit and figures from the form)."""
    return approve(config, ledger, message, None, None, by=by, why="已核实数字无误", force=True)


def reject(ledger: Ledger, message: int, why: str, *, by: str | None = None) -> MessageRecord:
    held(ledger, message)
    if not why.strip():
        raise UsageError("驳回时请写明理由。", "reason_required")
    ledger.decide(message, "ignored", f"人工驳回：{why.strip()}", None, actor(by))
    return found(ledger, message)


def reopen(ledger: Ledger, message: int, why: str, *, by: str | None = None) -> Reopened:
    """A counted, rejected or ignored message back in the queue; its figures stop counting."""
    row = found(ledger, message)
    if row.outcome == "review":
        raise UsageError(f"第 {message} 号邮件已在待审核队列中。")
    if not why.strip():
        raise UsageError("重新审核时请写明理由。", "reason_required")
    withdrawn = ledger.reopen(message, row.period, actor(by), why.strip())
    ledger.clear_setting(f"sendback:{message}")  # a send-back reopened is no longer open
    return Reopened(message, row.outcome, tuple(withdrawn))


def record(
    config: Config,
    ledger: Ledger,
    unit: str,
    period: Period,
    value: int,
    note: str,
    metric: str | None = None,
    *,
    by: str | None = None,
    force: bool = False,
    confirmed: Collection[str] = (),
) -> Recorded:
    """A figure given by phone or on paper; it counts as arriving at the period's cutoff,
    so it is the period's last word but never overtakes a later period's reports."""
    checked = inputs.period(config, str(period))
    key = metric_key(config, metric)
    name = canonical_unit(config, unit)
    inputs.plausible(config, ledger, name, str(checked), value, key, force, confirmed)
    report = Report(
        unit=name,
        period=str(checked),
        value=value,
        arrival=checked.cutoff(config.schedule),
        origin="recorded",
        note=note.strip() or "人工录入",
        metric=key,
    )
    return Recorded(ledger.add_report(report, actor(by)), report)


def withdraw(ledger: Ledger, number: int, why: str, *, by: str | None = None) -> ReportRecord:
    """Take back a figure recorded by hand; the row stays, marked withdrawn."""
    found_report = ledger.report(number)
    if found_report is None or found_report.origin != "recorded":
        raise UsageError(f"没有编号为 {number} 的手工录入记录。", "no_record")
    if found_report.withdrawn_at:
        raise UsageError(f"第 {number} 号手工录入记录已于 {found_report.withdrawn_at} 撤回。")
    if not why.strip():
        raise UsageError("撤回时请写明理由。", "reason_required")
    return ledger.withdraw(number, actor(by), why.strip())


def _described(report: ReportRecord) -> str:
    where = f"第 {report.message} 号邮件" if report.message else f"手工录入第 {report.id} 号"
    return f"{where} {report.value:,}"
