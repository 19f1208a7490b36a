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

from . import ocr
from .fields import Reading, Rows, extract
from .spreadsheet import FormUnreadable
from .wording import DEFAULT_WORDING, Wording

_CELL_GAP = 2.0  # a gap wider than this many character heights starts a new cell


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
        if any(any(cell.strip() for cell in row) for row in rows):
            return extract(rows, origin, wording)
        # No text layer: a scanned form. Read the first page as an image.
        image = pdf.pages[0].to_image(resolution=200).original
        return ocr.read_pil(image, origin, wording)


def page_rows(page: Any) -> Rows:
    """The page top to bottom: each table's rows where the table stands, lines between."""
    tables = page.find_tables()
    blocks: list[tuple[float, Rows]] = [
        (t.bbox[1], [[cell or "" for cell in row] for row in t.extract()]) for t in tables
    ]
    boxes = [t.bbox for t in tables]
    words = [
        w
        for w in page.extract_words(keep_blank_chars=False, use_text_flow=False)
        if not any(_inside(w, box) for box in boxes)
    ]
    for top, line in _lines(words):
        blocks.append((top, [line]))
    blocks.sort(key=lambda block: block[0])
    return [row for _, rows in blocks for row in rows]


def _inside(word: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x = (word["x0"] + word["x1"]) / 2
    y = (word["top"] + word["bottom"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _lines(words: list[dict[str, Any]]) -> list[tuple[float, list[str]]]:
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
        cells = [band[0]["text"]]
        for before, word in itertools.pairwise(band):
            height = max(word["bottom"] - word["top"], 1)
            if word["x0"] - before["x1"] > _CELL_GAP * height:
                cells.append(word["text"])
            else:
                space = " " if word["x0"] - before["x1"] > height * 0.2 else ""
                cells[-1] += space + word["text"]
        lines.append((min(w["top"] for w in band), cells))
    return lines
