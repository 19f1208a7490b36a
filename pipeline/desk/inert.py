"""Attachments shown without running anything: tables as cells, pages and photos as images
re-encoded here, everything else as plain text.

Nothing a mail carries reaches the browser as it came: a spreadsheet or Word table becomes
text cells (autoescaped by the template), a PDF is rasterised by pdftoppm (poppler runs no
PDF JavaScript) and a photo is decoded and re-encoded as PNG by Pillow, so an SVG, an HTML
page or a crafted image can never execute in the desk. HTML and SVG are shown as source.

For a mail's attachments this runs only in a sandboxed preview process (previews.py), never
in the desk's own: the desk itself rasterises only the circulars it made (circular page).
A page is rendered at a resolution that keeps it within MAX_SIDE pixels, from the page size
pdfinfo reports, so a page of 5 m square costs what an A4 page does.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PIL import Image, ImageOps

if TYPE_CHECKING:
    from pipeline.mailbox.parse import Attachment
    from pipeline.reading.forms.cells import Rows

MAX_PAGES = 12  # pages of a PDF shown; the rest are left to the download
MAX_SIDE = 1600  # pixels: a photo is shown no larger
MAX_TEXT = 20000  # characters of a text attachment shown
RASTER_DPI = 80
Image.MAX_IMAGE_PIXELS = 80_000_000  # a larger "photo" is a decompression bomb: refuse it

_TEXT = {".txt", ".html", ".htm", ".svg", ".xml", ".json", ".eml", ".md"}


@dataclass(frozen=True)
class Shown:
    """What the page shows for one attachment."""

    filename: str
    kind: Literal["table", "pages", "text", "none"]
    tables: list[Rows] = field(default_factory=list)
    text: str = ""
    pages: int = 0  # images to fetch: PDF pages or one photo
    note: str = ""


def kind_of(attachment: Attachment) -> str:
    """pdf, photo, text or grid — by the bytes first (as the form readers choose), so a
    renamed file is shown as what it is; an SVG or HTML file is always text."""
    from pipeline.reading.forms.kinds import kind

    found = kind(attachment.data, attachment.filename)
    if found == "pdf":
        return "pdf"
    if found == "image":
        return "photo"
    if f".{found}" in _TEXT or attachment.content_type.startswith("text/"):
        return "text"
    return "grid"


def show(attachment: Attachment) -> Shown:
    from pipeline.reading import forms  # the readers: only in a preview process
    from pipeline.reading.forms.text import decode

    name, kind = attachment.filename, kind_of(attachment)
    try:
        if kind == "pdf":
            count = pdf_pages(attachment.data)
            note = f"共 {count} 页，只显示前 {MAX_PAGES} 页" if count > MAX_PAGES else ""
            return Shown(name, "pages", pages=min(count, MAX_PAGES), note=note)
        if kind == "photo":
            photo(attachment.data)  # decodes now, so a broken image says so on the page
            return Shown(name, "pages", pages=1)
        if kind == "text":
            text = decode(attachment.data)
            cut = f"（只显示前 {MAX_TEXT} 个字符）" if len(text) > MAX_TEXT else ""
            return Shown(name, "text", text=text[:MAX_TEXT], note=cut)
        rows = forms.grid(attachment)
    except (forms.FormUnreadable, OSError, ValueError, subprocess.SubprocessError) as exc:
        return Shown(name, "none", note=f"无法预览：{exc}。可下载原始邮件查看。")
    if rows is None:
        return Shown(name, "none", note="此类文件不能在网页中预览，可下载原始邮件查看。")
    return Shown(name, "table", tables=[_trimmed(rows)])


def image(attachment: Attachment, page: int) -> bytes:
    """Page `page` (1-based) of a PDF, or the photo, as a PNG made here."""
    if kind_of(attachment) == "pdf":
        if not 1 <= page <= min(pdf_pages(attachment.data), MAX_PAGES):
            raise ValueError("没有这一页")
        return raster(attachment.data, page)
    if page != 1:
        raise ValueError("没有这一页")
    return photo(attachment.data)


def photo(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.seek(0)  # the first frame of a GIF or TIFF
            # Upright as the phone meant it; only the pixels are kept (no EXIF, no trailer).
            picture = (ImageOps.exif_transpose(source) or source).convert("RGB")
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(f"图片无法解码（{exc}）") from exc
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=False)
    return out.getvalue()


def pdf_pages(data: bytes) -> int:
    for line in _pdfinfo(data).splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise ValueError("PDF 无法打开")


def _pdfinfo(data: bytes, page: int | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="xunbao-desk-") as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(data)
        pages = ["-f", str(page), "-l", str(page)] if page else []
        info = subprocess.run(
            ["pdfinfo", *pages, str(source)], capture_output=True, text=True, timeout=30
        )
    return info.stdout


def resolution(data: bytes, page: int) -> float:
    """The dots per inch that keep `page` within MAX_SIDE pixels (RASTER_DPI at most), from
    its size as pdfinfo reports it, before anything is rendered."""
    for line in _pdfinfo(data, page).splitlines():
        found = re.match(r"Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+)", line)
        if found and int(found.group(1)) == page:
            longest = max(float(found.group(2)), float(found.group(3)), 1.0)  # points
            return min(RASTER_DPI, MAX_SIDE * 72 / longest)
    raise ValueError("PDF 页面大小无法读取")


def raster(data: bytes, page: int) -> bytes:
    dpi = resolution(data, page)
    if dpi < 1:
        raise ValueError("页面尺寸过大，无法显示")
    with tempfile.TemporaryDirectory(prefix="xunbao-desk-") as folder:
        source, target = Path(folder) / "in.pdf", Path(folder) / "page"
        source.write_bytes(data)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                f"{dpi:.3f}",
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(source),
                str(target),
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
        # Decoded and re-encoded like a photo: only pixels reach the browser.
        return photo((Path(folder) / "page.png").read_bytes())


def _trimmed(rows: Rows) -> Rows:
    """Drop empty rows and trailing empty cells, so a sheet shows as its filled part."""
    kept = [row for row in rows if any(cell.strip() for cell in row)]
    width = max(
        (max((i + 1 for i, c in enumerate(r) if c.strip()), default=0) for r in kept), default=0
    )
    return [row[:width] for row in kept[:500]]
