"""Reading the form zoo (tests/fixtures/zoo, made by tests/fixtures/build_zoo.py) and
judging each form against the manifest: read right, held, or wrong.

Shared by tests/test_zoo.py and bench/zoo.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.config.units import Directory
from pipeline.mailbox.parse import Attachment, html_to_text
from pipeline.reading import forms
from pipeline.reading.forms import text

ZOO = Path(__file__).parent / "fixtures" / "zoo"


@dataclass(frozen=True)
class Verdict:
    name: str
    layout: str
    fmt: str
    writing: str
    expected: int | None  # None: the form must be held (blank or doubtful)
    outcome: str  # right | held | wrong
    detail: str  # the value read, or why it was held

    @property
    def aided(self) -> bool:
        return self.expected is None


def manifest() -> dict[str, dict[str, object]]:
    return json.loads((ZOO / "manifest.json").read_text("utf-8"))  # type: ignore[no-any-return]


def readings(name: str, data: bytes) -> list[forms.Reading]:
    """A zoo file as intake meets it: .txt and .html are mail bodies, the rest attachments."""
    if name.endswith(".txt"):
        return [forms.read_body(text.decode(data))]
    if name.endswith(".html"):
        return [forms.read_body(html_to_text(text.decode(data)))]
    return forms.read(Attachment(name, "", data))


def judge(name: str, truth: dict[str, object], directory: Directory) -> Verdict:
    expected = truth["value"]
    assert expected is None or isinstance(expected, int)

    def verdict(outcome: str, detail: str) -> Verdict:
        return Verdict(
            name,
            str(truth["layout"]),
            str(truth["format"]),
            str(truth["writing"]),
            expected,
            outcome,
            detail,
        )

    try:
        found = [r for r in readings(name, (ZOO / name).read_bytes()) if r.is_form]
    except forms.FormUnreadable as exc:
        return verdict("held", str(exc))
    if not found:
        return verdict("held", "没有找到旬报表")
    reading = found[0]
    if reading.value is None:
        return verdict("held", reading.problem or "完成数一栏是空的")
    if reading.value != expected:
        return verdict("wrong", f"读成 {reading.value}，应为 {expected}")
    if reading.unit is not None:
        unit = directory.match(reading.unit).unit
        if unit is None:
            return verdict("held", f"单位“{reading.unit}”对不上")
        if unit != truth["unit"]:
            return verdict("wrong", f"单位读成 {unit}，应为 {truth['unit']}")
    return verdict("right", str(reading.value))


def judge_all(config: Config) -> Iterator[Verdict]:
    directory = Directory(config)
    for name, truth in sorted(manifest().items()):
        yield judge(name, truth, directory)
