"""circular.docx: the circular as an editable Word file, beside the PDF, in GB/T 9704 layout.

A 组宣部 clerk edits the wording in WPS or Word before the leader signs, so the .docx carries
the same text as the PDF: it is built from the very HTML WeasyPrint rendered (one source of
wording), walked block by block. Layout as the PDF: A4, text block 156 × 225 mm (margins
37 / 26 / 35 / 28 mm), 三号 (16 pt) body on a fixed 28.95 pt line, first lines indented two
characters, red issuer mark and rule, 二号 title, 黑体 and 楷体 headings, ruled tables with the
header repeated, page numbers "— n —" outside (odd right, even left), 版记 between rules.
Fonts are named as the PDF's (the families `fonts` chose, 仿宋_GB2312 where installed).
The chart is the PDF's own SVG drawn to a PNG (WeasyPrint lays it out, pdftoppm rasterises
it): WPS and older Word cannot show SVG. The last paragraph, the issuer and the date are
kept on one page (GB/T 9704 7.3.5: the 落款 never stands alone on a page).
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

LINE = Pt(28.95)  # 22 lines in 225 mm
INDENT = Pt(31.58)  # two characters of 16 pt on the 15.79 pt pitch
TAB = "\x00"  # a tab kept through whitespace folding
CHART_DPI = 200  # sharp in print at the chart's 156 mm
_SVG_DATA = "data:image/svg+xml;base64,"


@dataclass
class Block:
    kind: str  # mark, docno, rule, title, p, addressees, note, h2, h3, table, chart, issuer…
    text: str = ""  # a chart's: its SVG
    rows: list[Row] = field(default_factory=list)
    letter: bool = False  # of a 信函格式 page (a 约谈通知书): its head is not the 文件's


@dataclass
class Row:
    header: bool
    classes: str  # the <tr>'s: total, lagging, missing…
    cells: list[tuple[str, str]] = field(default_factory=list)  # (text, the cell's classes)


class _Blocks(HTMLParser):
    """The circular's HTML as a list of blocks, in reading order."""

    KINDS: ClassVar = {
        "mark": "mark",
        "docno": "docno",
        "red-rule": "rule",
        "title": "title",
        "addressees": "addressees",
        "note": "note",
        "issuer": "issuer",
        "date": "date",
        "cc": "cc",
        "printed": "printed",
    }

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[Block] = []
        self.current: Block | None = None
        self.cell: list[str] | None = None
        self.cell_class = ""
        self.row: Row | None = None
        self.skip = 0
        self.letter = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if "masthead" in classes:
            self.letter = "letter" in classes
        if tag == "span" and "on" in classes and self.current is not None:
            self.current.text += TAB  # 印发机关 left, 印发日期 right
        if tag == "br" and self.cell is not None:
            self.cell.append("\n")  # a second line in a cell (实名登记 under the unit)
        source = dict(attrs).get("src") or ""
        if tag == "img" and "chart" in classes and source.startswith(_SVG_DATA):
            svg = base64.b64decode(source[len(_SVG_DATA) :]).decode("utf-8")
            self.blocks.append(Block("chart", svg))
        if tag in ("style", "title", "script"):
            self.skip += 1
        elif tag == "figcaption":
            self.current = Block("caption")
        elif tag == "table":
            self.current = Block("table")
        elif tag == "tr" and self.current is not None:
            self.row = Row(False, " ".join(classes))
        elif tag in ("td", "th") and self.row is not None:
            self.row.header = self.row.header or tag == "th"
            self.cell, self.cell_class = [], " ".join(classes)
        elif self.current is None or self.current.kind != "table":
            kind = next((self.KINDS[c] for c in classes if c in self.KINDS), None)
            if kind or tag in ("p", "h2", "h3"):
                self.current = Block(kind or tag, letter=self.letter)
                if kind == "rule":
                    self._close()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "script"):
            self.skip -= 1
        elif tag == "figcaption":
            self._close()
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.cells.append(("".join(self.cell).strip(), self.cell_class))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.current is not None:
            self.current.rows.append(self.row)
            self.row = None
        elif tag == "table" or (
            tag in ("p", "h1", "h2", "h3", "div")
            and self.current is not None
            and self.current.kind != "table"
        ):
            self._close()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        elif self.current is not None and self.current.kind != "table":
            self.current.text += data

    def _close(self) -> None:
        if self.current is not None and (
            self.current.text.strip() or self.current.kind in ("rule", "table")
        ):
            self.current.text = " ".join(self.current.text.split()).replace(TAB, "\t")
            self.blocks.append(self.current)
        self.current = None


