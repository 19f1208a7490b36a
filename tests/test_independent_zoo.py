"""The reader on 308 forms written by someone who never read it (tests/independent_zoo.py):
at least 98 % of the genuine reports of each campaign read unaided, none counted wrongly,
and every form a clerk must look at held. The fixtures are never edited to pass."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from independent_zoo import Verdict, manifest, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> list[Verdict]:
    return list(run(Path(tmp_path_factory.mktemp("zoo"))))


def test_every_form_has_a_verdict(verdicts: list[Verdict]) -> None:
    assert sorted(v.file for v in verdicts) == sorted(str(e["file"]) for e in manifest())


def test_nothing_is_counted_wrongly(verdicts: list[Verdict]) -> None:
    wrong = [f"{v.file}: {v.detail}" for v in verdicts if v.outcome == "wrong"]
    assert wrong == []


@pytest.mark.parametrize("campaign", ["2015", "2019"])
def test_genuine_reports_are_read_unaided(verdicts: list[Verdict], campaign: str) -> None:
    mine = [v for v in verdicts if v.campaign == campaign and v.expected == "read"]
    missed = [f"{v.file} [{v.format} {v.layout}]: {v.detail[:80]}" for v in mine if not v.unaided]
    assert len(mine) > 100
    assert 1 - len(missed) / len(mine) >= 0.98, "\n".join(missed)


def test_at_least_a_third_are_multi_metric_tables_in_every_format(verdicts: list[Verdict]) -> None:
    formats: dict[str, set[str]] = defaultdict(set)
    for v in verdicts:
        formats[v.campaign].add(v.format)
    assert sum(v.campaign == "2019" for v in verdicts) >= len(verdicts) / 3
    assert {"xlsx", "xls", "docx", "doc", "wps", "pdf", "jpg", "txt", "html"} <= formats["2019"]
