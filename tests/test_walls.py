"""The walls around reader processes, seen from outside on the real processes: bubblewrap's
namespaces, /proc/<pid>/environ and /proc/<pid>/limits, a listener on 127.0.0.1 that a
reader (or the LibreOffice it starts) must never reach."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import XUNBAO, write_config
from test_sandbox import SAMPLES, mail_with

from pipeline import config as config_module
from pipeline.config import Limits
from pipeline.reading import walls
from pipeline.reading.mails import ReadMail
from pipeline.reading.sandbox import MB, Pool

SECRET = "s3cret-imap-pässword"
SOFFICE = "/usr/lib/libreoffice/program/soffice.bin"


@contextmanager
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on 127.0.0.1 recording what every connection sends."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    calls: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.settimeout(2)
            try:
                calls.append(connection.recv(200) or b"(connected)")
            except OSError:
                calls.append(b"(connected)")
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], calls
    finally:
        time.sleep(0.5)  # a late connection still counts
        stop.set()
        thread.join()
        server.close()


def fetching_files(port: int) -> dict[str, bytes]:
    """Files naming URLs that LibreOffice fetches as it opens them: HTML saved as WPS's
    .wps and .et (a stylesheet and an image), an RTF .doc with INCLUDEPICTURE."""
    url = f"http://127.0.0.1:{port}"
    html = (
        f'<html><head><link rel="stylesheet" href="{url}/x.css"></head><body>'
        f'<table><tr><td>单位</td><td>市中区</td></tr></table><img src="{url}/i.png">'
        "</body></html>"
    ).encode()
    field = r'{\field{\*\fldinst INCLUDEPICTURE "URL/p.png" \\d}{\fldrslt x}}'
    rtf = r"{\rtf1\ansi" + field.replace("URL", url) + "}"
    return {"旬报.wps": html, "旬报.et": html, "旬报.doc": rtf.encode()}


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def look(pid: int) -> tuple[str, str, str] | None:
    """(cmdline, environ, limits) of a process, None once it is gone."""
    try:
        proc = Path(f"/proc/{pid}")
        command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        return command, (proc / "environ").read_bytes().decode(), (proc / "limits").read_text()
    except (OSError, UnicodeDecodeError):
        return None


def limit(limits: str, name: str) -> tuple[str, str]:
    (line,) = [line for line in limits.splitlines() if line.startswith(name)]
    soft, hard = line[len(name) :].split()[:2]
    return soft, hard


def assert_clean(environ: str) -> None:
    assert "XUNBAO" not in environ and SECRET not in environ, environ
    assert "PASSWORD" not in environ.upper(), environ


def assert_hard(limits: str) -> None:
    soft, hard = limit(limits, "Max address space")
    assert hard != "unlimited" and int(soft) <= int(hard) <= 2048 * MB, limits
    soft, hard = limit(limits, "Max cpu time")
    assert hard != "unlimited" and int(soft) <= int(hard), limits


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUNBAO_IMAP_PASSWORD", SECRET)
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SECRET)


def test_this_machine_has_every_wall() -> None:
    assert walls.available() == walls.Kind("bwrap", confined=True)
    assert walls.missing() == []


def test_a_reader_holds_no_secret_and_its_limits_are_hard(secrets: None, tmp_path: Path) -> None:
    ordinary = (SAMPLES / "0918-0930-shizhongqu.eml").read_bytes()
    chosen = Limits(workers=1)
    with Pool(chosen, tmp_path) as pool:
        ((_, read),) = pool.read([("ok", ordinary)], lambda _: None)
        assert isinstance(read, ReadMail) and read.readings[0].value == 2650
        (worker,) = pool.workers
        seen = [s for pid in descendants(worker.process.pid) if (s := look(pid))]
    readers = [s for s in seen if "pipeline.reading.reader_process" in s[0] and "bwrap" not in s[0]]
    assert readers, seen
    for _, environ, limits in readers:
        assert_clean(environ)
        assert f"HOME={worker.folder}\0" in environ
        # Soft: the ordinary limit; hard: OCR's, to which only the reader itself may widen.
        expected = (str(chosen.memory_mb * MB), str(chosen.ocr_memory_mb * MB))
        assert limit(limits, "Max address space") == expected
        assert_hard(limits)


def test_a_reader_reaches_no_listener_writes_nowhere_and_sees_no_secret(
    secrets: None, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    (storage / "originals").mkdir(parents=True)
    (storage / "ledger.sqlite").write_text("accounts")
    folder = storage / "tmp" / "1" / "w"
    folder.mkdir(parents=True)
    password = tmp_path / "etc" / "imap.secret"  # a password_file, mode 0600, its owner's
    password.parent.mkdir()
    password.write_text(SECRET)
    password.chmod(0o600)
    script = f"""
