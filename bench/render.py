"""How long a dekad run and the circular's PDF render take, and how big the PDF is.

Targets (issue 5): render ≤ 0.5 s, a 3-page circular ≤ 300 KB.
1. `xunbao run --period 2015-09-20 --no-send` on inbox_samples as a whole process (a fresh
   ledger each time, so every message is read), in a temporary folder;
2. the render alone (compose HTML + WeasyPrint PDF + font compaction) in one warm process.
Run: .venv/bin/python bench/render.py [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from pipeline import config
from pipeline.mailbox import open_source
from pipeline.outputs import circular
from pipeline.service import job
from pipeline.standings import table as standings
from pipeline.standings.periods import Period

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2015-09-20"
XUNBAO = Path(sys.executable).with_name("xunbao")


def temporary_config(folder: Path) -> Path:
    """config.yaml with its ledger in `folder` and the repository's inbox_samples."""
    yaml = YAML(typ="rt")
    tree = yaml.load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    tree["mailbox"]["path"] = str(ROOT / "inbox_samples")
    tree["storage"]["path"] = str(folder / "ledger.sqlite")
    path = folder / "config.yaml"
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    return path


def whole_run(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            command = [str(XUNBAO), "run", "--config", str(temporary_config(folder))]
            command += ["--period", PERIOD, "--no-send", "--out", str(folder / "out")]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def render_only(runs: int) -> tuple[list[float], list[float], bytes]:
    with tempfile.TemporaryDirectory() as name:
        cfg = config.load(temporary_config(Path(name))).config
        ledger = job.open_ledger(cfg)
        source = open_source(cfg, ledger)
        job.ingest(cfg, ledger, source)
        source.close()
        period = Period.parse(PERIOD)
        table = standings.compute(cfg, ledger.reports(PERIOD), period)
        ledger.close()
    composing, rendering, pdf = [], [], b""
    for _ in range(runs + 1):  # the first run loads fonts and is not counted
        start = time.perf_counter()
        composed = circular.compose(cfg, table)
        middle = time.perf_counter()
        pdf = composed.pdf()
        composing.append(middle - start)
        rendering.append(time.perf_counter() - middle)
    return composing[1:], rendering[1:], pdf


def pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as out:
        out.write(pdf)
        out.flush()
        info = subprocess.run(["pdfinfo", out.name], capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    whole = whole_run(runs)
    composing, rendering, pdf = render_only(runs)
    total = [a + b for a, b in zip(composing, rendering, strict=True)]
    print(
        f"xunbao run (whole process, fresh ledger): median {statistics.median(whole):.2f} s, "
        f"min {min(whole):.2f} s over {runs} runs"
    )
    print(f"compose HTML: median {statistics.median(composing) * 1000:.0f} ms")
    print(f"PDF render:   median {statistics.median(rendering):.3f} s, min {min(rendering):.3f} s")
    print(
        f"render total: median {statistics.median(total):.3f} s, min {min(total):.3f} s"
        " (target ≤ 0.5 s)"
    )
    print(f"PDF: {len(pdf) / 1024:.0f} KiB, {pages(pdf)} pages (target ≤ 300 KB)")


if __name__ == "__main__":
    main()
