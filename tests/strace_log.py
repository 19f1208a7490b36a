"""What a process tree did, read from `strace -ff -y` logs: the connections it tried and the
files it wrote, each process marked as walled (started by bubblewrap) or not.

Shared by tests/test_hostile_trace.py. Only what strace printed is believed: every connect
(whatever its result), and every open for writing, creat, mkdir, rename, link or symlink
that succeeded. A walled process's writes are judged from its first program on: what
bubblewrap itself does to build the sandbox (its own tmpfs root) is not the reader's.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

SYSCALLS = (
    "connect,clone,clone3,fork,vfork,execve,open,openat,creat,mkdir,mkdirat,"
    "rename,renameat,renameat2,link,linkat,symlink,symlinkat,truncate"
)
# --decode-pids=pidns: a process forked inside bubblewrap's PID namespace is named by the pid
# it has here too (what -ff names its log by).
STRACE = ["strace", "-ff", "--seccomp-bpf", "-y", "-qq", "-s", "400", "--decode-pids=pidns"]
STRACE += ["-e", "signal=none", "-e", f"trace={SYSCALLS}"]
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?: /\* (\d+) in strace's PID NS \*/)?")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_FD_PATH = re.compile(r"^(?:-?\d+|AT_FDCWD)(?:<(.*)>)?$")
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")


@dataclass(frozen=True)
class Connect:
    pid: int
    walled: bool
    family: str
    address: str  # "127.0.0.1:993", a unix path, or what strace printed
    result: str


@dataclass(frozen=True)
class Write:
    pid: int
    walled: bool
    call: str
    path: str


@dataclass
class Tree:
    connects: list[Connect] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    programs: dict[int, list[str]] = field(default_factory=dict)  # pid: programs it ran


def read(prefix: Path, root: int) -> Tree:
    """The logs `strace -ff -o PREFIX` wrote (PREFIX.<pid>), `root` the traced command."""
    logs = {int(p.suffix[1:]): p.read_text(errors="replace") for p in _logs(prefix)}
    children: dict[int, list[int]] = {}
    for pid, text in logs.items():
        for line in text.splitlines():
            found = _CALL.match(line)
            if found and found.group(1) in ("clone", "clone3", "fork", "vfork"):
                child = found.group(4) or found.group(3)
                if child not in ("?", "0") and not child.startswith("-"):
                    children.setdefault(pid, []).append(int(child))
    tree = Tree()
    todo = [(root, (False, False))]
    while todo:
        pid, state = todo.pop()
        after = _read_one(tree, pid, logs.get(pid, ""), *state)
        todo += [(child, after) for child in children.get(pid, [])]
    return tree


def _logs(prefix: Path) -> list[Path]:
    return [p for p in prefix.parent.glob(prefix.name + ".*") if p.suffix[1:].isdigit()]


def _read_one(tree: Tree, pid: int, text: str, bubblewrap: bool, inside: bool) -> tuple[bool, bool]:
    """Adds what `pid` did, `bubblewrap` if it descends from bubblewrap, `inside` if a
    program already runs in the sandbox; returns the same for what it starts next."""
    for line in text.splitlines():
        found = _CALL.match(line)
        if not found:
            continue
        call, arguments, result, _ = found.groups()
        if call == "execve" and result == "0":
            program = _strings(arguments)[0]
            tree.programs.setdefault(pid, []).append(program)
            if program.endswith("/bwrap"):
                bubblewrap, inside = True, False
            elif bubblewrap:
                inside = True
        elif call == "connect":
            family, address = _address(arguments)
            tree.connects.append(Connect(pid, bubblewrap, family, address, result))
        elif result != "?" and not result.startswith("-") and (not bubblewrap or inside):
            path = _written(call, arguments)
            if path is not None:
                tree.writes.append(Write(pid, bubblewrap, call, path))
    return bubblewrap, inside


def _strings(arguments: str) -> list[str]:
    """The strings strace printed, its escapes (\\344\\270… for UTF-8) decoded."""
    found = _STRING.findall(arguments)
    return [codecs.escape_decode(s.encode())[0].decode("utf-8", "replace") for s in found]


def _address(arguments: str) -> tuple[str, str]:
    family = re.search(r"sa_family=(\w+)", arguments)
    name = family.group(1) if family else "?"
    if name == "AF_UNIX":
        path = re.search(r'sun_path=(@?"[^"]*")', arguments)
        return name, path.group(1) if path else arguments
    host = re.search(r'inet6?_(?:addr|pton)\((?:AF_INET6?, )?"([^"]+)"', arguments)
    port = re.search(r"port=htons\((\d+)\)", arguments)
    if host and port:
        return name, f"{host.group(1)}:{port.group(1)}"
    return name, arguments


def _written(call: str, arguments: str) -> str | None:
    """The path a successful call wrote (created, truncated, renamed to), else None."""
    parts = _split(arguments)
    if call in ("open", "openat"):
        flags = parts[2] if call == "openat" else parts[1]
        if not any(flag in flags for flag in _WRITE_FLAGS):
            return None
        return _join(parts[0], parts[1]) if call == "openat" else _join("", parts[0])
    if call in ("creat", "mkdir", "truncate"):
        return _join("", parts[0])
    if call == "mkdirat":
        return _join(parts[0], parts[1])
    if call in ("rename", "link", "symlink"):
        return _join("", parts[1])
    if call in ("renameat", "renameat2", "linkat"):
        return _join(parts[2], parts[3])
    if call == "symlinkat":
        return _join(parts[1], parts[2])
    return None


def _split(arguments: str) -> list[str]:
    """Top-level comma-separated arguments (strings and braces kept whole)."""
    parts, depth, quoted, current = [], 0, False, ""
    escaped = False
    for char in arguments:
        if quoted:
            current += char
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char in "{[<":
            depth += 1
        elif char in "}]>":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    parts.append(current.strip())
    return parts


def _join(directory: str, name: str) -> str:
    """`name` (a strace string) under `directory` (AT_FDCWD, or an fd strace named)."""
    path = _strings(name)[0] if _strings(name) else name
    if path.startswith("/") or not directory:
        return path
    found = _FD_PATH.match(directory)
    base = found.group(1) if found and found.group(1) else ""
    return f"{base}/{path}" if base else path  # relative to the cwd: left relative
