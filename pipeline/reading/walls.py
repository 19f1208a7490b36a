"""The walls around a reader process: what it may reach, see, inherit and spend.

A reader runs inside bubblewrap: its own network namespace (a loopback with nothing on
it, so no name lookup, no connection to the office LAN or to xunbao's own listeners), its
own PID namespace (xunbao's processes and their /proc/<pid>/environ are out of sight), a
read-only view of the system with the places that hold xunbao's data or other users'
files (the storage folder, /tmp, /run, home; the originals, a directory mailbox and the
outputs wherever config.yaml puts them) hidden behind empty tmpfs, the password files
config.yaml names shown empty, and one writable folder of its own. Its environment is
built here from nothing: no password, no `XUNBAO_*`. The kernel confines it (confine.py,
before the reader starts): it may execute only the programs in CONVERTERS and the
interpreter (Landlock: a shell, a compiler, ldconfig, a binary written into its folder all
fail), and may not open a network socket at all (seccomp), so nothing even tries. Every converter
it starts (LibreOffice, antiword, pdftoppm) inherits all of it, and the hard resource
limits the reader sets on itself before it reads anything.

Where bubblewrap is missing, `unshare` still takes the network away (as root, or through
a user namespace); where neither works the reader runs with the environment and limits
alone, and `missing()` says which wall is not there (`xunbao status`, `check-config`);
likewise where the kernel has no Landlock or seccomp (or a unit's SystemCallFilter forbids
them).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pipeline
from pipeline.reading import confine

if TYPE_CHECKING:
    from pipeline.config import Config

CODE = Path(pipeline.__file__).resolve().parent.parent  # what the reader imports
PATH = "/usr/local/bin:/usr/bin:/bin"
SCRATCH_TMP = 64 << 20  # bytes of the reader's own /tmp (memory no rlimit counts)
# The only programs a reader (and a preview process) may execute, besides the interpreter
# and its dynamic loader: what the readers really start. Found on the readers' PATH.
CONVERTERS = (
    "setpriv",  # starts each converter below with PDEATHSIG (forms.legacy.child_command)
    "antiword",  # Word 97 .doc
    "/usr/lib/libreoffice/program/soffice.bin",  # .wps .et .rtf, a .doc antiword refuses
    "unar",  # .rar, through rarfile
    "pdfinfo",  # the desk's page sizes, before rendering
    "pdftoppm",  # the desk's page images
)
# Places that hold other processes' data: hidden from a reader behind an empty tmpfs.
HIDDEN = (Path("/tmp"), Path("/var/tmp"), Path("/run"), Path("/var/run"), Path("/dev/shm"))
NO_NETWORK = "读取进程可以访问网络（未安装 bubblewrap，且无法创建网络命名空间）"
NO_VIEW = "读取进程能看到整个文件系统和其他进程（未安装 bubblewrap：apt-get install bubblewrap）"
NO_CONFINE = (
    "读取进程可以执行任何程序、尝试网络连接（内核未启用 Landlock 或 seccomp，"
    "或 systemd 单元的 SystemCallFilter 禁止了它们）"
)
NO_USE = (
    "读取进程能看到整个文件系统和其他进程（bubblewrap 无法建立沙箱：用户命名空间被禁用，"
    "或 systemd 单元设置了 ProtectKernelTunables、ProtectKernelLogs、ProcSubset）"
)


@dataclass(frozen=True)
class Kind:
    """How readers are walled in: "bwrap", "unshare" or "" (environment and limits only)."""

    tool: str
    confined: bool = False  # exec only CONVERTERS (Landlock), no network socket (seccomp)

    @property
    def own_pid_namespace(self) -> bool:
        return self.tool == "bwrap"


def environment(folder: Path) -> dict[str, str]:
    """Everything a reader process is given: its folder as home and temp, a plain PATH,
    a UTF-8 locale and where xunbao's code is. Nothing is copied from xunbao's own."""
    here = str(folder)
    env = {
        "PATH": PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": str(CODE),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "SAL_USE_VCLPLUGIN": "svp",  # LibreOffice: no display, no desktop integration
    }
    for name in ("HOME", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"):
        env[name] = here
    return env


def private(config: Config) -> list[Path]:
    """What a reader must not read besides the storage folder: the password files
    config.yaml names (it sees them empty) and the folders holding mail or what was made of
    it wherever config.yaml puts them (hidden behind an empty tmpfs): the originals, a
    directory mailbox (the other mails in it), the outputs."""
    named = (config.mailbox.password_file, config.delivery.password_file)
    files = [config.resolve(p) for p in named if p is not None]
    ledger = config.resolve(config.storage.path)
    originals = config.storage.originals
    folders = [config.resolve(originals) if originals else ledger.parent / "originals"]
    folders.append(config.resolve(config.output.dir))
    if config.mailbox.source == "directory" and config.mailbox.path:
        folders.append(config.resolve(config.mailbox.path))
    return files + folders


def _bwrap_arguments(folder: Path, storage: Path, secrets: Sequence[Path] = ()) -> list[str]:
    """`secrets`: walls.private's paths, files shown empty, folders hidden."""
    arguments = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    arguments += ["--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    hidden = [p for p in HIDDEN if p.is_dir() and not p.is_symlink()]
    home = Path.home()
    if home != Path("/") and not _holds_code(home):
        hidden.append(home)
    hidden.append(storage.resolve())
    # The private folders (walls.private) too, unless the code is in one (a checkout's root).
    hidden += [p.resolve() for p in secrets if p.is_dir() and not _holds_code(p.resolve())]
    # Parents first: a folder inside another hidden one (HOME under the storage, say) gets
    # its tmpfs on top of its parent's, not buried beneath it where it cannot be remounted.
    hidden = sorted(dict.fromkeys(hidden), key=lambda p: len(p.parts))
    # The interpreter and xunbao's code stay visible (read-only) even where they live in a
    # hidden folder (a checkout under /tmp): bound back in, deeper mounts above them.
    shown = [p for p in _code_paths() if any(h == p or h in p.parents for h in hidden)]
    mounts = sorted(
        [(p, "hide") for p in hidden] + [(p, "show") for p in shown], key=lambda m: len(m[0].parts)
    )
    for path, how in mounts:
        if how == "show":
            arguments += ["--ro-bind", str(path), str(path)]
            continue
        # LibreOffice writes to /tmp whatever TMPDIR says: a small tmpfs of its own there
        size = ["--size", str(SCRATCH_TMP)] if path == Path("/tmp") else []
        arguments += [*size, "--tmpfs", str(path)]
    arguments += ["--bind", str(folder), str(folder), "--chdir", str(folder)]
    for secret in secrets:
        if secret.is_file():  # not /dev/null: on a nodev tmpfs a device reads as EACCES
            arguments += ["--ro-bind", str(_empty(folder.parent)), str(secret.resolve())]
    # The tmpfs are memory no rlimit counts: read-only but /tmp (a small one, for
    # LibreOffice), so the one folder is nearly all a reader writes.
    for path in [Path("/dev"), *(p for p in hidden if p != Path("/tmp"))]:
        arguments += ["--remount-ro", str(path)]
    return arguments


def _empty(place: Path) -> Path:
    """An empty read-only file beside the reader's folder, to show in a secret's place."""
    empty = place / ".empty"
    if not empty.is_file() or empty.stat().st_size:
        empty.unlink(missing_ok=True)
        os.close(os.open(empty, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400))
    return empty


def _code_paths() -> list[Path]:
    """What a reader must see: the interpreter, its virtualenv and xunbao's code."""
    return list(dict.fromkeys([Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), CODE]))


