"""Issue 25: the seed's rules exactly (乐工发〔2015〕33号), each on the real 2015 config."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config, standings
from pipeline.periods import Period

ROOT = Path(__file__).resolve().parent.parent
CONFIG = config.load(ROOT / "config.yaml").config


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    return caught.value.problems


# ── 1. 时间进度 over the target's year ─────────────────────────


def test_time_progress_counts_from_the_targets_year_not_from_september():
    # 2015-01-01 00:00 → 09-10 18:00 is 252.75 of the year's 365 days.
    at = standings.expected_progress(CONFIG, Period.parse("2015-09-10"))
    assert at == pytest.approx(252.75 / 365)
    # Without progress_from the old reading: from 09-01, 9.75 of 122 days (the 8.0 %).
    campaign = CONFIG.campaign.model_copy(update={"progress_from": None})
    september = CONFIG.model_copy(update={"campaign": campaign})
    assert standings.expected_progress(september, Period.parse("2015-09-10")) == pytest.approx(
        9.75 / 122
    )
    assert standings.expected_progress(CONFIG, Period.parse("2015-12-30")) == pytest.approx(
        363.75 / 365
    )


def test_progress_from_after_the_start_is_refused(tmp_path: Path):
    path = edited(tmp_path, "progress_from: 2015-01-01", "progress_from: 2015-10-01")
    [problem] = problems(path)
    assert "campaign.progress_from" in problem and "不晚于" in problem
