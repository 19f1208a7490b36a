"""`xunbao user`: desk accounts (add, password, list)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.clerk import accounts
from pipeline.cli.common import config_option, load_config
from pipeline.cli.output import console
from pipeline.config import Config
from pipeline.ledger import Ledger


def _password(from_stdin: bool) -> str:
    if from_stdin:  # for scripts: a password on the command line would show in `ps`
        return sys.stdin.readline().rstrip("\n")
    value: str = click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")
    return value


def _ledger(config: Config) -> Ledger:
    # Not job.open_ledger: that would import the whole pipeline for one table.
    return Ledger(config.resolve(config.storage.path))


@click.group()
@config_option
def user(config_path: Path) -> None:
    """审核台账号：添加（add）、改密码（password）、列出（list）。"""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["clerk", "leader"]),
    required=True,
    help="clerk：经办人（审核、录入）；leader：签发领导（另可签发通报）",
)
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（供脚本使用）")
@config_option
def user_add(name: str, role: str, password_stdin: bool, config_path: Path) -> None:
    """添加账号，密码在提示后输入。"""
    config = load_config(config_path)
    secret = _password(password_stdin)
    with _ledger(config) as ledger:
        account = accounts.add(ledger, name, role, secret)
    console.print(f"已添加账号 {account.name}（{account.role_name}）。", highlight=False)


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（供脚本使用）")
@config_option
def user_password(name: str, password_stdin: bool, config_path: Path) -> None:
    """修改账号密码；该账号已登录的会话全部失效。"""
    config = load_config(config_path)
    secret = _password(password_stdin)
    with _ledger(config) as ledger:
        account = accounts.set_password(ledger, name, secret)
    console.print(f"账号 {account.name} 的密码已修改。", highlight=False)


@user.command("list")
@config_option
def user_list(config_path: Path) -> None:
    """列出全部账号及其角色。"""
    config = load_config(config_path)
    with _ledger(config) as ledger:
        found = accounts.all_accounts(ledger)
    if not found:
        console.print("还没有账号。用 xunbao user add 姓名 --role clerk 添加。")
    for account in found:
        console.print(f"{account.name}（{account.role_name}）", highlight=False)
