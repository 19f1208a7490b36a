"""How general the reader is, on forms written by someone who never read it.

    .venv/bin/python bench/zoo_independent.py [--campaign 2015|2019] [--misses]

Prints unaided / wrong per campaign, layout and format (tests/independent_zoo.py says
what each means); --misses lists every form not read right, with why.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.independent_zoo import Verdict, run


def table(title: str, verdicts: list[Verdict], key: str) -> None:
    groups: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        groups[getattr(v, key)].append(v)
    print(f"\n{title:<16} {'forms':>5} {'to read':>7} {'unaided':>8} {'held':>5} {'wrong':>5}")
    for name in sorted(groups):
        group = groups[name]
        readable = [v for v in group if v.expected == "read"]
        unaided = sum(v.unaided for v in group)
        share = f"{unaided / len(readable):.1%}" if readable else "—"
        held = sum(v.outcome == "held" for v in group)
        wrong = sum(v.outcome == "wrong" for v in group)
        print(f"{name:<16} {len(group):>5} {len(readable):>7} {share:>8} {held:>5} {wrong:>5}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaign")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        verdicts = list(run(Path(tmp), args.campaign))
    print(f"{len(verdicts)} forms in {time.monotonic() - began:.0f} s")
    table("campaign", verdicts, "campaign")
    table("format", verdicts, "format")
    table("layout", verdicts, "layout")
    if args.misses:
        for v in verdicts:
            if not (v.unaided or (v.expected == "held" and v.outcome == "held")):
                print(f"{v.outcome:5} {v.file} [{v.campaign} {v.layout}] {v.detail[:160]}")


if __name__ == "__main__":
    main()
