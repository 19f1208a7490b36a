"""Scans and photos: offline OCR with RapidOCR (its ONNX models ship in the wheel).

Recognised lines are grouped into rows by their vertical position, so the same field
finder reads them. A figure read this way counts only when the unit and the figure were
both found and every line they came from was recognised with high confidence.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pipeline.reading.forms.cells import Box, Cell, Sheet
from pipeline.reading.forms.fields import Reading, extract
from pipeline.reading.forms.spreadsheet import FormUnreadable
from pipeline.reading.forms.table import FIGURE_ROLES, head_role
from pipeline.reading.forms.wording import DEFAULT_WORDING, Wording

MIN_SCORE = 0.9
Rows = list[list[Cell]]
# A phone photo is 12 MP or more; the form's smallest print stays legible at this size, and
# recognising at full size cost a 2-core server 4× the time and 1.2 GB for the same figures.
MAX_SIDE = 2400
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
    image = capped(image)
    reading = _read_upright(image, origin, wording)
    if reading.value is not None:
        return reading
    for angle in (90, 270, 180):
        turned = _read_upright(image.rotate(angle, expand=True), origin, wording)
        if turned.value is not None and turned.problem is None:
            return turned
    return reading


def capped(image: Any) -> Any:
    """The image scaled down so that its longer side is at most `MAX_SIDE` pixels."""
    if max(image.size) <= MAX_SIDE:
        return image
    from PIL import Image

    scale = MAX_SIDE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _read_upright(image: Any, origin: str, wording: Wording) -> Reading:
    import numpy as np

    for hook in before_ocr:
        hook()
    result = _engine()(np.asarray(image))
    if result.txts is None or result.boxes is None:
        return extract(Sheet("", ()), f"{origin}（图片识别）", wording)
    lines = list(zip(result.txts, result.scores, result.boxes, strict=True))
    rows, scores = _rows(lines)
    reading = extract(
        Sheet("", tuple(tuple(row) for row in rows)), f"{origin}（图片识别）", wording
    )
    text = "\n".join(" ".join(cell.text for cell in row) for row in rows)
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
    """Group text boxes whose vertical centres are close into one row, left to right; below
    a table's head row each box goes to the column of the head above it. A figure read
    with low confidence is marked, so no figure is ever taken from it."""
    boxes: list[_Box] = []
    turn = _skew([box for _, _, box in lines])
    for text, score, box in lines:
        # in the page's own frame: a photo taken a few degrees off would mix rows
        points = [_turned(point, turn) for point in box]
        xs, ys = [point[0] for point in points], [point[1] for point in points]
        shown = text if float(score) >= MIN_SCORE or not _DIGIT.search(text) else text + DOUBT
        boxes.append(_Box(sum(ys) / len(ys), min(xs), max(xs), max(ys) - min(ys), shown))
    boxes.sort(key=lambda b: (b.y, b.x0))
    rows: list[list[_Box]] = []
    last_y = None
    for b in boxes:
        if last_y is None or b.y - last_y > max(b.height, 1) * 0.6:
            rows.append([])
        rows[-1].append(b)
        last_y = b.y
    scores = {text: float(score) for text, score, _ in lines}
    return _aligned([sorted(row, key=lambda b: b.x0) for row in rows]), scores


DOUBT = "（识别不清）"


def _skew(boxes: list[Any]) -> float:
    """The page's tilt: the median slope of the wider boxes' top edges, in radians."""
    slopes = sorted(
        math.atan2(box[1][1] - box[0][1], box[1][0] - box[0][0])
        for box in boxes
        if box[1][0] - box[0][0] > 3 * abs(box[3][1] - box[0][1])
    )
    return slopes[len(slopes) // 2] if slopes else 0.0


def _turned(point: Any, angle: float) -> tuple[float, float]:
    x, y = float(point[0]), float(point[1])
    return x * math.cos(angle) + y * math.sin(angle), -x * math.sin(angle) + y * math.cos(angle)


_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class _Box:
    y: float
    x0: float
    x1: float
    height: float
    text: str

    @property
    def x(self) -> float:
        return (self.x0 + self.x1) / 2

    def cell(self) -> Cell:
        """In the page's own (deskewed) frame."""
        return Cell(
            self.text, box=(self.x0, self.y - self.height / 2, self.x1, self.y + self.height / 2)
        )


def _beside(a: Cell, b: Cell, gap: str = "") -> Cell:
    """Two recognised pieces as one cell: their texts joined, their boxes united."""
    if not a.text:
        return b
    if not b.text:
        return a
    box: Box | None = None
    if a.box and b.box:
        box = (
            min(a.box[0], b.box[0]),
            min(a.box[1], b.box[1]),
            max(a.box[2], b.box[2]),
            max(a.box[3], b.box[3]),
        )
    return Cell(f"{a.text}{gap}{b.text}", box=box or a.box or b.box)


def _aligned(rows: list[list[_Box]]) -> Rows:
    """Rows of texts; those under a head row (序号 | 工作项目 | 本旬数 | 累计数) in the head's
    columns, with a label wrapped onto a second line joined to its row."""
    head = next((i for i, row in enumerate(rows) if _is_head(row)), None)
    if head is None:
        return [[b.cell() for b in row] for row in rows]
    centres = [b.x for b in rows[head]]
    figures = {j for j, b in enumerate(rows[head]) if head_role(b.text) in FIGURE_ROLES}
    out: Rows = [[b.cell() for b in row] for row in rows[: head + 1]]
    for row in rows[head + 1 :]:
        cells = [Cell("")] * len(centres)
        for b in row:
            j = min(range(len(centres)), key=lambda k: abs(centres[k] - b.x))
            cells[j] = _beside(cells[j], b.cell(), " ")
        out.append(cells)
    return out[: head + 1] + _joined(out[head + 1 :], figures)


def _is_head(row: list[_Box]) -> bool:
    roles = [head_role(b.text) for b in row]
    return sum(r is not None for r in roles) >= 2 and any(r in FIGURE_ROLES for r in roles)


def _joined(rows: Rows, figures: set[int]) -> Rows:
    """A label cell wrapped over two lines (技能培训（人 / 次）): a line of label only
    waits for the next line's figures; a short fragment without figures ends the label
    of the line before it."""
    out: Rows = []
    waiting = False  # the last line is a label with no figures yet
    for row in rows:
        label = "".join(cell.text for j, cell in enumerate(row) if j not in figures)
        bare = not any(row[j].text for j in figures)
        if out and waiting and not bare and len(label) <= 3:
            out[-1] = [
                _beside(a, b) if j not in figures else b
                for j, (a, b) in enumerate(zip(out[-1], row, strict=True))
            ]
            waiting = False
            continue
        if out and bare and 0 < len(label) <= 3:
            out[-1] = [
                _beside(a, b) if j not in figures else a
                for j, (a, b) in enumerate(zip(out[-1], row, strict=True))
            ]
            continue
        out.append(row)
        waiting = bare and len(label) > 3
    return out
