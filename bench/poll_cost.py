"""What one IMAP poll costs as the mailbox grows (issue 3 target: 50,000 old ≤ 1.2 × empty).

A private Dovecot (tests/servers.py) gets one account per case, holding 0, 10,000 or 50,000
old messages written straight into a Maildir (default settings, and with
maildir_very_dirty_syncs) or imported into mdbox (then indexed by one SELECT, untimed), and
25 new sample reports appended over IMAP. The ledger's high-water mark is set as if the old
messages had been processed. Timed: one whole `ingest` (connect, login, ID, SELECT, UID
SEARCH, fetch, intake, ledger), and the IMAP part alone, as medians of 5 polls, each against
a fresh ledger, and a poll when nothing is new. Each case runs in a fresh process, so its
peak RSS is its own. Run: .venv/bin/python bench/poll_cost.py [old counts...]
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from imapclient import IMAPClient  # noqa: E402
from servers import Dovecot, make_certificate, samples  # noqa: E402

from pipeline import config as config_module  # noqa: E402
from pipeline.ledger import Ledger  # noqa: E402
from pipeline.mailbox.imap import ImapSource  # noqa: E402
from pipeline.service import job  # noqa: E402

NEW = 25
REPEATS = 5
OLD_DATE = 1441036800  # 2015-09-01 00:00 +08:00: long before the new reports


def old_message(number: int) -> bytes:
    return (
        f"From: sender{number % 97}@example.com\r\nTo: lsszghzxb@126.com\r\n"
        f"Subject: old message {number}\r\nMessage-ID: <old-{number}@bench.example>\r\n"
        f"Date: Tue, 01 Sep 2015 08:00:00 +0800\r\n\r\nAn old message, already handled.\r\n"
    ).encode()


def fill(server: Dovecot, storage: str, user: str, count: int) -> None:
    """`count` old messages in the user's INBOX: Maildir files written directly, or for
    mdbox the same files imported with `doveadm import`."""
    if storage == "maildir":
        write_maildir(server, server.maildir(user), count)
        return
    source = server.root / f"import-{user}"
    write_maildir(server, source, count)
    subprocess.run(
        ["doveadm", "-c", str(server.config), "import", "-u", user, f"maildir:{source}", "", "all"],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(source)


def write_maildir(server: Dovecot, home: Path, count: int) -> None:
    """Write `count` messages as Maildir files, owned by the mail user."""
    for sub in ("cur", "new", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    for number in range(count):
        raw = old_message(number)
        name = f"{OLD_DATE + number}.M{number}P1.bench,S={len(raw)}:2,S"
        path = home / "cur" / name
        path.write_bytes(raw)
        os.utime(path, (OLD_DATE + number, OLD_DATE + number))
    owner = (server.accounts["mail_user"], server.accounts["mail_group"])
    for folder, _dirs, files in os.walk(home):
        shutil.chown(folder, *owner)
        for file in files:
            shutil.chown(os.path.join(folder, file), *owner)


def client(server: Dovecot, user: str, password: str) -> IMAPClient:
    context = ssl.create_default_context(cafile=str(server.cert))
    imap = IMAPClient("127.0.0.1", server.imaps_port, ssl=True, ssl_context=context)
    imap.login(user, password)
    return imap


def prepare(server: Dovecot, storage: str, old: int) -> dict[str, Any]:
    """An account with `old` indexed old messages and NEW new ones; its UIDVALIDITY."""
    user, password = server.add_user()
    fill(server, storage, user, old)
    imap = client(server, user, password)
    started = time.perf_counter()
    info = imap.select_folder("INBOX")  # Dovecot indexes the Maildir here (untimed setup)
    indexed = time.perf_counter() - started
    assert info[b"EXISTS"] == old, info
    for raw in samples()[:NEW]:
        imap.append("INBOX", raw)
    imap.logout()
    return {
        "user": user,
        "password": password,
        "uidvalidity": int(info[b"UIDVALIDITY"]),
        "index_s": indexed,
    }


def write_config(folder: Path, server: Dovecot, user: str) -> Path:
    from conftest import write_config as project_config

    mailbox = {
        "source": "imap",
        "host": "127.0.0.1",
        "port": server.imaps_port,
        "ca_file": str(server.cert),
        "username": user,
        "password_env": "XUNBAO_IMAP_PASSWORD",
    }
    return project_config(folder, mailbox=mailbox)


def one_case(config_path: Path, old: int, uidvalidity: int) -> dict[str, Any]:
    """Runs in its own process: REPEATS polls, each against a fresh ledger at the mark."""
    config = config_module.load(config_path).config
    whole, imap_only = [], []
    for repeat in range(REPEATS):
        for measure, times in ((True, whole), (False, imap_only)):
            path = config_path.parent / f"ledger-{repeat}-{measure}.sqlite"
            ledger = Ledger(path)
            ledger.reset_poll_state("INBOX", uidvalidity, last_uid=old)
            source = ImapSource(config, ledger)
            started = time.perf_counter()
            if measure:
                result = job.ingest(config, ledger, source)
                assert result.new == NEW, result
            else:
                polled = 0
                for raw in source.poll():
                    source.acknowledge(raw)
                    polled += 1
                assert polled == NEW, polled
            times.append(time.perf_counter() - started)
            assert source.fetched == NEW
            source.close()
            ledger.close()
    idle = [idle_poll(config, config_path.parent / "idle.sqlite", uidvalidity, old + NEW)]
    idle += [idle_poll(config, config_path.parent / "idle.sqlite", uidvalidity, old + NEW)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "old": old,
        "ingest_s": statistics.median(whole),
        "imap_s": statistics.median(imap_only),
        "idle_s": min(idle),
        "peak_rss_mb": peak,
    }


def idle_poll(config: config_module.Config, path: Path, uidvalidity: int, mark: int) -> float:
    """A poll when nothing is new (the usual case between two reports)."""
    ledger = Ledger(path)
    ledger.reset_poll_state("INBOX", uidvalidity, last_uid=mark)
    source = ImapSource(config, ledger)
    started = time.perf_counter()
    result = job.ingest(config, ledger, source)
    elapsed = time.perf_counter() - started
    assert result.new == 0 and source.fetched == 0
    source.close()
    ledger.close()
    return elapsed


# (name, storage, extra settings): Maildir as installed; Maildir as Dovecot advises for big
# Maildirs only Dovecot writes to (no readdir of cur/ at each SELECT); mdbox (index only).
SERVERS = [
    ("Maildir, default settings", "maildir", ""),
    ("Maildir, maildir_very_dirty_syncs = yes", "maildir", "maildir_very_dirty_syncs = yes\n"),
    ("mdbox", "mdbox", ""),
]


def main() -> None:
    if sys.argv[1:2] == ["--case"]:
        config_path, old, uidvalidity = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        print(json.dumps(one_case(config_path, old, uidvalidity)))
        return
    counts = [int(a) for a in sys.argv[1:]] or [0, 10_000, 50_000]
    for name, storage, extra in SERVERS:
        print(f"Dovecot {name}:", flush=True)
        run_cases(counts, storage, extra)


def run_cases(counts: list[int], storage: str, extra: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="xunbao-bench-"))
    work.chmod(0o755)  # doveadm reads the import source as the mail user
    server = Dovecot(*make_certificate(work), extra=extra, storage=storage)
    server.start()
    results = []
    try:
        for old in counts:
            account = prepare(server, storage, old)
            folder = work / f"case-{old}"
            config_path = write_config(folder, server, account["user"])
            env = {**os.environ, "XUNBAO_IMAP_PASSWORD": account["password"]}
            command = [sys.executable, __file__, "--case", str(config_path), str(old)]
            command.append(str(account["uidvalidity"]))
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["index_s"] = account["index_s"]
            results.append(result)
            print(
                f"  {old:>6} old + {NEW} new: whole poll {result['ingest_s']:.3f} s, "
                f"IMAP part {result['imap_s']:.3f} s; nothing new: {result['idle_s']:.3f} s; "
                f"peak RSS {result['peak_rss_mb']:.0f} MB "
                f"(first SELECT indexing the mailbox, untimed: {result['index_s']:.1f} s)",
                flush=True,
            )
    finally:
        server.remove()
        shutil.rmtree(work, ignore_errors=True)
    base = results[0]
    for result in results[1:]:
        ratio = result["ingest_s"] / base["ingest_s"]
        verdict = "ok" if ratio <= 1.2 else "OVER TARGET"
        print(f"  {result['old']} old / {base['old']} old: {ratio:.2f}× (target ≤ 1.2×) {verdict}")


if __name__ == "__main__":
    main()
