"""The kernel's walls around a reader (confine.py): behind walls.command only
walls.CONVERTERS and the interpreter can be executed (Landlock), no network socket can be
opened (seccomp), and every converter still does its job for a real reader, under the hard
limits the reader set (LibreOffice included)."""

from __future__ import annotations

import ctypes.util
import errno
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_sandbox import FORMS, mail_with
from test_walls import _watch_soffice, limit

from pipeline.config import Limits
from pipeline.reading import walls
from pipeline.reading.mails import ReadMail
from pipeline.reading.sandbox import MB, Pool

ZOO = Path(__file__).parent / "fixtures" / "zoo"
RAR = Path(__file__).parent / "fixtures" / "rar" / "rar5-solid.rar"
# What a library that shells out would start (ctypes.util.find_library: ldconfig, gcc,
# ld, objdump), a shell, and a program the reader wrote into its own folder.
FORBIDDEN = ["sh", "dash", "gcc", "cc", "ld", "ldconfig", "objdump", "env", "true"]
TRY_ALL = """
import ctypes.util, os, shutil, subprocess, sys
def attempt(argv):
    try:
        subprocess.run(argv, capture_output=True, timeout=30)
        return "ran"
    except PermissionError:
        return "refused"
for name in sys.argv[1:]:
    print(attempt([name, "--version"]), name)
dropped = os.path.join(os.environ["TMPDIR"], "dropped")
shutil.copyfile("/usr/bin/true", dropped)
os.chmod(dropped, 0o755)
print(attempt([dropped]), "dropped")
print("find_library", ctypes.util.find_library("m"))
"""


def test_this_machine_builds_the_exec_wall() -> None:
    assert walls.available().confined
    assert walls.NO_CONFINE not in walls.missing()
    listed = walls.programs()
    assert str(Path(sys.executable).resolve()) in listed
    assert any("ld-linux" in p for p in listed), listed  # the loader every program needs
    assert not [p for p in listed if Path(p).name in FORBIDDEN], listed


