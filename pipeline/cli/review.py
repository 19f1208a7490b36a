"""`xunbao review` (list, show, approve, reject) and `xunbao record`: the clerk's actions."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.clerk import review as review_actions
from pipeline.cli.common import by_option, config_option, load_config, parse_period, reasoned
from pipeline.cli.output import Shown, console, hint_reissue, print_table
from pipeline.cli.register import as_json as register_json
from pipeline.cli.register import compact, export
from pipeline.errors import UsageError
from pipeline.ledger import open_ledger
from pipeline.outputs import register
from pipeline.standings.periods import local_text


@click.group(invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.option("--xlsx", type=click.Path(path_type=Path), help="另存为 Excel 表格（完整内容）")
@click.pass_context
def review(ctx: click.Context, config_path: Path, as_json: bool, xlsx: Path | None) -> None:
    """待人工审核的邮件：列出、查看（show）、通过（approve）、核实数字（confirm）、驳回（reject）。"""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(config_path)
    with open_ledger(config) as ledger:
        queue = register.rows(ledger, outcome="review")
    if as_json:
        click.echo(register_json(config, queue))
        return
    if xlsx is not None:
        export(config, queue, xlsx, "待审核邮件")
        return
    if not queue:
        console.print("没有待审核的邮件。")
        return
    columns = [
        Shown("id", "编号", justify="right"),
        Shown("when", "到达时间"),
        Shown("sender", "发件人"),
        Shown("reason", "原因", fill=True, wrap=True),
    ]
    title = f"待审核邮件（{len(queue)} 封；时间为 {config.schedule.timezone}）"
    print_table(title, [compact(r, config) for r in queue], columns)
    console.print("查看详情：xunbao review show 编号", highlight=False)


@review.command("show")
@click.argument("message", type=int, metavar="编号")
@config_option
def review_show(message: int, config_path: Path) -> None:
    """查看一封待审核邮件的详情。"""
    config = load_config(config_path)
    with open_ledger(config) as ledger:
        row = review_actions.held(ledger, message)
    detail = row.detail
    console.print(f"[bold]第 {row.id} 号邮件[/bold]（待审核）")
    console.print(f"到达时间：{local_text(row.arrival, config.schedule, seconds=True)}")
    for label, value in (
        ("发件人", row.sender),
        ("主题", row.subject),
        ("所属旬", row.period),
        ("Message-ID", row.message_id),
    ):
        console.print(f"{label}：{value or ''}", highlight=False)
    console.print(f"附件：{'、'.join(detail.attachments) or '无'}", highlight=False)
    if detail.defects:
        console.print(f"邮件格式问题：{'、'.join(detail.defects)}", highlight=False)
    for seen in detail.readings:
        console.print(
            f"读到（{seen.origin}）：单位 {seen.unit or '未写'}，"
            f"完成数 {seen.value if seen.value is not None else '未读到'}"
            + (f"，问题：{seen.problem}" if seen.problem else ""),
            highlight=False,
        )
    if detail.ocr_text:
        console.print(f"识别文字（OCR）：\n{detail.ocr_text}", highlight=False)
    if detail.body:
        console.print(f"正文：\n{detail.body}", highlight=False)
    console.print(f"[yellow]原因：{row.reason}[/yellow]", highlight=False)


@review.command("approve")
@click.argument("message", type=int, metavar="编号")
@click.option("--unit", help="单位（不写则用报表上识别到的单位）")
@click.option(
    "--value",
    "given",
    multiple=True,
    metavar="[指标键=]数字",
    help="完成数（不写则用报表上识别到的数字）；多指标活动可写多次：--value 指标键=数字",
)
@click.option("--metric", help="单独一个 --value 数字所属的指标键（默认第一个指标）")
@click.option("--reason", default="", help="说明（可选）")
@click.option("--force", is_flag=True, help="确认：数字超出合理范围或取代已计入的报表")
@by_option
@config_option
def review_approve(
    message: int,
    unit: str | None,
    given: tuple[str, ...],
    metric: str | None,
    reason: str,
    force: bool,
    by: str | None,
    config_path: Path,
) -> None:
    """审核通过：计入该单位的完成数（多指标活动：每个指标一个数字）。"""
    config = load_config(config_path)
    value, values = parse_values(given)
    with open_ledger(config) as ledger:
        done = review_actions.approve(
            config, ledger, message, unit, value, metric, values, by=by, why=reason, force=force
        )
    report = done.report
    shown = "、".join(f"{k}={v}" if k else str(v) for k, v in report.rows())
    console.print(
        f"第 {message} 号邮件已审核通过：{report.unit} {shown}（{report.period}）。"
        + ("（该单位本旬另有计入的报表，以到达较晚者为准）" if done.replaces else ""),
        highlight=False,
    )
    hint_reissue(report.period)


@review.command("confirm")
@click.argument("message", type=int, metavar="编号")
@by_option
@config_option
def review_confirm(message: int, by: str | None, config_path: Path) -> None:
    """数字已核实无误：按报表上的单位和数字计入（用于因数字超出合理范围而待审核的邮件）。"""
    config = load_config(config_path)
    with open_ledger(config) as ledger:
        done = review_actions.confirm(config, ledger, message, by=by)
    report = done.report
    shown = "、".join(f"{k}={v}" if k else f"{v:,}" for k, v in report.rows())
    console.print(
        f"第 {message} 号邮件的数字已核实并计入：{report.unit} {shown}（{report.period}）。",
        highlight=False,
    )
    hint_reissue(report.period)


def parse_values(given: tuple[str, ...]) -> tuple[int | None, dict[str, int]]:
    """'--value 120' → (120, {}); '--value a=1 --value b=2' → (None, {a: 1, b: 2})."""
    value: int | None = None
    values: dict[str, int] = {}
    for text in given:
        key, sep, number = text.rpartition("=")
        try:
            figure = int(number.strip())
        except ValueError:
            raise UsageError(f"--value {text}：应写数字，或“指标键=数字”。") from None
        if sep:
            values[key.strip()] = figure
        elif value is None:
            value = figure
        else:
            raise UsageError("只能有一个不带指标键的 --value；其余请写成“指标键=数字”。")
    return value, values


@review.command("reject")
@reasoned("message", "驳回理由")
def review_reject(message: int, reason: str, by: str | None, config_path: Path) -> None:
    """驳回：该邮件不计数，记录理由。"""
    config = load_config(config_path)
    with open_ledger(config) as ledger:
        row = review_actions.reject(ledger, message, reason, by=by)
    console.print(f"第 {message} 号邮件已驳回。")
    hint_reissue(row.period)


@review.command("send-back")
@reasoned("message", "退回理由（会写进给单位的通知）")
@click.option("--unit", required=True, help="退回给哪个报送单位")
@click.option("--resend", default="", help="请单位重新报送的内容（默认：更正后的旬报表）")
@click.option("--no-notice", is_flag=True, help="只退回，不给单位发通知")
def review_send_back(
    message: int,
    reason: str,
    by: str | None,
    config_path: Path,
    unit: str,
    resend: str,
    no_notice: bool,
) -> None:
    """退回修改：不计数，并通知单位退回的理由、重报内容和期限。"""
    from datetime import UTC, datetime

    from pipeline.clerk import sendback

    config = load_config(config_path)
    with open_ledger(config) as ledger:
        done = sendback.send_back(
            config, ledger, message, unit, reason, datetime.now(UTC),
            resend=resend, notify=not no_notice, by=by,
        )  # fmt: skip
    said = f"通知已发往 {done.notified}。" if done.notified else f"{done.not_sent}。"
    console.print(f"第 {message} 号邮件已退回 {done.unit}（限 {done.by_when} 前重报）；{said}")


@review.command("reopen")
@reasoned("message", "重新审核的理由")
def review_reopen(message: int, reason: str, by: str | None, config_path: Path) -> None:
    """重新审核：把已计入、已驳回或已忽略的邮件放回待审核队列（其数字不再计入）。"""
    config = load_config(config_path)
    with open_ledger(config) as ledger:
        done = review_actions.reopen(ledger, message, reason, by=by)
        period = review_actions.found(ledger, message).period
    taken = f"，撤回其计入的 {len(done.withdrawn)} 个数字" if done.withdrawn else ""
    console.print(f"第 {message} 号邮件已放回待审核队列（原结果：{done.was}）{taken}。")
    hint_reissue(period)


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
    with open_ledger(config) as ledger:
        done = review_actions.record(
            config, ledger, unit, chosen, value, note, metric, by=by, force=force
        )
    report = done.report
    console.print(
        f"已录入（第 {done.id} 号）：{report.unit} {report.value}"
        f"（{report.period}，{report.note}）。",
        highlight=False,
    )
    hint_reissue(report.period)


@click.command()
@config_option
@click.option("--period", help="只重新判断该旬（YYYY-MM-DD）的邮件")
@by_option
def recheck(config_path: Path, period: str | None, by: str | None) -> None:
    """按现在的配置重新判断待审核邮件，列出结果有变化的。"""
    from pipeline.clerk.recheck import recheck as recheck_held

    config = load_config(config_path)
    chosen = parse_period(config, period)
    with open_ledger(config) as ledger:
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
    hint_reissue(str(chosen) if chosen else None)
