#!/usr/bin/env python3
"""Regenerate examples/2019-inbox/: sample reports for the 2019 multi-metric example.

    .venv/bin/python examples/build_2019_inbox.py

The forms are made the way tests/fixtures/build_fixtures.py makes the 2015 ones (flat ODF
converted by LibreOffice, then normalised so a rerun gives the same bytes), with the same
package tests/fixtures/builder; its grid is swapped for the 2019 form: one row per metric
(label | figure). Mails are plain RFC 5322 messages with a Received header, which gives
each its arrival time.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from ruamel.yaml import YAML

HERE = Path(__file__).resolve().parent
INBOX = HERE / "2019-inbox"
CONFIG = HERE / "2019-work-points.yaml"
MAILBOX = "lsszghzxb@126.com"

sys.path.insert(0, str(HERE.parent / "tests" / "fixtures"))  # the package builder/ is there
from builder import formats, office  # noqa: E402
from builder.data_units import MEASURES_LABEL  # noqa: E402


@dataclass(frozen=True)
class Report:
    key: str  # file name stem
    unit_text: str  # as the unit writes its name
    sender: str
    arrived: str  # ISO time, +08:00
    figures: dict[str, tuple[str, str]]  # metric key → (本旬数, 累计数) as written
    measures: tuple[str, ...]
    attach: str = ""  # xlsx xls docx doc wps pdf jpg; empty: the form is in the body
    order: tuple[str, ...] = ()  # the rows' order when the unit reordered them

    @property
    def date_text(self) -> str:  # read by builder.formats.odf_head
        y, m, d = self.arrived[:10].split("-")
        return f"{y}年{int(m)}月{int(d)}日"

    @property
    def rows(self) -> list[dict[str, str]]:
        keys = self.order or tuple(m["key"] for m in METRICS)
        return [next(m for m in METRICS if m["key"] == key) for key in keys]


def _metrics() -> list[dict[str, str]]:
    campaign = YAML(typ="safe").load(CONFIG.read_text(encoding="utf-8"))["campaign"]
    return list(campaign["metrics"])


METRICS = _metrics()
TITLE = "附件2  乐山市工会关爱服务农民工工作旬报表"
HEADS = ("序号", "工作项目", "本旬数", "累计数")
FOOTER = "填报人：王丽    审核人：张伟    联系电话：0833-2123456"


def _label(metric: dict[str, str]) -> str:
    return f"{metric.get('label') or metric['name']}（{metric['measure']}）"


def _figure(written: str) -> object:
    cell = formats.Cell
    number = int(written) if written.isdigit() else None
    return cell((written,), 1, number, center=True)


def grid(report: Report) -> tuple[list[list[object]], list[float]]:
    """The form: unit and date, the head row, one row per metric, the measures, the footer."""
    cell = formats.Cell
    rows: list[list[object]] = [
        [
            cell((f"报送单位（盖章）：{report.unit_text}",), 2),
            cell((f"报送时间：{report.date_text}",), 2),
        ],
        [cell((head,), center=True) for head in HEADS],
    ]
    for n, metric in enumerate(report.rows, 1):
        dekad, total = report.figures.get(metric["key"], ("", ""))
        rows.append(
            [
                cell((str(n),), 1, n, center=True),
                cell((_label(metric),)),
                _figure(dekad),
                _figure(total),
            ]
        )
    rows.append([cell((MEASURES_LABEL,), 2, center=True), cell(report.measures, 2)])
    rows.append([cell((FOOTER,), 4)])
    return rows, [1.6, 8.0, 2.4, 2.4]


def body_text(report: Report) -> str:
    """A table pasted into a mail body: one line per row, cells separated by tabs."""
    lines = [f"报送单位：{report.unit_text}", f"报送时间：{report.date_text}", "\t".join(HEADS)]
    for n, metric in enumerate(report.rows, 1):
        dekad, total = report.figures.get(metric["key"], ("", ""))
        lines.append("\t".join((str(n), _label(metric), dekad, total)))
    lines += ["主要工作举措：", *report.measures, "", FOOTER]
    return "\n".join(lines) + "\n"


def photo(pdf: bytes) -> bytes:
    """A phone photo of the printed form: the PDF's page, slightly turned, as a JPEG."""
    import io
    import subprocess
    import tempfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "form.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "120", "-png", "-singlefile", "form.pdf", "page"],
            cwd=tmp,
            check=True,
        )
        page = Image.open(Path(tmp) / "page.png").convert("RGB")
    turned = page.rotate(1.2, expand=True, fillcolor=(236, 233, 226))
    out = io.BytesIO()
    turned.save(out, "JPEG", quality=88)
    return out.getvalue()


