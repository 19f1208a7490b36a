"""What xunbao leaves on disk is its own: the ledger 0600, originals 0600, outputs 0640,
whatever the umask of whoever started it; a password file others may read is refused."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import XUNBAO, write_config

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "inbox_samples"


def _as_with_umask(umask: int, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(XUNBAO), *argv],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=lambda: os.umask(umask),
    )


def test_ledger_originals_and_outputs_are_private_whatever_the_umask(tmp_path: Path) -> None:
    path = write_config(tmp_path, mailbox={"source": "directory", "path": str(SAMPLES)})
    done = _as_with_umask(0, "run", "--config", str(path), "--period", "2015-09-20", "--no-send")
    assert done.returncode == 0, done.stderr
    modes = {
        p.relative_to(tmp_path): p.stat().st_mode & 0o777
        for p in tmp_path.rglob("*")
        if p.is_file() and p.name != "config.yaml"
    }
    ledger = {p: m for p, m in modes.items() if p.name.startswith("ledger.sqlite")}
    originals = {p: m for p, m in modes.items() if p.parts[0] == "originals"}
    outputs = {p: m for p, m in modes.items() if p.parts[0] == "out"}
    assert Path("ledger.sqlite") in ledger and set(ledger.values()) == {0o600}, ledger
    assert len(originals) > 15 and set(originals.values()) == {0o600}
    assert any(p.suffix == ".pdf" for p in outputs) and set(outputs.values()) == {0o640}, outputs
    assert set(modes) == set(ledger) | set(originals) | set(outputs) | _salt(modes)


def _salt(modes: dict[Path, int]) -> set[Path]:
    salt = {p for p, m in modes.items() if p.parts[0] not in ("originals", "out") and m == 0o600}
    return {p for p in salt if not p.name.startswith("ledger.sqlite")}


def test_an_old_ledger_others_could_read_is_made_private(tmp_path: Path) -> None:
    path = write_config(tmp_path, mailbox={"source": "directory", "path": str(SAMPLES)})
    (tmp_path / "ledger.sqlite").touch(mode=0o644)
    (tmp_path / "ledger.sqlite").chmod(0o644)
    done = _as_with_umask(0o022, "messages", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ledger.sqlite").stat().st_mode & 0o777 == 0o600


def test_a_password_file_others_may_read_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "imap.secret"
    secret.write_text("authcode123\n", encoding="utf-8")
    secret.chmod(0o644)
    mailbox = {"source": "imap", "host": "127.0.0.1", "username": "u@example.org"}
    path = write_config(tmp_path, mailbox={**mailbox, "password_file": str(secret)})
    done = _as_with_umask(0o022, "check-config", "--config", str(path))
    assert done.returncode != 0
    assert "权限为 0644" in done.stderr + done.stdout and "chmod 600" in done.stderr + done.stdout
    secret.chmod(0o600)
    done = _as_with_umask(0o022, "check-config", "--config", str(path))
    assert "权限为" not in done.stderr + done.stdout
