"""Start-up time of the light commands, against a bare interpreter in the same run.

Run: `.venv/bin/python bench/startup.py [RUNS]` (default 9). It prepares a ledger from
`inbox_samples/` with one `xunbao run --no-send` (untimed), then times whole processes,
interleaved round by round so machine load hits every case alike: `python -c pass`,
`xunbao --help`, `status`, `review` and `messages` (output to a pipe, 80 columns).
Prints the median and minimum of each, the median minus the bare interpreter's, and
whether each command meets the target: ≤ 0.5 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET = 0.5


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        text = (ROOT / "config.yaml").read_text(encoding="utf-8")
        config.write_text(
            text.replace("path: inbox_samples", f"path: {ROOT / 'inbox_samples'}"),
            encoding="utf-8",
        )
        xunbao = str(BIN / "xunbao")
        prepare = [xunbao, "run", "--period", "2015-09-20", "--no-send", "--config", str(config)]
        subprocess.run(prepare, check=True, capture_output=True)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "xunbao --help": [xunbao, "--help"],
            "xunbao status": [xunbao, "status", "--config", str(config)],
            "xunbao review": [xunbao, "review", "--config", str(config)],
            "xunbao messages": [xunbao, "messages", "--config", str(config)],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        env = {**os.environ, "COLUMNS": "80"}
        for _ in range(runs):
            for name, command in cases.items():
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, env=env, cwd=folder)
                times[name].append(time.perf_counter() - start)
    bare = statistics.median(times["python -c pass"])
    load = os.getloadavg()[0]
    print(f"{runs} runs each, interleaved; load average {load:.1f}; target ≤ {TARGET} s")
    print(f"{'command':<18} {'median':>8} {'min':>8} {'− bare':>8}  target")
    for name, values in times.items():
        median = statistics.median(values)
        verdict = "" if name.startswith("python") else ("met" if median <= TARGET else "MISSED")
        print(f"{name:<18} {median:8.3f} {min(values):8.3f} {median - bare:8.3f}  {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