def _fig(dekad: str, total: str = "") -> tuple[str, str]:
    return dekad, total


REPORTS = [
    Report(
        "20190329-0930-shizhong",
        "乐山市市中区总工会",
        "szqzgh@163.com",
        "2019-03-29T09:30:00+08:00",
        {
            "new_members": _fig("354", "354"),
            "contract_workers": _fig("59", "59"),
            "group_projects": _fig("0", "0"),
            "legal_events": _fig("1", "1"),
            "training": _fig("80", "80"),
        },
        ("（一）召开农民工工作专题会议，分解落实工作要点；", "（二）在城区建筑工地开展法律咨询。"),
        "xlsx",
    ),
    Report(
        "20190408-1015-shizhong",
        "乐山市市中区总工会",
        "szqzgh@163.com",
        "2019-04-08T10:15:00+08:00",
        {
            "new_members": _fig("191", "545"),
            "contract_workers": _fig("0", "59"),
            "group_projects": _fig("0", "0"),
            "legal_events": _fig("1", ""),
            "training": _fig("0", ""),
        },
        (
            "（一）与区物流协会开展集体协商集中要约，签订物流行业农民工权益专项集体合同；",
            "（二）启动货车司机入会工作项目，建立货车司机联合工会。",
        ),
        "xlsx",
    ),
    Report(
        "20190409-1640-qianwei",
        "犍为县总工会",
        "qwxzgh@126.com",
        "2019-04-09T16:40:00+08:00",
        {
            "new_members": _fig("260", "688"),
            "contract_workers": _fig("120", "420"),
            "group_projects": _fig("1", "2"),
            "legal_events": _fig("2", "3"),
            "training": _fig("150", "310"),
        },
        (
            "（一）推动县建筑业、餐饮业签订行业性农民工权益专项集体合同；",
            "（二）开展“尊法守法·携手筑梦”农民工公益法律服务活动两场，接待咨询120人次。",
        ),
        "docx",
    ),
    Report(
        "20190409-1700-wutongqiao",
        "五通桥区总工会",
        "wtqzgh@126.com",
        "2019-04-09T17:00:00+08:00",
        {
            "new_members": _fig("88", "402"),
            "contract_workers": _fig("0", "35"),
            "group_projects": _fig("0", "1"),
            "legal_events": _fig("0", "1"),
            "training": _fig("45", "45"),
        },
        ("（一）在盐磷化工企业发展农民工会员；", "（二）举办农民工安全生产培训班一期。"),
        "doc",
    ),
    Report(
        "20190409-1730-shawan",
        "沙湾区总工会",
        "swqzgh@163.com",
        "2019-04-09T17:30:00+08:00",
        {
            "new_members": _fig("64", "231"),
            "contract_workers": _fig("20", "80"),
            "group_projects": _fig("0", "0"),
            "legal_events": _fig("1", "1"),
            "training": _fig("0", "60"),
        },
        ("（一）在钒钛产业园区开展入会宣传；", "（二）开展公益法律服务活动一场。"),
        "wps",
    ),
    Report(
        "20190410-0905-emeishan",
        "峨眉山市总工会",
        "emsszgh@163.com",
        "2019-04-10T09:05:00+08:00",
        {
            "new_members": _fig("120", "610"),
            "contract_workers": _fig("0", "150"),
            "group_projects": _fig("0", "1"),
            "legal_events": _fig("1", "2"),
            "training": _fig("200", "200"),
        },
        ("（一）在景区酒店行业开展集体协商；", "（二）开展农民工法律知识讲座一场。"),
    ),
    Report(
        "20190410-0930-jinkouhe",
        "金口河区总工会",
        "jkhqzgh@126.com",
        "2019-04-10T09:30:00+08:00",
        {
            "new_members": _fig("21", "73"),
            "contract_workers": _fig("0", "12"),
            "group_projects": _fig("0", "0"),
            "legal_events": _fig("0", "0"),
            "training": _fig("30", "30"),
        },
        ("（一）在水电站建设工地发展农民工会员。",),
        "pdf",
    ),
    Report(
        "20190410-1000-muchuan",
        "沐川县总工会",
        "mcxzgh@163.com",
        "2019-04-10T10:00:00+08:00",
        {
            "new_members": _fig("75", "298"),
            "contract_workers": _fig("0", "40"),
            "group_projects": _fig("0", "0"),
            "legal_events": _fig("1", "1"),
            "training": _fig("0", "0"),
        },
        ("（一）在竹木加工企业开展入会宣传。",),
        "jpg",
    ),
    Report(
        "20190410-1030-jingyan",
        "井研县总工会",
        "jyxzgh@163.com",
        "2019-04-10T10:30:00+08:00",
        {
            "new_members": _fig("90", "330"),
            "contract_workers": _fig("", ""),
            "group_projects": _fig("0", "1"),
            "legal_events": _fig("0", ""),
            "training": _fig("", ""),
        },
        ("（一）在工业园区发展农民工会员；集体合同本旬未统计。",),
        "xls",
    ),
    Report(
        "20190410-1050-ebian",
        "峨边彝族自治县总工会",
        "ebxzgh@126.com",
        "2019-04-10T10:50:00+08:00",
        {
            "new_members": _fig("30", "96"),
            "contract_workers": _fig("10", "25"),
            "group_projects": _fig("0", "0"),
            "legal_events": _fig("1", "1"),
            "training": _fig("40", "40"),
        },
        ("（一）在彝区务工人员中开展入会宣传；", "（二）开展法律服务活动一场。"),
        "docx",
        order=("training", "legal_events", "new_members", "group_projects", "contract_workers"),
    ),
    Report(
        "20190410-1120-jiajiang",
        "夹江县总工会",
        "jjxzgh@126.com",
        "2019-04-10T11:20:00+08:00",
        {
            "new_members": _fig("约50", "约200"),
            "contract_workers": _fig("0", "30"),
            "group_projects": _fig("0", "1"),
        },
        ("（一）在陶瓷企业推进集体协商。",),
        "xlsx",
    ),
]

