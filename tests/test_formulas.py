"""Formulas without a saved value (openpyxl, Apache POI, hand-made .ods write them so): plain
arithmetic of numbers on the sheet is computed; anything else is never a figure, the form
is held, and a number beside the formula is never taken for it."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.worksheet.formula import ArrayFormula

from pipeline.mailbox.parse import Attachment
from pipeline.reading import forms
from pipeline.reading.forms import formulas, uncached
from pipeline.reading.forms.numbers import parse_figure
from pipeline.reading.forms.text import FORMULA

FORMS = Path(__file__).parent / "fixtures" / "forms"
NEIGHBOUR = {"C4": 99}  # a number right of the figure: read as the figure before issue 9


def form(figure: object, **cells: object) -> bytes:
    """A 旬报表 (openpyxl: formulas without values) whose 已完成 cell B4 holds `figure`."""
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


def edited(data: bytes, part: str, edit: Callable[[bytes], bytes]) -> bytes:
    """`data` with one zip member's XML changed, as a hand or another program would."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            body = old.read(info)
            new.writestr(info, edit(body) if info.filename == part else body)
    return out.getvalue()


SHEET, BOOK = "xl/worksheets/sheet1.xml", "xl/workbook.xml"


def read(data: bytes, name: str = "旬报.xlsx") -> forms.Reading:
    (reading,) = forms.read(Attachment(name, "", data))
    assert reading.unit == "市中区"
    return reading


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("=B2+B3", 2650),
        ("=SUM(B2:B3)", 2650),
        ("=SUM(B2,B3)", 2650),
        ("=SUM(SUM(B2:B3),-B2)+B2", 2650),
        ("=(B3-B2)*2+B2*3", 4300),
        ("=-B2+B3*2", 2300),
        ("=$B$2+1650", 2650),
        ("=1E3+1650", 2650),  # E3 here is an exponent, not a cell
        ("=(0.1+0.2)*10000-350", 2650),  # 2650.0000000000005 in binary; Excel shows 2650
        ("=C2", 2650),  # a formula referring to a formula, both without values
    ],
)
@pytest.mark.parametrize("name", ["旬报.xlsx", "旬报.xlsm"])
def test_plain_arithmetic_is_computed(formula: str, expected: int, name: str) -> None:
    reading = read(form(formula, C2="=B2+B3"), name)
    assert (reading.value, reading.problem) == (expected, None)


def test_a_fraction_is_held_as_a_typed_one_is() -> None:
    reading = read(form("=B2*1.0005"))
    assert (reading.value, reading.problem) == parse_figure("1000.5")
    assert reading.problem and "不是整数" in reading.problem


@pytest.mark.parametrize(
    "formula",
    [
        "=cmd|' /C calc'!A0",  # DDE
        "=VLOOKUP(A1,A1:B4,2,FALSE)",
        "=A1+B2",  # A1 is text
        "=A9+B2",  # A9 is empty
        "=B2/0",
        "=Sheet2!B2+1",
        "='[旬报.xlsx]Sheet1'!B2",
        "=B2^2",
        "=B2&B3",
        "=B2>0",
        "=10%*B2",
        "=B2:B3",
        "=B2 B3",  # Excel's intersection
        "=_xlfn.SUM(B2)",
        "=SUM(B2:B3)+_0",  # the evaluator's own placeholder
        "=SUM(B1:B3)",  # B1 is text
        "=SUM()",
        "=1J",
        '=HYPERLINK("http://127.0.0.1/",2650)',
        "=TRUE+2649",
        "=1E308*10",  # infinite
        "=B2" + "+1" * 5000,  # longer than Excel allows
    ],
)
def test_anything_else_is_never_a_figure(formula: str) -> None:
    reading = read(form(formula, **NEIGHBOUR))
    assert reading.value is None
    assert reading.problem and "公式" in reading.problem
    assert reading.rows[3][1] == FORMULA


