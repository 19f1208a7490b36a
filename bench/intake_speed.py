"""How many report e-mails one core parses, extracts and records per second
(issue 4 target: ≥ 200/s, i.e. a province-year of 10,000 mails in under a minute).

Each sample report (an .xlsx and a .docx one from inbox_samples) is copied N times with a
new Message-ID into a folder, then the real directory source → intake → ledger path reads
the folder as one backlog. Run: taskset -c 0 .venv/bin/python bench/intake_speed.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from pipeline import config, job
from pipeline.ledger import Ledger
from pipeline.sources.directory import DirectorySource

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {"xlsx": "0918-0930-shizhongqu.eml", "docx": "0918-1012-wutongqiao.eml"}


def backlog(kind: str, count: int, folder: Path) -> None:
    raw = (ROOT / "inbox_samples" / SAMPLES[kind]).read_bytes()
    head, _, rest = raw.partition(b"Message-ID:")
    _, _, tail = rest.partition(b"\n")
    for i in range(count):
        message = head + f"Message-ID: <bench-{i}@x>\r".encode() + b"\n" + tail
        (folder / f"{i:06d}.eml").write_bytes(message)


def run(kind: str, count: int) -> float:
    cfg = config.load(ROOT / "config.yaml").config
    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder) / "inbox"
        inbox.mkdir()
        backlog(kind, count, inbox)
        with Ledger(Path(folder) / "bench.sqlite") as ledger:
            start = time.perf_counter()
            result = job.ingest(cfg, ledger, DirectorySource(inbox))
            elapsed = time.perf_counter() - start
    assert result.outcomes["counted"] == count, result
    return count / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for kind in SAMPLES:
        rate = run(kind, count)
        print(
            f"{kind}: {count} report e-mails, {rate:.0f} per second (read, parse, extract, record)"
        )


if __name__ == "__main__":
    main()
