"""HTML forms: a Word "web page" (.htm, often GB2312), an "Excel" file a web system
exported as an HTML table, a form pasted into a webmail's rich-text editor.

Parsed with lxml's HTML parser, which never fetches what the page links to. A table
becomes rows of cells in their grid positions (`cells.placed` fills in the positions a
colspan or rowspan covers); text outside tables becomes one-cell rows.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from pipeline.reading.forms.cells import MAX_SPAN, Cell, Sheet, placed
from pipeline.reading.forms.spreadsheet import FormUnreadable

Rows = list[list[Cell]]

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)
_BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section"}
_SKIP = {"script", "style", "head", "title", "xml", "template", "noscript"}


def decode(data: bytes) -> str:
    """The page's text: its BOM, else its declared charset (gb2312 read as gb18030, its
    superset), else UTF-8, else GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    declared = _CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        name = "gb18030" if name in ("gb2312", "gbk", "x-gbk", "gb_2312-80") else name
        try:
            return data.decode(name, "replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


def read_html(data: bytes) -> Sheet:
    text = decode(data)
    if not text.strip():
        raise FormUnreadable("网页文件是空的")
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        raise FormUnreadable("网页文件无法解析") from None
    rows: Rows = []
    line: list[str] = []
    _walk(root, rows, line)
    _flush(rows, line)
    return Sheet("", tuple(tuple(row) for row in rows))


def _walk(element: etree._Element, rows: Rows, line: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag.lower() in _SKIP:
        return
    if tag.lower() == "table":
        _flush(rows, line)
        rows.extend(list(row) for row in placed(_table(element)))
        _tail(element, line)
        return
    if tag.lower() in _BLOCKS:
        _flush(rows, line)
    if element.text and tag:
        line.append(element.text)
    for child in element:
        _walk(child, rows, line)
    if tag.lower() in _BLOCKS:
        _flush(rows, line)
    _tail(element, line)


def _tail(element: etree._Element, line: list[str]) -> None:
    if element.tail:
        line.append(element.tail)


def _flush(rows: Rows, line: list[str]) -> None:
    text = re.sub(r"[ \t\r\n\u00a0]+", " ", "".join(line)).strip()
    if text:
        rows.append([Cell(text)])
    line.clear()


def _table(table: etree._Element) -> Rows:
    """The table's rows as HTML writes them (a spanned position left out); a nested table's
    rows follow the row that holds it."""
    rows: Rows = []
    for tr in table.iter("tr"):
        if _owner(tr) is not table:
            continue  # a nested table's row: read where that table stands
        cells: list[Cell] = []
        for cell in tr:
            if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th"):
                continue
            cells.append(Cell(_cell_text(cell), _span(cell, "colspan"), _span(cell, "rowspan")))
        rows.append(cells)
        for nested in tr.iter("table"):
            if _owner(nested) is table:
                rows.extend(list(row) for row in placed(_table(nested)))
    return rows


def _owner(element: etree._Element) -> etree._Element | None:
    parent = element.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _cell_text(cell: etree._Element) -> str:
    parts: list[str] = []
    for node in cell.iter():
        if node is not cell and node.tag == "table":
            continue
        if isinstance(node.tag, str) and node.tag.lower() in ("br", "p", "div") and parts:
            parts.append("\n")
        if node.text and isinstance(node.tag, str) and node.tag.lower() not in _SKIP:
            parts.append(node.text)
        if node is not cell and node.tail:
            parts.append(node.tail)
    lines = (re.sub(r"[ \t\r\u00a0]+", " ", x).strip() for x in "".join(parts).split("\n"))
    return "\n".join(x for x in lines if x)


def _span(cell: etree._Element, attribute: str) -> int:
    value = str(cell.get(attribute) or "1").strip()
    return min(int(value), MAX_SPAN) if value.isdigit() and int(value) > 0 else 1
