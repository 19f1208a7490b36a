"""A short kill -9 campaign over a real Dovecot (bench/kill_campaign.py runs the long one):
`xunbao run` killed at random moments and while a reader holds a message ends, once run
to the end, with the register and standings of a run never killed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import needs_dovecot
from servers import Dovecot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import kill_campaign  # bench/ is not a package: found through the line above


@needs_dovecot
@pytest.mark.slow
def test_kills_over_dovecot_change_nothing(
    dovecot: Dovecot, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    inbox = kill_campaign.DovecotInbox(dovecot, certificate[0])
    result = kill_campaign.campaign(tmp_path, inbox, rounds=2, kills=3, seed=7)
    assert result.differences == []
    assert result.equal == 2
    assert result.kills >= 4, result.summary()  # most kills landed on a running xunbao
    assert result.in_reader >= 1, result.summary()  # and one while a reader held a message
