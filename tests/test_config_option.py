"""`--config` reaches every command wherever it is written: after the command, before a
subcommand of a group, or right after `xunbao`. The tree is walked, so a new command without
an entry in ARGS fails here instead of silently reading ./config.yaml."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pipeline.clerk import accounts
from pipeline.cli import cli
from pipeline.ledger import Ledger
from tests.test_cli import PERIOD, XUNBAO, make_config

# each command's own required arguments; --config is added by the test
ARGS: dict[tuple[str, ...], list[str]] = {
    ("check-config",): [],
    ("run",): ["--no-send"],
    ("messages",): [],
    ("review",): [],
    ("review", "approve"): ["1"],
    ("review", "confirm"): ["1"],
    ("review", "reject"): ["1", "--reason", "x"],
    ("review", "reopen"): ["1", "--reason", "x"],
    ("review", "send-back"): ["1", "--reason", "x", "--unit", "沐川县"],
    ("review", "show"): ["1"],
    ("record",): ["--unit", "沐川县", "--period", PERIOD, "--value", "1"],
    ("records",): [],
    ("records", "withdraw"): ["1", "--reason", "x"],
    ("recheck",): [],
    ("sign",): ["--period", PERIOD, "--by", "张三"],
    ("reissue",): ["--period", PERIOD],
    ("circulars",): [],
    ("talk", "notices"): ["--period", PERIOD],
    ("talk", "record"): ["--period", PERIOD, "--unit", "沐川县", "--on", PERIOD],
    ("talk", "list"): [],
    ("serve",): [],
    ("schedule",): [],
    ("status",): [],
    ("summary",): [],
    ("desk",): [],
    ("user", "add"): ["李四", "--role", "clerk", "--password-stdin"],
    ("user", "list"): [],
    ("user", "password"): ["李四", "--password-stdin"],
}


def commands() -> Iterator[tuple[str, ...]]:
    ctx = click.Context(cli)

    def walk(group: click.Group, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            assert any(p.name == "config_path" for p in command.params), (*path, name)
            if not isinstance(command, click.Group) or command.invoke_without_command:
                yield (*path, name)
            if isinstance(command, click.Group):
                yield from walk(command, (*path, name))

    return walk(cli, ())


def placements(path: tuple[str, ...], config: str) -> Iterator[list[str]]:
    """Every place --config may be written for this command."""
    rest = ARGS[path]
    yield [*path, *rest, "--config", config]
    for cut in range(len(path)):  # on xunbao itself, or on the group above the command
        yield [*path[:cut], "--config", config, *path[cut:], *rest]


MAKES_CONFIG = [("init",)]  # --config names the file it writes, so it may not exist yet


def test_every_command_is_listed() -> None:
    assert sorted(commands()) == sorted([*ARGS, *MAKES_CONFIG])


def test_init_writes_the_named_config_and_the_inbox_beside_it(tmp_path: Path) -> None:
    named = tmp_path / "site" / "lsszgh.yaml"
    result = CliRunner().invoke(cli, ["init", "--config", str(named)])
    assert result.exit_code == 0, result.output
    assert named.exists() and (named.parent / "inbox_samples").is_dir()
    again = CliRunner().invoke(cli, ["init", "--config", str(named)])
    assert again.exception is not None and "未做任何改动" in str(again.exception)


@pytest.mark.parametrize("path", sorted(ARGS), ids=" ".join)
def test_config_reaches_the_command(
    path: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ./config.yaml is a valid campaign: a command that ignored --config would use it
    make_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    named = str(tmp_path / "elsewhere" / "named.yaml")
    for argv in placements(path, named):
        result = CliRunner().invoke(cli, argv, input="secret-password\n")
        assert result.exception is not None, argv
        assert f"找不到配置文件 {named}" in str(result.exception), (argv, result.output)


def test_two_different_configs_are_refused(tmp_path: Path) -> None:
    first, second = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    result = CliRunner().invoke(
        cli, ["review", "--config", first, "approve", "1", "--config", second]
    )
    assert result.exit_code == 2 and "--config 写了两次且不同" in result.output


def call(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(XUNBAO), *args], capture_output=True, text=True, cwd=cwd, input=stdin, timeout=120
    )


def test_group_config_acts_on_the_named_campaign(tmp_path: Path) -> None:
    """The issue's case: `records --config X withdraw N` acts on X's ledger, not ./config.yaml's."""
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    make_config(here)
    named = make_config(there)
    recorded = call(
        here, "record", "--config", str(named), "--unit", "沐川县", "--period", PERIOD, "--value=7"
    )
    assert recorded.returncode == 0, recorded.stderr
    withdrawn = call(here, "records", "--config", str(named), "withdraw", "1", "--reason", "重复")
    assert withdrawn.returncode == 0, withdrawn.stderr
    added = call(
        here,
        "--config",
        str(named),
        "user",
        "add",
        "王五",
        "--role",
        "clerk",
        "--password-stdin",
        stdin="a-long-password-1\n",
    )
    assert added.returncode == 0, added.stderr
    assert not (here / "data").exists()  # ./config.yaml's ledger was never opened
    with Ledger(there / "data" / "xunbao.sqlite") as ledger:
        assert [a.kind for a in ledger.actions()] == ["record", "withdraw"]
        assert [a.name for a in accounts.all_accounts(ledger)] == ["王五"]
