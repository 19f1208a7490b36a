"""A kill -9 campaign: `xunbao run` killed at random moments, then run to the end; every
round must end with the register of a run never killed (same outcome and reason for every
message, nothing quarantined) — what a power cut or an OOM kill elsewhere must not change.

Run: .venv/bin/python bench/kill_campaign.py [ROUNDS] [KILLS]   (default 10 rounds, 4 kills)
The inbox is `inbox_samples/`; each round kills `xunbao run --no-send` KILLS times, half
at a random moment within a clean run's length, half as soon as a reader has begun a
message, then lets a last run finish, and compares with one clean run.
Prints the rounds that differ (with the messages that differ) and the kills that landed
while a reader held a message.
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
XUNBAO = Path(sys.executable).parent / "xunbao"


def workspace(folder: Path) -> Path:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("path: inbox_samples", f"path: {ROOT / 'inbox_samples'}")
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    return folder / "config.yaml"


def run(config: Path, kill_after: float | None, in_reader: bool = False) -> bool:
    """One `xunbao run`; killed after `kill_after` s if given, or (`in_reader`) as soon as
    a reader has begun a message. True if it was killed."""
    command = [str(XUNBAO), "run", "--config", str(config), "--period", "2015-09-20", "--no-send"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + (kill_after if kill_after is not None else 600)
    try:
        while process.poll() is None:
            if time.monotonic() >= deadline or (in_reader and in_hand(config)):
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.005)
        return False
    finally:
        time.sleep(0.3)  # the readers die with it (PDEATHSIG)


def register(config: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(config.parent / "data" / "xunbao.sqlite") as db:
        rows = db.execute("SELECT source_ref, outcome, reason FROM messages").fetchall()
    return sorted((str(a), str(b), str(c)) for a, b, c in rows)


def in_hand(config: Path) -> int:
    """Messages a reader has begun and that have no outcome yet."""
    path = config.parent / "data" / "xunbao.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.1) as db:
            row = db.execute("SELECT count(*) FROM attempts WHERE begun = 1").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


def main(rounds: int, kills: int) -> None:
    random.seed(24)
    with tempfile.TemporaryDirectory() as base:
        (Path(base) / "clean").mkdir()
        clean = workspace(Path(base) / "clean")
        started = time.monotonic()
        run(clean, None)
        length = time.monotonic() - started - 0.3  # kills land anywhere within a run
        expected = register(clean)
        differing, landed = 0, 0
        for number in range(rounds):
            folder = Path(base) / f"round{number}"
            folder.mkdir()
            config = workspace(folder)
            for kill in range(kills):
                # Half the kills at a random moment, half as soon as a reader has begun
                # a message (the reading is a short part of a run over the samples).
                if run(config, random.uniform(0.2, length), in_reader=kill % 2 == 1):
                    landed += in_hand(config) > 0
            run(config, None)
            got = register(config)
            if got != expected:
                differing += 1
                changed = sorted(set(got) ^ set(expected))
                print(f"round {number}: differs", changed[:4])
            shutil.rmtree(folder, ignore_errors=True)
        print(
            f"{rounds} rounds × {kills} kills: {differing} rounds differ from a run never "
            f"killed; {landed} kills left a message begun in a reader"
        )


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:3]]
    main(*(arguments + [10, 4][len(arguments) :]))