def _holds_code(path: Path) -> bool:
    """Whether hiding `path` would hide the interpreter or xunbao's code."""
    return any(p == path or path in p.parents for p in _code_paths())


def programs() -> list[str]:
    """The files a walled process may execute: CONVERTERS found here, the interpreter and
    the dynamic loader each of them names (the kernel opens it to start any program)."""
    found = [shutil.which(name, path=PATH) for name in CONVERTERS]
    files = [Path(p).resolve() for p in [sys.executable, *found] if p]
    loaders = [loader for f in files if (loader := _elf_interpreter(f))]
    return [str(p) for p in dict.fromkeys(files + loaders)]


def _elf_interpreter(path: Path) -> Path | None:
    """PT_INTERP of a 64-bit little-endian ELF file (x86_64, aarch64), resolved."""
    try:
        with path.open("rb") as file:
            head = file.read(64)
            if head[:4] != b"\x7fELF" or head[4:6] != b"\x02\x01":
                return None
            (table,) = struct.unpack_from("<Q", head, 0x20)  # e_phoff
            size, count = struct.unpack_from("<HH", head, 0x36)  # e_phentsize, e_phnum
            for index in range(count):
                file.seek(table + index * size)
                kind, _, offset, _, _, length = struct.unpack("<IIQQQQ", file.read(40))
                if kind == 3:  # PT_INTERP
                    file.seek(offset)
                    name = file.read(length).rstrip(b"\0").decode()
                    return Path(name).resolve()
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    return None


