"""Scans through offline OCR: counted only when unit and figure are read with confidence."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from pipeline.mailbox.parse import Attachment
from pipeline.reading import forms
from pipeline.reading.forms import ocr

FORMS = Path(__file__).parent / "fixtures" / "forms"


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A page image of the PDF form, as a scanner would produce it."""
    assert shutil.which("pdftoppm"), "poppler-utils must be installed"
    out = tmp_path_factory.mktemp("scan") / "page"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(FORMS / "form.pdf"), str(out)],
        check=True,
    )
    return out.with_suffix(".png")


def test_clean_scan_is_read(scan: Path) -> None:
    (reading,) = forms.read(Attachment("扫描件.png", "image/png", scan.read_bytes()))
    assert (reading.unit, reading.value, reading.problem) == ("乐山市交通工会", 20, None)
    assert "报送单位" in reading.ocr_text


def test_blurred_photo_is_never_counted_wrong(scan: Path, tmp_path: Path) -> None:
    image = Image.open(scan).convert("L")
    small = image.resize((image.width // 4, image.height // 4)).filter(ImageFilter.GaussianBlur(2))
    path = tmp_path / "photo.jpg"
    small.save(path, quality=30)
    (reading,) = forms.read(Attachment("手机拍照.jpg", "image/jpeg", path.read_bytes()))
    # Either read exactly right, or held with a reason: never a wrong figure.
    assert reading.value in (20, None)
    if reading.value is None:
        assert reading.problem or reading.unit is None


def test_image_only_pdf_goes_through_ocr(scan: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "scan.pdf"
    Image.open(scan).convert("RGB").save(pdf, resolution=150)
    (reading,) = forms.read(Attachment("扫描件.pdf", "application/pdf", pdf.read_bytes()))
    assert (reading.unit, reading.value) == ("乐山市交通工会", 20)


@pytest.mark.slow
def test_phone_photo_turned_by_exif_is_read(scan: Path, tmp_path: Path) -> None:
    # The sensor's pixels lie on their side; EXIF Orientation 6 says "turn 90° clockwise".
    image = Image.open(scan).convert("RGB").rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "photo.jpg"
    image.save(path, quality=90, exif=exif)
    (reading,) = forms.read(Attachment("IMG_0001.jpg", "image/jpeg", path.read_bytes()))
    assert (reading.unit, reading.value, reading.problem) == ("乐山市交通工会", 20, None)


@pytest.mark.slow
@pytest.mark.parametrize("angle", [90, 180])
def test_scan_fed_in_turned_is_read_or_held_never_wrong(
    scan: Path, tmp_path: Path, angle: int
) -> None:
    path = tmp_path / f"turned{angle}.png"
    Image.open(scan).convert("RGB").rotate(angle, expand=True).save(path)
    (reading,) = forms.read(Attachment("扫描件.png", "image/png", path.read_bytes()))
    assert reading.value in (20, None)
    if reading.value is None:
        assert reading.problem or reading.unit is None
    else:
        assert reading.unit == "乐山市交通工会"


def test_a_large_photo_is_scaled_down_before_recognition() -> None:
    photo = Image.new("RGB", (8000, 6000), "white")
    small = ocr.capped(photo)
    assert small.size == (ocr.MAX_SIDE, ocr.MAX_SIDE * 3 // 4)
    ordinary = Image.new("RGB", (1240, 1754), "white")
    assert ocr.capped(ordinary) is ordinary
