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
    figures: dict[str, str]  # metric key → what is written in the figure cell
    measures: tuple[str, ...]
    attach: str = ""  # "xlsx" / "docx"; empty: the form is in the body

    @property
    def date_text(self) -> str:  # read by builder.formats.odf_head
        y, m, d = self.arrived[:10].split("-")
        return f"{y}年{int(m)}月{int(d)}日"


def _metrics() -> list[dict[str, str]]:
    campaign = YAML(typ="safe").load(CONFIG.read_text(encoding="utf-8"))["campaign"]
    return list(campaign["metrics"])


METRICS = _metrics()
TITLE = "2019年关爱服务农民工工作旬报表"


def _label(metric: dict[str, str]) -> str:
    return f"{metric.get('label') or metric['name']}（{metric['measure']}）"


def grid(report: Report) -> tuple[list[list[object]], list[float]]:
    """The form: unit and date, one row per metric, the measures, the footer."""
    cell = formats.Cell
    rows: list[list[object]] = [
        [cell((f"报送单位：{report.unit_text}",)), cell((f"报送时间：{report.date_text}",))]
    ]
    for metric in METRICS:
        written = report.figures.get(metric["key"], "")
        number = int(written) if written.isdigit() else None
        rows.append([cell((_label(metric),)), cell((written,), 1, number, center=True)])
    rows.append([cell((MEASURES_LABEL,), center=True), cell(report.measures)])
    rows.append(
        [cell(("说明：每月10、20、30日报送，各项数字填写累计数（法律服务活动填写本旬场次）。",), 2)]
    )
    return rows, [8.4, 7.2]


def body_text(report: Report) -> str:
    lines = [f"报送单位：{report.unit_text}", f"报送时间：{report.date_text}"]
    lines += [f"{_label(m)}：{report.figures.get(m['key'], '')}" for m in METRICS]
    lines += ["主要工作举措（300字左右）：", *report.measures, "", "联系人：办公室"]
    return "\n".join(lines) + "\n"


REPORTS = [
    Report(
        "20190329-0930-shizhong",
        "乐山市市中区总工会",
        "szqzgh@163.com",
        "2019-03-29T09:30:00+08:00",
        {
            "contract_workers": "120",
            "group_projects": "0",
            "legal_events": "1",
            "women_contracts": "2",
        },
        ("1.召开农民工工作专题会议，分解落实工作要点；", "2.在城区建筑工地开展法律咨询。"),
        "xlsx",
    ),
    Report(
        "20190408-1015-shizhong",
        "乐山市市中区总工会",
        "szqzgh@163.com",
        "2019-04-08T10:15:00+08:00",
        {
            "contract_workers": "300",
            "group_projects": "1",
            "legal_events": "1",
            "women_contracts": "3",
            "care_rooms": "1",
        },
        (
            "1.与区物流协会开展集体协商集中要约，签订物流行业农民工权益专项集体合同；",
            "2.启动货车司机入会工作项目，建立货车司机联合工会；",
            "3.在万达广场建成“爱心妈咪小屋”一个。",
        ),
        "xlsx",
    ),
    Report(
        "20190409-1640-qianwei",
        "犍为县总工会",
        "qwxzgh@126.com",
        "2019-04-09T16:40:00+08:00",
        {
            "contract_workers": "420",
            "group_projects": "2",
            "legal_events": "2",
            "women_contracts": "4",
            "care_rooms": "1",
        },
        (
            "1.推动县建筑业、餐饮业签订行业性农民工权益专项集体合同；",
            "2.开展“尊法守法·携手筑梦”农民工公益法律服务活动两场，接待咨询120人次；",
            "3.实施快递员、网约送餐员入会工作项目。",
        ),
        "docx",
    ),
    Report(
        "20190410-0905-emeishan",
        "峨眉山市总工会",
        "emsszgh@163.com",
        "2019-04-10T09:05:00+08:00",
        {
            "contract_workers": "150",
            "group_projects": "1",
            "legal_events": "1",
            "women_contracts": "1",
        },
        ("1.在景区酒店行业开展集体协商；", "2.开展农民工法律知识讲座一场。"),
    ),
    Report(
        "20190410-1120-jiajiang",
        "夹江县总工会",
        "jjxzgh@126.com",
        "2019-04-10T11:20:00+08:00",
        {"contract_workers": "约200", "group_projects": "1"},
        ("1.在陶瓷企业推进集体协商。",),
    ),
]


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
    subtype = {"xlsx": "vnd.openxmlformats-officedocument.spreadsheetml.sheet"}.get(
        report.attach, "vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    name = f"{report.unit_text}旬报表{report.date_text}.{report.attach}"
    msg.add_attachment(attachment, "application", subtype, filename=name)
    msg.set_boundary(f"----=_Part_{report.key}")
    return msg.as_bytes()


def main() -> None:
    formats.form_grid = grid  # the 2015 builder's fods()/fodt() render this grid
    formats.TITLE = TITLE
    jobs = {r.key: (r, r.attach) for r in REPORTS if r.attach}
    files = office.convert_all(jobs)
    INBOX.mkdir(exist_ok=True)
    for old in INBOX.glob("*.eml"):
        old.unlink()
    for report in REPORTS:
        (INBOX / f"{report.key}.eml").write_bytes(mail(report, files.get(report.key)))
    print(f"wrote {len(REPORTS)} messages to {INBOX}")


if __name__ == "__main__":
    main()
