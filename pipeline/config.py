"""config.yaml → one typed, validated `Config` object.

Errors name the file, the line, the key and the fix, in Chinese, because ops staff edit
this file by hand. Line numbers come from ruamel.yaml's round-trip loader.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from .errors import ConfigError

DEFAULT_CONFIG = Path("config.yaml")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(_Model):
    """One figure of a multi-metric campaign; `label` is its row label on the form."""

    key: str
    name: str
    label: str = ""  # empty: the name
    measure: str = ""
    cumulative: bool = True
    target: int | None = Field(default=None, ge=0)  # city-wide


class Campaign(_Model):
    name: str
    metric: str = "新增农民工入会"
    measure: str = "名"
    cumulative: bool = True
    start: date
    end: date
    target: int = Field(ge=0)
    base: int | None = Field(default=None, ge=0)
    metrics: list[Metric] = []

    @model_validator(mode="before")
    @classmethod
    def _headline(cls, data: Any) -> Any:
        """With `metrics`, the first one is the headline: its name, measure, kind and target."""
        first = (data.get("metrics") or [None])[0] if isinstance(data, dict) else None
        if not isinstance(first, dict):
            return data
        pairs = {"metric": "name", "measure": "measure", "cumulative": "cumulative"}
        headline = {k: first[f] for k, f in pairs.items() if f in first}
        return {**headline, "target": first.get("target") or 0, **data}


class Unit(_Model):
    name: str
    aliases: list[str] = []
    senders: list[str] = []
    target: int = Field(default=0, ge=0)  # required unless campaign.metrics is given
    targets: dict[
        str, Annotated[int, Field(ge=0)]
    ] = {}  # metric key → target, with campaign.metrics
    base: int | None = Field(default=None, ge=0)
    section: str = ""
    reporting: bool = True

    @field_validator("senders")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [s.strip().lower() for s in value]


class Group(_Model):
    name: str
    leaders: list[str] = []
    units: list[str]
    others: list[str] = []


class Schedule(_Model):
    days: list[int] = [10, 20, 30]
    time: dt.time = dt.time(18, 0)
    timezone: str = "Asia/Shanghai"

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if not value or any(not 1 <= d <= 31 for d in value):
            raise ValueError("截止日须为 1 到 31 之间的整数")
        return sorted(set(value))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"未知时区 {value!r}，例如填写 Asia/Shanghai") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Mailbox(_Model):
    source: Literal["directory", "imap"] = "directory"
    path: Path = Path("inbox_samples")
    address: str = ""
    host: str = ""
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    ca_file: Path | None = None
    username: str = ""
    password_env: str = "XUNBAO_IMAP_PASSWORD"
    password_file: Path | None = None
    folder: str = "INBOX"
    processed_folder: str = ""
    timeout: float = 30.0
    batch_size: int = Field(default=50, ge=1)
    max_message_mb: float = Field(default=25.0, gt=0)
    mark_seen: bool = False
    retries: int = Field(default=4, ge=0)  # reconnections after a dropped connection
    retry_delay: float = Field(default=2.0, ge=0)  # seconds before the first; doubles each time


class Storage(_Model):
    path: Path = Path("data/xunbao.sqlite")


class Output(_Model):
    dir: Path = Path("out")


class Rules(_Model):
    lagging_count: int = Field(default=3, ge=0)
    behind_margin: float = Field(default=1.0, gt=0)
    summon: list[Literal["lagging", "missing"]] = ["lagging", "missing"]
    escalate_after: int = Field(default=2, ge=1)
    examples_count: int = Field(default=3, ge=0)
    excerpt_chars: int = Field(default=90, ge=20)


class CircularSettings(_Model):
    issuer: str = "乐山市总工会"
    mark: str = ""  # the red issuer mark (发文机关标志); empty: issuer + 文件
    department: str = "乐山市总工会组宣部"
    doc_number: str = "乐工组〔{year}〕{seq}号"
    first_seq: int = Field(default=1, ge=1)
    title: str = "关于全市农民工入会集中行动进展情况的通报"
    addressees: str = (
        "各县（市、区）总工会，乐山高新区工会，峨眉山景区、乐山大佛景区管委会工会，"
        "市级系统工会，部分企业工会"
    )
    copy_to: str = ""
    fonts_serif: list[str] = ["仿宋_GB2312", "FangSong", "Noto Serif CJK SC"]
    fonts_title: list[str] = ["方正小标宋简体", "Noto Serif CJK SC"]
    fonts_heading: list[str] = ["黑体", "SimHei", "Noto Sans CJK SC"]
    fonts_kai: list[str] = ["楷体_GB2312", "KaiTi", "AR PL UKai CN"]


class Delivery(_Model):
    host: str = ""
    port: int = 465
    ssl: bool = True
    starttls: bool = False
    ca_file: Path | None = None
    username: str = ""
    password_env: str = "XUNBAO_SMTP_PASSWORD"
    password_file: Path | None = None
    sender: str = ""
    recipients: list[str] = []
    receipts: bool = False
    timeout: float = 30.0


class Config(_Model):
    campaign: Campaign
    units: list[Unit]
    groups: list[Group] = []
    schedule: Schedule = Schedule()
    mailbox: Mailbox = Mailbox()
    storage: Storage = Storage()
    output: Output = Output()
    rules: Rules = Rules()
    circular: CircularSettings = CircularSettings()
    delivery: Delivery = Delivery()
    # Where the file was read from: relative paths in it are relative to its folder.
    root: Path = Path(".")

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    @property
    def reporting_units(self) -> list[Unit]:
        return [u for u in self.units if u.reporting]

    @property
    def metrics(self) -> list[Metric]:
        """The campaign's metrics; without `metrics`, one implicit metric (key "")."""
        c = self.campaign
        one = {"name": c.metric, "measure": c.measure, "cumulative": c.cumulative}
        return c.metrics or [Metric(key="", target=c.target, **one)]

    def unit_target(self, unit: Unit, metric: Metric) -> int | None:
        """The unit's target for `metric`; None where the metric has no unit split."""
        return unit.targets.get(metric.key) if metric.key else unit.target

    def unit(self, name: str) -> Unit:
        for unit in self.units:
            if unit.name == name:
                return unit
        raise KeyError(name)


