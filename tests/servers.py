"""Private mail servers for the tests, each in its own process group, stopped by PID.

`Dovecot` writes a dovecot.conf of its own (base_dir, passwd-file users, Maildir storage, a
self-signed certificate, `imap_id_log = *`) and listens on two free 127.0.0.1 ports: one
plaintext/STARTTLS, one implicit TLS. `SmtpServer` runs this very file as an aiosmtpd server
(implicit TLS or STARTTLS, AUTH required) that stores each accepted message, once per
envelope recipient, as an .eml file in a folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subject = ["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            *subject,
            *files,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _stop_group(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# ── Dovecot ────────────────────────────────────────────────────
_DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_location = {storage}:{root}/mail/%u
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
imap_id_log = *
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _system_users() -> dict[str, str]:
    """Root must hand Dovecot's processes to unprivileged users; anyone else runs them all."""
    if os.geteuid() == 0:
        return {
            "internal_user": "dovecot",
            "internal_group": "dovecot",
            "login_user": "dovenull",
            "mail_user": "nobody",
            "mail_group": "nogroup",
        }
    import grp
    import pwd

    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return {
        "internal_user": user,
        "internal_group": group,
        "login_user": user,
        "mail_user": user,
        "mail_group": group,
    }


class Dovecot:
    def __init__(self, cert: Path, key: Path, extra: str = "", storage: str = "maildir") -> None:
        # Dovecot's login processes run as another user: the folder must be traversable,
        # which pytest's 0700 tmp_path is not.
        self.root = Path(tempfile.mkdtemp(prefix="xunbao-dovecot-"))
        self.root.chmod(0o755)
        self.cert, self.key = cert, key
        self.imap_port, self.imaps_port = free_port(), free_port()
        self.accounts = _system_users()
        self.process: subprocess.Popen[bytes] | None = None
        # Dovecot notices a changed passwd-file only by its mtime (whole seconds): every
        # account is written before the start and handed out by `add_user`.
        self._unused = [(f"user{n}", f"Pw-{os.urandom(6).hex()}") for n in range(1, 101)]
        (self.root / "passwd").write_text(
            "".join(f"{user}:{{PLAIN}}{password}::::::\n" for user, password in self._unused)
        )
        mail = self.root / "mail"
        mail.mkdir()
        shutil.chown(mail, self.accounts["mail_user"], self.accounts["mail_group"])
        self.config = self.root / "dovecot.conf"
        self.config.write_text(
            _DOVECOT_CONF.format(
                root=self.root,
                cert=cert,
                key=key,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
                storage=storage,
                **self.accounts,
            )
            + extra
        )

    @property
    def log_file(self) -> Path:
        return self.root / "dovecot.log"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        output = (self.root / "dovecot.stdout").open("ab")
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with all its children
        )
        output.close()
        wait_for_port(self.imap_port)
        wait_for_port(self.imaps_port)

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process, signal.SIGTERM)

    def kill(self) -> None:
        """Like a crash: SIGKILL to the master and every child, no goodbye to clients."""
        if self.process is not None:
            _stop_group(self.process, signal.SIGKILL)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self) -> tuple[str, str]:
        """An account nobody has used yet, with an empty mailbox: (name, password)."""
        return self._unused.pop(0)

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / user


# ── test mail ──────────────────────────────────────────────────
SAMPLES = Path(__file__).resolve().parent.parent / "inbox_samples"


def samples() -> list[bytes]:
    """The sample reports of September 2015, in arrival order."""
    return [path.read_bytes() for path in sorted(SAMPLES.glob("*.eml"))]


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


# ── SMTP ───────────────────────────────────────────────────────
@dataclass
class SmtpServer:
    """An aiosmtpd server in a child process; `received()` reads what it accepted."""

    cert: Path
    key: Path
    folder: Path
    user: str
    password: str
    starttls: bool = False
    reject: tuple[str, ...] = ()
    delay: float = 0.0  # seconds each message waits before it is stored and answered
    # Seconds each RCPT takes: a client killed then has sent nothing the server would store.
    rcpt_delay: float = 0.0
    hold_250: float = 0.0  # seconds between storing a message and answering 250
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        command = [sys.executable, __file__, "smtp", "--port", str(self.port)]
        command += ["--folder", str(self.folder), "--cert", str(self.cert), "--key", str(self.key)]
        command += ["--user", self.user] + ["--starttls"] * self.starttls
        for address in self.reject:
            command += ["--reject", address]
        command += ["--delay", str(self.delay), "--hold-250", str(self.hold_250)]
        command += ["--rcpt-delay", str(self.rcpt_delay)]
        env = {**os.environ, "TEST_SMTP_PASSWORD": self.password}
        log = (self.folder.parent / f"smtp-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process, signal.SIGTERM)

    def received(self) -> list[tuple[str, EmailMessage]]:
        """(envelope recipient, message) for everything accepted, oldest first."""
        found = []
        for path in sorted(self.folder.glob("*.eml")):
            recipient = path.stem.split("_", 1)[1]
            found.append((recipient, parse(path.read_bytes())))
        return found


def _smtp_main(argv: list[str]) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--rcpt-delay", type=float, default=0.0)
    parser.add_argument("--hold-250", type=float, default=0.0)
    args = parser.parse_args(argv)
    password = os.environ["TEST_SMTP_PASSWORD"]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    class Handler:
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            await asyncio.sleep(args.rcpt_delay)
            if address.lower() in args.reject:
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            await asyncio.sleep(args.delay)
            for recipient in envelope.rcpt_tos:
                name = f"{time.time_ns()}_{recipient.lower()}"
                temporary = args.folder / f".{name}.tmp"
                temporary.write_bytes(envelope.original_content)
                temporary.rename(args.folder / f"{name}.eml")
            # A provider checks the message before it answers: the window in which a
            # client that dies leaves a message sent but not known to be sent.
            await asyncio.sleep(args.hold_250)
            return "250 OK stored"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == args.user
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    tls: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True}
        if args.starttls
        else {"ssl_context": context, "auth_require_tls": False}
    )
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=args.port,
        authenticator=authenticate,
        auth_required=True,
        **tls,
    )
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__" and sys.argv[1:2] == ["smtp"]:
    _smtp_main(sys.argv[2:])
