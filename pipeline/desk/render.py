"""Jinja2 pages of the desk: autoescaped (everything from a mail is hostile), Chinese labels,
times shown in the campaign's zone."""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from pipeline import resources
from pipeline.config import Config
from pipeline.standings.periods import local_text
from pipeline.standings.rules import STATUS_LABELS

TEMPLATES = resources.templates() / "desk"
OUTCOMES = {"counted": "计入", "review": "待审核", "ignored": "忽略"}
# what a clerk calls the clock an arrival time was taken from (mail header names are jargon)
BASES = {"Received 头": "途经邮件服务器记录的时间", "Date 头": "发件人电脑上的日期"}
ACTIONS = {
    "approve": "审核通过",
    "reject": "驳回",
    "sendback": "退回修改",
    "record": "电话录入",
    "reopen": "重新审核",
    "reread": "重新读取",
    "recheck": "重新判断",
    "withdraw": "撤回",
    "sign": "签发",
}


class Templates:
    def __init__(self, config: Config) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters["local"] = lambda value: local_text(value, config.schedule)
        self.environment.filters["outcome"] = lambda o: OUTCOMES.get(o, o)
        self.environment.filters["basis"] = lambda b: BASES.get(b, b)
        self.environment.filters["action"] = lambda k: ACTIONS.get(k, k)
        self.environment.filters["status"] = lambda s: STATUS_LABELS.get(s, s)
        self.environment.filters["percent"] = lambda x: f"{x * 100:.1f}%"
        self.environment.filters["figure"] = lambda v: "" if v is None else f"{v:,}"
        self.environment.globals["campaign"] = config.campaign

    def text(self, template: str, **values: Any) -> str:
        return self.environment.get_template(template).render(**values)

    def page(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(self.text(template, **values), status_code=status_code)

    def bare(self, template: str, status_code: int, **values: Any) -> HTMLResponse:
        """A page for a visitor with no session (login, refusals before sign-in)."""
        return self.page(template, status_code, account=None, csrf="", **values)