def _confined(argv: list[str]) -> list[str]:
    """`argv` started by confine.py: only programs() can be executed, no socket opened."""
    launcher = str(Path(confine.__file__).resolve())
    return [sys.executable, "-I", "-S", launcher, *programs(), "--", *argv]


def _unshare_arguments() -> list[str]:
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["--net", *user, "--"]


def command(
    kind: Kind, argv: list[str], folder: Path, storage: Path, secrets: Sequence[Path] = ()
) -> list[str]:
    """`argv` behind the walls `kind` offers, dying with this process (PDEATHSIG)."""
    setpriv = shutil.which("setpriv")
    first = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
    if kind.confined:
        argv = _confined(argv)
    if kind.tool == "bwrap":
        bwrap = shutil.which("bwrap") or "bwrap"
        return [*first, bwrap, *_bwrap_arguments(folder, storage, secrets), "--", *argv]
    if kind.tool == "unshare":
        unshare = shutil.which("unshare") or "unshare"
        return [*first, unshare, *_unshare_arguments(), *argv]
    return [*first, *argv]


def _works(argv: list[str]) -> bool:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, env={"PATH": PATH})
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@functools.cache
def available() -> Kind:
    """The strongest walls this machine can build (tried once per process); short of all
    of them, the log says which are missing (a unit with ProtectKernelTunables, say)."""
    kind = _strongest()
    if missing(kind):
        logging.getLogger("xunbao.sandbox").warning(summary_of(kind))
    return kind


def _strongest() -> Kind:
    """Tried with the very programs `command` will start (found on this process's PATH)."""
    true = shutil.which("true") or "/bin/true"
    confined = _confined([])  # builds the kernel's walls and exits
    if bwrap := shutil.which("bwrap"):
        with tempfile.TemporaryDirectory(prefix="xunbao-walls-") as probe:
            arguments = _bwrap_arguments(Path(probe), Path(probe))
            if _works([bwrap, *arguments, "--", *confined]):
                return Kind("bwrap", confined=True)
            if _works([bwrap, *arguments, "--", true]):
                return Kind("bwrap")
    if unshare := shutil.which("unshare"):
        if _works([unshare, *_unshare_arguments(), *confined]):
            return Kind("unshare", confined=True)
        if _works([unshare, *_unshare_arguments(), true]):
            return Kind("unshare")
    return Kind("", confined=_works(confined))


def missing(kind: Kind | None = None) -> list[str]:
    """The walls a reader would lack here, in Chinese; empty when all are up."""
    kind = kind or available()
    lacking = [] if kind.confined else [NO_CONFINE]
    if kind.tool == "bwrap":
        return lacking
    view = NO_USE if shutil.which("bwrap") else NO_VIEW
    return [view, *lacking] if kind.tool == "unshare" else [NO_NETWORK, view, *lacking]


def summary() -> str:
    return summary_of(available())


def summary_of(kind: Kind) -> str:
    lacking = missing(kind)
    if not lacking:
        walled = "无网络、只读系统、独立临时目录、无密码、只能执行清单内的转换程序、硬性资源限制"
        return f"读取沙箱：完整（bubblewrap：{walled}）。"
    return f"读取沙箱：不完整——{'；'.join(lacking)}。"


def quiet_onnxruntime() -> None:
    """onnxruntime's telemetry off, in a reader about to run OCR (the network is gone too:
    this is the second wall)."""
    try:
        import onnxruntime
    except ImportError:
        return
    with contextlib.suppress(AttributeError):
        onnxruntime.disable_telemetry_events()
