"""click's own words in Chinese: one catalogue, installed once before the CLI parses anything.

click passes every sentence it prints through `gettext` (each click module does
`from gettext import gettext as _`). A compiled .mo catalogue would only be consulted under a
Chinese locale, and servers run under C.UTF-8 or en_US; subclassing Context/HelpFormatter
would cover the headings but not the sentences built inside click's exceptions and types.
So `install` points click's own `_` and `ngettext` at this catalogue: every string click
shows goes through one table, keyed by click's exact English text. A msgid that a new click
changes falls back to English, and `tests/test_cli_zh.py` then fails and says which.
"""

from __future__ import annotations

import importlib
import unicodedata
from collections.abc import Iterable
from typing import Any

import click
import click.types

_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")

CATALOGUE: dict[str, str] = {
    "Usage:": "用法：",  # the formatter drops click's space after it
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看用法。",
    "Aborted!": "已取消。",
    "Missing command.": "缺少命令。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "Invalid value: {message}": "取值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的取值无效：{message}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} 不是有效的是/否取值，可用：{states}"
    ),
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带取值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Value must be an iterable.": "取值须为多个值。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "unknown error": "未知错误",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，不是目录。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录，不是文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已停用",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不经询问直接确认。",
    "Repeat for confirmation": "请再输入一次确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
    "Press any key to continue...": "按任意键继续……",
}

PLURALS: dict[str, tuple[str, str]] = {
    "Got unexpected extra argument ({args})": ("多余的参数（{args}）", "多余的参数（{args}）"),
    "Did you mean {possibility}?": (
        "是否想写 {possibility}？",
        "（是否想写其中之一：{possibilities}？）",
    ),
    "{value!r} is not {choice}.": ("{value!r} 不是 {choice}。", "{value!r} 不是 {choices} 之一。"),
    "Option {name!r} requires an argument.": (
        "选项 {name!r} 需要一个取值。",
        "选项 {name!r} 需要 {nargs} 个取值。",
    ),
    "Takes {nargs} values but 1 was given.": (
        "需要 {nargs} 个值，只给了 1 个。",
        "需要 {nargs} 个值，给了 {len} 个。",
    ),
    "{value!r} does not match the format {format}.": (
        "{value!r} 不符合格式 {format}。",
        "{value!r} 不符合格式 {formats} 中的任何一种。",
    ),
    "{len_type} values are required, but {len_value} was given.": (
        "需要 {len_type} 个值，给了 {len_value} 个。",
        "需要 {len_type} 个值，给了 {len_value} 个。",
    ),
}

# Type names appear in help (`--value 整数`) and in conversion errors ('二百' 不是有效的整数).
TYPE_NAMES: dict[type[click.ParamType[Any]], str] = {
    click.types.StringParamType: "文字",
    click.types.IntParamType: "整数",
    click.types.IntRange: "整数",
    click.types.FloatParamType: "数值",
    click.types.FloatRange: "数值",
    click.types.BoolParamType: "是否",
    click.types.DateTime: "日期时间",
}

OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."


def gettext(message: str) -> str:
    return CATALOGUE.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    pair = PLURALS.get(singular)
    if pair is None:
        return singular if n == 1 else plural
    return pair[0] if n == 1 else pair[1]


def install() -> None:
    """Route click's messages through the catalogue (idempotent)."""
    for name in _MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    for cls, label in TYPE_NAMES.items():
        cls.name = label


def localise(command: click.Command) -> click.Command:
    """Chinese placeholders in a command's usage line, its subcommands' too."""
    command.options_metavar = OPTIONS_METAVAR
    command.context_class = Context
    if isinstance(command, click.Group):
        command.subcommand_metavar = SUBCOMMAND_METAVAR
        for sub in command.commands.values():
            localise(sub)
    return command


def width(text: str) -> int:
    """Terminal columns of `text`: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, columns: int) -> list[str]:
    """Break English at spaces and Chinese anywhere, so no line exceeds `columns` cells."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            if width(line + char) <= columns:
                line += char
                continue
            head, space, tail = line.rpartition(" ")
            if space and char.isascii() and not char.isspace() and tail.isascii():
                lines.append(head)
                line = tail + char
            else:
                lines.append(line.rstrip())
                line = char.lstrip()
        lines.append(line)
    return lines


class HelpFormatter(click.HelpFormatter):
    """click's layout with full-width colons and columns measured in terminal cells."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix if prefix is not None else gettext("Usage:"))

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        first_col = min(max((width(term) for term, _ in rows), default=0), col_max) + col_spacing
        indent = " " * self.current_indent
        for term, text in rows:
            self.write(f"{indent}{term}")
            if width(term) > first_col - col_spacing:
                self.write("\n" + " " * (first_col + self.current_indent))
            else:
                self.write(" " * (first_col - width(term)))
            lines = wrap(text, max(self.width - first_col - self.current_indent - 2, 10))
            pad = " " * (first_col + self.current_indent)
            self.write("\n".join([lines[0], *(pad + line for line in lines[1:])]) + "\n")


class Context(click.Context):
    formatter_class = HelpFormatter
