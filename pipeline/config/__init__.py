"""config.yaml → one typed, validated `Config` object.

Errors name the file, the line, the key and the fix, in Chinese, because ops staff edit
this file by hand. Line numbers come from the composed YAML (`yamlfile`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
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

from pydantic import Field, ValidationError, field_validator, model_validator

from pipeline.config.checks import (
    Locator,
    cross_check,
    looks_like_secret,
    machine_checks,
    secret_checks,
)
from pipeline.config.sections import (
    BaseGroup,
    CircularSettings,
    Desk,
    FormWording,
    Group,
    Limits,
    Metric,
    Model,
    Output,
    Reminders,
    Rules,
    Storage,
    TalkSettings,
)
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from ssl import SSLContext

DEFAULT_CONFIG = Path("config.yaml")


class Campaign(Model):
    name: str
    metric: str = "新增农民工入会"
    measure: str = "名"
    cumulative: bool = True
    start: date
    end: date
    # The start of the target's own period (an annual target: 1 January), when dekad
    # reporting began later; time progress is measured from here. None: `start`.
    progress_from: date | None = None
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

    @property
    def progress_start(self) -> date:
        """The day time progress (时间进度) counts from."""
        return self.progress_from or self.start


class Unit(Model):
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
    leader: str = ""  # the union's 主要负责人, named on a 约谈通知书
    # An enterprise that reports into a bucket (其他): its latest figure is one term of the
    # bucket's sum; it has no target of its own and takes no rank. Implies reporting: false.
    part_of: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _part(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("part_of"):
            return {"reporting": False, **data}
        return data

    @field_validator("senders")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [s.strip().lower() for s in value]

    @property
    def addresses(self) -> list[str]:
        """The registered senders that are whole addresses (a domain "@x.cn" is not)."""
        return [s for s in self.senders if not s.startswith("@")]


class Schedule(Model):
    days: list[int] = [10, 20, 30]
    time: dt.time = dt.time(18, 0)
    timezone: str = "Asia/Shanghai"
    # The year's last period ends at 24:00 on 31 December instead of December's last
    # deadline: a report sent up to the year's end counts in that year (an annual target).
    year_end: bool = False

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


class Endpoint(Model):
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
    # A report from a registered address counts only when its From domain is vouched for
    # (senders.vouch); None: on for an IMAP mailbox, off for a directory of files.
    require_authentication: bool | None = None
    dns: str = ""  # the resolver DKIM keys are asked of, "host" or "host:port"; '': the system's

    @property
    def authenticates(self) -> bool:
        if self.require_authentication is None:
            return self.source == "imap"
        return self.require_authentication


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


class Config(Model):
    campaign: Campaign
    units: list[Unit]
    groups: list[Group] = []
    base_groups: list[BaseGroup] = []  # bases shared by several units (merged cells)
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
    talks: TalkSettings = Field(default_factory=TalkSettings)
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

    def total_target(self, metric: Metric) -> int | None:
        """The target the standings use: the city-wide one, else the units' split summed;
        None for a metric with neither (shown, never rated)."""
        if metric.target is not None:
            return metric.target
        split = [t for u in self.units if (t := self.unit_target(u, metric)) is not None]
        return sum(split) if split else None

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
    # Here, not at the top: commands that load no config need no YAML (~25 ms of imports).
    from pipeline.config.yamlfile import (
        DuplicateKey,
        MarkedYAMLError,
        parse,
        syntax_fault,
        text_faults,
    )

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
            with file.open(encoding="utf-8") as text:  # the mode of what was opened
                if fault := exposed(file, os.fstat(text.fileno()).st_mode):
                    raise ConfigError([fault])
                return text.read().strip()
        except OSError as exc:
            raise ConfigError([f"无法读取{what}文件 {file}：{exc.strerror}"]) from None
    named = "" if looks_like_secret(env_name) else f" {env_name}"  # never echo a typed code
    raise ConfigError(
        [f"缺少{what}：请设置环境变量{named}（或在 config.yaml 中用 password_file 指定文件）。"]
    )


def exposed(file: Path, mode: int) -> str | None:
    """Why a password file cannot be trusted: its group or others may read or change it."""
    if mode & 0o077:
        return (
            f"密码文件 {file} 的权限为 {mode & 0o777:04o}，同组或其他用户可以读取或修改："
            f"请运行 chmod 600 {file}（只有 xunbao 的运行用户可读）。"
        )
    return None


def iter_unit_names(config: Config) -> Iterator[tuple[str, str]]:
    """(written name, canonical name) for every unit name and alias."""
    for unit in config.units:
        yield unit.name, unit.name
        for alias in unit.aliases:
            yield alias, unit.name