def test_a_walled_process_executes_only_the_list(tmp_path: Path) -> None:
    forbidden = [shutil.which(name, path=walls.PATH) for name in FORBIDDEN]
    present = [p for p in forbidden if p]
    assert any(Path(p).name == "sh" for p in present)
    assert ctypes.util.find_library("m")  # outside the wall ldconfig answers
    converters = [p for p in walls.programs() if "ld-linux" not in p]
    argv = [sys.executable, "-c", TRY_ALL, *present, *converters]
    storage = tmp_path / "storage"
    folder = storage / "tmp" / "1" / "w"  # where a pool's reader has its folder
    folder.mkdir(parents=True)
    done = subprocess.run(
        walls.command(walls.available(), argv, folder, storage),
        env=walls.environment(folder),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    said = dict(line.split(" ", 1)[::-1] for line in done.stdout.splitlines())
    for program in present:
        assert said[program] == "refused", done.stdout
    for program in converters:
        assert said[program] == "ran", done.stdout
    assert said["dropped"] == "refused"
    assert said["None"] == "find_library"  # ldconfig, gcc and ld all refused


def test_the_exec_wall_cannot_be_left_by_a_child(tmp_path: Path) -> None:
    """A listed program started by a listed program is still walled: python itself may
    run, and the python it starts still cannot run a shell."""
    inner = "import subprocess\ntry:\n    subprocess.run(['sh', '-c', 'true'])\n    print('ran')\n"
    inner += "except PermissionError:\n    print('refused')\n"
    outer = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {inner!r}])"
    done = subprocess.run(
        walls.command(walls.available(), [sys.executable, "-c", outer], tmp_path, tmp_path),
        env=walls.environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "refused", done.stderr


SOCKETS = """
import socket
for family in (socket.AF_INET, socket.AF_INET6, socket.AF_PACKET, socket.AF_UNIX):
    try:
        socket.socket(family, socket.SOCK_DGRAM).close()
        print(family.name, "opened")
    except OSError as exc:
        print(family.name, exc.errno)
"""


@pytest.mark.parametrize("tool", ["bwrap", "unshare"])
def test_a_walled_process_cannot_open_a_network_socket(tool: str, tmp_path: Path) -> None:
    """Not even a connection attempt: socket() itself fails, behind bubblewrap and behind
    unshare alike (a machine without bubblewrap keeps this wall)."""
    storage = tmp_path / "storage"
    folder = storage / "tmp" / "1" / "w"
    folder.mkdir(parents=True)
    kind = walls.Kind(tool, confined=True)
    done = subprocess.run(
        walls.command(kind, [sys.executable, "-c", SOCKETS], folder, storage),
        env=walls.environment(folder),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    said = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    unsupported = str(errno.EAFNOSUPPORT)
    assert said == {
        "AF_INET": unsupported,
        "AF_INET6": unsupported,
        "AF_PACKET": unsupported,
        "AF_UNIX": "opened",  # LibreOffice's own pipe
    }


@pytest.mark.slow
def test_every_converter_still_reads_behind_the_list(tmp_path: Path) -> None:
    """antiword (.doc), LibreOffice (.wps, .et), unar (.rar), the PDF and OCR readers, with
    LibreOffice under the reader's hard limits."""
    scan = tmp_path / "scan"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(FORMS / "form.pdf"), str(scan)],
        check=True,
    )
    files = {
        "表.doc": (FORMS / "form.doc").read_bytes(),
        "表.xls": (FORMS / "form.xls").read_bytes(),
        "表.pdf": (FORMS / "form.pdf").read_bytes(),
        "表.wps": (ZOO / "blank-formula.wps").read_bytes(),
        "表.et": (ZOO / "blank-plain.et").read_bytes(),
        "扫描件.png": scan.with_suffix(".png").read_bytes(),
    }
    mails = [(name, mail_with(name, data, n=i)) for i, (name, data) in enumerate(files.items())]
    mails.append(("表.rar", mail_with("表.rar", RAR.read_bytes(), n=9)))
    seen: list[tuple[str, str, str]] = []
    limits = Limits(workers=1, seconds=120)
    with Pool(limits, tmp_path / "run") as pool:
        watching = threading.Event()
        watcher = threading.Thread(target=_watch_soffice, args=(pool, seen, watching))
        watcher.start()
        try:
            results = dict(pool.read(mails, lambda _: None))
        finally:
            watching.set()
            watcher.join()
    figures = {}
    for name, read in results.items():
        assert isinstance(read, ReadMail), (name, read)
        figures[name] = [(r.unit, r.value) for r in read.readings if r.problem is None]
    assert figures["表.doc"] == [("乐山高新区工会", 160)]
    assert figures["表.xls"] == [("峨眉山景区管委会工会", 150)]
    assert figures["表.pdf"] == [("乐山市交通工会", 20)]
    assert figures["表.wps"] == [("峨眉山市总工会", 5556)]
    assert figures["表.et"] == [("市建设工会", 4465)]
    assert figures["扫描件.png"] == [("乐山市交通工会", 20)]
    rar = results["表.rar"]
    assert isinstance(rar, ReadMail)
    assert not [u for u in rar.unreadable if "RAR" in u or "压缩包" in u], rar.unreadable
    assert seen, "LibreOffice was never seen running"
    memory = (str(limits.memory_mb * MB), str(max(limits.memory_mb, limits.ocr_memory_mb) * MB))
    for _, _, soffice_limits in seen:  # inherited from the reader, hard, not unlimited
        assert limit(soffice_limits, "Max address space") == memory
        soft, hard = limit(soffice_limits, "Max cpu time")
        assert hard != "unlimited" and int(soft) <= int(hard) <= limits.seconds * 100 + 1000


def test_a_missing_confinement_is_named() -> None:
    """Where the kernel refuses Landlock or seccomp (an old kernel, a unit's filter), status
    and check-config say so, whichever other walls stand."""
    for tool in ("bwrap", "unshare", ""):
        assert walls.NO_CONFINE in walls.missing(walls.Kind(tool))
        assert walls.NO_CONFINE not in walls.missing(walls.Kind(tool, confined=True))
    assert walls.missing(walls.Kind("bwrap", confined=True)) == []
    assert "不完整" in walls.summary_of(walls.Kind("bwrap"))
