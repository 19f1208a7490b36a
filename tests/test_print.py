"""What people open and print: standings.xlsx (printed through LibreOffice), circular.docx
(converted back to PDF), the chart. One real `xunbao run` on the sample inbox."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.test_cli import PERIOD, make_config, xunbao


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("print")
    result = xunbao(make_config(folder), "run", "--period", PERIOD, "--no-send")
    assert result.returncode == 0, result.stderr
    return folder / "out" / PERIOD


def to_pdf(source: Path, folder: Path) -> Path:
    """LibreOffice headless, as a clerk's office would print or convert the file."""
    profile = folder / "lo-profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    pdf = folder / (source.stem + ".pdf")
    assert pdf.stat().st_size > 0
    return pdf


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    line = next(x for x in info.stdout.splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_standings_sheets_are_made_for_print(out: Path) -> None:
    book = load_workbook(out / "standings.xlsx")
    for sheet in book.worksheets:
        assert "2015年9月中旬" in str(sheet["A1"].value), sheet.title
        assert sheet.freeze_panes == "A4" and sheet.print_title_rows == "$3:$3"
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
        assert int(sheet.page_setup.paperSize or 0) == int(sheet.PAPERSIZE_A4)
        header = [c.value for c in sheet[3]]
        if header[:2] != ["排名", "单位"]:
            continue
        body = [r for r in sheet.iter_rows(min_row=4) if isinstance(r[0].value, int)]
        ranks = [r[0].value for r in body]
        assert ranks == sorted(ranks), sheet.title  # every sheet in rank order
        for row in body:
            assert row[1].border.left.style == "thin"
        total = next(r for r in sheet.iter_rows(min_row=4) if r[1].value == "合计")
        assert total[1].font.name == body[0][1].font.name and total[1].font.bold
        assert total[5].number_format == "0.0%" and total[3].number_format == "#,##0"


def test_lagging_and_missing_rows_are_tinted(out: Path) -> None:
    sheet = load_workbook(out / "standings.xlsx").worksheets[0]
    colour = {r[7].value: r[1].fill.fgColor.rgb for r in sheet.iter_rows(min_row=4) if r[7].value}
    assert colour["末位"].endswith("F8CBAD") and colour["未报送"].endswith("FCE4D6")
    assert colour["推进中"] in (None, "00000000")


@pytest.mark.slow
def test_standings_print_one_page_wide(out: Path, tmp_path: Path) -> None:
    pdf = to_pdf(out / "standings.xlsx", tmp_path)
    book = load_workbook(out / "standings.xlsx")
    assert pages(pdf) == len(book.worksheets)  # each sheet fits one landscape page
    printed = text(pdf)
    assert "各单位完成情况" in printed and "合计" in printed and "第 1 页，共" in printed
    assert "71,000" in printed and "43.3%" in printed


def test_mail_text_never_becomes_a_formula(tmp_path: Path) -> None:
    from pipeline import sheets

    path = sheets.write_workbook(
        tmp_path / "t.xlsx",
        [sheets.Sheet("表", "标题", [sheets.Column("单位")], rows=[['=HYPERLINK("http://x")']])],
    )
    cell = load_workbook(path).active["A4"]  # type: ignore[index]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x")'
