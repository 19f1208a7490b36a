"""Fixtures: a session-wide Dovecot, one fresh mailbox per test, configs, and the CLI.

Mail servers are real (Dovecot, aiosmtpd), never mocks; see servers.py.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from imapclient import IMAPClient
from ruamel.yaml import YAML
from servers import Dovecot, SmtpServer, make_certificate, samples

from pipeline.mailbox import header_arrival

if TYPE_CHECKING:
    from desk_support import Desk

ROOT = Path(__file__).resolve().parent.parent
XUNBAO = Path(sys.executable).parent / "xunbao"

needs_dovecot = pytest.mark.skipif(
    not (shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists()),
    reason="dovecot-imapd is not installed (scripts/setup.sh installs it)",
)


@pytest.fixture(scope="session", autouse=True)
def config_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches under XDG_CACHE_HOME (LibreOffice's, fontconfig's, ...): the tests', not the
    user's ~/.cache, also in the commands they start."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def _started(cert: Path, key: Path) -> Dovecot:
    server = Dovecot(cert, key)
    server.start()
    return server


@pytest.fixture(scope="session")
def dovecot(certificate: tuple[Path, Path]) -> Iterator[Dovecot]:
    """One Dovecot for the whole session; tests keep apart by using their own account."""
    server = _started(*certificate)
    yield server
    server.remove()


@pytest.fixture
def private_dovecot(certificate: tuple[Path, Path]) -> Iterator[Dovecot]:
    """A Dovecot of the test's own, for tests that kill or restart the server."""
    server = _started(*certificate)
    yield server
    server.remove()


@dataclass
class Account:
    """One user's mailbox on a test Dovecot, and the means to fill and inspect it."""

    server: Dovecot
    user: str
    password: str
    ca_file: Path

    def client(self) -> IMAPClient:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient("127.0.0.1", self.server.imaps_port, ssl=True, ssl_context=context)
        client.login(self.user, self.password)
        return client

    def append(self, messages: list[bytes], folder: str = "INBOX") -> None:
        """APPEND with the INTERNALDATE the message had at 126.com (its Received time)."""
        client = self.client()
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in messages:
                arrived = header_arrival(BytesHeaderParser().parsebytes(raw))
                client.append(folder, raw, msg_time=arrived or datetime.now().astimezone())
        finally:
            client.logout()

    def contents(self, folder: str = "INBOX") -> dict[int, dict[bytes, Any]]:
        client = self.client()
        try:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return dict(client.fetch(uids, ["FLAGS", "BODY.PEEK[]"])) if uids else {}
        finally:
            client.logout()

    def mailbox_config(self, **changes: Any) -> dict[str, Any]:
        settings = {
            "source": "imap",
            "address": "lsszghzxb@126.com",
            "host": "127.0.0.1",
            "port": self.server.imaps_port,
            "ssl": True,
            "ca_file": str(self.ca_file),
            "username": self.user,
            "password_env": "XUNBAO_IMAP_PASSWORD",
            "timeout": 10,
            "batch_size": 5,
            "retries": 2,
            "retry_delay": 0.1,
            # The sample mail carries no authentication: tests of sender authentication
            # (test_authentication.py) leave this at its IMAP default, on.
            "require_authentication": False,
        }
        return settings | changes

    def env(self) -> dict[str, str]:
        return {**os.environ, "XUNBAO_IMAP_PASSWORD": self.password}


def new_account(server: Dovecot, ca_file: Path) -> Account:
    user, password = server.add_user()
    return Account(server, user, password, ca_file)


@pytest.fixture
def account(dovecot: Dovecot, certificate: tuple[Path, Path]) -> Account:
    return new_account(dovecot, certificate[0])


@pytest.fixture(scope="session")
def sample_mail() -> list[bytes]:
    """The sample reports, oldest arrival first (the order they reached the mailbox)."""
    found = samples()
    assert found, "inbox_samples/*.eml are missing: run tests/fixtures/build_fixtures.py"

    def arrival(raw: bytes) -> datetime:
        when = header_arrival(BytesHeaderParser().parsebytes(raw))
        assert when is not None
        return when

    return sorted(found, key=arrival)


SMTP_USER = "lsszghzxb@126.com"
SMTP_PASSWORD = "Smtp-Code-7c1e"
MakeServer = Callable[..., SmtpServer]


@pytest.fixture
def smtp(tmp_path: Path, certificate: tuple[Path, Path]) -> Iterator[MakeServer]:
    """Makes SMTP servers storing mail in tmp_path/received; all stopped afterwards."""
    made: list[SmtpServer] = []

    def make(**options: Any) -> SmtpServer:
        server = SmtpServer(
            certificate[0], certificate[1], tmp_path / "received", SMTP_USER, SMTP_PASSWORD
        )
        for key, value in options.items():
            setattr(server, key, value)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


def write_config(
    folder: Path, edit: Callable[[dict[str, Any]], None] | None = None, **sections: Any
) -> Path:
    """The project's config.yaml with its ledger, output and the given sections replaced,
    then changed in place by `edit`."""
    yaml = YAML(typ="safe")
    tree = yaml.load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    tree["storage"] = {"path": str(folder / "ledger.sqlite")}
    tree["output"] = {"dir": str(folder / "out")}
    tree["delivery"] = {"host": ""}
    tree.update(sections)
    if edit is not None:
        edit(tree)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    return path


def run_cli(
    config: Path, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    command = [str(XUNBAO)] if XUNBAO.exists() else [sys.executable, "-m", "pipeline"]
    return subprocess.run(
        [*command, "run", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=config.parent,
    )


@pytest.fixture(scope="session")
def desk_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample inbox after one real run, with a leader and a clerk (see desk_support)."""
    from desk_support import build_sample

    return build_sample(tmp_path_factory.mktemp("desk-sample"))


@pytest.fixture
def clerk(desk_sample: Path, tmp_path: Path) -> Desk:
    """小李 (the clerk) signed in to the desk on a copy of the sample workspace."""
    from desk_support import Desk, client, copy_sample, login

    workspace = copy_sample(desk_sample, tmp_path / "ws")
    desk = Desk(client(workspace), workspace)
    assert login(desk.client, "小李") == 303
    return desk
