"""Every message's raw bytes, kept content-addressed so any register entry can be opened
and downloaded as the .eml it was.

A message is stored gzip-compressed under its SHA-256 (the `sha256` column of the ledger):
`<dir>/ab/abcdef….eml.gz`. Writing is idempotent and atomic (temporary file, then rename),
so a crash never leaves half an original and storing the same bytes twice costs nothing.
Nothing is deleted unless `storage.keep_originals_days` is set. After `storage.id_days`
an original is kept only with its ID numbers masked (`<digest>.masked.eml.gz`, masking.py):
it no longer matches its digest, so it is never taken for the original bytes.
"""

from __future__ import annotations

import ctypes
import gzip
import hashlib
import os
import re
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from pipeline.config import Config

_DIGEST = re.compile(r"[0-9a-f]{64}")
_libc = ctypes.CDLL(None, use_errno=True)  # syncfs: Linux, as the reader sandbox is


def folder(config: Config) -> Path:
    """Where originals live: `storage.originals`, or `originals/` beside the ledger."""
    chosen = config.storage.originals
    if chosen is not None:
        return config.resolve(chosen)
    return config.resolve(config.storage.path).parent / "originals"


def path_of(root: Path, sha256: str) -> Path:
    if not _DIGEST.fullmatch(sha256):
        # Only ever a digest from the ledger: anything else could walk out of the folder.
        raise ValueError(f"not a SHA-256 digest: {sha256!r}")
    return root / sha256[:2] / f"{sha256}.eml.gz"


def store(root: Path, raw: bytes, digest: str | None = None) -> str:
    """Keep `raw`; return its SHA-256. Already kept: nothing is written. On disk for sure
    only after the next `sync` (a backlog pays one sync per batch, not per message)."""
    digest = digest or hashlib.sha256(raw).hexdigest()
    target = path_of(root, digest)
    if target.exists() or _masked(target).exists():  # masked: the ID numbers stay out
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(gzip.compress(raw, compresslevel=6, mtime=0))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest


class Keeper:
    """Stores originals on a thread of their own while the readers and intake work.

    Creating a file costs more than judging a report (≈0.6 ms on ext4), and a backlog's
    rate is set by xunbao's own thread, so the write overlaps the reading. The ledger may
    name a message only after `stored(digest)`; `flush` waits for every store first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="originals")
        self._pending: dict[str, Future[str]] = {}

    def keep(self, raw: bytes, digest: str) -> None:
        if digest not in self._pending:
            self._pending[digest] = self._thread.submit(store, self.root, raw, digest)

    def stored(self, digest: str) -> None:
        """Wait until this original is written (an error writing it is raised here)."""
        if (future := self._pending.pop(digest, None)) is not None:
            future.result()

    def flush(self) -> None:
        for digest in list(self._pending):
            self.stored(digest)
        sync(self.root)

    def __enter__(self) -> Keeper:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._thread.shutdown(wait=True)  # what was handed over is written, also on error


def sync(root: Path) -> None:
    """Everything stored so far is on disk: one sync of the file system holding `root`."""
    root.mkdir(parents=True, exist_ok=True)
    folder = os.open(root, os.O_RDONLY)
    try:
        if _libc.syncfs(folder) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed", str(root))
    finally:
        os.close(folder)


def _masked(path: Path) -> Path:
    return path.with_name(path.name.replace(".eml.gz", ".masked.eml.gz"))


def load(root: Path, sha256: str) -> bytes | None:
    """The original bytes (after `storage.id_days`: with the ID numbers masked), or None when
    they were never kept (or retention removed them)."""
    path = path_of(root, sha256)
    try:
        data = gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        try:
            return gzip.decompress(_masked(path).read_bytes())
        except FileNotFoundError:
            return None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"原始邮件 {sha256} 已损坏（内容与摘要不符）")
    return data


def prune(root: Path, keep_days: int | None, now: float | None = None) -> int:
    """Remove originals older than `keep_days` (None: keep forever); returns how many."""
    if keep_days is None or not root.exists():
        return 0
    limit = (now if now is not None else time.time()) - keep_days * 86400
    removed = 0
    for path in root.glob("??/*.eml.gz"):
        if path.stat().st_mtime < limit:
            path.unlink()
            removed += 1
    return removed


def mask_ids(root: Path, id_days: int, now: float | None = None) -> int:
    """Store again, ID numbers masked, every original older than `id_days`; how many."""
    from pipeline.ledger.masking import mask_message

    if not root.exists():
        return 0
    limit = (now if now is not None else time.time()) - id_days * 86400
    masked = 0
    for path in root.glob("??/*.eml.gz"):
        if path.name.endswith(".masked.eml.gz") or path.stat().st_mtime >= limit:
            continue
        raw = gzip.decompress(path.read_bytes())
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(gzip.compress(mask_message(raw), compresslevel=6, mtime=0))
        os.replace(temporary, _masked(path))
        path.unlink()
        masked += 1
    return masked
