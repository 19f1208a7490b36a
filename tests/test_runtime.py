"""One `serve` per ledger: the lock another process holds is seen and refused in Chinese,
and the lock file is the owner's alone whatever the umask."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import XunbaoError
from pipeline.runtime import ServeLock

HOLD = """
import fcntl, sys, time
with open(sys.argv[1], "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_serve_on_one_ledger_is_refused(tmp_path: Path) -> None:
    ledger = tmp_path / "data" / "xunbao.sqlite"
    lock = ServeLock(ledger)
    assert not lock.held_elsewhere()
    ledger.parent.mkdir()
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        assert lock.held_elsewhere()
        with pytest.raises(XunbaoError, match="另一个 xunbao serve 正在使用台账"):
            lock.acquire()
    finally:
        other.kill()
        other.wait()
    assert not lock.held_elsewhere()
    lock.acquire()
    try:
        assert ServeLock(ledger).held_elsewhere()  # as `status` sees a running serve
    finally:
        lock.release()
    assert not ServeLock(ledger).held_elsewhere()


def test_the_lock_file_is_the_owners_alone(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        lock = ServeLock(tmp_path / "xunbao.sqlite")
        lock.acquire()
        lock.release()
    finally:
        os.umask(old)
    assert lock.path.exists() and lock.path.stat().st_mode & 0o777 == 0o600
