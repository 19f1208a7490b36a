"""Document numbers follow issued circulars: no gaps for dekads never sent, a correction keeps
its number, a new year starts at 1 — recorded in a real ledger as issuing records them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline import config
from pipeline.ledger import Ledger
from pipeline.ledger.records import Snapshot
from pipeline.outputs.corrections import doc_number
from pipeline.standings.periods import Period

ROOT = Path(__file__).resolve().parent.parent
CONFIG = config.load(ROOT / "config.yaml").config
LONGER = CONFIG.model_copy(
    update={"campaign": CONFIG.campaign.model_copy(update={"end": date(2016, 6, 30)})}
)


def issue(ledger: Ledger, period: str, version: int = 1) -> str:
    """As issuance.issue does: the number is taken from the ledger as it is, then recorded."""
    number = doc_number(LONGER, Period.parse(period), ledger.versions())
    ledger.add_version(
        period, version, f"f{period}{version}", Snapshot.of_json({}), "", number, None
    )
    return number


def test_numbers_follow_issued_circulars(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        nothing_yet = doc_number(LONGER, Period.parse("2015-09-30"), ledger.versions())
        assert nothing_yet == "乐工组〔2015〕12号"  # circular.first_seq
        assert issue(ledger, "2015-09-10") == "乐工组〔2015〕12号"
        # 2015-09-20 was never sent: it takes no number
        assert issue(ledger, "2015-09-30") == "乐工组〔2015〕13号"
        assert issue(ledger, "2015-09-10", version=2) == "乐工组〔2015〕12号"  # a correction
        assert issue(ledger, "2015-09-20") == "乐工组〔2015〕14号"  # issued late: the next one
        assert issue(ledger, "2016-01-10") == "乐工组〔2016〕1号"
        assert issue(ledger, "2015-12-31") == "乐工组〔2015〕15号"
        assert issue(ledger, "2016-02-29") == "乐工组〔2016〕2号"
        numbers = sorted({(v.doc_number, v.period) for v in ledger.versions()})
    seqs = [int(n.split("〕")[1].removesuffix("号")) for n, p in numbers if p < "2016"]
    assert sorted(seqs) == list(range(12, 16))


def test_an_old_gap_is_never_reused(tmp_path: Path) -> None:
    """Ledgers numbered per dekad (12, 13, 14, 16) go on after the highest number."""
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        for period, seq in (("2015-09-10", 12), ("2015-09-20", 13), ("2015-09-30", 14)):
            ledger.add_version(
                period, 1, period, Snapshot.of_json({}), "", f"乐工组〔2015〕{seq}号", None
            )
        ledger.add_version(
            "2015-10-20", 1, "x", Snapshot.of_json({}), "", "乐工组〔2015〕16号", None
        )
        assert issue(ledger, "2015-10-31") == "乐工组〔2015〕17号"
