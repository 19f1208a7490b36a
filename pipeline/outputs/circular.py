"""The circular (通报): standings → jinja2 HTML → WeasyPrint PDF, laid out per GB/T 9704-2012.

WeasyPrint may fetch only data: URLs, so a template can never read local files or the
network. Each font role gets exactly one installed family (see `fonts`): the page is
rendered once to learn which characters each role sets, then again with the chosen faces.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import cn2an
import jinja2
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from pipeline import atomic, resources
from pipeline.config import Config
from pipeline.errors import RenderError
from pipeline.outputs import docx as circular_docx
from pipeline.outputs import fonts
from pipeline.outputs.chart import rate_chart
from pipeline.outputs.corrections import doc_number
from pipeline.standings import spans
from pipeline.standings.table import Standings

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    from pipeline.outputs.corrections import Correction
    from pipeline.outputs.notices import FollowUp

TEMPLATES = resources.templates()
RED = "#e60012"
# role → (config attribute, Chinese name for messages)
ROLES = {
    "serif": ("fonts_serif", "正文"),
    "title": ("fonts_title", "红头和标题"),
    "heading": ("fonts_heading", "一级标题（黑体）"),
    "kai": ("fonts_kai", "二级标题（楷体）"),
}


@dataclass(frozen=True)
class Circular:
    doc_number: str
    html: str
    fonts: dict[str, str] = field(default_factory=dict)  # role → family used

    def pdf(self) -> bytes:
        return _rendered(self.html)


@functools.lru_cache(maxsize=4)
def _rendered(html: str) -> bytes:
    """The page as PDF. The same page makes the same PDF, so it is rendered once per
    process: the desk's view of a circular just signed there reuses the one issued."""
    try:
        document = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"}))
        return bytes(document.write_pdf(finisher=fonts.compact_cff_fonts))
    except Exception as exc:  # WeasyPrint raises many kinds; the user needs one message
        raise RenderError(f"生成 PDF 失败：{exc}") from exc


def numeral(n: int) -> str:
    """1 → 一, 12 → 十二, 120 → 一百二十 (section and item numbers), by cn2an."""
    return str(cn2an.an2cn(n))


def times(n: int) -> str:
    """2 → 两 (两次), else the numeral: 三次."""
    return "两" if n == 2 else numeral(n)


def templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["percent"] = lambda x: f"{x * 100:.1f}%"
    environment.filters["thousands"] = lambda x: f"{x:,}"
    environment.filters["numeral"] = numeral
    environment.filters["times"] = times
    environment.filters["names"] = lambda units: "、".join(u.unit for u in units)
    return environment


def render(environment: jinja2.Environment, name: str, **context: Any) -> str:
    try:
        return environment.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"通报模板 {name} 出错：{exc}") from exc


def _as_image(svg: str) -> Markup:
    """The chart as an <img> of a data: URL. Inline, WeasyPrint would match the whole page
    stylesheet against every SVG node, which cost a fifth of the render time."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return Markup(
        f'<img class="chart" alt="各单位完成率图" src="data:image/svg+xml;base64,{encoded}">'
    )


def compose(
    config: Config,
    standings: Standings,
    correction: Correction | None = None,
    number: str | None = None,
    followups: Sequence[FollowUp] = (),
) -> Circular:
    """The circular under `number` (corrections.doc_number; None: as the ledger's first);
    `followups`: the previous circular's summoned units and their talks (notices.followups)."""
    environment = templates()
    number = number or doc_number(config, standings.period, ())
    context = _context(config, standings, number) | {
        "correction": correction,
        "followups": followups,
        # 落款 and 印发: a correction is signed and printed on its own day
        "signed_cn": _chinese(correction.issued_on if correction else standings.period.end),
    }
    draft = render(environment, "circular.html.j2", css="", chart="", **context)
    chosen = choose_fonts(config, draft)
    families = {role: Markup(choice.css) for role, choice in chosen.items()}  # CSS, not HTML
    rows = [(s.unit, s.rate, s.status) for s in standings.units]
    chart = _as_image(rate_chart(rows, standings.expected, chosen["serif"].family, RED))
    css = render(environment, "circular.css.j2", font=families, red=RED)
    page = render(environment, "circular.html.j2", css=Markup(css), chart=chart, **context)
    return Circular(number, page, {role: c.family for role, c in chosen.items()})


def choose_fonts(config: Config, draft_html: str) -> dict[str, fonts.Choice]:
    texts = role_texts(draft_html)
    texts["serif"] += "— 0123456789%"  # page numbers and chart labels
    return {
        role: fonts.choose(label, getattr(config.circular, attribute), texts[role])
        for role, (attribute, label) in ROLES.items()
    }


def _chinese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _context(config: Config, standings: Standings, number: str) -> dict[str, Any]:
    from pipeline.standings import annual as annual_module

    annual = annual_module.of(config, standings)
    end = standings.period.end
    units = standings.units
    return {
        "c": config.circular,
        "mark": config.circular.mark or f"{config.circular.issuer}文件",
        "campaign": config.campaign,
        "rules": config.rules,
        "s": standings,
        "doc_number": number,
        "date_cn": _chinese(end),  # the figures' date: the period's cutoff
        "period_label": spans.label(config, standings.period),
        "term": spans.term(config, standings.period),  # 本旬, 本月 (monthly) or 本期 (ad hoc)
        "reported_count": standings.reported_count,
        "unreported_count": standings.unreported_count,
        "completed": standings.having("completed"),
        "lagging": standings.having("lagging"),
        "missing": standings.having("missing"),
        "pending": standings.having("pending"),
        "completed_unreported": [s for s in units if s.status == "completed" and not s.reported],
        "behind": [s for s in units if s.behind and s.status == "on_track"],
        "summoned": standings.summoned,
        "escalated": standings.escalated,
        "annual": annual,
        "title": config.circular.final_title if annual and config.circular.final_title else None,
    }


class _RoleText(HTMLParser):
    """Collects the characters each font role sets, from the classes the template uses."""

    VOID: ClassVar = frozenset({"meta", "br", "img", "hr", "link", "input", "col", "wbr"})
    BY_TAG: ClassVar = {"h1": "title", "h2": "heading", "th": "heading", "h3": "kai"}
    BY_CLASS: ClassVar = {"mark": "title", "title": "title", "sans": "heading", "kai": "kai"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = ["serif"]
        self.texts = {role: "" for role in ROLES}
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        role = next((self.BY_CLASS[c] for c in classes if c in self.BY_CLASS), None)
        self.stack.append(role or self.BY_TAG.get(tag, self.stack[-1]))
        self.skip += tag in ("style", "title", "script")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and len(self.stack) > 1:
            self.stack.pop()
            self.skip -= tag in ("style", "title", "script")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.texts[self.stack[-1]] += data


def role_texts(html: str) -> dict[str, str]:
    parser = _RoleText()
    parser.feed(html)
    parser.close()
    return parser.texts


def write(circular: Circular, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "circular.html"
    pdf = folder / "circular.pdf"
    with atomic.written(page) as temporary:
        temporary.write_text(circular.html, encoding="utf-8")
    with atomic.written(pdf) as temporary:
        temporary.write_bytes(circular.pdf())
    with atomic.written(folder / "circular.docx") as temporary:
        circular_docx.write(circular.html, circular.fonts, RED, temporary)
    return pdf, page