_TYPES = {
    "xlsx": "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "vnd.ms-excel",
    "doc": "msword",
    "wps": "octet-stream",
    "pdf": "pdf",
}


def mail(report: Report, attachment: bytes | None) -> bytes:
    from datetime import datetime

    arrived = datetime.fromisoformat(report.arrived)
    msg = EmailMessage(policy=SMTP)
    msg["Received"] = f"from mail.example (mail.example) by mx.126.com; {format_datetime(arrived)}"
    msg["From"] = f"{report.unit_text} <{report.sender}>"
    msg["To"] = MAILBOX
    msg["Subject"] = f"{report.unit_text}关爱服务农民工工作旬报"
    msg["Date"] = format_datetime(arrived)
    msg["Message-ID"] = f"<{report.key}@example.lszgh>"
    if attachment is None:
        msg.set_content(body_text(report))
        return msg.as_bytes()
    msg.set_content("附件为本单位旬报表，请查收。\n")
    name = f"{report.unit_text}旬报表{report.date_text}.{report.attach}"
    if report.attach == "jpg":
        msg.add_attachment(attachment, "image", "jpeg", filename=name)
    else:
        msg.add_attachment(attachment, "application", _TYPES[report.attach], filename=name)
    msg.set_boundary(f"----=_Part_{report.key}")
    return msg.as_bytes()


def main() -> None:
    formats.form_grid = grid  # the 2015 builder's fods()/fodt() render this grid
    formats.TITLE = TITLE
    made = {"wps": "doc", "jpg": "pdf"}  # WPS saves Word 97 inside; a photo of the print
    jobs = {r.key: (r, made.get(r.attach, r.attach)) for r in REPORTS if r.attach}
    files = office.convert_all(jobs)
    for report in REPORTS:
        if report.attach == "jpg":
            files[report.key] = photo(files[report.key])
    INBOX.mkdir(exist_ok=True)
    for old in INBOX.glob("*.eml"):
        old.unlink()
    for report in REPORTS:
        (INBOX / f"{report.key}.eml").write_bytes(mail(report, files.get(report.key)))
    print(f"wrote {len(REPORTS)} messages to {INBOX}")


if __name__ == "__main__":
    main()
