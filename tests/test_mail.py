"""Decoding mail the way Chinese clients write it, and what intake makes of odd messages."""

from __future__ import annotations

import binascii
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline import config
from pipeline.intake.judge import Intake
from pipeline.ledger import Ledger
from pipeline.mailbox import RawMessage
from pipeline.mailbox.parse import parse, strip_quotes

ROOT = Path(__file__).resolve().parent.parent
INBOX = ROOT / "inbox_samples"
FORMS = ROOT / "tests" / "fixtures" / "forms"
MALFORMED = ROOT.parent / "shared" / "corpora" / "public-malformed"
FORM_BODY = (
    "报送单位：乐山市市中区总工会\n报送时间：2015年9月20日\n"
    "已完成目标任务数（新增 2,700 名农民工入会）\n主要工作举措：\n1. 开展集中宣传。\n"
)


def message(
    headers: dict[str, str], body: bytes, content_type: str = "text/plain; charset=utf-8"
) -> bytes:
    head = {
        "From": "szqzgh@163.com",
        "To": "lsszghzxb@126.com",
        "Date": "Sat, 19 Sep 2015 10:00:00 +0800",
        "Message-ID": f"<{hashlib.sha1(body + repr(headers).encode()).hexdigest()}@test>",
        "MIME-Version": "1.0",
        "Content-Type": content_type,
        **headers,
    }
    lines = [
        f"{k}: {v}".encode() if isinstance(v, str) else k.encode() + b": " + v
        for k, v in head.items()
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@pytest.fixture
def intake(tmp_path: Path) -> Intake:
    cfg = config.load(ROOT / "config.yaml").config
    return Intake(cfg, Ledger(tmp_path / "ledger.sqlite"))


def assess(intake: Intake, raw: bytes, ref: str = "t:1"):  # type: ignore[no-untyped-def]
    assessment = intake.assess(RawMessage(ref, raw))
    intake.ledger.record(assessment.entry, assessment.report)
    return assessment.entry


def test_gb2312_label_holding_gbk_only_characters() -> None:
    mail = parse((INBOX / "0920-1012-muchuan.eml").read_bytes())
    assert mail.sender_name == "王喆"
    assert mail.attachments[0].filename == "沐川县总工会旬报表（9.20）.docx"


def test_rfc2047_inside_quoted_filename_foxmail() -> None:
    mail = parse((INBOX / "0918-0930-shizhongqu.eml").read_bytes())
    assert mail.attachments[0].filename.endswith("（市中区9.18）.xlsx")
    assert mail.subject and "=?" not in mail.subject


def test_rfc2231_continuations_outlook() -> None:
    mail = parse((INBOX / "0919-1115-ledian.eml").read_bytes())
    assert (
        mail.attachments[0].filename
        == "乐山电力股份有限公司工会农民工入会集中行动旬报表（2015年9月中旬）.xlsx"
    )


@pytest.mark.parametrize("codec", ["gb18030", "utf-8"])
def test_raw_8bit_subject_is_recovered(codec: str) -> None:
    raw = message({"Subject": "市中区旬报（王喆）".encode(codec)}, b"hi")
    assert parse(raw).subject == "市中区旬报（王喆）"


def test_html_entities_and_tables_in_html_only_body() -> None:
    html = (
        "<html><body><table><tr><td>&#25253;&#36865;&#21333;&#20301;&#65306;</td>"
        "<td>乐山市市中区总工会</td></tr><tr><td>已完成目标任务数（新增&nbsp;&nbsp;名）</td>"
        "<td>2,700</td></tr></table></body></html>"
    )
    mail = parse(message({}, html.encode(), "text/html; charset=utf-8"))
    assert "报送单位：\t乐山市市中区总工会" in mail.body


def test_reply_quote_is_cut_and_forward_is_kept() -> None:
    reply = "收到。\n\n在 2015-09-18 10:00，市总工会 写道：\n> 已完成目标任务数（新增 9,999 名）\n"
    assert "9,999" not in strip_quotes(reply)
    forward = (
        "请查收转发的旬报。\n-------- 转发邮件信息 --------\n发件人：张三\n主题：旬报\n\n"
        + FORM_BODY
    )
    assert "2,700" in strip_quotes(forward)


def test_uuencoded_form_is_read(intake: Intake) -> None:
    data = (FORMS / "label_blank.xlsx").read_bytes()
    chunks = [binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45)]
    body = b"see attached\r\n\r\nbegin 644 form.xlsx\r\n" + b"".join(chunks) + b"`\r\nend\r\n"
    entry = assess(intake, message({"Subject": "uu"}, body))
    assert (entry.outcome, entry.unit, entry.value) == ("counted", "市中区", 2650), entry.reason