import os, socket, sys
port = int(sys.argv[1])
for target in ("127.0.0.1", "::1"):
    try:
        socket.create_connection((target, port), timeout=2)
        print("connected", target)
    except OSError as exc:
        print("refused", target, exc.errno)
try:
    socket.getaddrinfo("mobile.events.data.microsoft.com", 443)
    print("resolved")
except OSError:
    print("no dns")
for path in ({str(walls.CODE / "x")!r}, "/usr/x", {str(storage / "x")!r}):
    try:
        open(path, "w")
        print("wrote", path)
    except OSError:
        pass
open(os.path.join(os.environ["TMPDIR"], "mine"), "w").write("ok")
print("storage", sorted(os.listdir({str(storage)!r})))
try:
    print("parent", open("/proc/{os.getpid()}/environ").read())
except OSError:
    print("no parent")
print("env", sorted(os.environ))
print("password", repr(open({str(password)!r}).read()))
"""
    with listener() as (port, calls):
        argv = [sys.executable, "-c", script, str(port)]
        done = subprocess.run(
            walls.command(walls.available(), argv, folder, storage, [password]),
            env=walls.environment(folder),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    said = done.stdout.splitlines()
    assert calls == []
    assert [s.split()[0] for s in said[:3]] == ["refused", "refused", "no"]
    assert not [s for s in said if s.startswith(("wrote", "connected", "resolved"))]
    assert "storage ['tmp']" in said  # the ledger and the originals are hidden
    assert "no parent" in said or not any(SECRET in s for s in said)
    assert (folder / "mine").read_text() == "ok"
    env = next(s for s in said if s.startswith("env"))
    assert "XUNBAO" not in env and "PASSWORD" not in env
    assert "password ''" in said  # the password file reads empty
    assert password.read_text() == SECRET


def test_libreoffice_fetches_nothing_a_mail_names(secrets: None, tmp_path: Path) -> None:
    with listener() as (port, calls):
        files = fetching_files(port)
        # Without the walls LibreOffice does fetch: the files are real triggers.
        _convert_unwalled(tmp_path / "control", "form.wps", files["旬报.wps"])
        time.sleep(0.5)
        assert calls, "LibreOffice fetched nothing even without the walls"
        calls.clear()
        mails = [(name, mail_with(name, data, n=i)) for i, (name, data) in enumerate(files.items())]
        seen: list[tuple[str, str, str]] = []
        with Pool(Limits(workers=1, seconds=120), tmp_path / "run") as pool:
            watching = threading.Event()
            watcher = threading.Thread(target=_watch_soffice, args=(pool, seen, watching))
            watcher.start()
            try:
                results = dict(pool.read(mails, lambda _: None))
            finally:
                watching.set()
                watcher.join()
    assert calls == []
    assert set(results) == set(files)
    assert seen, "LibreOffice was never seen running"
    for _, environ, limits in seen:
        assert_clean(environ)
        assert_hard(limits)


def _convert_unwalled(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    profile = f"-env:UserInstallation={(folder / 'profile').as_uri()}"
    argv = [SOFFICE, profile, "--headless", "--norestore", "--convert-to", "docx"]
    argv += ["--outdir", str(folder), str(folder / name)]
    for _ in range(2):  # 81: started again once it has made its profile
        if subprocess.run(argv, capture_output=True, timeout=120).returncode != 81:
            break


def _watch_soffice(pool: Pool, seen: list[tuple[str, str, str]], done: threading.Event) -> None:
    while not done.is_set():
        for worker in list(pool.workers):
            for pid in descendants(worker.process.pid):
                found = look(pid)
                if found and "soffice.bin" in found[0] and "setpriv" not in found[0]:
                    seen.append(found)
        time.sleep(0.02)


def test_status_and_check_config_name_a_missing_wall(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = write_config(tmp_path, mailbox={"source": "directory", "path": str(tmp_path / "inbox")})
    walled = subprocess.run(
        [str(XUNBAO), "check-config", "--config", str(path)], capture_output=True, text=True
    )
    assert "读取沙箱：完整" in walled.stdout, walled.stdout + walled.stderr
    bare = tmp_path / "bin"  # a PATH where neither bubblewrap nor unshare is found
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    for command in ("check-config", "status"):
        done = subprocess.run(
            [str(XUNBAO), command, "--config", str(path)], capture_output=True, text=True, env=env
        )
        assert walls.NO_NETWORK in done.stdout, done.stdout + done.stderr
        assert walls.NO_VIEW in done.stdout


def test_without_bubblewrap_unshare_still_takes_the_network(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    script = (
        "import socket, sys\ntry:\n"
        "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=2)\n"
        "    print('connected')\nexcept OSError:\n    print('refused')"
    )
    with listener() as (port, calls):
        argv = [sys.executable, "-c", script, str(port)]
        done = subprocess.run(
            walls.command(walls.Kind("unshare"), argv, folder, tmp_path),
            env=walls.environment(folder),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.stdout.strip() == "refused", done.stderr
    assert calls == []


def test_a_bubblewrap_that_cannot_build_the_sandbox_is_named(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = write_config(tmp_path, mailbox={"source": "directory", "path": str(tmp_path / "inbox")})
    tools = tmp_path / "bin"  # a bwrap the kernel refuses (as under ProtectKernelTunables)
    tools.mkdir()
    (tools / "bwrap").write_text("#!/bin/sh\necho 'bwrap: Can't mount proc' >&2\nexit 1\n")
    (tools / "bwrap").chmod(0o755)
    (tools / "unshare").symlink_to("/usr/bin/unshare")
    env = {**os.environ, "PATH": str(tools)}
    done = subprocess.run(
        [str(XUNBAO), "status", "--config", str(path)], capture_output=True, text=True, env=env
    )
    assert walls.NO_USE in done.stdout, done.stdout + done.stderr
    assert walls.NO_NETWORK not in done.stdout  # unshare still takes the network away
    assert "读取沙箱" in done.stderr  # and the log says so too


def test_mail_kept_outside_the_storage_is_hidden_too(tmp_path: Path) -> None:
    """Originals, a directory mailbox and the outputs that config.yaml puts elsewhere are
    hidden from a reader like the storage folder: it reads the one mail it is given. They
    are put beside the code, not under /tmp (hidden as a whole anyway)."""
    elsewhere = Path(tempfile.mkdtemp(prefix=".walls-test-", dir=walls.CODE))
    try:
        _hidden_elsewhere(tmp_path, elsewhere)
    finally:
        shutil.rmtree(elsewhere)


def _hidden_elsewhere(tmp_path: Path, elsewhere: Path) -> None:
    places = {name: elsewhere / name for name in ("originals", "inbox", "out")}
    for place in places.values():
        place.mkdir()
        (place / "other.eml").write_text("Subject: someone else's mail")
    path = write_config(
        tmp_path / "run",
        mailbox={"source": "directory", "path": str(places["inbox"])},
        output={"dir": str(places["out"])},
        edit=lambda tree: tree["storage"].update(originals=str(places["originals"])),
    )
    config = config_module.load(path).config
    storage = tmp_path / "run"
    folder = storage / "tmp" / "1" / "w"
    folder.mkdir(parents=True)
    assert set(places.values()) <= set(walls.private(config))
    script = "import os, sys\nfor place in sys.argv[1:]:\n    print(sorted(os.listdir(place)))"
    argv = [sys.executable, "-c", script, *map(str, places.values())]
    done = subprocess.run(
        walls.command(walls.available(), argv, folder, storage, walls.private(config)),
        env=walls.environment(folder),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["[]", "[]", "[]"]
    assert (places["inbox"] / "other.eml").exists()  # hidden, not touched
