"""Reader processes with hard limits, so one hostile attachment cannot stop the mailbox.

Each worker (`python -m pipeline.reading.reader_process`) reads whole messages
(`reading.mails.read_mail`) behind the walls of walls.py (no network, no secrets, a
read-only system, one writable folder of its own) under hard RLIMIT_AS and RLIMIT_CPU (a
per-attachment soft allowance under a hard lifetime budget, after which the worker retires),
and the pool adds a wall-clock deadline. A worker that dies, aborts or runs out of time is
killed with its process group and replaced; its message gets a Chinese reason naming the
attachment it was reading. One reader at a time runs OCR (its engine is the largest thing a
reader loads): the others wait for their turn, so the readers together stay within what one
OCR and the plain readers need. Workers ask the kernel to kill them when xunbao dies
(PR_SET_PDEATHSIG), and start their own children (LibreOffice, antiword) through `setpriv
--pdeathsig KILL`, so a kill -9 leaves no orphan. Temporary files live in a folder of each
worker's own in the pool's under `<storage>/tmp/<pid>` (`runtime.own_scratch`), removed when
the pool closes or, after a kill, by the next start.

Frames are a 4-byte length and a pickle. What comes back from a worker is unpickled with a
whitelist of classes: a reader process that a file managed to subvert cannot make xunbao
run code.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import math
import os
import pickle
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pipeline.config import Limits
from pipeline.reading import walls
from pipeline.runtime import own_scratch

if TYPE_CHECKING:  # the readers' libraries are heavy: only a reader process imports them
    from pipeline.reading.forms.wording import Wording
    from pipeline.reading.mails import ReadMail

MB = 1024 * 1024
Secrets = Sequence[Path]
_log = logging.getLogger("xunbao.sandbox")
CRASHED = "读取时超出内存或时间限制，文件可能已损坏"
QUARANTINED = "多次处理未能完成，已隔离，请人工查看"
DEPTH = 4  # messages queued to one worker at a time
AHEAD = 8  # read-ahead: messages in the pool per worker, begun or read and not yet taken
ERROR_TAIL = 1000  # bytes of a dead reader's stderr, from each end, put in the log
PIPE_SIZE = 1 << 20  # bytes: Linux's default ceiling for an unprivileged pipe
STARTUP = 60.0  # seconds a new reader may take to start, on a busy machine


@dataclass(frozen=True)
class Unread:
    """A message the reader could not finish, and why (Chinese)."""

    reason: str


def crashed(at: str | None) -> Unread:
    """The reader died: `at` is the attachment it was reading, if any."""
    if at:
        return Unread(f"附件《{at}》{CRASHED}")
    return Unread("邮件读取时超出内存或时间限制，邮件可能已损坏")


if TYPE_CHECKING:
    Read: TypeAlias = ReadMail | Unread


class _Worker:
    """One reader process. Up to DEPTH messages are queued to it, so it never waits for
    xunbao between two. Its stdin is non-blocking: what the pipe cannot take now is sent
    when the pool's selector finds it writable, so xunbao never blocks on the pipe and
    needs no writer thread (threads in xunbao's process took the GIL from the ledger's
    every statement: half the ledger's time in a backlog was spent waiting for it)."""

    def __init__(
        self, limits: Limits, tmp: Path, storage: Path, wording: Wording | None, secrets: Secrets
    ) -> None:
        # What the reader says when it dies (an abort in a library, a traceback from a bug
        # of ours) is kept to be logged: the clerk gets the Chinese reason, the log the cause.
        self.errors = tempfile.TemporaryFile(dir=tmp)  # noqa: SIM115 (closed by kill())
        self.folder = Path(tempfile.mkdtemp(prefix="w", dir=tmp))  # its one writable place
        kind = walls.available()
        # In a PID namespace of its own the worker cannot see xunbao's pid: bubblewrap
        # (--die-with-parent, under setpriv --pdeathsig) ends it with xunbao instead.
        parent = 0 if kind.own_pid_namespace else os.getpid()
        argv = [sys.executable, "-m", "pipeline.reading.reader_process", str(parent)]
        self.process = subprocess.Popen(
            walls.command(kind, argv, self.folder, storage, secrets),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            env=walls.environment(self.folder),
            cwd=self.folder,
            process_group=0,  # its own group: killed with every child it started
        )
        assert self.process.stdout and self.process.stdin
        self.inbox = self.process.stdout
        self.outbox = self.process.stdin.fileno()
        os.set_blocking(self.outbox, False)
        with contextlib.suppress(OSError):  # a larger pipe takes a whole message at once
            fcntl.fcntl(self.outbox, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        self.unsent = bytearray()
        self.watched = False  # the pool's selector watches `outbox` for room
        self.buffer = b""
        self.tasks: deque[tuple[int, bytes]] = deque()  # sent, not answered; first is current
        self.at: str | None = None
        self.deadline = 0.0
        self.seconds = limits.seconds
        self.fresh = True  # still starting (importing the readers): not yet on the clock
        self.send(("setup", limits.model_dump(), str(self.folder), wording))

    def send(self, message: object) -> None:
        data = pickle.dumps(message)
        self.unsent += struct.pack(">I", len(data)) + data
        self.flush()

    def flush(self) -> None:
        """Write what the pipe takes now; the rest waits for the selector."""
        while self.unsent:
            try:
                written = os.write(self.outbox, self.unsent)
            except BlockingIOError:
                return
            except OSError:  # the reader is gone: the end of its output says so
                self.unsent.clear()
                return
            del self.unsent[:written]

    def start(self, task: int, raw: bytes) -> None:
        if not self.tasks:
            self._clock()
        self.tasks.append((task, raw))
        self.send(("read", raw))

    def _clock(self) -> None:
        self.at = None
        self.deadline = time.monotonic() + self.seconds + STARTUP * self.fresh

    def finished(self) -> int:
        task, _ = self.tasks.popleft()
        if self.tasks:
            self._clock()
        return task

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
        self.unsent.clear()
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # type: ignore[union-attr]
        self.inbox.close()
        self.errors.close()

    def last_words(self) -> str:
        """What the reader wrote to stderr: its start (the cause: an abort's message, a
        traceback's head) and its end (a traceback's last line), ERROR_TAIL bytes each."""
        size = self.errors.seek(0, os.SEEK_END)
        self.errors.seek(0)
        head = self.errors.read(ERROR_TAIL)
        if size > 2 * ERROR_TAIL:
            self.errors.seek(size - ERROR_TAIL)
            head += b"\n...\n" + self.errors.read()
        elif size > ERROR_TAIL:
            head += self.errors.read()
        return head.decode("utf-8", "replace").strip()


class Pool:
    """`read(messages)` yields (key, Read) in the order given, reading on every worker."""

    def __init__(
        self, limits: Limits, storage: Path, wording: Wording | None = None, secrets: Secrets = ()
    ) -> None:
        self.limits, self.wording, self.storage = limits, wording, storage
        self.secrets = secrets  # password files: shown empty to the readers
        self.tmp = Path(tempfile.mkdtemp(prefix="readers-", dir=own_scratch(storage)))
        self.size = limits.workers or os.cpu_count() or 1
        self.workers: list[_Worker] = []
        self.selector = selectors.DefaultSelector()
        self.ocr: _Worker | None = None  # the one reader allowed to run OCR now
        self.ocr_queue: deque[_Worker] = deque()  # readers waiting for their turn

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.workers.clear()
        self.selector.close()
        # Its own folder only: the process's (tmp/<pid>) may hold the desk's temporary files.
        shutil.rmtree(self.tmp, ignore_errors=True)

    def read(
        self, messages: Iterable[tuple[Any, bytes]], begun: Callable[[Any], None]
    ) -> Iterator[tuple[Any, Read]]:
        """`begun(key)` runs when a reader reports that it has begun the message (the attempt
        record): a message only queued to a reader is not blamed if xunbao dies meanwhile.
        `messages` is drawn lazily, as readers have room, so reading overlaps its making."""
        pending = iter(enumerate(messages))
        keys: dict[int, Any] = {}
        done: dict[int, Read] = {}
        emitted = 0
        drawn = False  # every message has been drawn from `messages`
        while True:
            # Bounded read-ahead: past a slow message the others would all be begun (and
            # held in memory) before the slow one is done.
            while len(keys) < AHEAD * self.size and (worker := self._free()) is not None:
                item = next(pending, None)
                if item is None:
                    drawn = True
                    break
                number, (key, raw) = item
                keys[number] = key
                worker.start(number, raw)
            while emitted in done:
                yield keys.pop(emitted), done.pop(emitted)
                emitted += 1
            # A full read-ahead emptied by the line above is not the end: draw again.
            if not keys and drawn:
                return
            if not keys:
                continue
            done.update(self._wait(lambda number: begun(keys[number])))

    def _free(self) -> _Worker | None:
        """The least busy worker with room in its queue, started if need be."""
        if len(self.workers) < self.size and all(w.tasks for w in self.workers):
            worker = _Worker(self.limits, self.tmp, self.storage, self.wording, self.secrets)
            self.selector.register(worker.inbox, selectors.EVENT_READ, worker)
            self.workers.append(worker)
        worker = min(self.workers, key=lambda w: len(w.tasks))
        return worker if len(worker.tasks) < DEPTH else None

    def _watch_room(self) -> None:
        """Watch for room in the pipes of the workers that have something left to send."""
        for worker in self.workers:
            if bool(worker.unsent) != worker.watched:
                if worker.unsent:
                    self.selector.register(worker.outbox, selectors.EVENT_WRITE, worker)
                else:
                    self.selector.unregister(worker.outbox)
                worker.watched = not worker.watched

    def _wait(self, begun: Callable[[int], None]) -> Iterator[tuple[int, Read]]:
        busy = [w for w in self.workers if w.tasks]
        timeout = min(max(0.0, min(w.deadline for w in busy) - time.monotonic()), STARTUP)
        self._watch_room()
        for key, events in self.selector.select(timeout):
            worker: _Worker = key.data
            if worker not in self.workers:  # lost earlier in this round
                continue
            if events & selectors.EVENT_WRITE:
                worker.flush()
                continue
            chunk = os.read(worker.inbox.fileno(), 1 << 20)
            if not chunk:
                yield from self._lost(worker)
                continue
            try:
                for frame in worker.frames(chunk):
                    if frame[0] == "at":
                        if not frame[1]:  # a new message, not an attachment of it
                            begun(worker.tasks[0][0])
                        worker.at, worker.fresh = frame[1], False
                        worker.deadline = time.monotonic() + worker.seconds
                    elif frame[0] == "ocr" and worker is self.ocr:
                        worker.send(("go", None))  # it has the turn already
                    elif frame[0] == "ocr":
                        worker.deadline = math.inf  # waiting for its turn is not reading
                        self.ocr_queue.append(worker)
                        self._next_ocr()
                    elif frame[0] == "retired":
                        yield from self._lost(worker, retired=True)
                        break
                    else:
                        yield worker.finished(), frame[1]
            except (pickle.UnpicklingError, struct.error, EOFError, IndexError):
                yield from self._lost(worker)
        now = time.monotonic()
        for worker in busy:
            if worker in self.workers and worker.tasks and worker.deadline <= now:
                yield from self._lost(worker)

    def _lost(self, worker: _Worker, retired: bool = False) -> Iterator[tuple[int, Read]]:
        """The worker died or ran out of time on its current message (or retired after
        one); the ones queued behind it, not yet begun, go to a new worker."""
        self.selector.unregister(worker.inbox)
        if worker.watched:
            self.selector.unregister(worker.outbox)
        self.workers.remove(worker)
        words = "" if retired else worker.last_words()
        if words:
            _log.warning(
                "读取进程 %s 异常结束（附件：%s）：%s", worker.process.pid, worker.at, words
            )
        worker.kill()
        shutil.rmtree(worker.folder, ignore_errors=True)
        self._next_ocr()
        queued = list(worker.tasks)
        if queued and not retired:
            task, _ = queued.pop(0)
            yield task, crashed(worker.at)
        for number, raw in queued:
            replacement = self._free() or self.workers[0]
            replacement.start(number, raw)

    def _next_ocr(self) -> None:
        """Give the OCR turn to the next waiting reader once its holder has ended (a reader
        retires after its OCR message: its engine stays mapped)."""
        if self.ocr in self.workers:
            return
        self.ocr = None
        while self.ocr_queue:
            worker = self.ocr_queue.popleft()
            if worker in self.workers:
                self.ocr = worker
                worker.deadline = time.monotonic() + worker.seconds
                worker.send(("go", None))
                return


_ALLOWED = {
    ("pipeline.reading.mails", "ReadMail"),
    ("pipeline.reading.sandbox", "Unread"),
    ("pipeline.mailbox.parse", "Mail"),
    ("pipeline.mailbox.parse", "Attachment"),
    ("pipeline.reading.forms.fields", "Reading"),
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
