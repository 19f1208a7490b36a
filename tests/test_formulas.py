"""Formulas without a cached value (openpyxl writes them so): plain arithmetic of numbers on
the sheet is computed; anything else is never a figure and the form is held."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline import forms
from pipeline.forms import formulas
from pipeline.forms.text import FORMULA
from pipeline.mail import Attachment

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMS = Path(__file__).parent / "fixtures" / "forms"


def form(figure: object, **cells: object) -> bytes:
    """A 旬报表 whose 已完成 cell (B4) holds `figure`; `cells` fill others (C2=…)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"], sheet["B1"] = "报送单位", "市中区"
    sheet["A2"], sheet["B2"] = "本旬新增", 1000
    sheet["A3"], sheet["B3"] = "此前累计", 1650
    sheet["A4"], sheet["B4"] = "已完成目标任务数", figure
    for ref, value in cells.items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def figure_of(data: bytes) -> int | None:
    (reading,) = forms.read(Attachment("旬报.xlsx", XLSX, data))
    assert reading.unit == "市中区"
    return reading.value


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("=B2+B3", 2650),
        ("=SUM(B2:B3)", 2650),
        ("=(B3-B2)*2+B2*3", 4300),
        ("=$B$2+1650", 2650),
        ("=C2", 2650),  # a formula referring to a formula, both uncached
    ],
)
def test_plain_arithmetic_is_computed(formula: str, expected: int) -> None:
    data = form(formula, C2="=B2+B3")
    assert formulas.has_uncached(data)
    assert figure_of(data) == expected


@pytest.mark.parametrize(
    "formula",
    [
        "=cmd|' /C calc'!A0",  # DDE
        "=VLOOKUP(A1,A1:B4,2,FALSE)",
        "=A1+B2",  # A1 is text
        "=B2/0",
        "=C2",  # C2 = D2 and D2 = C2: a cycle
        "=Sheet2!B2+1",
        "=B2^2",
        '=HYPERLINK("http://127.0.0.1/",2650)',
    ],
)
def test_anything_else_is_never_a_figure(formula: str) -> None:
    data = form(formula, C2="=D2", D2="=C2")
    assert figure_of(data) is None
    rows = formulas.read_rows(data, str)
    assert rows[3][1] == FORMULA


def test_a_cached_value_is_used_as_it_is() -> None:
    # LibreOffice writes the value it computed beside every formula: calamine reads it.
    data = (FORMS / "formula.xlsx").read_bytes()
    assert not formulas.has_uncached(data)


def test_an_honest_file_is_not_read_twice() -> None:
    data = form(2650)
    assert not formulas.has_uncached(data)
    assert figure_of(data) == 2650
