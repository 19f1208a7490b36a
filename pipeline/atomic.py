"""Outputs written whole or not at all: a temporary file beside the target, then a rename.

A kill while the circular or the standings are written leaves the previous file (or none),
never a truncated one that a clerk would open or mail on. Every output is 0640 whatever
the umask (its group may read it, nobody else): the mode is set before the rename.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

MODE = 0o640


@contextmanager
def written(path: Path) -> Iterator[Path]:
    """Write to the path yielded; it replaces `path` once the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # a previous process of this pid's, or a planted link
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, MODE))
    try:
        yield temporary
        with temporary.open("rb+") as done:
            os.fchmod(done.fileno(), MODE)
            os.fsync(done.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def private(path: Path) -> None:
    """`path` (the ledger) exists and only its owner may read it, whatever the umask: made
    0600 if missing, tightened (with SQLite's -wal and -shm) if a group or others may read it."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            if file.stat().st_mode & 0o077 and not file.is_symlink():
                file.chmod(0o600)
        except FileNotFoundError:
            continue
