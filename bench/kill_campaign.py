"""A kill -9 campaign: `xunbao run` killed at random moments, then run to the end; every
round must end with the register and the standings of a run never killed (same outcome and
reason for every message, nothing quarantined, the same standings.json) — what a power cut
or an OOM kill elsewhere must not change.

Run: .venv/bin/python bench/kill_campaign.py [ROUNDS] [KILLS] [--dovecot]
(default 10 rounds, 4 kills). The inbox is `inbox_samples/`: read as a directory, or with
--dovecot appended to a mailbox of its own for every round on a real Dovecot on 127.0.0.1
(tests/servers.py; needs dovecot-imapd). Each round kills `xunbao run --no-send` KILLS
times, the first as soon as a reader has begun a message, the others at a random moment
within a clean run's length (a kill due after the run ended does not count: up to
3 × KILLS tries per round; one due while a suspect is read alone waits until that read is
over, since a kill then is charged to the message by design: xunbao cannot tell it from
the message killing the run), then lets a last run finish, and compares with one clean run.
Prints the rounds that differ (with what differs) and the kills that landed while a reader
held a message. tests/test_kill_campaign.py runs a short campaign over Dovecot.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
XUNBAO = Path(sys.executable).parent / "xunbao"
SAMPLES = ROOT / "inbox_samples"
PERIOD = "2015-09-20"
Mailbox = tuple[dict[str, Any], dict[str, str]]  # the config's mailbox section, the env


class Inbox(Protocol):
    def fresh(self) -> Mailbox:
        """A mailbox holding the samples that no run has touched yet."""


class DirectoryInbox:
    def fresh(self) -> Mailbox:
        settings = {"source": "directory", "path": str(SAMPLES), "address": "lsszghzxb@126.com"}
        return settings, dict(os.environ)


@dataclass
class DovecotInbox:
    """A new account on `server` (a tests/servers.py Dovecot) for every round, the samples
    appended with the INTERNALDATE they had at 126.com (their Received time)."""

    server: Any
    ca_file: Path

    def fresh(self) -> Mailbox:
        from imapclient import IMAPClient

        from pipeline.mailbox import header_arrival

        user, password = self.server.add_user()
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient("127.0.0.1", self.server.imaps_port, ssl=True, ssl_context=context)
        client.login(user, password)
        try:
            for path in sorted(SAMPLES.glob("*.eml")):
                raw = path.read_bytes()
                arrived = header_arrival(BytesHeaderParser().parsebytes(raw))
                client.append("INBOX", raw, msg_time=arrived or datetime.now().astimezone())
        finally:
            client.logout()
        settings = {
            "source": "imap",
            "address": "lsszghzxb@126.com",
            "host": "127.0.0.1",
            "port": self.server.imaps_port,
            "ssl": True,
            "ca_file": str(self.ca_file),
            "username": user,
            "password_env": "XUNBAO_IMAP_PASSWORD",
            "timeout": 10,
            "require_authentication": False,  # the samples carry no signatures
        }
        return settings, {**os.environ, "XUNBAO_IMAP_PASSWORD": password}


@contextlib.contextmanager
def dovecot(folder: Path) -> Iterator[DovecotInbox]:
    """A Dovecot of the campaign's own, stopped (by its process group) afterwards."""
    sys.path.insert(0, str(ROOT / "tests"))
    from servers import Dovecot, make_certificate

    cert, key = make_certificate(folder)
    server = Dovecot(cert, key)
    server.start()
    try:
        yield DovecotInbox(server, cert)
    finally:
        server.remove()


@dataclass(frozen=True)
class Workspace:
    config: Path
    env: dict[str, str]


def workspace(folder: Path, inbox: Inbox) -> Workspace:
    """The project's config.yaml with the ledger and outputs in `folder`."""
    settings, env = inbox.fresh()
    yaml = YAML(typ="safe")
    tree = yaml.load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    tree["mailbox"] = {**tree["mailbox"], **settings}
    if settings["source"] == "imap":
        tree["mailbox"].pop("path", None)
    tree["storage"] = {"path": str(folder / "data" / "xunbao.sqlite")}
    tree["output"] = {"dir": str(folder / "out")}
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    with config.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    return Workspace(config, env)