def blocks(html: str) -> list[Block]:
    parser = _Blocks()
    parser.feed(html)
    parser.close()
    return parser.blocks


def write(html: str, fonts: dict[str, str], red: str, path: Path) -> Path:
    """Write the .docx of the circular whose HTML is `html`; `fonts`: role → family."""
    document = Document()
    _page(document, fonts["serif"])
    body = _Body(document, fonts, RGBColor.from_string(red.lstrip("#").upper()))
    found = blocks(html)
    for block, after in zip(found, [*found[1:], None], strict=True):
        body.add(block, signed_next=after is not None and after.kind == "issuer")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def _page(document: DocxDocument, serif: str) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28)
    normal = document.styles["Normal"]
    normal.font.size = Pt(16)
    _font(normal.element.get_or_add_rPr(), serif)
    spacing = normal.paragraph_format
    spacing.line_spacing_rule, spacing.line_spacing = WD_LINE_SPACING.EXACTLY, LINE
    spacing.space_before = spacing.space_after = Pt(0)
    document.settings.odd_and_even_pages_header_footer = True
    for footer, side in ((section.footer, "right"), (section.even_page_footer, "left")):
        _page_number(footer.paragraphs[0], side, serif)


def _font(rpr: BaseOxmlElement, family: str) -> None:
    """Name `family` for Latin and East Asian text alike (Word picks by script)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), family)


def _page_number(paragraph: Paragraph, side: str, serif: str) -> None:
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if side == "right" else WD_ALIGN_PARAGRAPH.LEFT
    indent = Pt(14)
    if side == "right":
        paragraph.paragraph_format.right_indent = indent
    else:
        paragraph.paragraph_format.left_indent = indent
    for piece in ("— ", None, " —"):
        run = paragraph.add_run(piece or "")
        run.font.size = Pt(14)
        _font(run._r.get_or_add_rPr(), serif)
        if piece is None:  # a PAGE field: Word and LibreOffice fill in the number
            for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
                if kind:
                    node = OxmlElement("w:fldChar")
                    node.set(qn("w:fldCharType"), kind)
                else:
                    node = OxmlElement("w:instrText")
                    node.text = text
                run._r.append(node)


class _Body:
    def __init__(self, document: DocxDocument, fonts: dict[str, str], red: RGBColor) -> None:
        self.document, self.fonts, self.red = document, fonts, red

    def add(self, block: Block, signed_next: bool = False) -> None:
        """`signed_next`: the issuer follows, and this paragraph stays on its page."""
        if block.kind == "table":
            self._table(block)
            return
        if block.kind == "chart":
            self._chart(block.text)
            return
        if block.kind == "rule":
            self._rule()
            return
        paragraph = self.document.add_paragraph()
        run = paragraph.add_run(block.text)
        fmt = paragraph.paragraph_format
        fmt.first_line_indent = INDENT if block.kind in ("p", "h2", "h3") else None
        # CSS break-after: avoid; and the 落款 with the paragraph above it
        fmt.keep_with_next = block.kind in ("h2", "h3", "mark", "docno", "issuer") or signed_next
        role, size = {
            "mark": ("title", 40),
            "title": ("title", 22),
            "h2": ("heading", 16),
            "h3": ("kai", 16),
            "note": ("serif", 10.5),
            "caption": ("serif", 11),
            "cc": ("serif", 14),
            "printed": ("serif", 14),
        }.get(block.kind, ("serif", 16))
        run.font.size = Pt(size)
        _font(run._r.get_or_add_rPr(), self.fonts[role])
        if block.kind in ("mark", "docno", "title", "caption"):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if block.kind == "mark":
            run.font.bold, run.font.color.rgb = True, self.red
            fmt.line_spacing, fmt.space_before, fmt.space_after = Pt(40), Pt(97), Pt(58)
            if block.letter:  # 信函格式: the issuer's name at the top, the rule close under it
                fmt.space_before, fmt.space_after = Pt(0), Pt(14)
        if block.kind == "title":
            run.font.bold = True
            fmt.space_before, fmt.space_after = 2 * LINE, LINE  # two lines under the red rule
            if block.letter:
                fmt.space_before = Pt(14)
        if block.kind in ("note", "caption"):
            fmt.line_spacing = Pt(15)
        if block.kind == "issuer":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            fmt.right_indent, fmt.space_before = INDENT * 2, LINE
        if block.kind == "date":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            fmt.right_indent = INDENT
        if block.kind in ("cc", "printed"):
            fmt.left_indent = fmt.right_indent = Pt(14)
            _border(paragraph, "top", "000000", 8)
            if block.kind == "printed":
                _border(paragraph, "bottom", "000000", 8)
                fmt.tab_stops.add_tab_stop(Mm(156) - Pt(28), WD_TAB_ALIGNMENT.RIGHT)

    def _chart(self, svg: str) -> None:
        paragraph = self.document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        width = re.search(r'width="([\d.]+)pt"', svg)
        png = chart_png(svg)
        paragraph.add_run().add_picture(
            io.BytesIO(png), width=Pt(float(width.group(1))) if width else Mm(156)
        )

    def _rule(self) -> None:
        paragraph = self.document.add_paragraph()
        paragraph.paragraph_format.line_spacing = Pt(6)
        _border(paragraph, "bottom", str(self.red), 10)

    def _table(self, block: Block) -> None:
        width = max(len(row.cells) for row in block.rows)
        table = self.document.add_table(rows=0, cols=width)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        widths = _widths(block.rows, width)
        for column, size in zip(table.columns, widths, strict=True):
            column.width = size  # the grid LibreOffice lays out by; cells repeat it for Word
        for source in block.rows:
            row = table.add_row()
            if source.header:  # repeated at the top of every page the table runs onto
                row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
            for cell, (text, classes), column in zip(row.cells, source.cells, widths, strict=False):
                cell.width = column
                paragraph = cell.paragraphs[0]
                paragraph.paragraph_format.line_spacing = Pt(14)
                paragraph.paragraph_format.first_line_indent = None
                paragraph.alignment = (
                    WD_ALIGN_PARAGRAPH.RIGHT
                    if "num" in classes.split()
                    else WD_ALIGN_PARAGRAPH.LEFT
                    if "name" in classes.split()
                    else WD_ALIGN_PARAGRAPH.CENTER
                )
                run = paragraph.add_run(text)
                run.font.size = Pt(10.5)
                heading = source.header or "total" in source.classes
                _font(run._r.get_or_add_rPr(), self.fonts["heading" if heading else "serif"])
                if {"lagging", "missing"} & set(source.classes.split()):
                    run.font.color.rgb = self.red
        self.document.add_paragraph().paragraph_format.line_spacing = Pt(8)


def chart_png(svg: str) -> bytes:
    """The chart's SVG as a PNG, drawn with the fonts the PDF uses."""
    from weasyprint import HTML  # heavy: only when a circular is written

    size = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    width, height = (size.group(1), size.group(2)) if size else ("442", "300")
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    page = (
        f"<style>@page {{ size: {width}pt {height}pt; margin: 0 }} body {{ margin: 0 }}</style>"
        f'<img style="display:block;width:{width}pt;height:{height}pt" '
        f'src="{_SVG_DATA}{encoded}">'
    )
    with tempfile.TemporaryDirectory(prefix="xunbao-chart-") as folder:
        pdf = Path(folder) / "chart.pdf"
        HTML(string=page).write_pdf(pdf)
        out = Path(folder) / "chart"
        subprocess.run(
            ["pdftoppm", "-r", str(CHART_DPI), "-png", "-singlefile", str(pdf), str(out)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return out.with_suffix(".png").read_bytes()


def _widths(rows: list[Row], count: int) -> list[Mm]:
    """Column widths across the 156 mm text block, in proportion to each column's longest
    text (a Chinese character counts two), so unit names stay on one line where they fit."""
    need = [4] * count
    for row in rows:
        for i, (text, _) in enumerate(row.cells[:count]):
            cells = max(
                sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
                for line in text.split("\n")
            )
            need[i] = max(need[i], min(cells, 22) + 2)  # long lists of names wrap
    total = sum(need)
    return [Mm(156 * n / total) for n in need]


def _border(paragraph: Paragraph, edge: str, colour: str, eighths: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    line = OxmlElement(f"w:{edge}")
    for key, value in (("val", "single"), ("sz", str(eighths)), ("space", "1"), ("color", colour)):
        line.set(qn(f"w:{key}"), value)
    borders.append(line)
