"""Each form reader on real office files made by LibreOffice (tests/fixtures/build_fixtures.py)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline.config import Limits
from pipeline.mailbox.parse import Attachment
from pipeline.reading import forms
from pipeline.reading.forms.fields import parse_figure
from pipeline.reading.mails import read_mail

FORMS = Path(__file__).parent / "fixtures" / "forms"
EXPECTED = json.loads((FORMS / "expected.json").read_text(encoding="utf-8"))


def read_one(name: str, data: bytes | None = None) -> forms.Reading:
    payload = (FORMS / name).read_bytes() if data is None else data
    (reading,) = forms.read(Attachment(name, "", payload))
    return reading


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reader(name: str) -> None:
    expected = EXPECTED[name]
    reading = read_one(name)
    assert reading.unit == expected["unit"]
    assert reading.reported_on == date.fromisoformat(expected["reported_on"])
    assert reading.value == expected["value"]
    if expected["value"] is None:
        assert reading.problem, "a doubtful figure must come with a reason"
    else:
        assert reading.problem is None
    assert expected["measures_contains"] in reading.measures.replace("\n", "")


def test_zip_with_gbk_member_name() -> None:
    buffer = io.BytesIO()
    gbk_name = "旬报表.xlsx".encode("gbk")
    placeholder = b"x" * (len(gbk_name) - 5) + b".xlsx"
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(placeholder.decode(), (FORMS / "label_blank.xlsx").read_bytes())
    # Windows' Chinese zip tools store GBK names without the UTF-8 flag: patch the raw bytes.
    data = buffer.getvalue().replace(placeholder, gbk_name)
    (reading,) = forms.read(Attachment("市中区.zip", "application/zip", data))
    assert reading.value == 2650
    assert reading.origin == "市中区.zip/旬报表.xlsx"


def test_encrypted_zip_is_unreadable_with_a_reason() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.xlsx", b"x")
    data = bytearray(buffer.getvalue())
    # Set the "encrypted" flag bit in the central directory entry.
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1
    with pytest.raises(forms.FormUnreadable, match="密码"):
        forms.read(Attachment("a.zip", "", bytes(data)))


def test_corrupt_workbook_is_unreadable_with_a_reason() -> None:
    with pytest.raises(forms.FormUnreadable, match="无法打开"):
        forms.read(Attachment("坏.xlsx", "", b"PK\x03\x04 not really a workbook"))


def test_logo_image_is_not_a_form_but_is_not_an_error() -> None:
    assert forms.read(Attachment("签名.txt", "text/plain", "此致敬礼".encode())) != []
    assert forms.read(Attachment("logo.svg", "image/svg+xml", b"<svg/>")) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2,650", 2650),
        ("２６５０", 2650),
        ("2650.0", 2650),
        ("一千二百五十", 1250),
        ("4310名", 4310),
    ],
)
def test_parse_figure_exact(text: str, value: int) -> None:
    assert parse_figure(text) == (value, None)


@pytest.mark.parametrize("text", ["约1200", "1200左右", "1200-1300", "1200多", "12.5"])
def test_parse_figure_doubtful(text: str) -> None:
    value, problem = parse_figure(text)
    assert value is None and problem


def test_body_report_with_html_table() -> None:
    body = (
        "报送单位：\t乐山大佛景区管委会工会\t报送时间：\t2015年9月20日\n"
        "已完成目标任务数（新增 名）\t100\n"
    )
    reading = forms.read_body(body)
    assert (reading.unit, reading.value) == ("乐山大佛景区管委会工会", 100)


@pytest.mark.parametrize(
    ("source", "renamed", "unit"),
    [
        ("form.doc", "旬报表.wps", "乐山高新区工会"),
        ("form.xls", "旬报表.et", "峨眉山景区管委会工会"),
    ],
)
def test_wps_office_files(source: str, renamed: str, unit: str) -> None:
    # WPS Office's own .wps/.et files are OLE documents like .doc/.xls; LibreOffice reads them.
    (reading,) = forms.read(Attachment(renamed, "", (FORMS / source).read_bytes()))
    assert reading.unit == unit and reading.value == EXPECTED[source]["value"]


def test_7z_archive() -> None:
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        archive.writestr((FORMS / "next_cell.docx").read_bytes(), "井研县旬报.docx")
    (reading,) = forms.read(Attachment("井研县.7z", "", buffer.getvalue()))
    assert (reading.unit, reading.value) == ("井研县总工会", 4400)


RAR = Path(__file__).parent / "fixtures" / "rar" / "rar5-solid.rar"  # see SOURCES.md there


def rar_mail(data: bytes) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["Subject"] = "unit@example.cn", "旬报"
    mail.set_content("见附件")
    mail.add_attachment(data, "application", "x-rar", filename="旬报.rar")
    return mail.as_bytes()


def test_rar_members_reach_the_readers() -> None:
    # A real RAR 5 (solid) from rarfile's test files: two 2 KB text members, no form.
    readings = forms.read(Attachment("旬报.rar", "", RAR.read_bytes()))
    assert [r.origin for r in readings] == ["旬报.rar/stest1.txt", "旬报.rar/stest2.txt"]
    assert all(r.rows and not r.is_form for r in readings)
    read = read_mail(rar_mail(RAR.read_bytes()))
    assert read.readings == [] and read.unreadable == [] and len(read.lists) == 2


def test_rar_members_are_under_the_archive_limits() -> None:
    with pytest.raises(forms.FormUnreadable, match="压缩包内文件过多（2 个）"):
        forms.read(Attachment("旬报.rar", "", RAR.read_bytes()), limits=Limits(archive_members=1))


@pytest.mark.parametrize(
    "data", [RAR.read_bytes()[:120], b"Rar!\x1a\x07\x01\x00" + b"\0" * 64], ids=["cut", "empty"]
)
def test_broken_rar_is_held_with_a_reason(data: bytes) -> None:
    # Cut at 120 bytes the first member is whole: read up to the cut, the second is missed.
    read = read_mail(rar_mail(data))
    assert read.unreadable == ["附件《旬报.rar》RAR 压缩包无法打开（文件已损坏）"]
    assert read.lists == []


def test_prose_beginning_with_a_label_is_not_a_field() -> None:
    # A resend: the body explains, the attachment is the form. The body's first words
    # are a label's, but a label runs on into prose only in prose.
    body = "您好：\n报送单位填错了,现重新发送,请以此为准。\n谢谢！"
    reading = forms.read_body(body)
    assert reading.unit is None
    assert not reading.is_form


def test_labels_count_at_line_start_or_before_a_colon() -> None:
    body = "各位领导：\n我单位已完成目标任务数：1200\n报送单位：夹江县总工会\n"
    reading = forms.read_body(body)
    assert (reading.unit, reading.value) == ("夹江县总工会", 1200)
