"""summary.xlsx and summary.pdf of a `YearSummary`, in the circular's official style."""

from __future__ import annotations

import base64
from pathlib import Path

from markupsafe import Markup

from pipeline import atomic
from pipeline.config import Config
from pipeline.ledger import Ledger
from pipeline.outputs import circular, sheets
from pipeline.outputs.chart import trend_chart
from pipeline.outputs.sheets import PERCENT, THOUSANDS, Column
from pipeline.standings.periods import Period
from pipeline.standings.rules import growth_of, rate_of
from pipeline.standings.summary import YearSummary, is_final, summarise

BASE_YEAR_OFFSET = 1  # the base figures are the year before the campaign's


def title(config: Config, summary: YearSummary) -> str:
    return (
        f"{summary.year}年{config.campaign.name.removeprefix(str(summary.year) + '年')}完成情况汇总"
    )


def workbook(config: Config, summary: YearSummary, path: Path) -> Path:
    base_year = summary.year - BASE_YEAR_OFFSET
    columns = [
        Column("排名", 6, center=True),
        Column("单位", 16),
        Column(f"{base_year}年会员数", 10, THOUSANDS),  # dropped below when no unit has one
        Column("目标任务数", 10, THOUSANDS),
        *(Column(label, 9, THOUSANDS) for label in summary.labels),
        Column("完成率", 8, PERCENT),
        Column(f"比{base_year}年增长", 9, PERCENT),
        Column("约谈次数", 6, center=True),
        Column("全市通报次数", 7, center=True),
    ]
    rows: list[list[object]] = [
        [
            u.rank,
            u.unit,
            u.base if u.base is not None else "",
            u.target,
            *u.figures,
            u.rate,
            u.growth if u.growth is not None else "",
            u.summoned or "",
            u.escalated or "",
        ]
        for u in summary.units
    ]
    rows += [
        ["", f"{g.name}（合计）", g.base, g.target, *g.figures, g.rate, g.growth or "", "", ""]
        for g in summary.groups
    ]
    base = config.campaign.base
    completed = summary.city[-1][0]
    rows.append(
        [
            "",
            "合计",
            base or "",
            summary.target,
            *(c for c, _, _ in summary.city),
            rate_of(completed, summary.target),
            completed / base if base else "",
            sum(u.summoned for u in summary.units),
            sum(u.escalated for u in summary.units),
        ]
    )
    if not any(u.base is not None for u in summary.units) and not base:
        # a campaign with no base year (the 2019 work points): no empty 会员数/增长 columns
        drop = {2, 4 + len(summary.labels) + 1}
        columns = [c for i, c in enumerate(columns) if i not in drop]
        rows = [[v for i, v in enumerate(row) if i not in drop] for row in rows]
    expected = summary.city[-1][2]
    marks: list[str | None] = ["lagging" if u.rate < expected else None for u in summary.units]
    marks += [None] * len(summary.groups)
    goal = f"全市增长目标 {summary.goal:.0%}；" if summary.goal is not None else ""
    sheet = sheets.Sheet(
        name=f"{summary.year}年{'逐月' if summary.monthly else '逐旬'}",
        title=title(config, summary),
        subtitle=f"{config.circular.issuer}　截至 {summary.last}　{goal}"
        f"数字单位：{config.campaign.measure}",
        columns=columns,
        rows=rows,
        marks=[*marks, "total"],
        note="底色：完成率低于时间进度的单位。各列为该旬（月）末的累计完成数；排名按全年完成率。"
        + _groups_note(summary),
    )
    return sheets.write_workbook(path, [sheet, *_metrics_sheet(config, summary)])


def _groups_note(summary: YearSummary) -> str:
    """Which units a shared base covers: their growth is the group's, not their own."""
    return "".join(
        f"“{g.name}（合计）”含{'、'.join(g.units)}，{g.name}的会员数在任务分解表中合并为一格，"
        "增长按合计计算。"
        for g in summary.groups
    )


def _metrics_sheet(config: Config, summary: YearSummary) -> list[sheets.Sheet]:
    """A multi-metric campaign's every metric, the city's figure at each column."""
    if not summary.metrics:
        return []
    columns = [
        Column("指标", 24),
        Column("计量单位", 7, center=True),
        Column("全年目标", 9, THOUSANDS),
        *(Column(label, 9, THOUSANDS) for label in summary.labels),
        Column("完成率", 8, PERCENT),
    ]
    rows: list[list[object]] = [
        [
            m.name,
            m.measure,
            m.target if m.target is not None else "无量化目标",
            *m.figures,
            m.rate if m.rate is not None else "—",
        ]
        for m in summary.metrics
    ]
    return [
        sheets.Sheet(
            name="各项指标",
            title=title(config, summary),
            subtitle=f"{config.circular.issuer}　截至 {summary.last}　全市各项指标",
            columns=columns,
            rows=rows,
            marks=[None] * len(rows),
            note="各列为全市该旬（月）末的完成数；累计指标取各单位最新数之和，本旬指标逐旬相加。",
        )
    ]


def pdf(config: Config, summary: YearSummary, path: Path) -> Path:
    environment = circular.templates()
    last, start = summary.last.end, config.campaign.start
    completed = summary.city[-1][0]
    base = config.campaign.base
    context = {
        "title": title(config, summary),
        "campaign": config.campaign,
        "c": config.circular,
        "start_cn": f"{start.year}年{start.month}月{start.day}日",
        "end_cn": f"{last.year}年{last.month}月{last.day}日",
        "last_label": summary.last.label(),
        "completed": completed,
        "target": summary.target,
        "rate": rate_of(completed, summary.target),
        "base": base,
        "base_year": summary.year - BASE_YEAR_OFFSET,
        "growth": growth_of(completed, base),
        "goal": summary.goal,
        "monthly": summary.monthly,
        "units": summary.units,
        "groups": summary.groups,
        "groups_note": _groups_note(summary),
        "metrics": summary.metrics,
        "summoned": sum(u.summoned for u in summary.units),
        "escalated": sum(u.escalated for u in summary.units),
    }
    draft = circular.render(environment, "summary.html.j2", css="", chart="", **context)
    chosen = circular.choose_fonts(config, draft)
    svg = trend_chart(
        summary.labels,
        [rate for _, rate, _ in summary.city],
        [expected for _, _, expected in summary.city],
        chosen["serif"].family,
        circular.RED,
    )
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    chart = Markup(
        f'<img class="chart" alt="全市完成率趋势图" src="data:image/svg+xml;base64,{encoded}">'
    )
    families = {role: Markup(choice.css) for role, choice in chosen.items()}
    css = circular.render(environment, "circular.css.j2", font=families, red=circular.RED)
    page = circular.render(environment, "summary.html.j2", css=Markup(css), chart=chart, **context)
    made = circular.Circular("", page, {role: c.family for role, c in chosen.items()})
    with atomic.written(path) as temporary:
        temporary.write_bytes(made.pdf())
    return path


def after_final(config: Config, ledger: Ledger, period: Period, out: Path) -> Path | None:
    """With the last period's circular, the year's summary (into `out`/summary-YYYY)."""
    if not is_final(config, period):
        return None
    made = summarise(config, ledger, period.end.year, period, monthly=False)
    return write(config, made, out / folder_name(made))[1]


def folder_name(summary: YearSummary) -> str:
    return f"summary-{summary.year}" + ("-monthly" if summary.monthly else "")


def write(config: Config, summary: YearSummary, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    xlsx = workbook(config, summary, folder / "summary.xlsx")
    made = pdf(config, summary, folder / "summary.pdf")
    return xlsx, made
