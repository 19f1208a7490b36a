"""What one quiet poll of `serve` costs (nothing new): the price of `mailbox.poll_minutes`.

A directory mailbox holding the sample reports is ingested once; then `job.poll` (cycle
lock, ledger, directory scan, the after-poll steps with receipts and reminders on but
nothing owed) runs N times and the median and 95th percentile are printed, with what
polling every 30 minutes costs a day. Run: .venv/bin/python bench/quiet_poll.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import config as config_module  # noqa: E402
from pipeline.service import job  # noqa: E402


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        yaml = YAML(typ="safe")
        tree = yaml.load((ROOT / "config.yaml").read_text(encoding="utf-8"))
        tree["mailbox"] = {"source": "directory", "path": str(ROOT / "inbox_samples")}
        tree["storage"] = {"path": f"{folder}/ledger.sqlite"}
        # Receipts and reminders on, with nowhere to send: the steps run and find nothing due.
        tree["delivery"] |= {"host": "127.0.0.1", "port": 9, "receipts": True}
        tree["reminders"] = {"enabled": True, "days_before": 0, "time": "09:00"}
        path = Path(folder) / "config.yaml"
        with path.open("w", encoding="utf-8") as out:
            yaml.dump(tree, out)
        config = config_module.load(path).config
        first = job.poll(config, echo=lambda _: None, now=datetime(2015, 9, 12, tzinfo=UTC))
        times = []
        for _ in range(count):
            started = time.perf_counter()
            job.poll(config, echo=lambda _: None, now=datetime(2015, 9, 12, tzinfo=UTC))
            times.append(time.perf_counter() - started)
        times.sort()
        median, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
        print(f"samples ingested once: {first.ingested.new} messages")
        print(f"quiet poll, {count} runs: median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
        print(f"every 30 minutes: {48 * median:.2f} s of work a day")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
