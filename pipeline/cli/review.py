"""`xunbao review` (list, show, approve, reject, reopen) and `xunbao record`: the clerk's
actions. Each takes --by (who acts; default the OS user) and stores it with the time."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import job
from .. import review as review_actions
from .common import by_option, config_option, console, load_config, parse_period, print_table


@click.group(invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_context
def review(ctx: click.Context, config_path: Path, as_json: bool) -> None:
    """待人工审核的邮件：列出、查看（show）、通过（approve）、驳回（reject）。"""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        rows = ledger.messages(outcome="review")
    queue = [
        {
            "id": r.id,
            "message_id": r.message_id,
            "subject": r.subject,
            "arrival": r.arrival,
            "period": r.period,
            "reason": r.reason,
            "from": r.sender,
        }
        for r in rows
    ]
    if as_json:
        click.echo(json.dumps(queue, ensure_ascii=False, indent=2))
        return
    if not queue:
        console.print("没有待审核的邮件。")
        return
    columns = {
        "id": "编号",
        "arrival": "到达时间",
        "from": "发件人",
        "subject": "主题",
        "reason": "原因",
    }
    print_table(f"待审核邮件（{len(queue)} 封）", queue, columns)


@review.command("show")
@click.argument("message", type=int)
@config_option
def review_show(message: int, config_path: Path) -> None:
    """查看一封待审核邮件的详情。"""
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        row = review_actions.held(ledger, message)
    detail = row.detail
    console.print(f"[bold]第 {row.id} 号邮件[/bold]（待审核）")
    for label, text in (
        ("发件人", row.sender),
        ("主题", row.subject),
        ("到达时间", row.arrival),
        ("所属旬", row.period),
        ("Message-ID", row.message_id),
    ):
        console.print(f"{label}：{text or ''}", highlight=False)
    console.print(f"附件：{'、'.join(detail.get('attachments', [])) or '无'}", highlight=False)
    if detail.get("defects"):
        console.print(f"邮件格式问题：{'、'.join(detail['defects'])}", highlight=False)
    for reading in detail.get("readings", []):
        console.print(
            f"读到（{reading['origin']}）：单位 {reading['unit'] or '未写'}，"
            f"完成数 {reading['value'] if reading['value'] is not None else '未读到'}"
            + (f"，问题：{reading['problem']}" if reading["problem"] else ""),
            highlight=False,
        )
    if detail.get("ocr_text"):
        console.print(f"识别文字（OCR）：\n{detail['ocr_text']}", highlight=False)
    if detail.get("body"):
        console.print(f"正文：\n{detail['body']}", highlight=False)
    console.print(f"[yellow]原因：{row.reason}[/yellow]", highlight=False)


@review.command("approve")
@click.argument("message", type=int)
@click.option("--unit", help="单位（不写则用报表上识别到的单位）")
@click.option("--value", type=int, help="完成数（不写则用报表上识别到的数字）")
@click.option("--metric", help="指标键（多指标活动；默认第一个指标）")
@click.option("--reason", default="", help="说明（可选）")
@click.option("--force", is_flag=True, help="确认：数字超出合理范围或取代已计入的报表")
@by_option
@config_option
def review_approve(
    message: int,
    unit: str | None,
    value: int | None,
    metric: str | None,
    reason: str,
    force: bool,
    by: str | None,
    config_path: Path,
) -> None:
    """审核通过：计入该单位的完成数。"""
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        done = review_actions.approve(
            config, ledger, message, unit, value, metric, by=by, why=reason, force=force
        )
    report = done.report
    console.print(
        f"第 {message} 号邮件已审核通过：{report.unit} {report.value}（{report.period}）。"
        + ("（该单位本旬另有计入的报表，以到达较晚者为准）" if done.replaces else ""),
        highlight=False,
    )
    _hint_reissue(report.period)


@review.command("reject")
@click.argument("message", type=int)
@click.option("--reason", required=True, help="驳回理由")
@by_option
@config_option
def review_reject(message: int, reason: str, by: str | None, config_path: Path) -> None:
    """驳回：该邮件不计数，记录理由。"""
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        row = review_actions.reject(ledger, message, reason, by=by)
    console.print(f"第 {message} 号邮件已驳回。")
    _hint_reissue(row.period)


@review.command("reopen")
@click.argument("message", type=int)
@click.option("--reason", required=True, help="重新审核的理由")
@by_option
@config_option
def review_reopen(message: int, reason: str, by: str | None, config_path: Path) -> None:
    """重新审核：把已计入、已驳回或已忽略的邮件放回待审核队列（其数字不再计入）。"""
    config = load_config(config_path)
    with job.open_ledger(config) as ledger:
        done = review_actions.reopen(ledger, message, reason, by=by)
        period = review_actions.found(ledger, message).period
    taken = f"，撤回其计入的 {len(done.withdrawn)} 个数字" if done.withdrawn else ""
    console.print(f"第 {message} 号邮件已放回待审核队列（原结果：{done.was}）{taken}。")
    _hint_reissue(period)


def _hint_reissue(period: str | None) -> None:
    if period:
        console.print(
            f"如该旬通报已发出，运行 xunbao reissue --period {period} 发送更正"
            "（自动运行时下一次运行会自动发送）。",
            highlight=False,
        )


@click.command()
@config_option
@click.option("--unit", required=True, help="单位名称")
@click.option("--period", required=True, help="所属旬的截止日期 YYYY-MM-DD")
@click.option("--value", required=True, type=int, help="累计完成数")
@click.option("--note", default="", help="备注，如“电话报送”")
@click.option("--metric", help="指标键（多指标活动；默认第一个指标）")
@click.option("--force", is_flag=True, help="确认：数字超出合理范围（如超过目标的 3 倍）")
@by_option
def record(
    config_path: Path,
    unit: str,
    period: str,
    value: int,
    note: str,
    metric: str | None,
    force: bool,
    by: str | None,
) -> None:
    """手工录入一个单位的数字（如电话报送）。"""
    config = load_config(config_path)
    chosen = parse_period(config, period)
    assert chosen is not None
    with job.open_ledger(config) as ledger:
        done = review_actions.record(
            config, ledger, unit, chosen, value, note, metric, by=by, force=force
        )
    report = done.report
    console.print(
        f"已录入（第 {done.id} 号）：{report.unit} {report.value}"
        f"（{report.period}，{report.note}）。",
        highlight=False,
    )
    _hint_reissue(report.period)


@click.command()
@config_option
@click.option("--period", help="只重新判断该旬（YYYY-MM-DD）的邮件")
@by_option
def recheck(config_path: Path, period: str | None, by: str | None) -> None:
    """按现在的配置重新判断待审核邮件，列出结果有变化的。"""
    from ..recheck import recheck as recheck_held

    config = load_config(config_path)
    chosen = parse_period(config, period)
    with job.open_ledger(config) as ledger:
        results = [r for r in recheck_held(config, ledger, chosen, by=by) if r.changed]
    if not results:
        console.print("重新判断完毕：待审核邮件的结果都没有变化。")
        return
    for r in results:
        if r.counted is not None:
            c = r.counted
            line = f"第 {r.message} 号邮件现已计入：{c.unit} {c.value}（{c.period}）。"
        else:
            line = f"第 {r.message} 号邮件仍待审核，原因改为：{r.reason}。"
        console.print(line, highlight=False)
    _hint_reissue(str(chosen) if chosen else None)
