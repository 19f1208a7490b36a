"""Forms the reader used to miss, each from a fresh fixture: a file whose bytes say HTML
whatever its name, a form pasted into a webmail, a workbook opening on 填表说明, figures
written as people write them, and what the sender's registration settles."""

from __future__ import annotations

import subprocess
import textwrap
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from messages import to_mailbox

from pipeline import config
from pipeline.intake.judge import Intake
from pipeline.ledger import Ledger
from pipeline.mailbox import RawMessage
from pipeline.mailbox.parse import Attachment
from pipeline.reading import forms
from pipeline.reading.forms.numbers import parse_figure

ROOT = Path(__file__).resolve().parent.parent
WORD_PAGE = textwrap.dedent("""\
    <html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
    <meta http-equiv=Content-Type content="text/html; charset=gb2312">
    <style>p.MsoNormal{margin:0}</style></head><body lang=ZH-CN>
    <p class=MsoNormal align=center><b>农民工入会集中行动旬报表</b></p>
    <table class=MsoTableGrid border=1>
    <tr><td><p>报送单位</p></td><td colspan=2><p>犍为县总工会</p></td></tr>
    <tr><td><p>已完成目标任务数</p><p>（新增<u>&nbsp;&nbsp;</u>名农民工入会）</p></td>
        <td colspan=2><p>6,892 名（完成目标任务的69.1%）</p></td></tr>
    <tr><td>主要工作举措</td><td colspan=2><p>（一）召开会议；</p><p>（二）深入企业。</p></td></tr>
    </table><p>说明：每月10日、20日、30日报送。</p></body></html>""")
EXPORT = """<table border="1"><tr><td colspan="4">工作旬报表</td></tr>
<tr><td colspan="2">报送单位：井研县总工会</td><td colspan="2">报送时间：2015年10月10日</td></tr>
<tr><th>项目</th><th>上期累计</th><th>本旬新增</th><th>累计</th></tr>
<tr><td>已完成目标任务数</td><td>3,443</td><td>589</td><td>4,032</td></tr></table>"""


@pytest.mark.parametrize("name", ["旬报表.htm", "旬报表.xls", "旬报表.doc"])
def test_word_web_page_in_gb2312_whatever_its_name(name: str) -> None:
    (reading,) = forms.read(Attachment(name, "", WORD_PAGE.encode("gb2312")))
    assert (reading.unit, reading.value, reading.problem) == ("犍为县总工会", 6892, None)
    assert reading.measures == "（一）召开会议；\n（二）深入企业。"


def test_html_table_exported_as_excel() -> None:
    (reading,) = forms.read(Attachment("report.xls", "application/vnd.ms-excel", EXPORT.encode()))
    assert (reading.unit, reading.value) == ("井研县总工会", 4032)  # the 累计 column


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("0.42万", 4200),
        ("186名", 186),
        ("120人次", 120),
        ("3场", 3),
        ("１，２４５", 1245),
        ("6,892 名（完成目标任务的69.1%）", 6892),
        ("一千二百", 1200),
    ],
)
def test_figures_as_people_write_them(written: str, value: int) -> None:
    assert parse_figure(written) == (value, None)


@pytest.mark.parametrize("written", ["约3000", "3000左右", "3000以上", "2800-3000", "0.42315万"])
def test_doubtful_figures_stay_doubtful(written: str) -> None:
    value, problem = parse_figure(written)
    assert value is None and problem


