"""约谈 followed through (issue 25 item 9): the notice, the record, the next circular's lines."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from pipeline import config
from pipeline.clerk import talks
from pipeline.errors import UsageError
from pipeline.ledger import Ledger
from pipeline.ledger.records import Snapshot
from pipeline.ledger.talks import Talk
from pipeline.outputs import circular, corrections, notices
from pipeline.standings import table as standings
from pipeline.standings.periods import Period
from tests.test_seed_rules import EVERYONE, _frame

ROOT = Path(__file__).resolve().parent.parent
BASE = config.load(ROOT / "config.yaml").config
CONFIG = BASE.model_copy(
    update={
        "units": [
            u.model_copy(update={"leader": "张某某"}) if u.name == "五通桥区" else u
            for u in BASE.units
        ]
    }
)
# 09-20: 五通桥区 (14.2 %), 乐电公司 (10 %) and 金口河区 are the last three; 09-30: 五通桥区 gains.
SENT = {
    "2015-09-20": {u: int(t * 0.8) for u, t in EVERYONE.items()}
    | {"五通桥区": 1196, "乐电公司": 20, "金口河区": 300},
    "2015-09-30": {u: int(t * 0.85) for u, t in EVERYONE.items()} | {"五通桥区": 2400},
}


def first() -> standings.Standings:
    frame = _frame(SENT)
    return standings.compute(
        CONFIG, frame[frame["period"] <= "2015-09-20"], Period.parse("2015-09-20")
    )


def test_the_notice_names_the_leader_the_reason_the_figures_and_the_place(tmp_path: Path):
    table = first()
    assert {s.unit for s in table.summoned} == {"五通桥区", "乐电公司", "金口河区"}
    written = notices.write_notices(CONFIG, table, tmp_path)
    assert len(written) == 6
    pdf = tmp_path / "五通桥区约谈通知书.pdf"
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.replace("\n", "")
    assert "五通桥区工会主要负责人张某某同志" in text
    assert "新增农民工入会1,196名，完成目标任务8,425名的14.2%" in text
    assert "完成率处于全市末位" in text
    assert "2015年9月23日9时30分到市总工会三楼会议室参加约谈" in text
    assert "乐工发〔2015〕33号" in text  # the basis, from config
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "Pages:           1" in pages  # a letter on one page
    docx = "".join(p.text for p in Document(str(tmp_path / "五通桥区约谈通知书.docx")).paragraphs)
    assert "约谈通知书" in docx and "张某某同志" in docx
    # A unit without a leader in config is addressed by its post only.
    ledian = Document(str(tmp_path / "乐电公司约谈通知书.docx")).paragraphs
    assert any(p.text == "乐电公司工会主要负责人：" for p in ledian)


def test_the_talk_is_recorded_and_the_next_circular_follows_it_up(tmp_path: Path):
    table = first()
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        with pytest.raises(UsageError, match="尚未发出"):
            talks.record(
                CONFIG, ledger, Talk("2015-09-20", "五通桥区", date(2015, 9, 23), "", "", None)
            )
        ledger.add_version(
            "2015-09-20", 1, "f", corrections.snapshot(table), "", "乐工组〔2015〕12号", None
        )
        with pytest.raises(UsageError, match="没有约谈 市中区"):
            talks.record(
                CONFIG, ledger, Talk("2015-09-20", "市中区", date(2015, 9, 23), "", "", None)
            )
        kept = talks.record(
            CONFIG,
            ledger,
            Talk(
                "2015-09-20",
                "五通桥区总工会",  # as written: the canonical name is kept
                date(2015, 9, 23),
                "张某某、李某",
                "分片包干，十月底前新建企业工会8个",
                date(2015, 10, 31),
                "鲍学智",
            ),
        )
        assert kept.unit == "五通桥区" and ledger.talks("2015-09-20") == [kept]
        second = standings.compute(
            CONFIG,
            _frame(SENT),
            Period.parse("2015-09-30"),
            standings.Facts(issued=frozenset({"2015-09-20"}), summons=ledger.issued_summons()),
        )
        followed = notices.followups(CONFIG, ledger, second)
    assert [f.unit for f in followed] == ["乐电公司", "五通桥区", "金口河区"]
    wtq = next(f for f in followed if f.unit == "五通桥区")
    assert (wtq.then_completed, wtq.now_completed, wtq.gained) == (1196, 2400, 1204)
    html = circular.compose(CONFIG, second, followups=followed).html
    assert "2015年9月中旬通报约谈的单位整改情况如下" in html
    assert (
        "五通桥区：已于9月23日约谈（参加人员：张某某、李某）；整改措施：分片包干，"
        "十月底前新建企业工会8个（10月31日前完成）；本旬进展：完成率由14.2%升至28.5%，新增1,204名。"
    ) in html
    assert "乐电公司：尚未报来约谈记录；本旬进展：" in html


def test_talk_command_records_and_lists(tmp_path: Path):
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("path: data/xunbao.sqlite", f"path: {tmp_path}/l.sqlite"), "utf-8")
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_version(
            "2015-09-20", 1, "f", Snapshot.of_json({"summoned": ["五通桥区"]}), "", "x", None
        )
    xunbao = [sys.executable, "-m", "pipeline", "--config", str(path), "talk"]

    def talk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*xunbao, *args], capture_output=True, text=True, cwd=ROOT)

    record = ["record", "--period", "2015-09-20", "--unit", "五通桥区", "--on", "2015-09-23"]
    record += ["--measures", "包片督导", "--by", "鲍学智"]
    done = talk(*record, "--deadline", "2015-09-01")
    assert done.returncode == 2 and "整改期限 2015-09-01 早于约谈日期" in done.stderr
    done = talk(*record)
    assert done.returncode == 0, done.stderr
    listed = talk("list")
    assert "五通桥区" in listed.stdout and "包片督导" in listed.stdout


def test_a_circular_issued_late_leaves_the_streaks_of_those_already_out(tmp_path: Path):
    """An older period's circular issued after a newer one (asked for by its period) does
    not reach back: the newer one's streaks stay as they went out, and its state with them."""
    snapshot = corrections.snapshot(first())
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.add_version("2015-09-30", 1, "f", snapshot, "", "乐工组〔2015〕13号", None)
        ledger.add_version("2015-09-20", 1, "f", snapshot, "", "乐工组〔2015〕14号", None)
        assert set(ledger.issued_summons(before="2015-09-30")) == set()
        assert set(ledger.issued_summons(before="2015-09-20")) == {"2015-09-30"}
        # a period not issued yet counts every circular out so far
        assert set(ledger.issued_summons(before="2015-10-10")) == {"2015-09-20", "2015-09-30"}
        assert ledger.issued_summons()["2015-09-20"] == frozenset(snapshot.summoned)
