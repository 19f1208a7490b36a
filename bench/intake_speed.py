"""How many report e-mails one core parses and extracts per second (issue 4 target: ≥ 200/s).

Each sample report (an .xlsx and a .docx one from inbox_samples) is fed N times with a new
Message-ID through the real intake and ledger, as a backlog would be.
Run: .venv/bin/python bench/intake_speed.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from pipeline import config
from pipeline.intake import Intake
from pipeline.ledger import Ledger
from pipeline.sources import RawMessage

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {"xlsx": "0918-0930-shizhongqu.eml", "docx": "0918-1012-wutongqiao.eml"}


def run(kind: str, count: int) -> float:
    raw = (ROOT / "inbox_samples" / SAMPLES[kind]).read_bytes()
    head, _, rest = raw.partition(b"Message-ID:")
    _, _, tail = rest.partition(b"\n")
    cfg = config.load(ROOT / "config.yaml").config
    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(Path(folder) / "bench.sqlite")
        intake = Intake(cfg, ledger)
        start = time.perf_counter()
        for i in range(count):
            body = head + f"Message-ID: <bench-{i}@x>\r".encode() + b"\n" + tail
            assessment = intake.assess(RawMessage(f"bench:{i}", body))
            assert assessment.entry.outcome == "counted", assessment.entry.reason
            ledger.record(assessment.entry, assessment.report)
        elapsed = time.perf_counter() - start
        ledger.close()
    return count / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for kind in SAMPLES:
        rate = run(kind, count)
        print(f"{kind}: {count} report e-mails, {rate:.0f} per second (parse + extract + ledger)")


if __name__ == "__main__":
    main()
