"""The form zoo: how many forms are read unaided, per layout and per format.

Reads every form of tests/fixtures/zoo (build it with tests/fixtures/build_zoo.py) the
way intake does and prints, per layout and per format, the share read right without a
clerk (blank and doubtful figures, which must be held, excluded), the held ones and the
wrong ones (which must be none). Run: .venv/bin/python bench/zoo.py [-v]
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from zoo import Verdict, judge_all  # noqa: E402

from pipeline import config  # noqa: E402


def table(title: str, verdicts: list[Verdict], key: str) -> None:
    groups: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        groups[getattr(v, key)].append(v)
    print(f"\n| {title} | forms | unaided | read right | held | wrong |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, group in [*sorted(groups.items()), ("all", verdicts)]:
        meant = [v for v in group if not v.aided]
        right = sum(v.outcome == "right" for v in meant)
        held = sum(v.outcome == "held" for v in group)
        wrong = sum(v.outcome == "wrong" for v in group)
        share = f"{100 * right / len(meant):.1f} %" if meant else "—"
        print(f"| {name} | {len(group)} | {share} | {right}/{len(meant)} | {held} | {wrong} |")


def main() -> None:
    loaded = config.load(ROOT / "config.yaml").config
    start = time.perf_counter()
    verdicts = list(judge_all(loaded))
    took = time.perf_counter() - start
    print(f"{len(verdicts)} zoo forms read in {took:.1f} s")
    table("layout", verdicts, "layout")
    table("format", verdicts, "fmt")
    if "-v" in sys.argv:
        for v in verdicts:
            if v.outcome == "wrong" or (v.outcome == "held" and not v.aided):
                print(f"{v.outcome:5} {v.name}: {v.detail}")


if __name__ == "__main__":
    main()
