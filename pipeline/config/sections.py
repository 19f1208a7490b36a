"""The config sections that stand alone (limits, storage, the desk, rules, the circular's
wording, reminders, the form's labels) and the model every section is made of; config.py
holds those that refer to one another, and the whole `Config`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Model(BaseModel):
    # Validators are built on first use, not at import: commands that load no config skip
    # building them altogether.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Metric(Model):
    """One figure of a multi-metric campaign; `label` is its row label on the form,
    `labels` the other ways units write it, `column` the column its figure is read from."""

    key: str
    name: str
    label: str = ""  # empty: the name
    labels: list[str] = []
    measure: str = ""
    cumulative: bool = True
    column: Literal["本旬", "累计", ""] = ""  # empty: 累计 when cumulative, else 本旬
    target: int | None = Field(default=None, ge=0)  # city-wide; none: shown, never rated

    @property
    def row_labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([self.label or self.name, self.name, *self.labels]))

    @property
    def read_from(self) -> str:
        return self.column or ("累计" if self.cumulative else "本旬")


class Group(Model):
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


class BaseGroup(Model):
    """A base-year figure (2014年会员数) that belongs to several units together: the seed's
    target table merges one cell (14207) over the whole 市属基层 block."""

    name: str
    base: int = Field(ge=0)
    units: list[str]  # names or aliases; a bucket such as 其他 may be one


class Limits(Model):
    """Hard limits for reading one attachment, and cheap checks made before reading it."""

    memory_mb: int = Field(default=512, ge=128)  # address space of a reader process
    ocr_memory_mb: int = Field(default=2048, ge=256)  # the same while OCR runs (ONNX runtime)
    seconds: float = Field(default=60.0, gt=0)  # CPU and wall-clock time per attachment
    workers: int = Field(default=0, ge=0)  # reader processes; 0: one per core
    archive_members: int = Field(default=200, ge=1)
    unpacked_mb: float = Field(default=200.0, gt=0)  # all members of one archive or package
    member_mb: float = Field(default=50.0, gt=0)
    ratio: float = Field(default=200.0, gt=1)  # unpacked / packed size of a large member
    cells: int = Field(default=2_000_000, ge=1000)  # a worksheet's declared dimension


class Storage(Model):
    path: Path = Path("data/xunbao.sqlite")
    originals: Path | None = None  # None: originals/ beside the ledger
    keep_originals_days: int | None = Field(default=None, ge=1)  # None: never deleted
    id_days: int = Field(default=90, ge=1)  # then originals keep their ID numbers masked


class Desk(Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)
    session_hours: float = Field(default=12.0, gt=0)
    login_attempts: int = Field(default=5, ge=1)  # failures per account and address …
    lockout_minutes: float = Field(default=15.0, gt=0)  # … before logins pause this long
    secure_cookies: bool = False  # always Secure; a request over HTTPS gets Secure cookies anyway
    # Addresses (or networks) whose X-Forwarded-For / -Proto are believed: the local nginx.
    trusted_proxies: list[str] = []
    hosts: list[str] = []  # host names the desk answers to, besides `host` and localhost
    account_attempts: int = Field(default=20, ge=1)  # failures per account, any address …

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item} 不是 IP 地址或网段（如 127.0.0.1、10.0.0.0/8）") from None
        return value


class Output(Model):
    dir: Path = Path("out")


class Rules(Model):
    lagging_count: int = Field(default=3, ge=0)
    # True: only units behind time progress can be 末位 (the stricter, pre-issue-25 reading).
    lagging_only_behind: bool = False
    behind_margin: float = Field(default=1.0, gt=0)
    summon: list[Literal["lagging", "missing"]] = ["lagging", "missing"]
    escalate_after: int = Field(default=2, ge=1)
    examples_count: int = Field(default=3, ge=0)
    excerpt_chars: int = Field(default=90, ge=20)
    # Streaks of summons count issued circulars ("circulars") or every dekad ("periods").
    streaks: Literal["circulars", "periods"] = "circulars"
    count_first_circular: bool = True  # false: the campaign's first circular starts no streak
    plausible_factor: float = Field(default=3.0, gt=1)  # above target × this needs --force
    # A cumulative figure rising from the unit's last one by more than the largest one-dekad
    # rise seen so far × jump_factor (or than max_jump, when set) is held for a person.
    jump_factor: float = Field(default=1.0, ge=1)
    max_jump: int = Field(default=0, ge=0)
    roster_tolerance: int = Field(default=0, ge=0)
    real_name: bool = False  # every new member is to be registered by name: rate and 未附名单


class CircularSettings(Model):
    issuer: str = "乐山市总工会"
    mark: str = ""  # the red issuer mark (发文机关标志); empty: issuer + 文件
    department: str = "乐山市总工会组宣部"
    doc_number: str = "乐工组〔{year}〕{seq}号"
    first_seq: int = Field(default=1, ge=1)
    title: str = "关于全市农民工入会集中行动进展情况的通报"
    final_title: str = ""  # the campaign's last (年度) circular; empty: `title`
    # One circular each dekad, or one each month at the month's last dekad (每月通报).
    every: Literal["dekad", "month"] = "dekad"
    addressees: str = (
        "各县（市、区）总工会，乐山高新区工会，峨眉山景区、乐山大佛景区管委会工会，"
        "市级系统工会，部分企业工会"
    )
    copy_to: str = ""
    fonts_serif: list[str] = ["仿宋_GB2312", "FangSong", "Noto Serif CJK SC"]
    fonts_title: list[str] = ["方正小标宋简体", "Noto Serif CJK SC"]
    fonts_heading: list[str] = ["黑体", "SimHei", "Noto Sans CJK SC"]
    fonts_kai: list[str] = ["楷体_GB2312", "KaiTi", "AR PL UKai CN"]


class Reminders(Model):
    """催报: one polite reminder before the cutoff to each unit with nothing in the period."""

    enabled: bool = False
    days_before: int = Field(default=0, ge=0)  # 0: on the deadline day itself
    time: dt.time = dt.time(9, 0)
    form: str = "旬报表"  # how the letter names the form to send
    copy_groups: bool = True  # copy the unit's supervision group contact (groups[].email)


class FormWording(Model):
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


class TalkSettings(Model):
    """约谈: the notice (约谈通知书) to a summoned unit's 主要负责人, and where the talk is."""

    title: str = "约谈通知书"
    basis: str = ""  # the rule the talk rests on, quoted in the notice (the campaign's words)
    place: str = "市总工会会议室"
    days_after: int = Field(default=3, ge=0)  # the talk: this many days after the circular
    time: dt.time = dt.time(9, 30)
    contact: str = ""  # 联系人及电话, at the notice's end
