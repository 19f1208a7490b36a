"""config.yaml → one typed, validated `Config` object.

Errors name the file, the line, the key and the fix, in Chinese, because ops staff edit
this file by hand. Line numbers come from the composed YAML (`yamlfile`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# xunbao uses no pydantic plugins; looking for them scans every installed package's entry
# points when the first model is built (~0.1 s of each command's start). Set before that.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .config_checks import (
    Locator,
    cross_check,
    looks_like_secret,
    machine_checks,
    secret_checks,
)
from .errors import ConfigError

if TYPE_CHECKING:
    from ssl import SSLContext

DEFAULT_CONFIG = Path("config.yaml")


class _Model(BaseModel):
    # Validators are built on first use, not at import: a config from config_cache is never
    # validated again, so the light commands skip building them altogether.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


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
    growth_goal: float | None = Field(default=None, ge=0)  # e.g. 0.22; None: target / base
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

    @property
    def addresses(self) -> list[str]:
        """The registered senders that are whole addresses (a domain "@x.cn" is not)."""
        return [s for s in self.senders if not s.startswith("@")]


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

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip().lower()
        if value and ("@" not in value or value.startswith("@")):
            raise ValueError(f"{value!r} 不是完整的邮箱地址，例如 dudao1@lszgh.example")
        return value


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


class Endpoint(_Model):
    """A mail server xunbao logs into, IMAP (mailbox) or SMTP (delivery): one model, one
    certificate check, one refusal to send a password in the clear."""

    host: str = ""
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    ca_file: Path | None = None
    username: str = ""
    password_env: str = ""
    password_file: Path | None = None
    timeout: float = 30.0

    def tls_context(self, config: Config) -> SSLContext:
        """Certificates are always verified; `ca_file` adds a private CA."""
        import ssl as ssl_module

        ca = config.resolve(self.ca_file) if self.ca_file else None
        return ssl_module.create_default_context(cafile=str(ca) if ca else None)

    def plaintext_refused(self, section: str, tls_port: int, starttls_port: int) -> str | None:
        """Why a login must not go ahead (neither TLS nor STARTTLS, a password, a server
        that is not this machine); None when it may."""
        if self.ssl or self.starttls or not self.username or _loopback(self.host):
            return None
        return (
            f"{section}.ssl 和 {section}.starttls 都为 false：授权码会以明文在网络上传输。"
            f"请设置 ssl: true（{tls_port} 端口）或 starttls: true（{starttls_port} 端口）。"
        )


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Mailbox(Endpoint):
    source: Literal["directory", "imap"] = "directory"
    path: Path = Path("inbox_samples")
    address: str = ""
    port: int = 993
    password_env: str = "XUNBAO_IMAP_PASSWORD"
    folder: str = "INBOX"
    processed_folder: str = ""
    batch_size: int = Field(default=50, ge=1)
    max_message_mb: float = Field(default=25.0, gt=0)
    mark_seen: bool = False
    retries: int = Field(default=4, ge=0)  # reconnections after a dropped connection
    retry_delay: float = Field(default=2.0, ge=0)  # seconds before the first; doubles each time
    # `serve` reads new mail this often between cutoffs (minutes); 0: only at the cutoffs.
    poll_minutes: float = Field(default=30, ge=0)
    # Servers whose Authentication-Results are believed (the authserv-id before the ";").
    authserv_ids: list[str] = []
    verify_dkim: bool = False  # our own DKIM check with dkimpy; needs DNS


class Limits(_Model):
    """Hard limits for reading one attachment, and cheap checks made before reading it."""

    memory_mb: int = Field(default=768, ge=128)  # address space of a reader process
    ocr_memory_mb: int = Field(default=2048, ge=256)  # the same while OCR runs (ONNX runtime)
    seconds: float = Field(default=60.0, gt=0)  # CPU and wall-clock time per attachment
    workers: int = Field(default=0, ge=0)  # reader processes; 0: one per core
    archive_members: int = Field(default=200, ge=1)
    unpacked_mb: float = Field(default=200.0, gt=0)  # all members of one archive or package
    member_mb: float = Field(default=50.0, gt=0)
    ratio: float = Field(default=200.0, gt=1)  # unpacked / packed size of a large member
    cells: int = Field(default=2_000_000, ge=1000)  # a worksheet's declared dimension


class Storage(_Model):
    path: Path = Path("data/xunbao.sqlite")
    originals: Path | None = None  # None: originals/ beside the ledger
    keep_originals_days: int | None = Field(default=None, ge=1)  # None: never deleted


class Desk(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)
    session_hours: float = Field(default=12.0, gt=0)
    login_attempts: int = Field(default=5, ge=1)  # failures per account and address …
    lockout_minutes: float = Field(default=15.0, gt=0)  # … before logins pause this long
    secure_cookies: bool = False  # true behind TLS (nginx): cookies only travel over HTTPS


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
    roster_tolerance: int = Field(default=0, ge=0)


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


class Delivery(Endpoint):
    port: int = 465
    password_env: str = "XUNBAO_SMTP_PASSWORD"
    sender: str = ""
    recipients: list[str] = []
    receipts: bool = False
    receipt_limit: int = Field(default=10, ge=1)  # receipts a day to one address at most
    clerk: str = ""  # the clerk's address: told when a circular waits for review or sign-off
    sign_off: Literal["auto", "required"] = "auto"
    signers: list[str] = []  # leaders who may sign (签发) a circular
    review_wait_hours: float = Field(default=24.0, ge=0)  # auto: latest send after the cutoff


class Reminders(_Model):
    """催报: one polite reminder before the cutoff to each unit with nothing in the period."""

    enabled: bool = False
    days_before: int = Field(default=0, ge=0)  # 0: on the deadline day itself
    time: dt.time = dt.time(9, 0)
    form: str = "旬报表"  # how the letter names the form to send
    copy_groups: bool = True  # copy the unit's supervision group contact (groups[].email)


class FormWording(_Model):
    """The report form's wording; the defaults are the 2015 旬报表 (附件3)."""

    unit: list[str] = ["报送单位", "填报单位"]
    date: list[str] = ["报送时间", "报送日期", "填报时间", "填报日期"]
    figure: list[str] = ["已完成目标任务数", "已完成任务数", "已完成数", "完成数"]
    measures: list[str] = ["主要工作举措", "工作举措"]
    blank: str = "新增(.*?)名"
    stops: list[str] = ["说明", "报送方式", "联系人", "填报人", "审核人", "联系电话"]
    heads: list[str] = ["项目", "序号", "上期累计", "本旬新增", "本期新增", "本月新增"]
    totals: list[str] = ["累计", "累计完成", "合计"]
    synonyms: dict[str, str] = {"农村籍职工": "农民工"}
    place_prefixes: list[str] = ["四川省乐山市", "乐山市", "乐山"]
    unit_suffixes: list[str] = ["工会委员会", "总工会", "工会", "委员会"]

    @field_validator("unit", "figure")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not [label for label in value if label.strip()]:
            raise ValueError("至少要写一个栏目名称")
        return value

    @field_validator("blank")
    @classmethod
    def _blank(cls, value: str) -> str:
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"不是有效的正则表达式（{exc.msg}），例如写 新增(.*?)名") from None
        if groups != 1:
            raise ValueError("须有且只有一对圆括号，标出填数字的空，例如 新增(.*?)名")
        return value


