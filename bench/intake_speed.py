"""How many report e-mails the intake reads, extracts and records per second, and how many
cores it keeps busy (issue 4 target: ≥ 200/s; issue 9: the reader pool uses every core).

Each sample report (an .xlsx and a .docx one from inbox_samples) is copied N times with a
new Message-ID into a folder, then the real directory source → reader pool → intake →
ledger path reads the folder as one backlog, once per pool size given (default: 1 worker,
then one per core). "cores busy" is the CPU time of xunbao and its reader processes
divided by the wall time.

Run: .venv/bin/python bench/intake_speed.py [N] [WORKERS ...]   (default 10000, 1 and 0)
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from pipeline import config
from pipeline.config import Limits
from pipeline.ledger import Ledger
from pipeline.mailbox.directory import DirectorySource
from pipeline.service import job

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {"xlsx": "0918-0930-shizhongqu.eml", "docx": "0918-1012-wutongqiao.eml"}


def backlog(kind: str, count: int, folder: Path) -> None:
    raw = (ROOT / "inbox_samples" / SAMPLES[kind]).read_bytes()
    head, _, rest = raw.partition(b"Message-ID:")
    _, _, tail = rest.partition(b"\n")
    for i in range(count):
        message = head + f"Message-ID: <bench-{i}@x>\r".encode() + b"\n" + tail
        (folder / f"{i:06d}.eml").write_bytes(message)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped reader processes
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(kind: str, count: int, workers: int) -> tuple[float, float]:
    """(mails per second, cores busy) for one backlog."""
    loaded = config.load(ROOT / "config.yaml").config
    with tempfile.TemporaryDirectory() as folder:
        cfg = loaded.model_copy(
            update={
                "limits": Limits(workers=workers),
                "storage": loaded.storage.model_copy(update={"path": Path(folder) / "b.sqlite"}),
            }
        )
        inbox = Path(folder) / "inbox"
        inbox.mkdir()
        backlog(kind, count, inbox)
        with Ledger(Path(folder) / "b.sqlite") as ledger:
            cpu, start = _cpu(), time.perf_counter()
            result = job.ingest(cfg, ledger, DirectorySource(inbox))
            elapsed, used = time.perf_counter() - start, _cpu() - cpu
    assert result.outcomes["counted"] == count, result
    return count / elapsed, used / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    pools = [int(w) for w in sys.argv[2:]] or [1, 0]
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f} at the start")
    for kind in SAMPLES:
        for workers in pools:
            rate, busy = run(kind, count, workers)
            shown = workers or os.cpu_count()
            print(
                f"{kind}: {count} report e-mails, {shown} reader(s): {rate:.0f} per second, "
                f"{busy:.2f} cores busy"
            )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