def test_report_forwarded_as_attachment_is_counted(intake: Intake) -> None:
    inner = message({"From": "someone@163.com"}, FORM_BODY.encode())
    outer = (
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xe8\xbd\xac\xe5\x8f\x91\r\n"
        b"--b1\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b1--\r\n"
    )
    entry = assess(intake, message({}, outer, 'multipart/mixed; boundary="b1"'))
    assert (entry.outcome, entry.unit, entry.value) == ("counted", "市中区", 2700), entry.reason


def test_quoted_figure_in_reply_is_never_counted(intake: Intake) -> None:
    body = "收到。\n\n------------------ 原始邮件 ------------------\n" + FORM_BODY
    entry = assess(intake, message({"Subject": "回复：旬报"}, body.encode()))
    # The sender's own words are a thank-you: not a report (and so never a receipt either).
    assert (entry.outcome, entry.value) == ("ignored", None) and "收到" in entry.reason


def test_lower_cumulative_than_an_earlier_period_goes_to_review(intake: Intake) -> None:
    first = message({"Date": "Wed, 9 Sep 2015 10:00:00 +0800"}, FORM_BODY.encode())
    assert assess(intake, first, "t:1").outcome == "counted"
    lower = FORM_BODY.replace("2,700", "2,600").encode()
    entry = assess(intake, message({"Date": "Fri, 18 Sep 2015 10:00:00 +0800"}, lower), "t:2")
    assert entry.outcome == "review" and "2700" in entry.reason


def test_same_period_correction_may_be_lower(intake: Intake) -> None:
    first = message({"Date": "Wed, 16 Sep 2015 10:00:00 +0800"}, FORM_BODY.encode())
    assert assess(intake, first, "t:1").outcome == "counted"
    lower = FORM_BODY.replace("2,700", "2,600").encode()
    entry = assess(
        intake,
        message({"Subject": "更正", "Date": "Fri, 18 Sep 2015 10:00:00 +0800"}, lower),
        "t:2",
    )
    assert (entry.outcome, entry.value) == ("counted", 2600)


def test_same_message_id_twice_is_ignored(intake: Intake) -> None:
    raw = message({"Message-ID": "<same@163.com>"}, FORM_BODY.encode())
    assert assess(intake, raw, "t:1").outcome == "counted"
    again = message({"Message-ID": "<same@163.com>", "X-Resent": "1"}, FORM_BODY.encode())
    entry = assess(intake, again, "t:2")
    assert entry.outcome == "ignored" and "重复" in entry.reason


def test_own_circular_coming_back_is_ignored(intake: Intake) -> None:
    entry = assess(intake, message({"From": "lsszghzxb@126.com"}, b"circular"))
    assert entry.outcome == "ignored" and "本会" in entry.reason


def test_public_malformed_mail_gets_an_outcome(intake: Intake) -> None:
    # One test over the whole corpus (../shared beside the checkout, as CI has it): a
    # parametrisation over a missing folder would be empty and pass by skipping.
    names = sorted(MALFORMED.glob("*.eml"))
    assert len(names) >= 2, f"the public malformed corpus is missing: {MALFORMED}"
    for number, path in enumerate(names):
        entry = assess(intake, path.read_bytes(), f"malformed:{number}")
        assert entry.outcome in ("review", "ignored") and entry.reason, path.name


def test_arrival_prefers_the_server_time() -> None:
    raw = message({"Received": "from a by mx.126.com; Mon, 21 Sep 2015 09:12:00 +0800"}, b"x")
    mail = parse(raw)
    server = datetime(2015, 9, 22, tzinfo=UTC)
    assert mail.arrival(RawMessage("r", raw, internal_date=server)) == (server, "服务器接收时间")
    assert mail.arrival(RawMessage("r", raw))[0].day == 21
