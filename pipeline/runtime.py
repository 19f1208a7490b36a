"""Process plumbing: where time comes from, one server per ledger, and each process's own
temporary folder under xunbao's storage."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from filelock import FileLock, Timeout

from pipeline.errors import XunbaoError

if TYPE_CHECKING:
    from pipeline.config import Config

Say = Callable[[str], None]  # one line of Chinese for the person running xunbao


# ── time ───────────────────────────────────────────────────────
class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...

    def wait(self, until: datetime, interrupted: Callable[[], bool]) -> None:
        """Return at `until`, or earlier once `interrupted()` is true."""
        ...


class SystemClock:
    slice = 0.5  # seconds between checks of `interrupted` (signal handlers only set flags)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, until: datetime, interrupted: Callable[[], bool]) -> None:
        while not interrupted():
            left = (until - self.now()).total_seconds()
            if left <= 0:
                return
            time.sleep(min(left, self.slice))


# ── one server per ledger ──────────────────────────────────────
def _lock(path: Path) -> FileLock:
    """An flock on a file beside the ledger (filelock), 0600 whatever the umask: others
    could hold it. The file stays after release, so a process waiting on it never ends
    up holding a file that was removed and made again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path, mode=0o600, thread_local=False, preserve_lock_file=True)


class ServeLock:
    """One `serve` per ledger: two schedulers on one ledger would run periods twice."""

    def __init__(self, ledger_path: Path) -> None:
        self.path = ledger_path.with_name(ledger_path.name + ".serve.lock")
        self._lock: FileLock | None = None

    def acquire(self) -> None:
        lock = _lock(self.path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise XunbaoError(
                f"另一个 xunbao serve 正在使用台账 {self.path.parent}（锁文件 {self.path}）。"
                "同一个台账只能运行一个服务，请先停止另一个（systemctl stop xunbao）。"
            ) from None
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release(force=True)
            self._lock = None

    def held_elsewhere(self) -> bool:
        """True when some other process holds the lock (a running `serve`)."""
        if not self.path.exists():
            return False
        probe = _lock(self.path)
        try:
            probe.acquire(timeout=0)
        except Timeout:
            return True
        probe.release(force=True)
        return False


# ── one cycle at a time ────────────────────────────────────────
@contextmanager
def one_cycle_at_a_time(config: Config, say: Say) -> Iterator[None]:
    """Cycles on one ledger run one after another (a manual `run` while `serve` works, two
    cron jobs, a leader signing on the desk): two at once would fetch the same mail, send the
    same circular and wait on each other's ledger transactions. The flock is released when
    the process ends, however it ends."""
    ledger_path = config.resolve(config.storage.path)
    lock = _lock(ledger_path.with_name(ledger_path.name + ".cycle.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say("另一个 xunbao 正在处理同一个台账，等它结束后再继续……")
        lock.acquire()
    try:
        yield
    finally:
        lock.release(force=True)


# ── temporary files ────────────────────────────────────────────
def own_scratch(storage: Path) -> Path:
    """This process's temporary folder, `<storage>/tmp/<pid>`. Folders of processes that
    are gone (killed before they could clean up) are removed first; those of running ones
    (a `serve` beside the desk) are left alone."""
    root = storage / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    for folder in root.iterdir():
        if not (folder.name.isdigit() and _alive(int(folder.name))):
            shutil.rmtree(folder, ignore_errors=True)
    own = root / str(os.getpid())
    own.mkdir(exist_ok=True)
    return own


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
