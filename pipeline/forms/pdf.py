"""PDF forms: ruled tables and text through pdfplumber; pages with no text layer (scans)
go through OCR."""

from __future__ import annotations

import io

import pdfplumber
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.utils.exceptions import PdfminerException

from . import ocr
from .fields import Reading, Rows, extract
from .spreadsheet import FormUnreadable


def read_pdf(data: bytes, origin: str) -> Reading:
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PDFSyntaxError, ValueError, PdfminerException):
        raise FormUnreadable("PDF 文件无法打开，可能已损坏") from None
    with pdf:
        if getattr(pdf.doc, "encryption", None):
            raise FormUnreadable("PDF 文件已加密")
        rows: Rows = []
        for page in pdf.pages:
            for table in page.extract_tables():
                rows.extend([cell or "" for cell in row] for row in table)
            rows.extend([line] for line in (page.extract_text() or "").splitlines())
        if any(any(cell.strip() for cell in row) for row in rows):
            return extract(rows, origin)
        # No text layer: a scanned form. Read the first page as an image.
        image = pdf.pages[0].to_image(resolution=200).original
        return ocr.read_pil(image, origin)
