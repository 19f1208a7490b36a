"""Explaining config.yaml's faults: the YAML line of a key, pydantic's errors in Chinese
with the fix, and the checks that span several keys (duplicates, shared senders, groups,
metrics)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from .config import Config


class Locator:
    """Maps a key path like ('units', 3, 'target') to a line of the YAML file."""

    def __init__(self, path: Path, tree: Any, root: type[BaseModel]) -> None:
        self.path = path
        self.tree = tree
        self.root = root  # the model the whole file validates against

    def line(self, loc: tuple[int | str, ...]) -> int | None:
        node, line = self.tree, None
        for key in loc:
            try:
                spot = node.lc.item(key) if isinstance(key, int) else node.lc.key(key)
                line = spot[0] + 1
                node = node[key]
            except (AttributeError, KeyError, IndexError, TypeError):
                break
        return line

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
            return f"{self.where(loc)}：取值 {value!r} 不可用。{err['msg']}。"
        if kind == "greater_than_equal":
            return f"{self.where(loc)}：不能为负数（{value!r}）。"
        message = str(err["msg"]).removeprefix("Value error, ")
        return f"{self.where(loc)}：{message}（当前值 {value!r}）。"


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
                errors.append(
                    f"{at.where(('units', i, 'senders', j))}：发件地址 {sender} 同时登记在 "
                    f"{config.units[first].name} 下。一个地址只能代表一个单位，请删去其中一处。"
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
    if config.campaign.end <= config.campaign.start:
        errors.append(
            f"{at.where(('campaign', 'end'))}：结束日期须晚于开始日期 {config.campaign.start}。"
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
        if not metrics and "target" not in unit.model_fields_set:
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
    for i, metric in enumerate(metrics):
        if metric.key not in split and (i == 0 or metric.target is None):
            need = "须在 units[].targets 中给各单位分解目标（第一个指标用于排名、末位和约谈）"
            if i:
                need = "既无全市目标 target，也无单位分解目标（units[].targets）。请补上其一"
            errors.append(f"{at.where(('campaign', 'metrics', i))}：指标“{metric.name}”{need}。")
    return errors