def run(place: Workspace, kill_after: float | None, in_reader: bool = False) -> bool:
    """One `xunbao run`; killed after `kill_after` s if given, or (`in_reader`) as soon as
    a reader has begun a message. True if it was killed before it ended."""
    config = place.config
    command = [str(XUNBAO), "run", "--config", str(config), "--period", PERIOD, "--no-send"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=place.env
    )
    deadline = time.monotonic() + (kill_after if kill_after is not None else 600)
    try:
        while process.poll() is None:
            due = time.monotonic() >= deadline and not read_alone(config)
            if due or (in_reader and in_hand(config)):
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.005)
        return False
    finally:
        time.sleep(0.3)  # the readers die with it (PDEATHSIG)


def register(config: Path) -> list[tuple[str, ...]]:
    """Every message's outcome and reason, by Message-ID and subject (the same in every
    round: a mailbox's UIDs are not)."""
    with sqlite3.connect(config.parent / "data" / "xunbao.sqlite") as db:
        rows = db.execute(
            "SELECT message_id, subject, outcome, reason, unit, value FROM messages"
        ).fetchall()
    return sorted(tuple(str(cell) for cell in row) for row in rows)


def standings(config: Path) -> Any:
    path = config.parent / "out" / PERIOD / "standings.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def read_alone(config: Path) -> bool:
    """A reader is reading a suspect alone (its second chance): a kill now charges the
    message as if it had killed the run itself — on purpose, since xunbao cannot tell the
    two apart — so a random kill due now waits until that read is over."""
    return _count(config, "begun = 1 AND isolated = 1 AND in_hand IS NOT NULL") > 0


def in_hand(config: Path) -> int:
    """Messages a reader has begun and that have no outcome yet."""
    return _count(config, "begun = 1")


def _count(config: Path, where: str) -> int:
    """Rows of the run's `attempts` table matching `where` (0 before the ledger exists)."""
    path = config.parent / "data" / "xunbao.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.1) as db:
            row = db.execute(f"SELECT count(*) FROM attempts WHERE {where}").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


@dataclass
class Result:
    rounds: int = 0
    kills: int = 0  # kills that landed (the run had not finished yet)
    in_reader: int = 0  # of those, kills that left a message begun in a reader
    equal: int = 0  # rounds ending with the register and standings of a clean run
    clean_seconds: float = 0.0
    differences: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rounds} rounds, {self.kills} kill -9 landed ({self.in_reader} with a "
            f"message begun in a reader): {self.equal}/{self.rounds} rounds end with the "
            f"register and standings of a run never killed (clean run {self.clean_seconds:.1f} s)"
        )


def campaign(base: Path, inbox: Inbox, rounds: int, kills: int, seed: int = 24) -> Result:
    chance = random.Random(seed)
    clean = workspace(base / "clean", inbox)
    lengths = []
    for _ in range(2):  # the second finds nothing new: most of a run is start-up and output
        started = time.monotonic()
        run(clean, None)
        lengths.append(time.monotonic() - started - 0.3)
    result = Result(rounds=rounds, clean_seconds=lengths[0])
    expected = register(clean.config), standings(clean.config)
    assert expected[1] is not None, "the clean run made no standings"
    for number in range(rounds):
        folder = base / f"round{number}"
        place = workspace(folder, inbox)
        landed = 0
        for attempt in range(3 * kills):  # a kill due after the run ended did not land
            if landed == kills:
                break
            # The first kill of a round as soon as a reader has begun a message (the
            # reading is a short part of a run), so that every round has a message to
            # read alone; the others at a random moment within the shorter run.
            aimed = attempt == 0
            moment = None if aimed else chance.uniform(0.2, min(lengths))
            if run(place, moment, in_reader=aimed):
                landed += 1
                result.in_reader += in_hand(place.config) > 0
        result.kills += landed
        run(place, None)
        got = register(place.config), standings(place.config)
        if got == expected:
            result.equal += 1
        else:
            changed = sorted(set(got[0]) ^ set(expected[0]))[:4]
            same = got[1] == expected[1]
            result.differences.append(f"round {number}: standings equal {same}; {changed}")
        shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", type=int, nargs="?", default=10)
    parser.add_argument("kills", type=int, nargs="?", default=4)
    parser.add_argument("--dovecot", action="store_true", help="read over a real Dovecot")
    arguments = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        with contextlib.ExitStack() as stack:
            inbox: Inbox = DirectoryInbox()
            if arguments.dovecot:
                (base / "tls").mkdir()
                inbox = stack.enter_context(dovecot(base / "tls"))
            result = campaign(base, inbox, arguments.rounds, arguments.kills)
    for line in result.differences:
        print(line)
    source = "Dovecot (IMAPS, 127.0.0.1)" if arguments.dovecot else "a directory"
    print(f"over {source}: {result.summary()}; {time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
