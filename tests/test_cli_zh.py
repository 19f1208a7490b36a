"""Chinese at every turn: click's own framing, config faults with the right line and a hint,
check-config's checks on this machine, local times and 80-column tables, --xlsx exports.
Each test runs the real `xunbao` process as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.test_cli import PERIOD, ROOT, XUNBAO, make_config

# English that click would print if a message escaped the catalogue.
ENGLISH = re.compile(
    r"Usage|Options|Commands|Show this|Error|Missing|Invalid|not a valid|, version"
)


def call(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(XUNBAO), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
    )


def columns(text: str) -> int:
    return max(
        (
            sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
            for line in text.splitlines()
        ),
        default=0,
    )


def test_help_is_chinese() -> None:
    top = call("--help")
    assert top.returncode == 0
    assert top.stdout.startswith("用法：xunbao [选项] 命令 [参数]...")
    assert "选项：" in top.stdout and "命令：" in top.stdout and "显示本帮助并退出。" in top.stdout
    sub = call("review", "approve", "--help")
    assert "用法：xunbao review approve [选项] 编号" in sub.stdout
    assert "--value [指标键=]数字" in sub.stdout and "[默认：config.yaml]" in sub.stdout
    record = call("record", "--help")
    assert "--value 整数" in record.stdout and "[必填]" in record.stdout
    for result in (top, sub, record):
        assert not ENGLISH.search(result.stdout), result.stdout
        assert columns(result.stdout) <= 80


def test_version_is_chinese() -> None:
    result = call("--version")
    assert result.returncode == 0 and re.fullmatch(r"xunbao 版本 \d+\.\d+\.\d+\n", result.stdout)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["record", "--unit", "马边县", "--period", PERIOD, "--value", "二百"],
            "用法错误：'--value' 的取值无效：'二百' 不是有效的整数。",
        ),
        (["review", "reject", "3"], "用法错误：缺少选项 '--reason'。"),
        (["review", "show"], "用法错误：缺少参数 '编号'。"),
        (["schedule", "--count", "0"], "'--count' 的取值无效：0 不在范围 1<=x<=1000 内。"),
        (["nosuch"], "用法错误：没有命令 'nosuch'。"),
        (["messages", "--jsn"], "没有选项 '--jsn'。是否想写 '--json'？"),
    ],
)
def test_usage_errors_are_chinese(args: list[str], expected: str) -> None:
    result = call(*args)
    assert result.returncode == 2
    assert expected in result.stderr, result.stderr
    assert "--help 查看用法" in result.stderr
    assert not ENGLISH.search(result.stderr), result.stderr


# ── config faults ──────────────────────────────────────────────
def edited(tmp_path: Path, old: str, new: str) -> Path:
    path = make_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def check(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return call("check-config", "--config", str(path), env=env)


def test_full_width_colon_named_at_its_line(tmp_path: Path) -> None:
    path = edited(tmp_path, "lagging_count: 3", "lagging_count： 3")
    result = check(path)
    assert result.returncode == 2
    assert f"第 {line_of(path, 'lagging_count：')} 行：键 lagging_count 后面是全角冒号" in (
        result.stderr
    )


def test_tab_in_indentation(tmp_path: Path) -> None:
    path = edited(tmp_path, "  lagging_count: 3", "\tlagging_count: 3")
    result = check(path)
    assert f"第 {line_of(path, 'lagging_count')} 行：缩进里有制表符" in result.stderr


def test_unclosed_quote_reported_where_it_opens(tmp_path: Path) -> None:
    path = edited(tmp_path, "title: 关于", 'title: "关于')
    result = check(path)
    assert result.returncode == 2
    opened = line_of(path, 'title: "')
    assert f"第 {opened} 行：未闭合的引号" in result.stderr


def test_yaml_error_has_no_english(tmp_path: Path) -> None:
    path = edited(tmp_path, "  lagging_count: 3", "  lagging_count: 3\n   behind: [1, 2")
    result = check(path)
    assert result.returncode == 2 and "YAML 格式错误" in result.stderr
    assert not re.search(r"[A-Za-z]{4,} [a-z]{3,}", result.stderr.split("：", 1)[1]), result.stderr


def test_a_list_expected(tmp_path: Path) -> None:
    path = edited(tmp_path, "senders: [szqzgh@163.com]", "senders: szqzgh@163.com")
    result = check(path)
    assert f"第 {line_of(path, 'senders: szqzgh')} 行，键 units[0].senders：应为列表" in (
        result.stderr
    )
    assert "Input should" not in result.stderr


def test_number_keys_need_quotes(tmp_path: Path) -> None:
    path = edited(tmp_path, "  lagging_count: 3", "  lagging_count: 3\n  5: x")
    result = check(path)
    assert result.returncode == 2
    assert "Keys should" not in result.stderr and "键" in result.stderr


def test_check_config_checks_this_machine(tmp_path: Path) -> None:
    path = edited(tmp_path, f"path: {ROOT / 'inbox_samples'}", "path: 没有这个目录")
    text = path.read_text(encoding="utf-8").replace(
        "senders: [szqzgh@163.com]", "senders: [szqzgh@163，com]"
    )
    text = text.replace('host: ""  ', "host: smtp.126.com  ", 1)
    path.write_text(text, encoding="utf-8")
    result = check(path, env={"XUNBAO_SMTP_PASSWORD": ""})
    assert result.returncode == 2
    assert f"第 {line_of(path, '没有这个目录')} 行，键 mailbox.path：收件目录" in result.stderr
    assert "不存在" in result.stderr
    assert "邮件地址 szqzgh@163，com 格式不对（其中有逗号" in result.stderr
    assert "键 delivery.password_env：环境变量 XUNBAO_SMTP_PASSWORD 未设置" in result.stderr


def test_password_variable_set_is_not_printed(tmp_path: Path) -> None:
    (tmp_path / "ok").mkdir()
    path = make_config(tmp_path / "ok")
    text = path.read_text(encoding="utf-8").replace('host: ""  ', "host: smtp.126.com  ", 1)
    path.write_text(text, encoding="utf-8")
    result = check(path, env={"XUNBAO_SMTP_PASSWORD": "QWERTYUIOPASDFGH"})
    assert result.returncode == 0, result.stderr
    assert "QWERTYUIOPASDFGH" not in result.stdout + result.stderr


def test_a_code_typed_into_password_env_is_refused_and_never_echoed(tmp_path: Path) -> None:
    code = "xkqmzplrtvwnbcds"
    path = edited(tmp_path, "  # password_env: XUNBAO_IMAP_PASSWORD", f"  password_env: {code}")
    for args in (["check-config"], ["run", "--no-send", "--period", PERIOD]):
        result = call(*args, "--config", str(path))
        assert result.returncode == 2, result.stdout + result.stderr
        assert "看起来像授权码或密码本身" in result.stderr
        assert code not in result.stdout + result.stderr


# ── the register: local times, 80 columns, xlsx ────────────────
@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("zh")
    config = make_config(folder)
    result = call("run", "--period", PERIOD, "--no-send", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return config


def test_messages_fit_80_columns_in_beijing_time(ran: Path) -> None:
    result = call("messages", "--config", str(ran))
    assert result.returncode == 0
    assert columns(result.stdout) <= 80
    # message 1 arrived 2015-09-09 02:15:37 UTC: 10:15 in Beijing, one line with unit and figure
    first = next(line for line in result.stdout.splitlines() if line.strip().startswith("1 "))
    assert re.search(r"09-09 10:15\s+计入\s+市中区\s+1203\s+09-10", first), first
    assert "counted" not in result.stdout and "时间为 Asia/Shanghai" in result.stdout
    rows = [line for line in result.stdout.splitlines() if re.match(r"\s+\d+\s+\d\d-\d\d", line)]
    assert len(rows) == 32  # one line per message


def test_review_fits_80_columns(ran: Path) -> None:
    result = call("review", "--config", str(ran))
    assert columns(result.stdout) <= 80 and "待审核邮件（3 封" in result.stdout
    shown = call("review", "show", "21", "--config", str(ran))
    assert "到达时间：2015-09-19 20:31:08" in shown.stdout


def test_messages_xlsx_keeps_mail_text_as_text(ran: Path, tmp_path: Path) -> None:
    out = tmp_path / "登记簿.xlsx"
    result = call("messages", "--xlsx", str(out), "--config", str(ran))
    assert result.returncode == 0 and "已导出 32 封" in result.stdout
    sheet = load_workbook(out).active
    assert sheet is not None
    assert "收件登记簿" in str(sheet["A1"].value)
    header = [c.value for c in sheet[3]]
    assert header[:5] == ["编号", "Message-ID", "发件人", "主题", "到达时间（Asia/Shanghai）"]
    first = [c.value for c in sheet[4]]
    assert first[4] == "2015-09-09 10:15:37" and first[6] == "市中区" and first[7] == 1203
    assert sheet.print_title_rows == "$3:$3" and sheet.page_setup.orientation == "landscape"


def test_every_command_logs_through_the_redactor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` and the other commands set up the same "xunbao" logging as `serve`."""
    import logging

    from pipeline.cli.common import load_config

    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", "QWERTYUIOPASDFGH")
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        load_config(make_config(tmp_path))
        logging.getLogger("xunbao.imap").warning("登录失败：LOGIN lsszghzxb QWERTYUIOPASDFGH")
        logging.getLogger("xunbao.job").info("不显示：run 只输出警告及以上")
    finally:
        for handler in set(root.handlers) - set(before):
            root.removeHandler(handler)
    err = capsys.readouterr().err
    assert "登录失败" in err and "QWERTYUIOPASDFGH" not in err and "******" in err
    assert "不显示" not in err
