"""PDF forms through pdfplumber, by position: ruled tables cell by cell, and the words
outside any table grouped into lines (same band) and cells (split where the gap between
words is wide). Pages with no text layer (scans) go through OCR.

Text extraction in reading order would put a figure that is vertically centred beside a
two-line label on another line than the label; word boxes keep it in the label's row.
"""

from __future__ import annotations

import io
import itertools
from typing import Any

import pdfplumber
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.utils.exceptions import PdfminerException

from pipeline.reading.forms import ocr
from pipeline.reading.forms.cells import COVERED, Box, Cell, Sheet
from pipeline.reading.forms.fields import Reading, extract
from pipeline.reading.forms.spreadsheet import FormUnreadable
from pipeline.reading.forms.wording import DEFAULT_WORDING, Wording

_CELL_GAP = 2.0  # a gap wider than this many character heights starts a new cell
_TOLERANCE = 1.0  # points: ruling lines drawn a hair apart are one line
Rows = list[tuple[Cell, ...]]


def read_pdf(data: bytes, origin: str, wording: Wording = DEFAULT_WORDING) -> Reading:
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PDFSyntaxError, ValueError, PdfminerException):
        raise FormUnreadable("PDF 文件无法打开，可能已损坏") from None
    with pdf:
        if getattr(pdf.doc, "encryption", None):
            raise FormUnreadable("PDF 文件已加密")
        rows: Rows = []
        for page in pdf.pages:
            rows.extend(page_rows(page))
        if any(any(cell.text.strip() for cell in row) for row in rows):
            pages = "第1页" if len(pdf.pages) == 1 else f"第1–{len(pdf.pages)}页"
            return extract(Sheet(pages, tuple(rows)), origin, wording)
        # No text layer: a scanned form. Read the first page as an image.
        image = pdf.pages[0].to_image(resolution=200).original
        return ocr.read_pil(image, origin, wording)


def page_rows(page: Any) -> Rows:
    """The page top to bottom: each table's rows where the table stands, lines between."""
    tables = page.find_tables()
    blocks: list[tuple[float, Rows]] = [(t.bbox[1], _table(t)) for t in tables]
    boxes = [t.bbox for t in tables]
    words = [
        w
        for w in page.extract_words(keep_blank_chars=False, use_text_flow=False)
        if not any(_inside(w, box) for box in boxes)
    ]
    for top, line in _lines(words):
        blocks.append((top, [tuple(line)]))
    blocks.sort(key=lambda block: block[0])
    return [row for _, rows in blocks for row in rows]


def _table(table: Any) -> Rows:
    """A ruled table's cells with their boxes; pdfplumber gives None at the positions a
    merged cell covers, and the cell's box says how many columns and rows it spans."""
    texts = table.extract()
    boxes = [row.cells for row in table.rows]
    lefts = sorted({box[0] for row in boxes for box in row if box})
    tops = sorted({box[1] for row in boxes for box in row if box})
    rows: Rows = []
    for line, row in zip(texts, boxes, strict=False):
        cells = []
        for text, box in zip(line, row, strict=False):
            if box is None:
                cells.append(COVERED)
                continue
            across = sum(box[0] - _TOLERANCE <= x < box[2] - _TOLERANCE for x in lefts)
            down = sum(box[1] - _TOLERANCE <= y < box[3] - _TOLERANCE for y in tops)
            cells.append(Cell(text or "", max(across, 1), max(down, 1), box=_box(box)))
        rows.append(tuple(cells))
    return rows


def _box(box: Any) -> Box:
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _inside(word: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x = (word["x0"] + word["x1"]) / 2
    y = (word["top"] + word["bottom"]) / 2
    return bool(box[0] <= x <= box[2] and box[1] <= y <= box[3])


def _lines(words: list[dict[str, Any]]) -> list[tuple[float, list[Cell]]]:
    """Words whose vertical centres fall within half a line of each other form a line;
    in a line, a wide gap between two words separates two cells."""
    ordered = sorted(words, key=lambda w: ((w["top"] + w["bottom"]) / 2, w["x0"]))
    bands: list[list[dict[str, Any]]] = []
    for word in ordered:
        centre = (word["top"] + word["bottom"]) / 2
        height = word["bottom"] - word["top"]
        if bands:
            last = bands[-1][0]
            if abs(centre - (last["top"] + last["bottom"]) / 2) <= max(height, 1) / 2:
                bands[-1].append(word)
                continue
        bands.append([word])
    lines = []
    for band in bands:
        band.sort(key=lambda w: w["x0"])
        groups = [[band[0]]]
        texts = [band[0]["text"]]
        for before, word in itertools.pairwise(band):
            height = max(word["bottom"] - word["top"], 1)
            if word["x0"] - before["x1"] > _CELL_GAP * height:
                groups.append([word])
                texts.append(word["text"])
            else:
                space = " " if word["x0"] - before["x1"] > height * 0.2 else ""
                groups[-1].append(word)
                texts[-1] += space + word["text"]
        cells = [Cell(text, box=_around(group)) for text, group in zip(texts, groups, strict=True)]
        lines.append((min(w["top"] for w in band), cells))
    return lines


def _around(words: list[dict[str, Any]]) -> Box:
    return (
        float(min(w["x0"] for w in words)),
        float(min(w["top"] for w in words)),
        float(max(w["x1"] for w in words)),
        float(max(w["bottom"] for w in words)),
    )
