"""Reader processes with hard limits, so one hostile attachment cannot stop the mailbox.

Each worker (`python -m pipeline.sandbox`) reads whole messages (`reading.read_mail`) under
RLIMIT_AS and a per-attachment RLIMIT_CPU, and the pool adds a wall-clock deadline. A worker
that dies, aborts or runs out of time is killed with its process group and replaced; its
message gets a Chinese reason naming the attachment it was reading. Workers ask the kernel
to kill them when xunbao dies (PR_SET_PDEATHSIG), and start their own children
(LibreOffice, antiword) through `setpriv --pdeathsig KILL`, so a kill -9 leaves no orphan.
Temporary files live under `<storage>/tmp`, emptied when a pool starts.

Frames are a 4-byte length and a pickle. What comes back from a worker is unpickled with a
whitelist of classes: a reader process that a file managed to subvert cannot make xunbao
run code.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import pickle
import resource
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Limits
from .reading import CRASHED, ReadMail, read_mail

MB = 1024 * 1024
PR_SET_PDEATHSIG = 1
STARTUP = 60.0  # seconds a new reader may take to start, on a busy machine
BROKEN = "邮件结构严重损坏，无法解析，请在邮箱中查看原件"


@dataclass(frozen=True)
class Unread:
    """A message the reader could not finish, and why (Chinese)."""

    reason: str


def crashed(at: str | None) -> Unread:
    """The reader died: `at` is the attachment it was reading, if any."""
    if at:
        return Unread(f"附件《{at}》{CRASHED}")
    return Unread("邮件读取时超出内存或时间限制，邮件可能已损坏")


Read = ReadMail | Unread


def scratch(storage: Path) -> Path:
    return storage / "tmp"


class _Worker:
    def __init__(self, limits: Limits, tmp: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.sandbox", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            process_group=0,  # its own group: killed with every child it started
        )
        assert self.process.stdin and self.process.stdout
        self.inbox = self.process.stdout
        self.buffer = b""
        self.task: int | None = None
        self.at: str | None = None
        self.deadline = 0.0
        self.seconds = limits.seconds
        self.fresh = True  # still starting (importing the readers): not yet on the clock
        self.send(("setup", limits.model_dump(), str(tmp)))

    def send(self, message: object) -> None:
        data = pickle.dumps(message)
        assert self.process.stdin
        self.process.stdin.write(struct.pack(">I", len(data)) + data)
        self.process.stdin.flush()

    def start(self, task: int, raw: bytes) -> None:
        self.task, self.at = task, None
        self.deadline = time.monotonic() + self.seconds + STARTUP * self.fresh
        self.send(("read", raw))

    def frames(self, chunk: bytes) -> Iterator[Any]:
        self.buffer += chunk
        while len(self.buffer) >= 4:
            size = struct.unpack(">I", self.buffer[:4])[0]
            if len(self.buffer) < 4 + size:
                return
            data, self.buffer = self.buffer[4 : 4 + size], self.buffer[4 + size :]
            yield _Restricted(io.BytesIO(data)).load()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream:
                stream.close()


class Pool:
    """`read(messages)` yields (key, Read) in the order given, reading on every worker."""

    def __init__(self, limits: Limits, storage: Path) -> None:
        self.limits = limits
        self.tmp = scratch(storage)
        shutil.rmtree(self.tmp, ignore_errors=True)  # what a killed run left behind
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.size = limits.workers or os.cpu_count() or 1
        self.idle: list[_Worker] = []
        self.selector = selectors.DefaultSelector()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.idle:
            worker.kill()
        self.idle.clear()
        self.selector.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def read(
        self, messages: Iterable[tuple[Any, bytes]], before: Callable[[Any], None]
    ) -> Iterator[tuple[Any, Read]]:
        """`before(key)` runs just before a message goes to a worker (the attempt record)."""
        pending = iter(enumerate(messages))
        keys: dict[int, Any] = {}
        done: dict[int, Read] = {}
        busy = 0
        emitted = 0
        exhausted = False
        while True:
            while not exhausted and busy < self.size:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                    break
                number, (key, raw) = item
                keys[number] = key
                before(key)
                worker = self.idle.pop() if self.idle else _Worker(self.limits, self.tmp)
                worker.start(number, raw)
                self.selector.register(worker.inbox, selectors.EVENT_READ, worker)
                busy += 1
            while emitted in done:
                yield keys.pop(emitted), done.pop(emitted)
                emitted += 1
            if busy == 0:
                return
            for number, result in self._wait():
                done[number] = result
                busy -= 1

    def _wait(self) -> Iterator[tuple[int, Read]]:
        workers = [key.data for key in self.selector.get_map().values()]
        timeout = max(0.0, min(w.deadline for w in workers) - time.monotonic())
        ready = self.selector.select(timeout)
        for key, _ in ready:
            worker: _Worker = key.data
            chunk = os.read(worker.inbox.fileno(), 1 << 20)
            if not chunk:
                yield self._lost(worker)
                continue
            try:
                for frame in worker.frames(chunk):
                    if frame[0] == "at":
                        worker.at, worker.fresh = frame[1], False
                        worker.deadline = time.monotonic() + worker.seconds
                    else:
                        yield self._finished(worker, frame[1])
            except (pickle.UnpicklingError, struct.error, EOFError):
                yield self._lost(worker)
        now = time.monotonic()
        for worker in workers:
            if worker.task is not None and worker.deadline <= now:
                yield self._lost(worker)

    def _finished(self, worker: _Worker, result: Read) -> tuple[int, Read]:
        number = worker.task
        assert number is not None
        self.selector.unregister(worker.inbox)
        worker.task = None
        self.idle.append(worker)
        return number, result

    def _lost(self, worker: _Worker) -> tuple[int, Read]:
        number = worker.task
        assert number is not None
        self.selector.unregister(worker.inbox)
        worker.task = None
        worker.kill()
        shutil.rmtree(self.tmp / str(worker.process.pid), ignore_errors=True)
        return number, crashed(worker.at)


_ALLOWED = {
    ("pipeline.reading", "ReadMail"),
    ("pipeline.sandbox", "Unread"),
    ("pipeline.mail", "Mail"),
    ("pipeline.mail", "Attachment"),
    ("pipeline.forms.fields", "Reading"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "timezone"),
    ("datetime", "timedelta"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
}


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not expected from a reader")
        return super().find_class(module, name)


# ── the worker process ─────────────────────────────────────────
def _die_with(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _worker(parent: int) -> None:
    _die_with(parent)
    tasks = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    # Libraries that print must not corrupt the frames.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)

    def receive() -> Any:
        head = tasks.read(4)
        if len(head) < 4:
            sys.exit(0)
        return pickle.loads(tasks.read(struct.unpack(">I", head)[0]))

    def answer(message: object) -> None:
        data = pickle.dumps(message)
        answers.write(struct.pack(">I", len(data)) + data)
        answers.flush()

    _, settings, tmp = receive()
    limits = Limits(**settings)
    memory = limits.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, resource.RLIM_INFINITY))
    folder = Path(tmp) / str(os.getpid())
    folder.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(folder)
    # Libraries and LibreOffice write caches under HOME (onnxruntime, dconf): keep them here.
    for variable in ("TMPDIR", "HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"):
        os.environ[variable] = str(folder)

    def at(name: str) -> None:
        # A fresh CPU allowance per attachment: SIGXCPU ends the process past it.
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(used.ru_utime + used.ru_stime)
        allowance = spent + int(limits.seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (allowance, resource.RLIM_INFINITY))
        answer(("at", name))

    while True:
        _, raw = receive()
        at("")
        try:
            answer(("done", read_mail(raw, limits, at)))
        except MemoryError:
            answer(("done", crashed(None)))
        except Exception:  # mail-parser gave up on the MIME structure
            answer(("done", Unread(BROKEN)))


if __name__ == "__main__":
    # Through the package, so what is pickled names pipeline.sandbox, not __main__.
    from pipeline.sandbox import _worker as worker

    worker(int(sys.argv[1]))
