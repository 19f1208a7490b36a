"""Scans and photos: offline OCR with RapidOCR (its ONNX models ship in the wheel).

Recognised lines are grouped into rows by their vertical position, so the same field
finder reads them. A figure read this way counts only when the unit and the figure were
both found and every line they came from was recognised with high confidence.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .fields import Reading, Rows, extract
from .spreadsheet import FormUnreadable
from .wording import DEFAULT_WORDING, Wording

MIN_SCORE = 0.9
# Called before the OCR engine runs. The ONNX runtime needs far more address space than
# any other reader; a reader process (sandbox) uses this to widen its limit for OCR.
before_ocr: list[Callable[[], None]] = []


@functools.cache
def _engine() -> Any:
    from rapidocr import RapidOCR  # heavy import: only when a scan actually arrives

    engine = RapidOCR(params={"Global.log_level": "warning"})
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return engine


def read_image(data: bytes, origin: str, wording: Wording = DEFAULT_WORDING) -> Reading:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        # A phone stores its photo as the sensor saw it and says how to turn it in EXIF.
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    except (UnidentifiedImageError, OSError):
        raise FormUnreadable("图片无法打开") from None
    return read_pil(image, origin, wording)


def read_pil(image: Any, origin: str, wording: Wording = DEFAULT_WORDING) -> Reading:
    """An upright page; a scan fed in sideways or upside down (no figure read as it is) is
    tried in the three other turns, and a turn counts only if it reads with confidence."""
    reading = _read_upright(image, origin, wording)
    if reading.value is not None:
        return reading
    for angle in (90, 270, 180):
        turned = _read_upright(image.rotate(angle, expand=True), origin, wording)
        if turned.value is not None and turned.problem is None:
            return turned
    return reading


def _read_upright(image: Any, origin: str, wording: Wording) -> Reading:
    import numpy as np

    for hook in before_ocr:
        hook()
    result = _engine()(np.asarray(image))
    if result.txts is None or result.boxes is None:
        return extract([], f"{origin}（图片识别）", wording)
    lines = list(zip(result.txts, result.scores, result.boxes, strict=True))
    rows, scores = _rows(lines)
    reading = extract(rows, f"{origin}（图片识别）", wording)
    text = "\n".join(" ".join(row) for row in rows)
    reading = replace(reading, ocr_text=text)
    if reading.value is None or reading.problem:
        return reading
    used = [score for cell, score in scores.items() if _mentions(cell, reading, wording)]
    if reading.unit is None or not used or min(used) < MIN_SCORE:
        why = "图片识别（OCR）的结果不够可靠（单位或完成数未能确认），请人工核对"
        return replace(reading, value=None, problem=why)
    return reading


def _mentions(cell: str, reading: Reading, wording: Wording) -> bool:
    """Whether an OCR line holds the unit's label, the figure's label or the figure."""
    compact = cell.replace(" ", "")
    labels = wording.unit + wording.figure
    return any(label in compact for label in labels) or str(reading.value) in compact


def _rows(lines: list[tuple[str, float, Any]]) -> tuple[Rows, dict[str, float]]:
    """Group text boxes whose vertical centres are close into one row, left to right."""
    boxes = []
    for text, _score, box in lines:
        ys = [point[1] for point in box]
        boxes.append((sum(ys) / len(ys), min(point[0] for point in box), max(ys) - min(ys), text))
    boxes.sort()
    rows: list[list[tuple[float, str]]] = []
    last_y = None
    for y, x, height, text in boxes:
        if last_y is None or y - last_y > max(height, 1) * 0.6:
            rows.append([])
        rows[-1].append((x, text))
        last_y = y
    scores = {text: float(score) for text, score, _ in lines}
    return [[text for _, text in sorted(row)] for row in rows], scores
