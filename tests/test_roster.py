"""实名登记: a report's name list is counted (valid GB 11643 ID numbers, each person once,
also across the unit's earlier lists) and checked against the increase it claims. ID
numbers are never kept: only counts and salted hashes."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline import config
from pipeline.config import Storage
from pipeline.intake import roster
from pipeline.intake.judge import Intake
from pipeline.ledger import Ledger
from pipeline.mailbox import RawMessage

ROOT = Path(__file__).resolve().parent.parent
# Valid check digits: two often-cited examples and one made with the weights.
PEOPLE = ["11010519491231002X", "440524188001010014", "510181199001011233"]
BAD = "110105194912310021"  # last digit wrong


def test_check_digit() -> None:
    assert roster.valid_id("11010519491231002x") == "11010519491231002X"
    assert roster.valid_id(BAD) is None
    assert roster.valid_id("４４０５２４１８８００１０１００１４") == "440524188001010014"
    assert roster.valid_id("12345") is None


def test_a_list_counts_valid_distinct_rows() -> None:
    grid = [
        ["新入会农民工实名登记表"],
        ["序号", "姓名", "身份证号", "工作单位", "入会时间"],
        ["1", "张三", PEOPLE[0], "某建筑公司", "2015.9.1"],
        ["2", "李四", PEOPLE[1], "某建筑公司", "2015.9.2"],
        ["3", "李四", PEOPLE[1], "某建筑公司", "2015.9.2"],  # listed twice
        ["4", "王五", BAD, "某商场", "2015.9.3"],
    ]
    found = roster.find([grid], b"salt")
    assert found is not None and (found.rows, found.valid) == (4, 2)
    assert all(PEOPLE[0] not in h for h in found.hashes)
    assert roster.find([[["报送单位：夹江县总工会"]]], b"salt") is None


def people_csv(numbers: list[str]) -> bytes:
    lines = ["姓名,身份证号,工作单位,入会时间"]
    lines += [f"某{i},{n},某公司,2015-09-0{i % 9 + 1}" for i, n in enumerate(numbers)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def mail(figure: int, numbers: list[str], day: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "jjxzgh@126.com"
    msg["To"] = "lsszghzxb@126.com"
    msg["Subject"] = "夹江县旬报"
    msg["Date"] = f"Sat, {day} Sep 2015 10:00:00 +0800"
    msg["Message-ID"] = f"<roster-{figure}-{day}-{len(numbers)}-{numbers[-1][-4:]}@test>"
    msg.set_content(
        f"报送单位：夹江县总工会\n报送时间：2015年9月{day}日\n已完成目标任务数：{figure}\n"
    )
    msg.add_attachment(people_csv(numbers), "text", "csv", filename="实名登记.csv")
    return msg.as_bytes()


@pytest.fixture
def intake(tmp_path: Path) -> Intake:
    cfg = config.load(ROOT / "config.yaml").config
    cfg = cfg.model_copy(update={"storage": Storage(path=tmp_path / "ledger.sqlite")})
    return Intake(cfg, Ledger(tmp_path / "ledger.sqlite"))


def assess(intake: Intake, raw: bytes, ref: str):  # type: ignore[no-untyped-def]
    assessment = intake.assess(RawMessage(ref, raw))
    intake.ledger.record(assessment.entry, assessment.report)
    return assessment.entry


def test_name_list_short_of_the_claimed_increase_is_held(intake: Intake, tmp_path: Path) -> None:
    entry = assess(intake, mail(3, [PEOPLE[0], PEOPLE[1], PEOPLE[1], BAD], 9), "t:1")
    assert entry.outcome == "review"
    assert "实名登记名单有效 2 名" in entry.reason and "少于本次新增的 3 名" in entry.reason
    entry = assess(intake, mail(2, [PEOPLE[0], PEOPLE[1], BAD], 8), "t:2")
    assert entry.outcome == "counted" and entry.reason.endswith("实名登记 2 名")
    # Next dekad: 3 in all, i.e. 1 more, but the list only repeats the two already listed.
    entry = assess(intake, mail(3, [PEOPLE[0], PEOPLE[1]], 19), "t:3")
    assert entry.outcome == "review" and "有效 0 名" in entry.reason
    entry = assess(intake, mail(3, [PEOPLE[0], PEOPLE[2]], 19), "t:4")
    assert entry.outcome == "counted"
    intake.ledger.close()
    # No ID number is kept anywhere: the ledger holds hashes, salted from the storage folder.
    stored = (tmp_path / "ledger.sqlite").read_bytes()
    assert all(number.encode() not in stored for number in [*PEOPLE, BAD])
    assert (tmp_path / "roster.salt").stat().st_mode & 0o077 == 0
    assert len((tmp_path / "roster.salt").read_bytes()) == 32


def test_approving_a_held_list_needs_no_reader(intake: Intake) -> None:
    """Intake keeps a held mail's name list as hashes: approving it is a ledger write. No
    original is stored here, so a reader reading the mail again would find no list."""
    from pipeline.clerk import review
    from pipeline.ledger import originals

    cfg, ledger = intake.config, intake.ledger
    assessment = intake.assess(RawMessage("t:1", mail(3, [PEOPLE[0], PEOPLE[1], BAD], 9)))
    assert assessment.entry.outcome == "review", assessment.entry.reason
    held = ledger.record(assessment.entry, None)
    assert not list(originals.folder(cfg).rglob("*.eml*"))
    row = ledger.message(held)
    assert row is not None
    stored = row.detail
    assert stored.name_list and stored.names is not None and stored.names.rows == 3
    approved = review.approve(cfg, ledger, held, None, 3, force=True)
    assert len(approved.report.roster) == 2 and approved.report.roster == stored.names.hashes
    assert ledger.registered(approved.report.period) == {"夹江县": 2}
    counted = ledger.message(held)
    assert counted is not None and "实名登记 2 名" in counted.reason


def test_approved_name_list_is_kept_and_shown_in_circular_and_xlsx(
    intake: Intake, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from pipeline.clerk import review
    from pipeline.issuance import phase
    from pipeline.ledger import originals
    from pipeline.outputs import circular
    from pipeline.outputs import tables as exports
    from pipeline.standings.periods import Period

    cfg, ledger = intake.config, intake.ledger
    raw = mail(3, [PEOPLE[0], PEOPLE[1], PEOPLE[1], BAD], 9)
    originals.store(originals.folder(cfg), raw)  # as `ingest` does before the ledger names it
    assessment = intake.assess(RawMessage("t:1", raw))
    held = ledger.record(assessment.entry, assessment.report)
    assert assessment.entry.outcome == "review"
    approved = review.approve(cfg, ledger, held, None, 3, force=True)
    assert approved.report.roster and len(approved.report.roster) == 2
    period = approved.report.period
    assert ledger.registered(period) == {"夹江县": 2}
    table = phase.standings_for(cfg, ledger, Period.parse(period))
    shown = {s.unit: s.registered for s in table.units}
    assert shown["夹江县"] == 2 and shown["井研县"] is None
    composed = circular.compose(cfg, table)
    html = composed.html
    # rules.real_name (the 2015 config, issue 25): the rate beside the count, and the city's
    assert "实名登记 2 名（66.7%）" in html and html.count("实名登记 2 名") == 1
    assert "共2名，占新增3名的66.7%" in html
    book = load_workbook(exports.write_xlsx(table, tmp_path / "standings.xlsx"))
    sheet = book.worksheets[0]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    head = next(row for row in cells if "实名登记" in row)
    column = head.index("实名登记")
    by_unit = {row[1]: row[column] for row in cells if row[1]}
    assert by_unit["夹江县"] == 2 and by_unit["井研县"] in (None, "")
    import docx

    from pipeline.outputs import docx as circular_docx

    made = circular_docx.write(html, composed.fonts, circular.RED, tmp_path / "circular.docx")
    (table_cells,) = [
        t for t in docx.Document(str(made)).tables if "排名" in t.rows[0].cells[0].text
    ]
    names = [row.cells[1].text for row in table_cells.rows]
    assert "夹江县\n实名登记 2 名（66.7%）" in names  # its own line in the Word copy too
    text = html + repr(cells)
    (report,) = ledger.active_reports("夹江县", period)
    ledger.withdraw(report.id, "测试", "撤回")  # a withdrawn report's list no longer counts
    assert ledger.registered(period) == {}
    assert all(number not in text for number in [*PEOPLE, BAD])
