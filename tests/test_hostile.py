"""The hostile corpus over the directory source and over Dovecot: nothing crashes, nothing
counts, every message is in the register with a readable Chinese reason, memory stays under
1 GiB, nothing calls the network and nothing is written outside xunbao's folders. Then
every message is opened in the desk with every preview it offers: no 5xx, the desk and its
preview processes under 1 GiB, and the listener still silent.

The corpus is `tests/fixtures/hostile/mail/` (built by `hostile/build.py`: bombs, XXE, loops,
traversal names, forged senders, formulas…) and `hostile/public/` (public malformed mail,
see its SOURCES.md). Every URL in it points at TRAP, where a listener counts callers.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import XUNBAO, Account, needs_dovecot, write_config

from pipeline.ledger import Ledger

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"
TRAP = ("127.0.0.1", 39217)
PEAK_LIMIT = 1024 * 1024 * 1024
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


class PeakMemory:
    """The largest sum of resident memory over a process and all its descendants."""

    def __init__(self, root: int) -> None:
        self.root, self.peak = root, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_rss(pid) for pid in _tree(self.root)))
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


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


def run_xunbao(folder: Path, config: Path, env: dict[str, str]) -> tuple[str, int]:
    """One `xunbao run` with its own HOME and TMPDIR; (output, peak memory)."""
    home, tmp = folder / "home", folder / "tmpdir"
    home.mkdir()
    tmp.mkdir()
    process = subprocess.Popen(
        [str(XUNBAO), "run", "--config", str(config), "--period", "2015-09-20", "--no-send"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "HOME": str(home), "TMPDIR": str(tmp)},
        cwd=folder,
    )
    memory = PeakMemory(process.pid)
    output, _ = process.communicate(timeout=600)
    peak = memory.stop()
    assert process.returncode == 0, output
    assert list(home.iterdir()) == [] and list(tmp.iterdir()) == [], "wrote outside its folders"
    return output, peak


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


def open_in_desk(config_path: Path) -> int:
    """Every message of the run opened in the desk, with every preview it offers (page
    images included): none may fail with a 5xx. Returns the peak memory the desk added
    meanwhile: this process's growth (the desk runs in it) and its children (the preview
    processes); what the test process held before (pytest, pandas…) is not the desk's."""
    from starlette.testclient import TestClient

    from pipeline import accounts
    from pipeline import config as config_module
    from pipeline.desk.app import create_app

    config = config_module.load(config_path).config
    with Ledger(config.resolve(config.storage.path)) as ledger:
        accounts.add(ledger, "审核员", "clerk", "hostile-desk-1")
        numbers = [m.id for m in ledger.messages()]
    desk = TestClient(
        create_app(config, config_path), base_url="http://127.0.0.1", follow_redirects=False
    )
    token = re.search(r'name="csrf" value="([^"]+)"', desk.get("/login").text)
    assert token, "no login form"
    form = {"csrf": token.group(1), "name": "审核员", "password": "hostile-desk-1"}
    assert desk.post("/login", data=form).status_code == 303
    before = _rss(os.getpid())
    memory = PeakMemory(os.getpid())
    try:
        for number in numbers:
            page = desk.get(f"/messages/{number}")
            assert page.status_code == 200, (number, page.status_code)
            for image in sorted(
                set(re.findall(rf"/messages/{number}/attachments/\d+/\d+\.png", page.text))
            ):
                assert desk.get(image).status_code < 500, image
            assert desk.get(f"/messages/{number}/original.eml").status_code in (200, 404)
    finally:
        peak = memory.stop()
    print(f"test process before the desk: {before / 2**20:.0f} MiB")
    return peak - before


def hostile_config(folder: Path, mailbox: dict[str, Any]) -> Path:
    return write_config(folder, mailbox={**mailbox, "authserv_ids": ["mx.126.com"]})


def test_hostile_corpus_over_the_directory_source(tmp_path: Path, trap: list[str]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sent = []
    for path in corpus():
        (inbox / path.name).write_bytes(path.read_bytes())
        sent.append(path.read_bytes())
    before = sorted(p.name for p in inbox.iterdir())
    folder = tmp_path / "run"
    config = hostile_config(folder, {"source": "directory", "path": str(inbox)})
    output, peak = run_xunbao(folder, config, dict(os.environ))
    print(output, f"peak memory {peak / 2**20:.0f} MiB")
    assert peak < PEAK_LIMIT
    assert trap == []
    assert sorted(p.name for p in inbox.iterdir()) == before
    check_register(folder / "ledger.sqlite", sent)
    desk_peak = open_in_desk(config)
    print(f"desk peak memory {desk_peak / 2**20:.0f} MiB")
    assert desk_peak < PEAK_LIMIT
    assert trap == []


@needs_dovecot
def test_hostile_corpus_over_dovecot(tmp_path: Path, account: Account, trap: list[str]) -> None:
    sent = []
    for path in corpus():
        raw = path.read_bytes()
        try:
            account.append([raw])
        except Exception as exc:  # Dovecot refuses some (NUL bytes): not ours to read
            print(f"Dovecot refused {path.name}: {exc}")
            continue
        sent.append(raw)
    assert len(sent) >= len(corpus()) - 3
    folder = tmp_path / "run"
    config = hostile_config(folder, account.mailbox_config(processed_folder="已处理"))
    output, peak = run_xunbao(folder, config, account.env())
    print(output, f"peak memory {peak / 2**20:.0f} MiB")
    assert peak < PEAK_LIMIT
    assert trap == []
    check_register(folder / "ledger.sqlite", sent)
    assert account.contents("INBOX") == {}
    assert open_in_desk(config) < PEAK_LIMIT
    assert trap == []