@pytest.mark.parametrize(
    "cells",
    [{"B4": "=B4"}, {"B4": "=C5", "C5": "=B4"}, {"B4": "=C5+1", "C5": "=D5", "D5": "=C5"}],
    ids=["itself", "two", "beneath"],
)
def test_a_cycle_is_held(cells: dict[str, str]) -> None:
    reading = read(form(None, **cells, **NEIGHBOUR))
    assert reading.value is None and reading.rows[3][1] == FORMULA


def test_each_formula_is_computed_once() -> None:
    # D1 = B2+B2, D2 = D1+D1 …: without memory each level doubles the work (2^20 lookups
    # for 20 levels, a minute; a file built so would tie up a reader).
    cells = {"D10": "=B2+B2"} | {f"D{i}": f"=D{i - 1}+D{i - 1}" for i in range(11, 30)}
    looked: list[str] = []

    def held(ref: str) -> formulas.Cell:
        looked.append(ref)
        return 1000.0 if ref == "B2" else cells.get(ref)

    assert formulas.Sheet(held).shown("D29") == 1000 * 2**20
    assert len(looked) <= 3 * 21
    cells.pop("D29")  # B4 is the 20th level: as deep as is followed
    assert read(form("=D28-524288000+2650", **cells)).value == 2650


def test_a_file_built_to_be_slow_is_held() -> None:
    sheet = formulas.Sheet(lambda ref: 1.0 if ref.startswith("A") else "=SUM(A1:A10000)")
    shown = [sheet.shown(f"B{row}") for row in range(1, 31)]
    assert shown[0] == 10_000 and shown[-1] is None  # 200,000 lookups at most


def test_an_array_formula_is_held() -> None:
    reading = read(form(ArrayFormula("B4", "=SUM(B2:B3)"), **NEIGHBOUR))
    assert reading.value is None and reading.rows[3][1] == FORMULA


def test_a_saved_value_is_used_as_it_is() -> None:
    # B4 saved as 2600 (so Excel showed 2600) beside a formula that would give 2650.
    def save_2600(xml: bytes) -> bytes:
        return xml.replace(b"<f>B2+B3</f><v></v>", b"<f>B2+B3</f><v>2600</v>")

    def trust(xml: bytes) -> bytes:
        return xml.replace(b' fullCalcOnLoad="1"', b"")

    saved = edited(edited(form("=B2+B3"), SHEET, save_2600), BOOK, trust)
    assert read(saved).value == 2600  # calamine
    also = edited(edited(form("=B2+B3", C9="=B2"), SHEET, save_2600), BOOK, trust)
    assert read(also).value == 2600  # openpyxl, for C9's sake
    assert read(also).rows[-1][2] == "1000"


def test_libreoffice_values_are_read_by_calamine_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("an honest file is read once, by calamine")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)
    (reading,) = forms.read(Attachment("formula.xlsx", "", (FORMS / "formula.xlsx").read_bytes()))
    assert reading.value == 2100  # =1200+900, saved by LibreOffice
    assert read(form(2650)).value == 2650


@pytest.mark.parametrize(("formula", "expected"), [("=B2+B3", 2650), ("=VLOOKUP(A1,B4,1)", None)])
def test_a_placeholder_value_is_not_trusted(formula: str, expected: int | None) -> None:
    # XlsxWriter saves 0 beside every formula and asks for recalculation on opening.
    def zero(xml: bytes) -> bytes:
        return re.sub(rb"<v></v>|(?<=</f>)(?=</c>)", b"<v>0</v>", xml)

    data = edited(form(formula), SHEET, zero)
    assert b"</f><v>0</v>" in zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    assert read(data).value == expected