@pytest.fixture(scope="module")
def workbook_with_instructions(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real .xlsx made by LibreOffice: sheet 1 填表说明 with an example, sheet 2 the form."""
    folder = tmp_path_factory.mktemp("lo")

    def row(*cells: str) -> str:
        return (
            "<table:table-row>"
            + "".join(
                f'<table:table-cell office:value-type="string"><text:p>{c}</text:p>'
                "</table:table-cell>"
                for c in cells
            )
            + "</table:table-row>"
        )

    sheets = (
        '<table:table table:name="填表说明">'
        + row("填表说明：请填写累计数。")
        + row("示例：已完成目标任务数", "1200")
        + "</table:table>"
        + '<table:table table:name="旬报表">'
        + row("报送单位", "沐川县总工会")
        + row("已完成目标任务数", "2650")
        + "</table:table>"
    )
    fods = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2" '
        'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
        f"<office:body><office:spreadsheet>{sheets}</office:spreadsheet></office:body>"
        "</office:document>"
    )
    (folder / "book.fods").write_text(fods, "utf-8")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(folder / 'p').as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(folder),
            str(folder / "book.fods"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return (folder / "book.xlsx").read_bytes()


def test_example_in_instructions_sheet_never_counts(workbook_with_instructions: bytes) -> None:
    (reading,) = forms.read(Attachment("旬报表.xlsx", "", workbook_with_instructions))
    assert (reading.unit, reading.value, reading.problem) == ("沐川县总工会", 2650, None)


# ── whole mails through intake ─────────────────────────────────
ZONE = ZoneInfo("Asia/Shanghai")


def _raw(message: EmailMessage) -> RawMessage:
    return RawMessage(
        f"t:{message['Message-ID']}", message.as_bytes(), datetime(2015, 10, 9, 10, 0, tzinfo=ZONE)
    )


def _mail(sender: str, body: str, key: str) -> EmailMessage:
    date = format_datetime(datetime(2015, 10, 9, 10, 0, tzinfo=ZONE))
    return to_mailbox(sender, "旬报", date, f"<{key}@test>", body)


@pytest.fixture()
def intake(tmp_path: Path) -> Intake:
    text = (ROOT / "config.yaml").read_text("utf-8")
    # 峨眉山市's liaison also reports for 峨眉山景区管委会 (one person, two units)
    text = text.replace("senders: [emsjqgh@163.com]", "senders: [emsjqgh@163.com, emsszgh@163.com]")
    path = tmp_path / "config.yaml"
    path.write_text(text, "utf-8")
    return Intake(config.load(path).config, Ledger(tmp_path / "l.sqlite"))


def test_form_pasted_into_webmail_rich_text(intake: Intake) -> None:
    message = _mail("swqzgh@163.com", "报送单位 沙湾区总工会 已完成目标任务数 4 0 3 2", "rich")
    message.add_alternative(
        f"<html><body><p>您好！</p>{EXPORT.replace('井研县', '沙湾区')}</body></html>",
        subtype="html",
    )
    judged = intake.assess(_raw(message))
    assert judged.entry.outcome == "counted", judged.entry.reason
    assert judged.report is not None and (judged.report.unit, judged.report.value) == (
        "沙湾区",
        4032,
    )


def test_ambiguous_name_settled_by_the_sender(intake: Intake) -> None:
    """峨眉山 fits 峨眉山市 and 峨眉山景区管委会; from 峨眉山景区's own address it is that one."""
    body = "报送单位：峨眉山\n已完成目标任务数：120\n"
    judged = intake.assess(_raw(_mail("emsjqgh@163.com", body, "ems")))
    assert judged.report is not None and judged.report.unit == "峨眉山景区管委会"
    # from the liaison registered for both, the name settles nothing: a person looks
    judged = intake.assess(_raw(_mail("emsszgh@163.com", body, "ems2")))
    assert judged.entry.outcome == "review" and "峨眉山" in judged.entry.reason


def test_liaison_sends_two_units_forms_in_one_mail(intake: Intake) -> None:
    message = _mail("emsszgh@163.com", "两个单位的旬报表见附件。", "two")
    for unit, figure in (("峨眉山市总工会", "5120"), ("峨眉山景区管委会工会", "180")):
        form = f"报送单位：{unit}\n已完成目标任务数：{figure}\n".encode()
        message.add_attachment(form, "text", "plain", filename=f"{unit}.txt")
    judged = intake.assess(_raw(message))
    assert judged.entry.outcome == "counted", judged.entry.reason
    reports = [judged.report, *judged.also]
    assert sorted((r.unit, r.value) for r in reports if r) == [
        ("峨眉山市", 5120),
        ("峨眉山景区管委会", 180),
    ]
    number = intake.ledger.record(judged.entry, judged.report, judged.also)
    rows = intake.ledger.db.execute(
        "SELECT unit, value FROM reports WHERE message = ? ORDER BY unit", (number,)
    ).fetchall()
    assert [tuple(r) for r in rows] == [("峨眉山市", 5120), ("峨眉山景区管委会", 180)]


@pytest.fixture(scope="module")
def writer_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Two PDFs printed by LibreOffice Writer: the figure with a note in a table's value
    cell, and a text-flow form with the figure written in the label's blank."""
    folder = tmp_path_factory.mktemp("pdf")
    table = (
        "<html><body><p>农民工入会集中行动旬报表</p><table border=1>"
        "<tr><td>报送单位</td><td>五通桥区总工会</td></tr>"
        "<tr><td>报送时间</td><td>2015年10月20日</td></tr>"
        "<tr><td>已完成目标任务数</td><td>6,892 名（完成目标任务的69.1%）</td></tr>"
        "<tr><td>主要工作举措</td><td>（一）深入企业宣传。</td></tr></table></body></html>"
    )
    flow = (
        "<html><body><p>农民工入会集中行动旬报表</p>"
        "<p>报送单位：沐川县总工会　　报送时间：2015年10月20日</p>"
        "<p>已完成目标任务数（新增 1,245 名农民工入会）</p>"
        "<p>主要工作举措（300字左右）：（一）召开推进会。</p></body></html>"
    )
    for name, html in (("table", table), ("flow", flow)):
        (folder / f"{name}.html").write_text(html, "utf-8")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(folder / 'p').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf:writer_web_pdf_Export",
            "--outdir",
            str(folder),
            str(folder / "table.html"),
            str(folder / "flow.html"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return {name: (folder / f"{name}.pdf").read_bytes() for name in ("table", "flow")}


@pytest.mark.parametrize(
    ("name", "unit", "value"), [("table", "五通桥区总工会", 6892), ("flow", "沐川县总工会", 1245)]
)
def test_writer_pdfs(writer_pdfs: dict[str, bytes], name: str, unit: str, value: int) -> None:
    (reading,) = forms.read(Attachment("旬报表.pdf", "application/pdf", writer_pdfs[name]))
    assert (reading.unit, reading.value, reading.problem) == (unit, value, None)
