"""config.yaml validation: every message names the file, the line, the key and the fix."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import config

ROOT = Path(__file__).resolve().parent.parent


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    return caught.value.problems


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_shipped_config_is_the_2015_campaign() -> None:
    loaded = config.load(ROOT / "config.yaml")
    cfg = loaded.config
    assert cfg.campaign.target == 71000
    assert sum(u.target for u in cfg.units) == 71000
    # 14207 is one merged cell over the 市属基层 block: a base of a group (issue 25)
    assert sum(u.base or 0 for u in cfg.units) + sum(g.base for g in cfg.base_groups) == 324039
    assert len(cfg.reporting_units) == 22
    # 其他 is the one bucket; the seed's enterprises report into it (issue 25)
    assert [u.name for u in cfg.units if not u.reporting and not u.part_of] == ["其他"]
    assert {u.part_of for u in cfg.units if u.part_of} == {"其他"}
    assert cfg.mailbox.source == "directory"
    assert cfg.schedule.days == [10, 20, 30]
    # The seed lists 井研县 under two supervision groups: allowed, with a warning.
    assert len(loaded.warnings) == 1 and "井研县" in loaded.warnings[0]


def test_target_not_a_number(tmp_path: Path) -> None:
    path = edited(tmp_path, "target: 5437", "target: 五千")
    (message,) = problems(path)
    assert f"第 {line_of(path, '五千')} 行" in message
    assert "units[0].target" in message and "整数" in message and "5437" in message


def test_unit_listed_twice(tmp_path: Path) -> None:
    path = edited(tmp_path, "{name: 五通桥区,", "{name: 市中区,")
    message = problems(path)[0]
    assert "units[1].name" in message and "重复" in message
    assert f"第 {line_of(path, '{name: 市中区')} 行" in message


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = edited(tmp_path, "  timezone: Asia/Shanghai", "  timezon: Asia/Shanghai")
    (message,) = problems(path)
    assert "schedule.timezon" in message and "未知的键" in message and "timezone" in message
    assert f"第 {line_of(path, 'timezon:')} 行" in message


def test_sender_used_by_two_units_is_a_warning(tmp_path: Path) -> None:
    """A liaison may report for two units (issue 22): allowed, with a word on what follows."""
    path = edited(tmp_path, "senders: [wtqzgh@126.com]", "senders: [szqzgh@163.com]")
    loaded = config.load(path)
    (message,) = [w for w in loaded.warnings if "szqzgh" in w]
    assert "市中区" in message and "units[1].senders[0]" in message and "须写明报送单位" in message


def test_group_member_must_be_a_unit(tmp_path: Path) -> None:
    path = edited(tmp_path, "units: [峨眉山市, 沙湾区,", "units: [峨眉山, 沙湾湾区,")
    messages = problems(path)
    assert any("沙湾湾区 不是已登记的单位" in m and "沙湾区" in m for m in messages)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = edited(tmp_path, "  lagging_count: 3", "  lagging_count: [3")
    (message,) = problems(path)
    assert re.search(r"第 \d+ 行", message) and "YAML" in message


def test_missing_file() -> None:
    (message,) = problems(Path("/nonexistent/config.yaml"))
    assert "找不到配置文件" in message


def test_check_config_cli_exit_codes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    good = CliRunner().invoke(cli, ["check-config", "--config", str(ROOT / "config.yaml")])
    assert good.exit_code == 0 and "检查通过" in good.output and "井研县" in good.output
    bad = edited(tmp_path, "target: 5437", "target: 五千")
    result = CliRunner().invoke(cli, ["check-config", "--config", str(bad)])
    assert result.exit_code != 0


def test_secret_comes_from_environment_or_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XB_TEST_SECRET", "abc123")
    assert config.secret("XB_TEST_SECRET", None, "授权码") == "abc123"
    monkeypatch.delenv("XB_TEST_SECRET")
    file = tmp_path / "secret"
    file.write_text("from-file\n", encoding="utf-8")
    for mode in (0o644, 0o640, 0o604, 0o620):  # group or others may read or change it
        file.chmod(mode)
        with pytest.raises(config.ConfigError, match=f"权限为 {mode:04o}.*chmod 600"):
            config.secret("XB_TEST_SECRET", file, "授权码")
    file.chmod(0o600)
    assert config.secret("XB_TEST_SECRET", file, "授权码") == "from-file"
    with pytest.raises(config.ConfigError, match="XB_TEST_SECRET"):
        config.secret("XB_TEST_SECRET", None, "授权码")


def test_form_wording_defaults_to_the_2015_form(tmp_path: Path) -> None:
    shipped = config.load(ROOT / "config.yaml").config.form
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    start = text.index("\nform:")
    end = text.index("\n# ──", start)
    path = tmp_path / "config.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")  # an old config, no form:
    assert config.load(path).config.form == shipped == config.FormWording()
    assert "已完成目标任务数" in shipped.figure and shipped.synonyms == {"农村籍职工": "农民工"}


def test_form_blank_must_be_a_pattern_with_one_group(tmp_path: Path) -> None:
    path = edited(tmp_path, "  blank: 新增(.*?)名", "  blank: 新增(.*?名")
    (message,) = problems(path)
    assert f"第 {line_of(path, '  blank:')} 行" in message and "form.blank" in message
    assert "不是有效的正则表达式" in message
    path = edited(tmp_path, "  blank: 新增(.*?)名", "  blank: 新增.*?名")
    (message,) = problems(path)
    assert "须有且只有一对圆括号" in message


def test_a_new_form_needs_only_config(tmp_path: Path) -> None:
    from pipeline.reading import forms

    path = edited(
        tmp_path,
        "  figure: [已完成目标任务数, 已完成任务数, 已完成数, 完成数]",
        "  figure: [本年累计发展会员数]",
    )
    wording = forms.wording_of(config.load(path).config.form)
    body = "填报单位：夹江县总工会\n本年累计发展会员数：1,350\n已完成目标任务数：99"
    reading = forms.read_body(body, wording)
    assert (reading.unit, reading.value) == ("夹江县总工会", 1350)
    # A synonym: the unit writes 农村籍职工 where the form's label says 农民工.
    path = edited(
        tmp_path,
        "  figure: [已完成目标任务数, 已完成任务数, 已完成数, 完成数]",
        "  figure: [新增农民工会员数]",
    )
    wording = forms.wording_of(config.load(path).config.form)
    assert forms.read_body("新增农村籍职工会员数：88", wording).value == 88


def test_scalars_read_as_yaml_1_2(tmp_path: Path) -> None:
    """18:00 unquoted is a time (YAML 1.1 would make it the number 1080), no/yes are text."""
    path = edited(tmp_path, 'time: "18:00"', "time: 18:00")
    loaded = config.load(path).config
    assert loaded.schedule.time.hour == 18 and loaded.schedule.time.minute == 0
    path = edited(tmp_path, "lagging_count: 3", "lagging_count: 03")
    assert config.load(path).config.rules.lagging_count == 3


def test_key_written_twice(tmp_path: Path) -> None:
    path = edited(tmp_path, "  lagging_count: 3", "  lagging_count: 3\n  lagging_count: 4")
    (message,) = problems(path)
    first = line_of(path, "lagging_count: 3")
    assert f"第 {first + 1} 行：键 lagging_count 写了两次（第一次在第 {first} 行）" in message


def test_imap_and_smtp_share_one_plaintext_guard() -> None:
    cfg = config.load(ROOT / "config.yaml").config
    for section, endpoint in (("mailbox", cfg.mailbox), ("delivery", cfg.delivery)):
        bare = endpoint.model_copy(update={"ssl": False, "starttls": False, "username": "u"})
        remote = bare.model_copy(update={"host": "imap.126.com"})
        refused = remote.plaintext_refused(section, 993, 143)
        assert refused and f"{section}.ssl 和 {section}.starttls 都为 false" in refused
        assert (
            bare.model_copy(update={"host": "127.0.0.1"}).plaintext_refused(section, 1, 2) is None
        )
        assert remote.model_copy(update={"starttls": True}).plaintext_refused(section, 1, 2) is None


def test_a_reminder_after_the_cutoff_is_refused(tmp_path: Path) -> None:
    path = edited(tmp_path, "  enabled: false ", "  enabled: true ")
    path.write_text(
        path.read_text(encoding="utf-8").replace('time: "09:00"', 'time: "19:00"'), "utf-8"
    )
    (message,) = problems(path)
    assert "催报时刻 19:00 不早于截止时刻 18:00" in message
    line = line_of(path, 'time: "19:00"')
    assert f"第 {line} 行" in message


def test_groups_are_people_and_an_address(tmp_path: Path) -> None:
    loaded = config.load(ROOT / "config.yaml").config
    first = loaded.groups[0]
    assert first.leaders == ["杨建春", "李明书"] and "鲍学智" in first.members
    assert first.departments == ["组宣部", "办公室"] and first.email == ""
    path = edited(tmp_path, '    email: ""\n', "    email: 第一组\n")
    (message,) = problems(path)
    assert "groups[0].email" in message and "不是完整的邮箱地址" in message


def test_check_config_warns_when_an_imap_mailbox_authenticates_nothing(tmp_path: Path) -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    # the shipped demo (a directory of sample files) turns it off; an IMAP mailbox by default on
    assert "  require_authentication: false\n" in text
    text = text.replace("  require_authentication: false\n", "")
    imap = "source: imap\n  host: imap.126.com\n  username: lsszghzxb@126.com"
    path = tmp_path / "config.yaml"
    for setting, warned in (("", False), ("\n  require_authentication: false", True)):
        path.write_text(text.replace("source: directory", imap + setting, 1), encoding="utf-8")
        loaded = config.load(path)
        assert loaded.config.mailbox.authenticates is not warned
        said = [w for w in loaded.warnings if "mailbox.require_authentication" in w]
        assert bool(said) is warned and (not said or "冒用登记邮箱" in said[0])
        shown = subprocess.run(
            [str(Path(sys.executable).parent / "xunbao"), "check-config", "--config", str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "XUNBAO_IMAP_PASSWORD": "authcode"},  # checked on this machine
        )
        assert shown.returncode == 0, shown.stderr
        assert ("不核验发件人身份" in shown.stdout) is warned
