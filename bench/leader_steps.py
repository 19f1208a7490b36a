"""What a clerk and a leader wait for on the demo ledger (issue 26, "fast where people wait"),
and how often one cycle does each piece of work (issue 27, item 2).

1. The sample inbox is run once (`xunbao run`, as the desk tests' sample), sign-off set to
   required; then, in-process and timed: the leader's first view of 通报 (composes and renders
   the draft), signing it in the desk, the page after; approve, reopen, reject; signing the
   correction; reissue with nothing changed.
2. One `job.cycle` with sending on, under cProfile: the number of calls to the functions
   that compute standings, held units, the state and the year's summary.

Run: .venv/bin/python bench/leader_steps.py
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import desk_support as sample  # noqa: E402

from pipeline import config as config_module  # noqa: E402
from pipeline import issuance  # noqa: E402
from pipeline.clerk import review  # noqa: E402
from pipeline.ledger import Ledger  # noqa: E402
from pipeline.service import job  # noqa: E402
from pipeline.standings.periods import Period  # noqa: E402

COUNTED = (
    "standings_for",
    "compute",
    "pending_units",
    "messages",
    "settle_period",
    "after_final",
    "state",
    "publish",
)


def timed(name: str, step: Callable[[], object]) -> None:
    start = time.perf_counter()
    step()
    print(f"{name:40} {(time.perf_counter() - start) * 1000:8.0f} ms")


def leader(root: Path, built: Path) -> None:
    config_path = sample.copy_sample(built, root / "leader")
    sample.require_sign_off(config_path, "王科长")
    client = sample.client(config_path)
    sample.login(client, "王科长")
    page = f"/circular?period={sample.PERIOD}"
    timed("desk: first view of 通报 (renders)", lambda: client.get(page))
    token = sample.csrf_of(client.get(page).text)
    sign = f"/circular/{sample.PERIOD}/sign"
    timed("desk: 签发 (one POST)", lambda: client.post(sign, data={"csrf": token}))
    timed("desk: 通报 after signing", lambda: client.get(page))
    config = config_module.load(config_path).config
    period, now, held = Period.parse(sample.PERIOD), datetime.now(UTC), sample.MABIAN
    with Ledger(config_path.parent / "data/xunbao.sqlite") as ledger:
        timed("approve", lambda: review.approve(config, ledger, held, "马边县", 1000, force=True))
        timed("reopen", lambda: review.reopen(ledger, held, "核实"))
        timed("reject", lambda: review.reject(ledger, held, "不是旬报"))
        review.reopen(ledger, held, "核实")
        review.approve(config, ledger, held, "马边县", 1000, force=True)
        timed(
            "sign the correction (renders)",
            lambda: issuance.sign(config, ledger, period, "王科长", now),
        )
        timed("reissue, nothing changed", lambda: issuance.reissue(config, ledger, period, now))


def cycle_work(root: Path, built: Path) -> None:
    config_path = sample.copy_sample(built, root / "cycle")
    config = config_module.load(config_path).config
    profile = cProfile.Profile()
    profile.enable()
    job.cycle(config, Period.parse(sample.PERIOD), send=True, asked=True)
    profile.disable()
    print("one cycle with sending on: calls")
    rows = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (path, line, name), (_, calls, _, cumulative, _) in sorted(rows.items()):
        if name in COUNTED and "/pipeline/" in path:
            where = path.split("/pipeline/")[1]
            print(f"  {calls:3} × {name:15} {where}:{line}  ({cumulative * 1000:.0f} ms)")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "sample").mkdir()
        built = sample.build_sample(root / "sample")
        leader(root, built)
        cycle_work(root, built)


if __name__ == "__main__":
    main()