class Config(_Model):
    campaign: Campaign
    units: list[Unit]
    groups: list[Group] = []
    # Factories, not instances: an instance made here would build its validator at import.
    schedule: Schedule = Field(default_factory=Schedule)
    mailbox: Mailbox = Field(default_factory=Mailbox)
    storage: Storage = Field(default_factory=Storage)
    limits: Limits = Field(default_factory=Limits)
    output: Output = Field(default_factory=Output)
    rules: Rules = Field(default_factory=Rules)
    circular: CircularSettings = Field(default_factory=CircularSettings)
    delivery: Delivery = Field(default_factory=Delivery)
    reminders: Reminders = Field(default_factory=Reminders)
    desk: Desk = Field(default_factory=Desk)
    form: FormWording = Field(default_factory=FormWording)
    # Where the file was read from: relative paths in it are relative to its folder.
    root: Path = Path(".")

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the config as JSON, which the ledger's memos are keyed on. Kept with a
        cached config, so a command that reads only memos never builds the serialiser."""
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        if update:  # a changed copy must not keep the original's digest
            copied.__dict__.pop("digest", None)
        return copied

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

    def circular_recipients(self) -> list[str]:
        """delivery.recipients, then the supervision groups' contacts who take a copy."""
        found = list(self.delivery.recipients)
        for group in self.groups:
            if group.email and "circular" in group.copies and group.email not in found:
                found.append(group.email)
        return found

    def group_units(self, group: Group) -> list[str]:
        """The group's units by their canonical names (config may use an alias)."""
        canonical = {n: u.name for u in self.units for n in [u.name, *u.aliases]}
        return list(dict.fromkeys(canonical.get(m, m) for m in group.units))

    def unit(self, name: str) -> Unit:
        for unit in self.units:
            if unit.name == name:
                return unit
        raise KeyError(name)


@dataclass(frozen=True)
class Loaded:
    config: Config
    warnings: list[str]


def load(path: Path = DEFAULT_CONFIG, on_this_machine: bool = False) -> Loaded:
    """Read and validate `path`; raise ConfigError with every problem found.

    `on_this_machine` (check-config) also checks the mailbox folder, the password variables
    and the e-mail addresses."""
    # Here, not at the top: a config from config_cache needs no YAML (~25 ms of imports).
    from .yamlfile import DuplicateKey, MarkedYAMLError, parse, syntax_fault, text_faults

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"找不到配置文件 {path}。请用 --config 指定配置文件的路径。"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}：不是 UTF-8 编码。请用 UTF-8 编码另存该文件。"]) from None
    faults = text_faults(path, text)
    if faults:
        raise ConfigError(faults)
    try:
        parsed = parse(text)
    except (MarkedYAMLError, DuplicateKey) as exc:
        raise ConfigError([syntax_fault(path, exc)]) from None
    if not isinstance(parsed.data, dict):
        raise ConfigError([f"{path}：内容应为“键: 值”形式的映射。"])
    locator = Locator(path, parsed.root, Config)
    try:
        config = Config.model_validate({**parsed.data, "root": path.resolve().parent})
    except ValidationError as exc:
        raise ConfigError([locator.explain(err) for err in exc.errors()]) from None
    errors, warnings = cross_check(config, locator)
    errors += secret_checks(config, locator)
    if on_this_machine:
        errors += machine_checks(config, locator)
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
    named = "" if looks_like_secret(env_name) else f" {env_name}"  # never echo a typed code
    raise ConfigError(
        [f"缺少{what}：请设置环境变量{named}（或在 config.yaml 中用 password_file 指定文件）。"]
    )


def iter_unit_names(config: Config) -> Iterator[tuple[str, str]]:
    """(written name, canonical name) for every unit name and alias."""
    for unit in config.units:
        yield unit.name, unit.name
        for alias in unit.aliases:
            yield alias, unit.name
