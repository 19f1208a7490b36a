"""config.yaml → one typed, validated `Config` object.

Errors name the file, the line, the key and the fix, in Chinese, because ops staff edit
this file by hand. Line numbers come from ruamel.yaml's round-trip loader.
"""

from __future__ import annotations

import datetime as dt
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

from .config_checks import Locator, cross_check
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
    since: date | None = None  # joined mid-campaign: not in the standings before this day

    @field_validator("senders")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [s.strip().lower() for s in value]


class Group(_Model):
    """A supervision group (督促指导推进组): its people, its units, and who takes copies."""

    name: str
    leaders: list[str] = []  # 组长
    members: list[str] = []  # 成员
    departments: list[str] = []  # 责任部门
    email: str = ""  # the group's contact address; empty: the group gets no mail
    copies: list[Literal["reminders", "circular"]] = ["reminders", "circular"]
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
    # `serve` reads new mail this often between cutoffs (minutes); 0: only at the cutoffs.
    poll_minutes: float = Field(default=30, ge=0)


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
    # Streaks of summons count issued circulars ("circulars") or every dekad ("periods").
    streaks: Literal["circulars", "periods"] = "circulars"
    count_first_circular: bool = True  # false: the campaign's first circular starts no streak
    plausible_factor: float = Field(default=3.0, gt=1)  # above target × this needs --force


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
    receipt_limit: int = Field(default=10, ge=1)  # receipts a day to one address at most
    timeout: float = 30.0
    sign_off: Literal["auto", "required"] = "auto"
    signers: list[str] = []  # leaders who may sign (签发) a circular
    clerk: str = ""  # the clerk's address: told when a circular waits for review or sign-off
    review_wait_hours: float = Field(default=24.0, ge=0)  # auto: latest send after the cutoff


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
    locator = Locator(path, tree, Config)
    try:
        config = Config.model_validate({**tree, "root": path.resolve().parent})
    except ValidationError as exc:
        raise ConfigError([locator.explain(err) for err in exc.errors()]) from None
    errors, warnings = cross_check(config, locator)
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


def iter_unit_names(config: Config) -> Iterator[tuple[str, str]]:
    """(written name, canonical name) for every unit name and alias."""
    for unit in config.units:
        yield unit.name, unit.name
        for alias in unit.aliases:
            yield alias, unit.name