def test_a_prefixed_sheet_is_searched_too() -> None:
    # The Open XML SDK may write <x:c><x:f>…</x:f></x:c>: the same sheet for Excel.
    def prefixed(xml: bytes) -> bytes:
        xml = xml.replace(b' xmlns="', b' xmlns:x="')
        return re.sub(rb"<(/?)([a-zA-Z]+)(?=[ >/])", rb"<\1x:\2", xml)

    data = edited(form("=cmd|' /C calc'!A0", **NEIGHBOUR), SHEET, prefixed)
    assert b"<x:f>" in zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    reading = read(data)
    assert reading.value is None and reading.rows[3][1] == FORMULA


def test_a_workbook_openpyxl_cannot_open_is_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise TypeError("expected <class 'float'>")

    monkeypatch.setattr(openpyxl, "load_workbook", broken)
    with pytest.raises(forms.FormUnreadable, match="公式没有保存计算结果"):
        forms.read(Attachment("旬报.xlsx", "", form("=B2+B3")))


# ── OpenDocument: table:formula without office:value ─────────────────
_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
)
_MANIFEST = (
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type='
    '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>'
)


def _number(value: int) -> str:
    return f'<table:table-cell office:value-type="float" office:value="{value}"/>'


def _text(text: str) -> str:
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def ods(figure: str, neighbour: str = "", unit: str = _text("市中区")) -> bytes:
    """A 旬报表 under two repeated empty rows and a merged title, two columns in: the
    figure's position counts repeated and covered cells, and from A1, as calamine does."""
    empty = '<table:table-cell table:number-columns-repeated="2"/>'
    rows = [
        '<table:table-cell table:number-columns-repeated="3"/>',
        empty + '<table:table-cell table:number-columns-spanned="2" office:value-type="string">'
        "<text:p>旬报表</text:p></table:table-cell><table:covered-table-cell/>",
        empty + _text("报送单位") + unit,
        empty + _text("本旬新增") + _number(1000),
        empty + _text("此前累计") + _number(1650),
        empty + _text("已完成目标任务数") + figure + neighbour,
    ]
    twice = ' table:number-rows-repeated="2"'
    body = "".join(
        f"<table:table-row{twice if i == 0 else ''}>{r}</table:table-row>"
        for i, r in enumerate(rows)
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_NS}><office:body>'
        f'<office:spreadsheet><table:table table:name="旬报">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        package.writestr("META-INF/manifest.xml", _MANIFEST)
        package.writestr("content.xml", content)
    return out.getvalue()


def _formula(formula: str, saved: str = "") -> str:
    return f'<table:table-cell table:formula="{formula}" {saved}/>'


@pytest.mark.parametrize(
    ("formula", "expected"),
    [("of:=[.D5]+[.D6]", 2650), ("of:=SUM([.D5:.D6])", 2650), ("of:=SUM([.D5];[.D6])", 2650)],
)
def test_ods_plain_arithmetic_is_computed(formula: str, expected: int) -> None:
    reading = read(ods(_formula(formula)), "旬报.ods")
    assert (reading.value, reading.problem) == (expected, None)


@pytest.mark.parametrize(
    "formula",
    ["of:=[$Sheet2.D5]+[.D6]", 'of:=DDE("cmd";"/C calc";"A0")', "of:=[.D9]", "of:=[.C5]"],
)
def test_ods_anything_else_is_never_a_figure(formula: str) -> None:
    reading = read(ods(_formula(formula.replace('"', "&quot;")), _number(99)), "旬报.ods")
    assert reading.value is None and FORMULA in reading.rows[-1]


def test_ods_saved_value_is_used_as_it_is() -> None:
    saved = 'office:value-type="float" office:value="2600"'
    text = '<table:table-cell table:formula="of:=&quot;市中区&quot;" office:value-type="string">'
    data = ods(
        _formula("of:=[.D5]+[.D6]", saved), unit=f"{text}<text:p>市中区</text:p></table:table-cell>"
    )
    assert read(data, "旬报.ods").value == 2600
    assert uncached.read_workbook(data, str) is None  # calamine reads it, as any honest file
