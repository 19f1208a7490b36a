"""实名登记 ID numbers leave the kept originals after storage.id_days (issue 25 item 7)."""

from __future__ import annotations

import email
import email.policy
import io
import os
import time
from email.message import EmailMessage
from pathlib import Path

from openpyxl import Workbook, load_workbook

from pipeline import config
from pipeline.ledger import masking, originals
from tests.test_roster import BAD, PEOPLE, people_csv

ROOT = Path(__file__).resolve().parent.parent


def workbook(numbers: list[str]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "工作单位"])
    for i, number in enumerate(numbers):
        sheet.append([f"某{i}", number, "某公司"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "jjxzgh@126.com"
    msg["Subject"] = "夹江县旬报"
    msg.set_content(f"报送单位：夹江县总工会\n已完成目标任务数：3\n联系人身份证 {PEOPLE[2]}\n")
    msg.add_attachment(people_csv([PEOPLE[0], BAD]), "text", "csv", filename="实名登记.csv")
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    maintype, subtype = xlsx.split("/")
    msg.add_attachment(workbook([PEOPLE[1]]), maintype, subtype, filename="名单.xlsx")
    return msg.as_bytes()


def texts(raw: bytes) -> str:
    """Everything a reader of the message sees: decoded parts, the workbook's cells."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    seen = []
    for part in parsed.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if part.get_filename() == "名单.xlsx":
            sheet = load_workbook(io.BytesIO(payload)).active
            assert sheet is not None
            seen += [str(c) for row in sheet.iter_rows(values_only=True) for c in row]
        else:
            seen.append(payload.decode("utf-8-sig"))
    return "\n".join(seen)


def test_originals_keep_id_numbers_only_for_id_days(tmp_path: Path):
    assert config.load(ROOT / "config.yaml").config.storage.id_days == 90
    raw = message()
    assert all(n in texts(raw) for n in PEOPLE)
    root = tmp_path / "originals"
    digest = originals.store(root, raw)
    path = originals.path_of(root, digest)
    # 89 days old: kept as it came.
    young = time.time() - 89 * 86400
    os.utime(path, (young, young))
    assert originals.mask_ids(root, 90) == 0 and originals.load(root, digest) == raw
    old = time.time() - 91 * 86400
    os.utime(path, (old, old))
    assert originals.mask_ids(root, 90) == 1
    assert not path.exists()
    kept = originals.load(root, digest)
    assert kept is not None and kept != raw
    shown = texts(kept)
    assert all(n not in shown for n in PEOPLE)
    assert "**************1233" in shown  # in the body
    assert "**************002X" in shown  # in the CSV
    assert "**************0014" in shown  # in the workbook, which still opens
    assert BAD in shown  # not an ID number (wrong check digit): left alone
    assert "报送单位：夹江县总工会" in shown
    # Storing the same message again (a mailbox read twice) does not bring the numbers back.
    originals.store(root, raw)
    assert not path.exists() and originals.load(root, digest) == kept
    assert originals.mask_ids(root, 90) == 0


def test_utf16_text_is_masked_in_place():
    data = b"\x00\x01" + PEOPLE[1].encode("utf-16-le") + b"\x00\x02"
    masked = masking.mask_bytes(data)
    assert len(masked) == len(data) and PEOPLE[1].encode("utf-16-le") not in masked
    assert masked.endswith("0014".encode("utf-16-le") + b"\x00\x02")
