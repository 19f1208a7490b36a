"""kill -9 of `xunbao run` at random instants, then a clean run: the ledger equals the truth.

The truth is what the directory source makes of the same sample files in one clean run.
Kill points are spread over the ingestion: each run is killed once the ledger holds a
random number of further messages (0-2), plus a random fraction of a second, so the
kills land before a commit, between a commit and the move to 已处理, during the move,
and in the publishing stage. The seed is fixed: a failure can be replayed.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import XUNBAO, Account, needs_dovecot, run_cli, write_config
from servers import SAMPLES

from pipeline import config as config_module
from pipeline.mailbox.directory import DirectorySource
from pipeline.service import job

pytestmark = needs_dovecot

SEED = 20150920
KILLS = 20
PERIOD = "2015-09-20"


def committed(ledger: Path) -> int:
    """Messages the (running) job has committed; 0 before the ledger exists."""
    try:
        db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def register(ledger_path: Path) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """What became of each message, and the accepted reports, as multisets (the samples
    hold one message sent twice with the very same bytes: one counted, one ignored)."""
    db = sqlite3.connect(ledger_path)
    try:
        messages = db.execute(
            "SELECT sha256, message_id, outcome, unit, value, period FROM messages"
        ).fetchall()
        reports = db.execute("SELECT unit, period, value FROM reports").fetchall()
    finally:
        db.close()
    return Counter(tuple(r) for r in messages), Counter(tuple(r) for r in reports)


def truth(folder: Path) -> Path:
    """One clean in-process run of the directory source over the same samples."""
    path = write_config(folder, mailbox={"source": "directory", "path": str(SAMPLES)})
    config = config_module.load(path).config
    ledger = job.open_ledger(config)
    try:
        job.ingest(config, ledger, DirectorySource(SAMPLES))
    finally:
        ledger.close()
    return config.resolve(config.storage.path)


def start(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [str(XUNBAO)] if XUNBAO.exists() else [sys.executable, "-m", "pipeline"]
    return subprocess.Popen(
        [*command, "run", "--config", str(config), "--period", PERIOD, "--no-send"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def kill_somewhere(
    config: Path, ledger: Path, env: dict[str, str], rng: random.Random, total: int
) -> int | None:
    """One run, killed with SIGKILL at a random point; the count at the kill, or None if
    the run finished first. Once every message is in, kills land in the later stages."""
    done = committed(ledger)
    target = min(done + rng.choice([0, 1, 1, 2, 2, 3]), total)
    extra = rng.uniform(0, 0.012) if done < total else rng.uniform(0, 3.0)
    process = start(config, env)
    try:
        while process.poll() is None and committed(ledger) < target:
            time.sleep(0.003)
        time.sleep(extra)
        if process.poll() is not None:
            return None
        at = committed(ledger)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        if process.returncode == 0:
            return None  # it finished between the look above and the signal
        assert process.returncode == -signal.SIGKILL
        return at
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_kill_9_at_random_points_then_the_ledger_equals_the_truth(
    tmp_path: Path, account: Account, sample_mail: list[bytes]
) -> None:
    expected, expected_reports = register(truth(tmp_path / "truth"))
    account.append(sample_mail)
    folder = tmp_path / "imap"
    mailbox = account.mailbox_config(processed_folder="已处理", batch_size=4)
    config = write_config(folder, mailbox=mailbox)
    ledger = folder / "ledger.sqlite"

    rng = random.Random(SEED)
    kills: list[int] = []
    for _ in range(3 * KILLS):
        at = kill_somewhere(config, ledger, account.env(), rng, len(sample_mail))
        if at is not None:
            kills.append(at)
        if len(kills) == KILLS:
            break
    assert len(kills) == KILLS
    assert len(set(kills)) >= 8, f"kills were not spread over the ingestion: {kills}"
    print("messages committed at each kill:", kills)

    final = run_cli(config, account.env(), "--period", PERIOD, "--no-send")
    assert final.returncode == 0, final.stderr
    assert account.password not in final.stdout + final.stderr

    recorded, reports = register(ledger)
    assert recorded == expected
    assert reports == expected_reports
    assert account.contents("INBOX") == {}
    moved = sorted(m[b"BODY[]"] for m in account.contents("已处理").values())
    assert moved == sorted(sample_mail), "a message was lost or moved twice"
