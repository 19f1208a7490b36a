"""Explaining config.yaml's faults: the YAML line of a key, pydantic's errors in Chinese
with the fix, and the checks that span several keys (duplicates, shared senders, groups,
metrics)."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pipeline.config import seed_checks

if TYPE_CHECKING:
    from yaml.nodes import Node

    from pipeline.config import Config


class Locator:
    """Maps a key path like ('units', 3, 'target') to a line of the YAML file."""

    def __init__(self, path: Path, tree: Node | None, root: type[BaseModel]) -> None:
        self.path = path
        self.tree = tree  # the composed YAML nodes, which know their lines
        self.root = root  # the model the whole file validates against

    def line(self, loc: tuple[int | str, ...]) -> int | None:
        from pipeline.config.yamlfile import (
            line_of,  # only a fault needs a line: a clean load skips YAML
        )

        return line_of(self.tree, loc)

    def where(self, loc: tuple[int | str, ...]) -> str:
        line = self.line(loc)
        key = _dotted(loc)
        return f"{self.path} 第 {line} 行，键 {key}" if line else f"{self.path}，键 {key}"

    def explain(self, err: Any) -> str:
        loc = tuple(err["loc"])
        kind, value = err["type"], err.get("input")
        if kind == "extra_forbidden":
            return f"{self.where(loc)}：未知的键。{_suggest(self.root, loc)}"
        if kind == "missing":
            return f"{self.where(loc[:-1])}：缺少必填的键 {loc[-1]}。请补上。"
        if kind.startswith("int"):
            fix = "请填写不带单位、不带逗号的整数，例如 5437"
            return f"{self.where(loc)}：应为整数，实际为 {value!r}。{fix}。"
        if kind.startswith(("date", "time")):
            fix = '请写成 2015-09-01 或 "18:00"'
            return f"{self.where(loc)}：日期或时间格式不对（{value!r}）。{fix}。"
        if kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            choices = "、".join(re.findall(r"'([^']*)'", str(expected)))
            return f"{self.where(loc)}：取值 {value!r} 不可用，可用的取值：{choices}。"
        if kind in _KINDS:
            return f"{self.where(loc)}：{_KINDS[kind]}（当前值 {_shown(value)}）。"
        if kind == "value_error":  # our own validators: the message is Chinese already
            message = str(err["msg"]).removeprefix("Value error, ")
            return f"{self.where(loc)}：{message}（当前值 {value!r}）。"
        bound = err.get("ctx", {})
        if kind in ("greater_than_equal", "greater_than"):
            limit = bound.get("ge", bound.get("gt"))
            return f"{self.where(loc)}：应不小于 {limit}（当前值 {value!r}）。"
        fix = "请对照 config.yaml 中的注释修改"
        return f"{self.where(loc)}：取值不符合要求（当前值 {_shown(value)}）。{fix}。"


_KINDS = {
    "list_type": "应为列表：每项另起一行、以“- ”开头，或写成 [甲, 乙]",
    "dict_type": "应为“键: 值”形式的映射（下一行缩进两格写各个键）",
    "model_type": "应为“键: 值”形式的映射（下一行缩进两格写各个键）",
    "model_attributes_type": "应为“键: 值”形式的映射（下一行缩进两格写各个键）",
    "string_type": "应为文字；数字、日期或 yes/no 当作文字时请加引号",
    "invalid_key": "键应为文字；数字或 yes/no 作键时请加引号",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "too_short": "至少要写一项",
    "path_type": "应为文件或目录的路径",
    "enum": "取值不可用",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _suggest(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    model: Any = root
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        annotation = model.model_fields[key].annotation
        model = getattr(annotation, "__args__", (annotation,))[0]
        if not isinstance(model, type) or not issubclass(model, BaseModel):
            return "请删除该键。"
    known = [k for k in model.model_fields if k != "root"]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if close:
        return f"是否想写 {close[0]}？"
    return f"可用的键有：{'、'.join(known)}。"


def _check_reminders(config: Config, at: Locator) -> list[str]:
    """A reminder due at or after the cutoff would never go out."""
    r = config.reminders
    if r.enabled and r.days_before == 0 and r.time >= config.schedule.time:
        return [
            f"{at.where(('reminders', 'time'))}：催报时刻 {r.time:%H:%M} 不早于截止时刻 "
            f"{config.schedule.time:%H:%M}（schedule.time），催报将无法发出。"
            "请改早，或把 days_before 设为 1（截止前一天发送）。"
        ]
    if r.enabled and r.days_before > 10:
        return [
            f"{at.where(('reminders', 'days_before'))}：一旬最长十一天，days_before 应不超过 10。"
        ]
    return []


def cross_check(config: Config, at: Locator) -> tuple[list[str], list[str]]:
    """Faults that span several keys: duplicates, shared senders, group membership."""
    errors: list[str] = []
    warnings: list[str] = []
    owner: dict[str, int] = {}
    for i, unit in enumerate(config.units):
        for name in [unit.name, *unit.aliases]:
            first = owner.setdefault(name, i)
            if first != i:
                other = config.units[first].name
                what = "单位重复列出" if name == unit.name else f"名称 {name} 同时属于 {other}"
                errors.append(
                    f"{at.where(('units', i, 'name'))}：{what}（第一次出现在第 "
                    f"{at.line(('units', first))} 行）。请删除或合并重复的条目。"
                )
    sender_of: dict[str, int] = {}
    for i, unit in enumerate(config.units):
        for j, sender in enumerate(unit.senders):
            first = sender_of.setdefault(sender, i)
            if first != i:
                # A liaison may report for two units; each form must then name its unit.
                warnings.append(
                    f"{at.where(('units', i, 'senders', j))}：发件地址 {sender} 同时登记在 "
                    f"{config.units[first].name} 下。该地址发来的报表须写明报送单位；"
                    "如非本意，请删去其中一处。"
                )
    names = {n: u.name for u in config.units for n in [u.name, *u.aliases]}
    seen_in: dict[str, str] = {}
    for g, group in enumerate(config.groups):
        for k, member in enumerate(group.units):
            if member not in names:
                close = difflib.get_close_matches(member, list(names), n=1, cutoff=0.5)
                hint = f"是否想写 {close[0]}？" if close else "请先在 units 中登记该单位。"
                errors.append(
                    f"{at.where(('groups', g, 'units', k))}：{member} 不是已登记的单位。{hint}"
                )
                continue
            canonical = names[member]
            if canonical in seen_in and seen_in[canonical] != group.name:
                warnings.append(
                    f"{at.where(('groups', g, 'units', k))}：{canonical} 同时属于 "
                    f"{seen_in[canonical]} 和 {group.name}（原文件即如此）。"
                    "两个督导组都会列出该单位；如非本意，请删去一处。"
                )
            seen_in.setdefault(canonical, group.name)
    errors += _check_metrics(config, at)
    errors += _check_reminders(config, at)
    errors += seed_checks.base_groups(config, at)
    errors += seed_checks.parts(config, at)
    warnings += seed_checks.unregistered_others(config, at)
    total = sum(u.target for u in config.units)
    if not config.campaign.metrics and total != config.campaign.target:
        warnings.append(
            f"{at.where(('campaign', 'target'))}：各单位目标之和为 {total}，与总目标 "
            f"{config.campaign.target} 不一致。请核对任务分解表。"
        )
    delivery = config.delivery
    if delivery.sign_off == "required" and not delivery.signers:
        errors.append(
            f"{at.where(('delivery', 'sign_off'))}：sign_off 为 required 时须在 delivery.signers "
            "中列出可以签发通报的领导姓名。"
        )
    mailbox = config.mailbox
    if mailbox.source == "imap" and not mailbox.authenticates:
        warnings.append(
            f"{at.where(('mailbox', 'require_authentication'))}：IMAP 邮箱不核验发件人身份，"
            "冒用登记邮箱发来的报表也会计入。除非收件服务器已拒收伪造邮件，请改为 true"
            "（见 docs/mailbox.zh.md 第五节）。"
        )
    if config.campaign.end <= config.campaign.start:
        errors.append(
            f"{at.where(('campaign', 'end'))}：结束日期须晚于开始日期 {config.campaign.start}。"
        )
    since = config.campaign.progress_from
    if since is not None and not since <= config.campaign.start < config.campaign.end:
        errors.append(
            f"{at.where(('campaign', 'progress_from'))}：目标任务的起算日期 {since} 须不晚于"
            f"活动开始日期 {config.campaign.start}（年度目标通常写当年 1 月 1 日）。"
        )
    return errors, warnings


def _check_metrics(config: Config, at: Locator) -> list[str]:
    metrics = config.campaign.metrics
    keys = [m.key for m in metrics]
    errors = [
        f"{at.where(('campaign', 'metrics', i, 'key'))}：指标键 {k!r} 为空或重复。请另取英文键。"
        for i, k in enumerate(keys)
        if not k or keys.index(k) != i
    ]
    for i, unit in enumerate(config.units):
        if not metrics and "target" not in unit.model_fields_set and not unit.part_of:
            errors.append(f"{at.where(('units', i))}：缺少必填的键 target。请补上。")
        for key in unit.targets:
            if key not in keys:
                close = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
                known = "、".join(keys) or "无（campaign 未列出 metrics，请改用 target）"
                hint = f"是否想写 {close[0]}？" if close else f"可用的指标键：{known}。"
                errors.append(
                    f"{at.where(('units', i, 'targets', key))}：{key} 不是 campaign.metrics "
                    f"中的指标键。{hint}"
                )
    split = {key for u in config.units for key in u.targets}
    # Only the headline must be split over the units; a metric with neither a city-wide
    # nor a split target (a duty the document gives no number) is shown, never rated.
    if metrics and metrics[0].key not in split:
        need = "须在 units[].targets 中给各单位分解目标（第一个指标用于排名、末位和约谈）"
        errors.append(f"{at.where(('campaign', 'metrics', 0))}：指标“{metrics[0].name}”{need}。")
    return errors


# ── secrets and the machine ────────────────────────────────────
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")


def looks_like_secret(name: str) -> bool:
    """True when `password_env` holds what looks like the code itself, not a variable name.

    Names are upper-case words joined by underscores (XUNBAO_IMAP_PASSWORD). A 126/163 or
    QQ authorisation code is 16 letters, often lower-case, with no underscore. A long
    single word that is not set in the environment is taken for a code too.
    """
    if not name:
        return False
    if not _ENV_NAME.fullmatch(name):
        return True
    return "_" not in name and len(name) >= 12 and name not in os.environ


def secret_checks(config: Config, at: Locator) -> list[str]:
    """Refuse a password typed into `password_env`, without repeating it anywhere."""
    return [
        f"{at.where((section, 'password_env'))}：这里应写环境变量的名字（例如 {default}），"
        "现在写的看起来像授权码或密码本身。请把它从 config.yaml 中删去（并到邮箱设置里"
        "重新生成授权码），改为 export 到环境变量或写入 password_file 指定的文件。"
        for section, settings, default in (
            ("mailbox", config.mailbox, "XUNBAO_IMAP_PASSWORD"),
            ("delivery", config.delivery, "XUNBAO_SMTP_PASSWORD"),
        )
        if looks_like_secret(settings.password_env)
    ]


def machine_checks(config: Config, at: Locator) -> list[str]:
    """What `check-config` verifies on this machine: the mailbox folder, the password
    variables (set or not, never their value) and every e-mail address."""
    errors: list[str] = []
    box = config.mailbox
    if box.source == "directory":
        folder = config.resolve(box.path)
        if not folder.is_dir():
            errors.append(f"{at.where(('mailbox', 'path'))}：收件目录 {folder} 不存在。")
    if box.source == "imap" and not box.host:
        errors.append(f"{at.where(('mailbox', 'host'))}：source 为 imap 时须填写 host。")
    for section, settings, used in (
        ("mailbox", box, box.source == "imap"),
        # a relay that takes mail without logging in (no username) needs no password
        ("delivery", config.delivery, bool(config.delivery.host and config.delivery.username)),
    ):
        if used:
            env, file = settings.password_env, settings.password_file
            errors += _password_check(config, at, section, env, file)
    errors += _address_checks(config, at)
    return errors


def _password_check(
    config: Config, at: Locator, section: str, env: str, file: Path | None
) -> list[str]:
    if env and os.environ.get(env):
        return []
    if file is not None:
        path = config.resolve(file)
        if path.is_file() and os.access(path, os.R_OK):
            from pipeline.config import exposed

            fault = exposed(path, path.stat().st_mode)
            return [f"{at.where((section, 'password_file'))}：{fault}"] if fault else []
        return [f"{at.where((section, 'password_file'))}：密码文件 {path} 不存在或不可读。"]
    if looks_like_secret(env):
        return []  # already refused by secret_checks; do not repeat the value
    return [
        f"{at.where((section, 'password_env'))}：环境变量 {env} 未设置。"
        f"请先运行 export {env}='授权码'（或用 password_file 指定文件）。"
    ]


def _address_checks(config: Config, at: Locator) -> list[str]:
    from email_validator import EmailNotValidError, validate_email

    places: list[tuple[tuple[int | str, ...], str]] = [
        (("units", i, "senders", j), s)
        for i, unit in enumerate(config.units)
        for j, s in enumerate(unit.senders)
    ]
    places += [(("delivery", "recipients", i), r) for i, r in enumerate(config.delivery.recipients)]
    places += [
        ((section, key), value)
        for section, key, value in (
            ("delivery", "sender", config.delivery.sender),
            ("mailbox", "address", config.mailbox.address),
        )
        if value
    ]
    errors = []
    for loc, address in places:
        try:
            # A sender may be a whole domain ("@lsdl.com.cn"): check it as an address there.
            whole = f"x{address}" if address.startswith("@") else address
            validate_email(whole, check_deliverability=False)
        except EmailNotValidError:
            hint = "（其中有逗号，是否应为句点“.”？）" if "," in address or "，" in address else ""
            errors.append(
                f"{at.where(loc)}：邮件地址 {address} 格式不对{hint}。请写成 name@126.com 的形式。"
            )
    return errors
