"""The ledger: re-running is harmless, a message and its report commit together, and the
Maildir/.eml directory source reads without changing anything."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import write_config
from servers import SAMPLES

from pipeline import config
from pipeline.ledger import Entry, Ledger, Report, originals
from pipeline.mailbox.directory import DirectorySource
from pipeline.service import job

ROOT = Path(__file__).resolve().parent.parent
WHEN = datetime(2015, 9, 18, 2, tzinfo=UTC)


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.relative_to(folder).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_ingest_twice_adds_nothing_and_leaves_the_mailbox_untouched(tmp_path: Path) -> None:
    cfg = config.load(ROOT / "config.yaml").config
    ledger = Ledger(tmp_path / "l.sqlite")
    before = tree_digest(ROOT / "inbox_samples")
    first = job.ingest(cfg, ledger, DirectorySource(ROOT / "inbox_samples"))
    rows = ledger.messages()
    reports = ledger.reports("2099-12-31")
    second = job.ingest(cfg, ledger, DirectorySource(ROOT / "inbox_samples"))
    assert first.new == len(rows) > 0 and first.already_known == 0
    assert second.new == 0 and second.already_known == len(rows)
    assert ledger.messages() == rows
    assert ledger.reports("2099-12-31").equals(reports)
    assert tree_digest(ROOT / "inbox_samples") == before


def test_message_and_report_commit_together(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    entry = Entry("t:1", "abc", "counted", "计入", period="2015-09-20", arrival=WHEN)
    bad = Report("市中区", "2015-09-20", 10, WHEN, origin="nonsense")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="CHECK"):
        ledger.record(entry, bad)
    assert ledger.messages() == [] and ledger.reports("2099-12-31").empty
    ledger.record(entry, Report("市中区", "2015-09-20", 10, WHEN))
    assert len(ledger.messages()) == 1 and len(ledger.reports("2099-12-31")) == 1


def test_schema_is_versioned_and_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    ledger = Ledger(path)
    ledger.record(Entry("t:1", "abc", "ignored", "测试"), None)
    version = ledger.db.execute("PRAGMA user_version").fetchone()[0]
    ledger.close()
    again = Ledger(path)
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == version >= 1
    assert len(again.messages()) == 1


def test_maildir_is_read_with_its_delivery_time(tmp_path: Path) -> None:
    maildir = tmp_path / "box"
    shutil.copytree(ROOT / "tests" / "fixtures" / "maildir", maildir)
    messages = list(DirectorySource(maildir).poll())
    assert len(messages) == 2
    assert all(m.internal_date is not None for m in messages)
    refs = [m.ref.removeprefix("dir:") for m in messages]
    assert all(ref.startswith("cur/") and ":" not in ref for ref in refs)
    # A mail client marking a message read renames it: the ref must not change.
    new = next((maildir / "new").iterdir())
    new.rename(maildir / "cur" / f"{new.name}:2,S")
    assert sorted(m.ref for m in DirectorySource(maildir).poll()) == sorted(m.ref for m in messages)


def test_a_dead_run_charges_only_the_message_it_was_reading_alone(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        for position, ref in enumerate(["a", "b", "c"]):
            ledger.note_queued(ref, position)
        ledger.note_attempt("b")  # read alongside, while "a" waited for a reader
        ledger.note_attempt("c")
        assert ledger.charge_interrupted() is None  # the head was not begun: no one's fault
        assert [ledger.history(r).attempts for r in "abc"] == [0, 0, 0]
        assert not any(ledger.history(r).suspect for r in "abc")

        # Died waiting on "b", read among others: a kill from outside as likely as its own
        # doing. Nothing is charged; "b" is read alone next time.
        ledger.note_queued("b", 0)
        ledger.note_queued("c", 1)
        ledger.note_attempt("b")
        ledger.note_attempt("c")
        assert ledger.charge_interrupted() == ("b", False)
        assert [ledger.history(r).attempts for r in "bc"] == [0, 0]
        assert ledger.history("b").suspect and not ledger.history("c").suspect
        # Died again, many times, each while "b" was among others: still nothing charged.
        for _ in range(3):
            ledger.note_queued("b", 0)
            ledger.note_attempt("b")
            assert ledger.charge_interrupted() == ("b", False)
        assert ledger.history("b").attempts == 0
        # Died while "b" was read alone: its own reading's doing.
        ledger.note_queued("b", 0, isolated=True)
        ledger.note_attempt("b")
        assert ledger.charge_interrupted() == ("b", True)
        assert ledger.history("b").attempts == 1
        assert ledger.charge_interrupted() is None  # charged once per dead run
        assert ledger.history("b").attempts == 1


def test_an_original_lost_after_its_message_was_recorded_is_stored_again(tmp_path: Path) -> None:
    # Originals of a backlog reach the disk at each batch's sync: a power cut before it can
    # leave a recorded message without its stored copy. The next run stores it again.
    path = write_config(tmp_path, mailbox={"source": "directory", "path": str(SAMPLES)})
    cfg = config.load(path).config
    kept = originals.folder(cfg)
    with job.open_ledger(cfg) as ledger:
        job.ingest(cfg, ledger, DirectorySource(SAMPLES))
        stored = sorted(kept.rglob("*.eml.gz"))
        assert len(stored) == len({m.sha256 for m in ledger.messages()}) > 20
        stored[0].unlink()
        assert job.ingest(cfg, ledger, DirectorySource(SAMPLES)).new == 0
    assert sorted(kept.rglob("*.eml.gz")) == stored


def test_a_run_summary_is_kept_as_it_was_and_read_back_typed(tmp_path: Path) -> None:
    from pipeline.ledger.records import LetterCounts, RunSummary

    made = RunSummary(
        new=3, counted=2, review=1, ignored=0, already_known=5, pdf="/out/circular.pdf", sent=4
    )
    asked = RunSummary(new=0, made=False)  # a period whose circular is made only on request
    polled = RunSummary(new=1, letters={"receipts": LetterCounts(sent=1, failed=1)})
    failed = RunSummary(error="收件目录不存在。")
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        for summary in (made, asked, polled, failed):
            ledger.finish_run(ledger.start_run("2015-09-20", "manual"), "ok", summary)
        assert [r.summary for r in ledger.runs()] == [made, asked, polled, failed]
        # The JSON keeps the shape rows had before the type: older ledgers read the same.
        stored = [json.loads(r[0]) for r in ledger.db.execute("SELECT summary FROM runs")]
    assert stored[1] == {"new": 0, "pdf": None}
    assert stored[2]["receipts"] == {"sent": 1, "failed": 1} and "pdf" not in stored[2]
    assert RunSummary.of_json({"pdf": None}).made is False
    assert RunSummary.of_json({"sent": 2}).made is True


def test_an_issued_snapshot_reads_back_as_it_was_stored() -> None:
    from pipeline.ledger.records import Snapshot, UnitSnapshot

    issued = Snapshot(
        target=1000,
        completed=250,
        rate=0.25,
        units=(UnitSnapshot("市中区", 600, 200, 1, True, "behind", 0),),
        others=(UnitSnapshot("其他", 0, 50),),
        summoned=("市中区",),
        excerpts=(("市中区", "开展集中宣传"),),
    )
    stored = json.loads(json.dumps(issued.to_json()))
    assert Snapshot.of_json(stored) == issued
    assert stored["others"] == [{"unit": "其他", "target": 0, "completed": 50}]
    assert set(stored["units"][0]) == {
        "unit",
        "target",
        "completed",
        "rank",
        "reported",
        "status",
        "summoned_streak",
    }
    # A version issued before 其他, the escalations and the metrics were kept still reads.
    old = Snapshot.of_json({"total": {"target": 10, "completed": 5, "rate": 0.5}, "units": []})
    assert (old.completed, old.others, old.escalated, old.metrics) == (5, (), (), ())
