"""Stored originals: content-addressed, compressed, idempotent, kept unless told otherwise;
and desk accounts made with `xunbao user`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.clerk import accounts
from pipeline.config import Desk
from pipeline.ledger import Ledger, originals

XUNBAO = Path(sys.executable).parent / "xunbao"
RAW = b"From: a@b.cn\r\nSubject: test\r\n\r\n" + "旬报".encode() * 500


def test_store_is_content_addressed_compressed_and_idempotent(tmp_path: Path) -> None:
    digest = originals.store(tmp_path, RAW)
    assert digest == hashlib.sha256(RAW).hexdigest()
    path = originals.path_of(tmp_path, digest)
    assert path.parent.name == digest[:2] and path.stat().st_size < len(RAW) / 10
    stamp = path.stat().st_mtime_ns
    assert originals.store(tmp_path, RAW) == digest
    assert path.stat().st_mtime_ns == stamp  # not written again
    assert originals.load(tmp_path, digest) == RAW
    assert originals.load(tmp_path, "0" * 64) is None
    assert not list(tmp_path.rglob("*.part"))


def test_only_a_digest_names_a_file(tmp_path: Path) -> None:
    for bad in ("../../etc/passwd", "AB" * 32, "a" * 63, ""):
        with pytest.raises(ValueError):
            originals.path_of(tmp_path, bad)


def test_a_damaged_original_is_reported_not_served(tmp_path: Path) -> None:
    digest = originals.store(tmp_path, RAW)
    import gzip

    originals.path_of(tmp_path, digest).write_bytes(gzip.compress(b"something else"))
    with pytest.raises(ValueError, match="损坏"):
        originals.load(tmp_path, digest)


def test_retention_deletes_nothing_by_default(tmp_path: Path) -> None:
    digest = originals.store(tmp_path, RAW)
    path = originals.path_of(tmp_path, digest)
    old = path.stat().st_mtime - 400 * 86400
    os.utime(path, (old, old))
    assert originals.prune(tmp_path, None) == 0 and path.exists()
    assert originals.prune(tmp_path, 500) == 0 and path.exists()
    assert originals.prune(tmp_path, 365) == 1 and not path.exists()


def test_user_add_hashes_with_argon2_and_refuses_bad_input(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    root = Path(__file__).resolve().parent.parent
    config.write_text((root / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")

    def user(*args: str, secret: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(XUNBAO), "user", *args, "--config", str(config)],
            input=secret + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )

    added = user("add", "张三", "--role", "leader", "--password-stdin", secret="a-long-secret-1")
    assert added.returncode == 0, added.stderr
    assert "已添加账号 张三（签发领导）" in added.stdout
    assert "a-long-secret-1" not in added.stdout + added.stderr
    short = user("add", "李四", "--role", "clerk", "--password-stdin", secret="short")
    assert short.returncode == 2 and "至少" in short.stderr
    role = user("add", "李四", "--role", "boss", "--password-stdin", secret="a-long-secret-2")
    assert role.returncode == 2
    twice = user("add", "张三", "--role", "clerk", "--password-stdin", secret="a-long-secret-2")
    assert twice.returncode == 2 and "已存在" in twice.stderr
    assert "张三（签发领导）" in user("list").stdout
    with Ledger(tmp_path / "data/xunbao.sqlite") as ledger:
        stored = ledger.db.execute("SELECT password_hash FROM accounts").fetchone()[0]
        assert stored.startswith("$argon2id$")
        session = accounts.login(ledger, Desk(), "张三", "a-long-secret-1", "127.0.0.1")
        assert accounts.session(ledger, session.token) is not None
        # Only a hash of the token is stored.
        assert session.token not in str(ledger.db.execute("SELECT * FROM sessions").fetchall())
    changed = user("password", "张三", "--password-stdin", secret="another-secret-1")
    assert changed.returncode == 0
    with Ledger(tmp_path / "data/xunbao.sqlite") as ledger:
        assert accounts.session(ledger, session.token) is None  # old sessions ended
