"""What people open and print: standings.xlsx (printed through LibreOffice), circular.docx
(converted back to PDF), the chart. One real `xunbao run` on the sample inbox."""

from __future__ import annotations

import io
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
    # one landscape page wide: a long sheet (其他 lists its enterprises) runs onto a second
    # page below, never to the side — every page repeats the head row with the unit column
    count = pages(pdf)
    assert len(book.worksheets) <= count <= len(book.worksheets) + 2
    for page in range(1, count + 1):
        shown = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "单位" in shown, (page, shown[:200])
    printed = text(pdf)
    assert "各单位完成情况" in printed and "合计" in printed and "第 1 页，共" in printed
    assert "71,000" in printed and "43.3%" in printed


def test_mail_text_never_becomes_a_formula(tmp_path: Path) -> None:
    from pipeline.outputs import sheets

    path = sheets.write_workbook(
        tmp_path / "t.xlsx",
        [sheets.Sheet("表", "标题", [sheets.Column("单位")], rows=[['=HYPERLINK("http://x")']])],
    )
    cell = load_workbook(path).active["A4"]  # type: ignore[index]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x")'


@pytest.mark.slow
def test_circular_docx_opens_in_libreoffice_with_the_pdfs_text(out: Path, tmp_path: Path) -> None:
    from docx import Document

    docx = out / "circular.docx"
    converted = to_pdf(docx, tmp_path)
    printed = "".join(text(converted).split())
    original = "".join(text(out / "circular.pdf").split())
    for needle in (
        "乐山市总工会文件",
        "乐工组〔2015〕",
        "关于全市农民工入会集中行动进展情况的通报",
        "一、总体进展",
        "合计",
        "71,000",
        "30,735",
        "43.3%",
        "马边县",
        "峨眉山景区管委会",
        "印发",
        "—2—",
    ):
        assert needle in printed, needle
        assert needle in original, needle
    for unit in ("市中区", "五通桥区", "嘉华集团", "立事达公司"):
        assert unit in printed
    # the same document, the chart included (as a PNG): as many pages, give or take one
    assert abs(pages(converted) - pages(out / "circular.pdf")) <= 1
    assert "各单位完成率与时间进度" in printed
    families = {
        node.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")
        for node in Document(str(docx)).element.iter(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rFonts"
        )
    }
    embedded = subprocess.run(
        ["pdffonts", str(out / "circular.pdf")], capture_output=True, text=True, check=True
    ).stdout.lower()
    for family in families - {None}:
        assert str(family).replace(" ", "-").lower() in embedded, family  # named as the PDF's


def test_html_preview_is_the_printed_page(out: Path) -> None:
    html = (out / "circular.html").read_text(encoding="utf-8")
    screen = html[html.index("@media screen") :]
    assert "width: 210mm" in screen and "padding: 37mm 26mm 35mm 28mm" in screen
    assert "size: A4" in html and "margin: 37mm 26mm 35mm 28mm" in html  # print: @page


def test_circular_docx_carries_the_chart_and_keeps_the_signature_with_the_text(
    out: Path,
) -> None:
    from docx import Document
    from PIL import Image

    document = Document(str(out / "circular.docx"))
    (chart,) = document.inline_shapes
    blob = chart._inline.graphic.graphicData.pic.blipFill.blip.embed
    image = document.part.related_parts[blob].blob
    picture = Image.open(io.BytesIO(image))
    assert picture.format == "PNG" and picture.width > 1000  # 156 mm at 200 dpi
    assert picture.convert("L").getextrema()[0] < 100  # drawn, not blank
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    issuer = next(i for i, p in enumerate(paragraphs) if p.text.strip() == "乐山市总工会")
    assert paragraphs[issuer - 1].paragraph_format.keep_with_next  # the last paragraph
    assert paragraphs[issuer].paragraph_format.keep_with_next  # and the issuer, with the date
    title = next(p for p in paragraphs if p.text.startswith("关于全市农民工入会"))
    assert title.paragraph_format.space_before  # two lines under the red rule, not against it


@pytest.mark.slow
def test_the_signature_never_stands_alone_on_a_page(out: Path) -> None:
    """Body text of every length before the 落款: the page holding the issuer always holds
    text above it (GB/T 9704 7.3.5). Without the rule three of these lengths fail."""
    import pdfplumber
    from weasyprint import HTML

    html = (out / "circular.html").read_text(encoding="utf-8")
    at = html.index('<div class="signature">')
    alone = []
    for extra in range(23):  # a page holds 22 lines
        filler = "".join(f"<p>补充说明第{i}行，把落款推向下一页。</p>" for i in range(extra))
        pdf = HTML(string=html[:at] + filler + html[at:], base_url=str(out)).write_pdf()
        with pdfplumber.open(io.BytesIO(pdf)) as document:
            for page in document.pages:
                lines = [x.strip() for x in (page.extract_text() or "").splitlines() if x.strip()]
                if "乐山市总工会" in lines and lines.index("乐山市总工会") == 0:
                    alone.append(extra)
    assert alone == []


def test_the_sheet_counts_the_units_the_circular_counts(out: Path) -> None:
    """本旬报送 in the sheet's 合计 row is reported / 应报送: the same units the circular
    counts (其他 has its own row but is no unit that must report)."""
    sheet = load_workbook(out / "standings.xlsx").worksheets[0]
    total = next(r for r in sheet.iter_rows(min_row=4) if r[1].value == "合计")
    reported, due = (int(n) for n in str(total[6].value).split("/"))
    circular = " ".join(text(out / "circular.pdf").split())
    assert f"应报送单位{due}个" in circular.replace(" ", "")
    assert f"按时报送{reported}个" in circular.replace(" ", "")


@pytest.mark.slow
def test_the_talk_notice_docx_is_a_one_page_letter(tmp_path: Path) -> None:
    """信函格式 in Word too: the issuer's name at the top, not the 文件 head's 35 mm drop
    (which pushed the letter's 落款 onto a second page)."""
    from pipeline.outputs import notices
    from tests.test_talks import CONFIG, first

    notices.write_notices(CONFIG, first(), tmp_path)
    converted = to_pdf(tmp_path / "五通桥区约谈通知书.docx", tmp_path)
    assert pages(converted) == 1
    printed = "".join(text(converted).split())
    assert "约谈通知书" in printed and "五通桥区工会主要负责人张某某同志" in printed
