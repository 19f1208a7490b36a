"""Previews of a stored mail for the desk, made in the sandbox and kept by content hash.

The desk never parses a mail or opens an attachment in its own process: a preview process
(`python -m pipeline.desk.previews`) does, behind the readers' walls (walls.py: no network,
no secret, a read-only system, one folder of its own) under hard RLIMIT_AS and RLIMIT_CPU
and a wall-clock timeout. It answers in JSON (the mail's body and each attachment made
inert: cells, text, a page count) or with one PNG it re-encoded. At most AT_ONCE run at a
time; what they made is kept under `<storage>/previews/<sha256>/` (0700, files 0600), so a
page is made once, and a failure is kept too, so a file that kills its preview process
costs that once. A message that a reader died on or that was quarantined is not previewed
at all (the page says 无法预览 and offers the raw download).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.desk.inert import Shown
from pipeline.reading import walls
from pipeline.runtime import own_scratch

AT_ONCE = 2  # preview processes running at a time (each up to limits.memory_mb)
STARTUP = 30.0  # seconds a preview process may take to start, beyond limits.seconds
FAILED = "无法预览：附件读取时超出内存或时间限制，可下载原始邮件查看。"
_slots = threading.BoundedSemaphore(AT_ONCE)


@dataclass(frozen=True)
class Preview:
    """What the message page shows of a mail: its sender's name, body and attachments."""

    sender_name: str = ""
    body: str = ""
    shown: list[Shown] = field(default_factory=list)
    note: str = ""  # why there is nothing to show


def _folder(config: Config, sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256")
    return config.resolve(config.storage.path).parent / "previews" / sha256


def preview(config: Config, sha256: str, raw: bytes) -> Preview:
    """The mail's preview, made in a preview process the first time."""
    kept = _kept(config, sha256, "show.json")
    if kept is None:
        made = _run(config, raw, ["show"])
        kept = made if made is not None else b"{}"
        _keep(config, sha256, "show.json", kept)
    try:
        data = json.loads(kept)
        shown = [Shown(**item) for item in data["shown"]]
        return Preview(str(data["sender_name"]), str(data["body"]), shown)
    except (ValueError, KeyError, TypeError):
        return Preview(note=FAILED)


def image(config: Config, sha256: str, raw: bytes, index: int, page: int) -> bytes | None:
    """Page `page` of attachment `index` as a PNG made in a preview process, or None."""
    name = f"{index}-{page}.png"
    kept = _kept(config, sha256, name)
    if kept is None:
        made = _run(config, raw, ["page", str(index), str(page)])
        kept = made or b""
        _keep(config, sha256, name, kept)
    return kept if kept.startswith(b"\x89PNG\r\n\x1a\n") else None


def _kept(config: Config, sha256: str, name: str) -> bytes | None:
    try:
        fd = os.open(_folder(config, sha256) / name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        return file.read()


def _keep(config: Config, sha256: str, name: str, data: bytes) -> None:
    """Best effort: a full disk only costs the next request a new preview process."""
    folder = _folder(config, sha256)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")  # 0600
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, folder / name)
    except OSError:
        return


def _run(config: Config, raw: bytes, request: list[str]) -> bytes | None:
    """One preview process behind the readers' walls; its answer, None if it failed."""
    limits = config.limits
    storage = config.resolve(config.storage.path).parent
    with _slots, tempfile.TemporaryDirectory(prefix="preview-", dir=own_scratch(storage)) as tmp:
        folder = Path(tmp)
        settings = [str(limits.memory_mb), str(int(limits.seconds) + 1)]
        argv = [sys.executable, "-m", "pipeline.desk.previews", *settings, *request]
        try:
            done = subprocess.run(
                walls.command(walls.available(), argv, folder, storage, walls.private(config)),
                input=raw,
                capture_output=True,
                env=walls.environment(folder),
                cwd=folder,
                timeout=limits.seconds + STARTUP,
                process_group=0,
            )
        except subprocess.TimeoutExpired:
            return None
    return done.stdout if done.returncode == 0 else None


# ── the preview process ────────────────────────────────────────
def _answer(request: list[str], raw: bytes) -> bytes:
    from pipeline.desk import inert
    from pipeline.mailbox.parse import parse

    mail = parse(raw)
    if request[0] == "show":
        shown = [asdict(inert.show(a)) for a in mail.attachments]
        data = {"sender_name": mail.sender_name, "body": mail.body, "shown": shown}
        return json.dumps(data, ensure_ascii=False).encode()
    index, page = int(request[1]), int(request[2])
    if not 0 <= index < len(mail.attachments):
        return b""
    try:
        return inert.image(mail.attachments[index], page)
    except (ValueError, OSError, subprocess.SubprocessError):
        return b""


def _main(argv: list[str]) -> None:
    memory, seconds = int(argv[0]) * 1024 * 1024, int(argv[1])
    # Hard limits before a byte of the mail is read; pdftoppm and LibreOffice inherit them.
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
    raw = sys.stdin.buffer.read()
    out = sys.stdout.buffer
    out.write(_answer(argv[2:], raw))
    out.flush()


if __name__ == "__main__":
    _main(sys.argv[1:])
