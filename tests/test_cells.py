"""The one table model: every format gives the same sheet — merged cells with their spans,
the positions they cover, where the form was in the file, and boxes for PDF words — and the
same figures are read from it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.mailbox.parse import Attachment
from pipeline.reading import forms
from pipeline.reading.forms import document, html, legacy, opendocument, pdf, spreadsheet
from pipeline.reading.forms.cells import COVERED, Cell, Sheet, merged, placed
from pipeline.reading.forms.fields import figures
from pipeline.reading.forms.table import MetricSpec, Role

SPECS = [
    MetricSpec("new_members", ("新发展农民工会员",), Role.TOTAL),
    MetricSpec("legal_events", ("开展公益法律服务活动",), Role.DEKAD),
]
WANTED = {"new_members": (545, None), "legal_events": (1, None)}

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'office:version="1.2"'
)


def _cell(text: str, across: int = 1, down: int = 1) -> str:
    spans = f'table:number-columns-spanned="{across}" table:number-rows-spanned="{down}"'
    ruled = 'table:style-name="ruled"'
    opening = f'<table:table-cell {spans} {ruled} office:value-type="string">'
    return f"{opening}<text:p>{text}</text:p></table:table-cell>"


_COVER = "<table:covered-table-cell/>"
_ROWS = [
    _cell("序号", down=2) + _cell("工作项目", down=2) + _cell("完成情况", across=2) + _COVER,
    _COVER + _COVER + _cell("本旬数") + _cell("累计数"),
    _cell("1") + _cell("新发展农民工会员（名）") + _cell("191") + _cell("545"),
    _cell("2") + _cell("开展公益法律服务活动（场）") + _cell("1") + _cell("3"),
]
_TABLE = (
    '<table:table table:name="旬报表">'
    '<table:table-column table:number-columns-repeated="4"/>'
    + "".join(f"<table:table-row>{row}</table:table-row>" for row in _ROWS)
    + "</table:table>"
)
_XML = '<?xml version="1.0" encoding="UTF-8"?>'
FODS = (
    f"{_XML}<office:document {_NS} "
    'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
    f"<office:body><office:spreadsheet>{_TABLE}</office:spreadsheet></office:body></office:document>"
)
FODT = (
    f'{_XML}<office:document {_NS} office:mimetype="application/vnd.oasis.opendocument.text">'
    '<office:automatic-styles><style:style style:name="ruled" style:family="table-cell">'
    '<style:table-cell-properties fo:border="0.5pt solid #000000"/></style:style>'
    "</office:automatic-styles><office:body><office:text><text:p>报送单位：乐山市市中区总工会</text:p>"
    f"{_TABLE}</office:text></office:body></office:document>"
)
HTML = """<p>报送单位：乐山市市中区总工会</p><table border=1>
<tr><td rowspan=2>序号</td><td rowspan=2>工作项目</td><td colspan=2>完成情况</td></tr>
<tr><td>本旬数</td><td>累计数</td></tr>
<tr><td>1</td><td>新发展农民工会员（名）</td><td>191</td><td>545</td></tr>
<tr><td>2</td><td>开展公益法律服务活动（场）</td><td>1</td><td>3</td></tr></table>"""


def _find(sheet: Sheet, text: str) -> tuple[int, int, Cell]:
    for i, row in enumerate(sheet.rows):
        for j, cell in enumerate(row):
            if cell.text.strip() == text:
                return i, j, cell
    raise AssertionError(f"{text} not in {sheet.texts()}")


def _assert_structure(sheet: Sheet) -> None:
    i, j, head = _find(sheet, "完成情况")
    assert head.across == 2 and sheet.rows[i][j + 1].covered
    k, m, seq = _find(sheet, "序号")
    assert seq.down == 2 and sheet.rows[k + 1][m].covered
    # the figures stay under their heads: 本旬数 and 累计数 head the columns of 191 and 545
    n, col, _ = _find(sheet, "累计数")
    assert sheet.rows[n + 1][col].text.strip() == "545"


def _assert_figures(sheet: Sheet, name: str) -> None:
    from pipeline.reading.forms.fields import extract

    assert figures(extract(sheet, name), SPECS).figures == WANTED


def test_html_spans_are_laid_on_the_grid() -> None:
    sheet = html.read_html(HTML.encode())
    _assert_structure(sheet)
    _assert_figures(sheet, "旬报表.html")


def test_placed_fills_the_positions_a_span_covers() -> None:
    rows = placed([[Cell("a", down=2), Cell("b", across=2)], [Cell("c"), Cell("d")]])
    assert rows == (
        (Cell("a", down=2), Cell("b", across=2), COVERED),
        (COVERED, Cell("c"), Cell("d")),
    )


def test_merged_marks_a_workbook_range() -> None:
    sheet = merged([["x", "", ""], ["", "", "y"]], [(0, 0, 1, 1)], "表1")
    assert sheet.rows[0][0] == Cell("x", across=2, down=2)
    assert [c.covered for c in sheet.rows[1]] == [True, True, False]
    assert sheet.texts() == [["x", "", ""], ["", "", "y"]] and sheet.source == "表1"


def _convert(folder: Path, source: str, name: str, target: str) -> bytes:
    (folder / name).write_text(source, encoding="utf-8")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(folder),
            str(folder / name),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return (folder / f"{Path(name).stem}.{target.split(':')[0]}").read_bytes()


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The same merged form made by LibreOffice in each office format."""
    folder = tmp_path_factory.mktemp("office")
    return {
        "xlsx": _convert(folder, FODS, "book.fods", "xlsx"),
        "xls": _convert(folder, FODS, "book.fods", "xls"),
        "ods": _convert(folder, FODS, "book.fods", "ods"),
        "docx": _convert(folder, FODT, "text.fodt", "docx"),
        "odt": _convert(folder, FODT, "text.fodt", "odt"),
        "pdf": _convert(folder, FODT, "text.fodt", "pdf"),
        "rtf": _convert(folder, FODT, "text.fodt", "rtf"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("ext", ["xlsx", "xls", "ods"])
def test_a_workbook_keeps_its_merges_and_sheet_name(office: dict[str, bytes], ext: str) -> None:
    sheet = spreadsheet.read_workbook(office[ext])
    assert sheet.source == "旬报表"
    _assert_structure(sheet)
    _assert_figures(sheet, f"旬报表.{ext}")


@pytest.mark.slow
@pytest.mark.parametrize("ext", ["docx", "odt", "rtf"])
def test_a_document_keeps_its_merges(office: dict[str, bytes], ext: str) -> None:
    reader = {"docx": document.read_docx, "odt": opendocument.read_odt, "rtf": legacy.read_rtf}
    sheet = reader[ext](office[ext])
    _assert_structure(sheet)
    _assert_figures(sheet, f"旬报表.{ext}")


@pytest.mark.slow
def test_a_writer_pdf_keeps_its_table_and_word_boxes(office: dict[str, bytes]) -> None:
    import io

    import pdfplumber

    with pdfplumber.open(io.BytesIO(office["pdf"])) as document_pdf:
        rows = pdf.page_rows(document_pdf.pages[0])
    sheet = Sheet("第1页", tuple(rows))
    _assert_structure(sheet)
    _, _, unit = _find(sheet, "报送单位：乐山市市中区总工会")
    assert unit.box is not None and unit.box[0] < unit.box[2] and unit.box[1] < unit.box[3]
    assert all(c.box for row in sheet.rows for c in row if not c.covered)
    (reading,) = forms.read(Attachment("旬报表.pdf", "application/pdf", office["pdf"]))
    assert reading.source == "第1页"
    assert figures(reading, SPECS).figures == WANTED
