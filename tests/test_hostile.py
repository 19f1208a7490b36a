"""The hostile corpus and what every run over it must show: nothing crashes, nothing counts,
every message is in the register with a readable Chinese reason. The runs themselves are in
test_hostile_trace.py, under strace, which adds what only a trace can show (no connection,
no write outside xunbao's folders, the process tree's memory).

The corpus is `tests/fixtures/hostile/mail/` (built by `hostile/build.py`: bombs, XXE, loops,
traversal names, forged senders, formulas…) and `hostile/public/` (public malformed mail,
see its SOURCES.md). Every URL in it points at TRAP, where a listener counts callers.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import write_config

from pipeline.ledger import Ledger

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"
TRAP = ("127.0.0.1", 39217)
REASON_CHARS = 300
LIBRARY_WORDS = re.compile(r"Error|Exception|Traceback|errno|\bat 0x|Cannot|No /Root")
CJK = re.compile(r"[\u4e00-\u9fff]")

pytestmark = pytest.mark.slow


def corpus() -> list[Path]:
    return sorted((HOSTILE / "mail").glob("*.eml")) + sorted((HOSTILE / "public").glob("*.eml"))


def test_the_corpus_is_big_enough() -> None:
    assert len(list((HOSTILE / "mail").glob("*.eml"))) >= 58
    assert len(corpus()) >= 60


@pytest.fixture
def trap() -> Iterator[list[str]]:
    """A listener where every URL of the corpus points; yields the callers it saw."""
    calls: list[str] = []
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(TRAP)
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            calls.append(str(peer))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield calls
    stop.set()
    thread.join()
    server.close()


def _tree(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def check_register(ledger_path: Path, sent: list[bytes]) -> None:
    with Ledger(ledger_path) as ledger:
        messages = ledger.messages()
        reports = ledger.reports("9999-12-31")
    assert len(messages) == len(sent)
    assert reports.empty, f"counted: {reports[['unit', 'value']].to_dict('records')}"
    assert not [m for m in messages if m.outcome == "counted"]
    for message in messages:
        reason = message.reason
        assert 0 < len(reason) <= REASON_CHARS, reason
        assert CJK.search(reason) and not LIBRARY_WORDS.search(reason), reason
        assert "未能自动处理" not in reason, f"xunbao itself failed on {message.subject}"
    by_id = {m.message_id: m for m in messages if m.message_id}
    for raw in sent:
        headers = email.message_from_bytes(raw[: 256 * 1024], policy=email.policy.compat32)
        message_id = str(headers.get("Message-ID") or "").strip()
        if message_id not in by_id:
            continue
        entry = by_id[message_id]
        if email.utils.parseaddr(str(headers.get("From", "")))[1]:
            assert entry.sender, entry
        if headers.get("Subject"):
            assert entry.subject, entry
        if headers.get("Date") or headers.get("Received"):
            assert entry.arrival, entry
    assert not Path("/tmp/xunbao-escaped.xlsx").exists()
    assert not Path("/etc/xunbao-escaped.xlsx").exists()


def hostile_config(folder: Path, mailbox: dict[str, Any]) -> Path:
    return write_config(folder, mailbox={**mailbox, "authserv_ids": ["mx.126.com"]})