@dataclass(frozen=True)
class Loaded:
    config: Config
    warnings: list[str]


def load(path: Path = DEFAULT_CONFIG) -> Loaded:
    """Read and validate `path`; raise ConfigError with every problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"找不到配置文件 {path}。请用 --config 指定配置文件的路径。"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}：不是 UTF-8 编码。请用 UTF-8 编码另存该文件。"]) from None
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ConfigError(
            [f"{path} 第 {line} 行：YAML 格式错误（{exc.problem}）。请检查缩进和冒号。"]
        ) from None
    if not isinstance(tree, dict):
        raise ConfigError([f"{path}：内容应为“键: 值”形式的映射。"])
    locator = _Locator(path, tree)
    try:
        config = Config.model_validate({**tree, "root": path.resolve().parent})
    except ValidationError as exc:
        raise ConfigError([locator.explain(err) for err in exc.errors()]) from None
    errors, warnings = _cross_check(config, locator)
    if errors:
        raise ConfigError(errors)
    return Loaded(config, warnings)


def secret(env_name: str, file: Path | None, what: str) -> str:
    """A password from the environment or a file named in the config; never from config.yaml."""
    if env_name and os.environ.get(env_name):
        return os.environ[env_name]
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError([f"无法读取{what}文件 {file}：{exc.strerror}"]) from None
    raise ConfigError(
        [f"缺少{what}：请设置环境变量 {env_name}（或在 config.yaml 中用 password_file 指定文件）。"]
    )


class _Locator:
    """Maps a key path like ('units', 3, 'target') to a line of the YAML file."""

    def __init__(self, path: Path, tree: Any) -> None:
        self.path = path
        self.tree = tree

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
            return f"{self.where(loc)}：未知的键。{_suggest(loc)}"
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


def _suggest(loc: tuple[int | str, ...]) -> str:
    model: Any = Config
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


def _cross_check(config: Config, at: _Locator) -> tuple[list[str], list[str]]:
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
    if config.campaign.end <= config.campaign.start:
        errors.append(
            f"{at.where(('campaign', 'end'))}：结束日期须晚于开始日期 {config.campaign.start}。"
        )
    return errors, warnings


def _check_metrics(config: Config, at: _Locator) -> list[str]:
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


def iter_unit_names(config: Config) -> Iterator[tuple[str, str]]:
    """(written name, canonical name) for every unit name and alias."""
    for unit in config.units:
        yield unit.name, unit.name
        for alias in unit.aliases:
            yield alias, unit.name
