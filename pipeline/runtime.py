"""Process plumbing: where time comes from, one server per ledger, and each process's own
temporary folder under xunbao's storage."""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import XunbaoError

if TYPE_CHECKING:
    from .config import Config


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
def _lock_file(path: Path) -> Any:
    """A lock file beside the ledger, 0600 whatever the umask (others could hold it)."""
    return open(path, "a", opener=lambda name, flags: os.open(name, flags, 0o600))


class ServeLock:
    """An flock beside the ledger: two schedulers on one ledger would run periods twice."""

    def __init__(self, ledger_path: Path) -> None:
        self.path = ledger_path.with_name(ledger_path.name + ".serve.lock")
        self._file: Any = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = _lock_file(self.path)
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise XunbaoError(
                f"另一个 xunbao serve 正在使用台账 {self.path.parent}（锁文件 {self.path}）。"
                "同一个台账只能运行一个服务，请先停止另一个（systemctl stop xunbao）。"
            ) from None
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def held_elsewhere(self) -> bool:
        """True when some other process holds the lock (a running `serve`)."""
        if not self.path.exists():
            return False
        with _lock_file(self.path) as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
        return False


# ── one cycle at a time ────────────────────────────────────────
@contextmanager
def one_cycle_at_a_time(config: Config, say: Callable[[str], None]) -> Iterator[None]:
    """Cycles on one ledger run one after another (a manual `run` while `serve` works, two
    cron jobs, a leader signing on the desk): two at once would fetch the same mail, send the
    same circular and wait on each other's ledger transactions. The flock is released when
    the process ends, however it ends."""
    ledger_path = config.resolve(config.storage.path)
    path = ledger_path.with_name(ledger_path.name + ".cycle.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock_file(path) as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("另一个 xunbao 正在处理同一个台账，等它结束后再继续……")
            fcntl.flock(file, fcntl.LOCK_EX)
        yield


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
