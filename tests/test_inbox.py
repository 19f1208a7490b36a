"""The sample mailbox end to end through intake: each message's outcome, unit, figure and
period against the truth written down when the samples were composed."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline import config
from pipeline.intake.judge import Intake
from pipeline.ledger import Entry, Ledger
from pipeline.mailbox.directory import DirectorySource

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    e["file"]: e for e in json.loads((ROOT / "tests/fixtures/inbox_expected.json").read_text())
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Entry]:
    cfg = config.load(ROOT / "config.yaml").config
    ledger = Ledger(tmp_path_factory.mktemp("ledger") / "x.sqlite")
    intake = Intake(cfg, ledger)
    result = {}
    for raw in DirectorySource(ROOT / "inbox_samples").poll():
        assessment = intake.assess(raw)
        ledger.record(assessment.entry, assessment.report)
        result[raw.ref.removeprefix("dir:")] = assessment.entry
    ledger.close()
    return result


def test_every_sample_has_a_known_truth(outcomes: dict[str, Entry]) -> None:
    assert set(outcomes) == set(EXPECTED)


def _byte_twins() -> list[set[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for name in EXPECTED:
        groups[hashlib.sha256((ROOT / "inbox_samples" / name).read_bytes()).hexdigest()].add(name)
    return [g for g in groups.values() if len(g) > 1]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outcome(outcomes: dict[str, Entry], name: str) -> None:
    expected, got = EXPECTED[name], outcomes[name]
    twins = next((g for g in _byte_twins() if name in g), None)
    if twins:
        # Byte-identical copies: whichever is read first counts, the other is the duplicate.
        assert sorted(outcomes[n].outcome for n in twins) == ["counted", "ignored"]
        return
    assert got.outcome == expected["outcome"], got.reason
    assert got.period == expected["period"]
    assert got.reason, "every outcome carries a reason"
    if expected["outcome"] == "counted":
        assert (got.unit, got.value) == (expected["unit"], expected["value"])
    else:
        assert got.unit is None or got.outcome != "counted"


def test_nothing_is_counted_from_a_quote_or_an_untrusted_sender(outcomes: dict[str, Entry]) -> None:
    counted = [e for e in outcomes.values() if e.outcome == "counted"]
    truth = [e for e in EXPECTED.values() if e["outcome"] == "counted"]
    assert len(counted) == len(truth)
    assert all(e.sender and "qq.com" not in e.sender for e in counted)


def test_accuracy_on_genuine_reports(outcomes: dict[str, Entry]) -> None:
    twin_of = {n: g for g in _byte_twins() for n in g}
    genuine = [n for n, e in EXPECTED.items() if e["outcome"] == "counted"]
    right = [
        n for n in genuine if any(outcomes[t].outcome == "counted" for t in twin_of.get(n, {n}))
    ]
    truth = {n: (e["unit"], e["value"]) for n, e in EXPECTED.items()}
    for group in twin_of.values():
        counted_truth = next(truth[n] for n in group if EXPECTED[n]["outcome"] == "counted")
        truth.update(dict.fromkeys(group, counted_truth))
    wrong = [
        n for n, e in outcomes.items() if e.outcome == "counted" and (e.unit, e.value) != truth[n]
    ]
    assert wrong == []
    assert len(right) / len(genuine) >= 0.95


# ── mail about mail is not a report ────────────────────────────
def _note(subject: str, body: str, sender: str = "wtqzgh@126.com") -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"] = sender, "lsszghzxb@126.com"
    message["Subject"], message["Date"] = subject, "Sat, 12 Sep 2015 10:00:00 +0800"
    message["Message-ID"] = f"<{hashlib.sha256(body.encode()).hexdigest()[:12]}@units.example>"
    message.set_content(body)
    return bytes(message)


@pytest.mark.parametrize(
    ("subject", "body", "outcome"),
    [
        ("Re: 回执：五通桥区旬报表", "收到，谢谢！", "ignored"),
        ("回复：旬报", "好的", "ignored"),
        ("Re: 催报：请于 2015年9月20日 18:00 前报送", "我单位正在统计，明天发送。", "ignored"),
        # Anything that may carry a figure, or a real question, stays for a person.
        ("旬报", "本旬新增 500 名，谢谢", "review"),
        ("旬报", "本旬新增五百名，谢谢", "review"),
        ("请问", "请问旬报表在哪里下载？收到请回复。", "review"),
        ("Re: 回执：五通桥区旬报表", "请问为什么没有计入？", "review"),
    ],
)
def test_thanks_and_replies_to_our_letters_are_ignored(
    tmp_path: Path, subject: str, body: str, outcome: str
) -> None:
    from pipeline.mailbox import RawMessage

    cfg = config.load(ROOT / "config.yaml").config
    ledger = Ledger(tmp_path / "x.sqlite")
    try:
        entry = Intake(cfg, ledger).assess(RawMessage("dir:n.eml", _note(subject, body))).entry
    finally:
        ledger.close()
    assert entry.outcome == outcome, entry.reason
