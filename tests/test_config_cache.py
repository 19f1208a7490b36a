"""No config cache: every command validates config.yaml afresh (start-up stays ≤ 0.5 s
without one, bench/startup.py), so nothing kept between commands can run code or be
turned against a file. What an old version or an attacker left where a cache was is
neither read nor written."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
from pathlib import Path

from conftest import XUNBAO, write_config

from pipeline import config

ROOT = Path(__file__).resolve().parent.parent


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def test_a_planted_pickle_or_symlink_runs_and_overwrites_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = write_config(tmp_path / "run", mailbox={"source": "directory", "path": str(inbox)})
    marker, victim = tmp_path / "ran", tmp_path / "victim.txt"
    victim.write_text("mine")
    cache = tmp_path / "cache"
    (cache / "xunbao").mkdir(parents=True, mode=0o700)
    name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    entry = cache / "xunbao" / f"config-{name}.pickle"  # where the old cache kept it
    entry.write_bytes(pickle.dumps(("any key", _Payload(marker))))
    entry.chmod(0o600)
    for n in range(8):  # temporary names an atomic write might pick
        (cache / "xunbao" / f".config-{name}.pickle.tmp{n}").symlink_to(victim)
    shared = tmp_path / "shared"  # XDG_CACHE_HOME in a shared place: the folder a symlink
    shared.mkdir()
    (shared / "xunbao").symlink_to(victim.parent)
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for home in (cache, shared):
        env = {**os.environ, "XDG_CACHE_HOME": str(home)}
        for command in ("status", "messages"):
            done = subprocess.run(
                [str(XUNBAO), command, "--config", str(path)],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            assert done.returncode in (0, 1), done.stderr
    assert not marker.exists()
    assert victim.read_text() == "mine"
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in (cache / "xunbao").iterdir()) == sorted(
        [entry.name] + [f".config-{name}.pickle.tmp{n}" for n in range(8)]
    )


def test_a_changed_copy_has_its_own_digest() -> None:
    kept = config.load(ROOT / "config.yaml").config
    digest = kept.digest  # computed, and so held, before the copies are made
    changed = kept.model_copy(update={"campaign": kept.campaign.model_copy(update={"target": 1})})
    fresh = config.Config.model_validate(changed.model_dump())
    assert changed.digest == fresh.digest != digest
    assert kept.model_copy().digest == digest
