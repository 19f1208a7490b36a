"""Plain-text letters to the units and the clerk (receipts, reminders), from `templates/`.

The wording lives in the templates (Chinese, editable without touching code); this module
only renders them. Times are shown in the campaign's zone, figures with thousands commas.
Text from a mail (a subject) is plain text in a plain-text letter: nothing to escape, and
nothing in it is ever fetched.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from pipeline import resources
from pipeline.errors import RenderError

TEMPLATES = resources.templates()


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # plain-text mail
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["thousands"] = lambda x: f"{x:,}"
    return environment


def render(name: str, **context: Any) -> str:
    try:
        return _environment().get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"邮件模板 {name} 出错：{exc}") from exc


def moment(when: datetime, zone: ZoneInfo) -> str:
    """'2015年9月12日 10:00', in the campaign's zone."""
    local = when.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
