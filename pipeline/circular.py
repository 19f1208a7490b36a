"""The circular (通报): standings → jinja2 HTML → WeasyPrint PDF.

WeasyPrint may fetch only data: URLs, so a template can never read local files or the
network. Fonts are chosen by name from the config's fallback lists through fontconfig.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from .config import Config
from .errors import RenderError
from .periods import between
from .standings import Standings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class Circular:
    doc_number: str
    html: str

    def pdf(self) -> bytes:
        try:
            document = HTML(string=self.html, url_fetcher=URLFetcher(allowed_protocols={"data"}))
            return bytes(document.write_pdf())
        except Exception as exc:  # WeasyPrint raises many kinds; the user needs one message
            raise RenderError(f"生成 PDF 失败：{exc}") from exc


def doc_number(config: Config, standings: Standings) -> str:
    issued = between(config.campaign.start, standings.period, config.schedule)
    seq = config.circular.first_seq + len(issued) - 1
    return config.circular.doc_number.format(year=standings.period.end.year, seq=seq)


def compose(config: Config, standings: Standings) -> Circular:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["percent"] = lambda x: f"{x * 100:.1f}%"
    environment.filters["thousands"] = lambda x: f"{x:,}"
    environment.filters["excerpt"] = excerpt
    number = doc_number(config, standings)
    context = _context(config, standings, number)
    try:
        page = environment.get_template("circular.html.j2").render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"通报模板出错：{exc}") from exc
    return Circular(number, page)


def _context(config: Config, standings: Standings, number: str) -> dict[str, Any]:
    end = standings.period.end
    fonts = config.circular
    reporting = [s for s in standings.units if s.reported]
    return {
        "c": config.circular,
        "campaign": config.campaign,
        "s": standings,
        "doc_number": number,
        "date_cn": f"{end.year}年{end.month}月{end.day}日",
        "period_label": standings.period.label(),
        "reported_count": len(reporting),
        "completed": standings.having("completed"),
        "lagging": standings.having("lagging"),
        "missing": standings.having("missing"),
        "behind": [s for s in standings.units if s.behind and s.status != "lagging" and s.reported],
        "examples": [s for s in standings.units if s.reported and s.measures][:3],
        "font_serif": _family(fonts.fonts_serif),
        "font_title": _family(fonts.fonts_title),
        "font_heading": _family(fonts.fonts_heading),
        "font_kai": _family(fonts.fonts_kai),
    }


def _family(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names) + ", serif"


_SENTENCE_END = re.compile(r"(?<=[。；;！!？?])")


def excerpt(text: str, limit: int = 90) -> str:
    """Whole sentences up to `limit` characters; a cut sentence ends with an ellipsis."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        if len(kept) + len(sentence) > limit:
            break
        kept += sentence
    return kept or text[: limit - 1] + "…"


def write(circular: Circular, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "circular.html"
    pdf = folder / "circular.pdf"
    page.write_text(circular.html, encoding="utf-8")
    pdf.write_bytes(circular.pdf())
    return pdf, page
