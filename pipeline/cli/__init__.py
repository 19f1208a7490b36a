"""The `xunbao` command: a thin click layer over the library; `main` maps errors to exit codes.

Exit codes: 0 ok, 1 the run failed, 2 bad config or usage, 3 the desk cannot listen.

Each command lives in a small module of this package and is imported only when it runs, so
`xunbao --help` and the light commands never load pandas or WeasyPrint. A new command is one
line in `COMMANDS`: its name, "module:function" and its one-line help.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from pipeline.cli import zh
from pipeline.cli.common import config_option
from pipeline.errors import UsageError, XunbaoError

zh.install()  # before any command module builds its options

# name → ("module:attribute", short help shown by `xunbao --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init:init", "新建一个运行目录：示例配置和样例邮件。"),
    "check-config": ("service:check_config", "检查配置文件。"),
    "run": ("cycle:run", "收取邮件、记账、汇总并生成通报。"),
    "messages": ("register:messages", "收件登记簿：每封邮件及其处理结果。"),
    "review": ("review:review", "待人工审核的邮件：列出、查看、通过、驳回。"),
    "record": ("review:record", "手工录入一个单位的数字（如电话报送）。"),
    "records": ("register:records", "手工录入的数字：列出、撤回。"),
    "recheck": ("review:recheck", "按现在的配置重新判断待审核邮件（如改正了发件邮箱之后）。"),
    "sign": ("issue:sign", "签发通报（delivery.sign_off: required 时）。"),
    "reissue": ("issue:reissue", "通报发出后有变化时，发送更正版。"),
    "circulars": ("issue:circulars", "已发出的通报各版本及更正说明。"),
    "serve": ("service:serve", "常驻运行：每旬截止时自动收信、汇总、生成并发送通报。"),
    "schedule": ("service:schedule_command", "列出接下来的自动运行时间及对应的旬。"),
    "status": ("service:status", "运行状况：上次和下次运行、待审核邮件、未送达的通报。"),
    "summary": (
        "summary:summary_command",
        "年度汇总：各单位逐旬或逐月的完成情况、增长和约谈次数。",
    ),
    "talk": ("talk:talk", "约谈：生成约谈通知书、记录约谈情况。"),
    "desk": ("desk:desk", "启动审核台（网页）：收件登记、审核、电话录入、通报签发。"),
    "user": ("account:user", "审核台账号：添加、改密码、列出。"),
}


# The one place the CLI adds its own words to the domain's errors: code → flag hint
# (formatted with the error's facts). The desk offers buttons for the same codes.
HINTS: dict[str, str] = {
    "replaces": "确认无误请加 --force。",
    "too_high": "确认无误请加 --force。",
    "below_previous": "确认无误请加 --force。",
    "reason_required": "请用 --reason 写明理由。",
    "not_held": "如需重新审核，请先运行 xunbao review reopen {message} --reason 理由。",
    "no_message": "请用 xunbao messages 查看邮件编号。",
    "no_record": "请用 xunbao records 查看编号。",
    "unit_missing": "请用 --unit 写明单位。",
    "figure_missing": "请用 --value 写明完成数。",
    "no_arrival": "请改用 xunbao record。",
    "single_metric": "请去掉 --metric。",
    "unknown_unit": "单位名称见 config.yaml。",
    "bad_period": "请检查 --period。",
    "sign_off_auto": "（config.yaml 的 delivery.sign_off 为 auto）",
    "not_signer": "签发人见 config.yaml 的 delivery.signers。",
    "never_issued": "请用 xunbao run --period {period}（或 xunbao sign）发出。",
    "no_mail_server": "请在 config.yaml 中配置 delivery.host。",
    "unsigned": "请领导运行 xunbao sign --period {period} --by 姓名 签发。",
}


def hinted(exc: XunbaoError) -> str:
    """The error's message with the CLI's hint for its code, if any."""
    text = str(exc)
    if isinstance(exc, UsageError) and exc.code in HINTS:
        text += HINTS[exc.code].format(**exc.facts)
    return text


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    context_class = zh.Context

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target[0].split(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        command: click.Command = getattr(module, attribute)
        return zh.localise(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table, so listing commands imports none of them.
        with formatter.section("命令"):
            formatter.write_dl([(name, help_text) for name, (_, help_text) in COMMANDS.items()])


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    options_metavar=zh.OPTIONS_METAVAR,
    subcommand_metavar=zh.SUBCOMMAND_METAVAR,
)
@click.version_option(package_name="xunbao", help="显示版本号并退出。")
@config_option
def cli(config_path: Path) -> None:
    """旬报：收取各单位旬报表，记账、汇总并生成通报。"""


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except (Exception, KeyboardInterrupt) as exc:
        sys.exit(_explain(exc))


def _explain(exc: BaseException) -> int:
    """Print what went wrong in Chinese; return the exit code. (rich is loaded only here.)"""
    from pipeline.cli.output import err_console

    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, click.exceptions.Abort):
        err_console.print("已取消。")
        return 1
    if isinstance(exc, click.UsageError):
        where = exc.ctx.command_path if exc.ctx else "xunbao"
        # click joins its sentences with ". " and ends with ".": full-width stops instead
        message = exc.format_message().removesuffix(".").replace("。 ", "。")
        message += "" if message.endswith(("。", "？")) else "。"
        err_console.print(
            f"[red]用法错误：[/red]{message}（运行 {where} --help 查看用法）", highlight=False
        )
        return 2
    if isinstance(exc, click.ClickException):
        exc.show()
        return 2
    if isinstance(exc, XunbaoError):
        err_console.print(f"[red]错误：[/red]{hinted(exc)}", highlight=False)
        return exc.exit_code
    err_console.print_exception()
    err_console.print(
        "[red]程序内部错误[/red]：请把以上信息发给维护人员。已处理的邮件都已保存在台账中。"
    )
    return 1
