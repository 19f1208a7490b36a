"""The reader's side of the sandbox (`python -m pipeline.reading.reader_process`, started by
sandbox.Pool behind the walls of walls.py): frames in on stdin, `reading.read_mail` under
hard RLIMIT_AS and RLIMIT_CPU, frames out on stdout.

A message is answered ("done", ReadMail | Unread) after ("at", attachment) for each
attachment, so xunbao can name the one a reader died on. Before OCR the reader asks for
the turn ("ocr") and waits for "go": one reader at a time maps OCR's engine. It retires
("retired") after an OCR message or once half its CPU budget is spent.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import resource
import signal
import struct
import sys
import tempfile
from collections import deque
from typing import Any

from pipeline.config import Limits
from pipeline.reading import walls
from pipeline.reading.sandbox import MB, Unread, crashed

PR_SET_PDEATHSIG = 1
BROKEN = "邮件结构严重损坏，无法解析，请在邮箱中查看原件"
LIFETIME = 100  # a reader's hard CPU budget, in attachments' allowances; it retires at half


def _die_with(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent and os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def serve(parent: int) -> None:
    """Read each message xunbao sends until the CPU budget is half spent or OCR ran."""
    _die_with(parent)
    from pipeline.reading.forms import ocr
    from pipeline.reading.forms.wording import DEFAULT_WORDING
    from pipeline.reading.mails import read_mail

    tasks = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    # Libraries that print must not corrupt the frames.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)

    def frame() -> Any:
        head = tasks.read(4)
        if len(head) < 4:
            sys.exit(0)
        return pickle.loads(tasks.read(struct.unpack(">I", head)[0]))

    early: deque[Any] = deque()  # messages queued while this reader waited for its OCR turn

    def receive() -> Any:
        return early.popleft() if early else frame()

    def answer(message: object) -> None:
        data = pickle.dumps(message)
        answers.write(struct.pack(">I", len(data)) + data)
        answers.flush()

    _, settings, tmp, wording = receive()
    limits = Limits(**settings)
    # Hard limits, set before any attachment is touched: neither this process nor a
    # converter it starts (they inherit them) can raise them again.
    memory, widest = limits.memory_mb * MB, max(limits.memory_mb, limits.ocr_memory_mb) * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, widest))
    budget = _spent() + int(limits.seconds * LIFETIME) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (budget, budget))
    tempfile.tempdir = tmp  # HOME, TMPDIR and XDG_* are this folder too (walls.environment)

    def at(name: str) -> None:
        # A fresh CPU allowance per attachment: SIGXCPU ends the process past it.
        allowance = min(_spent() + int(limits.seconds) + 1, budget)
        resource.setrlimit(resource.RLIMIT_CPU, (allowance, budget))
        answer(("at", name))

    widened: list[bool] = []

    def widen() -> None:
        if widened:  # a second photo, or a scanned PDF's next page: the turn is this one's
            return
        # One reader in OCR at a time (its engine is the biggest thing a reader loads):
        # xunbao says when it is this one's turn, its clock stopped meanwhile.
        answer(("ocr", None))
        while (told := frame())[0] != "go":
            early.append(told)
        # OCR's own limit; once its engine has mapped that much the process stays that
        # big, so it ends after this message and a fresh reader takes over.
        resource.setrlimit(resource.RLIMIT_AS, (widest, widest))
        walls.quiet_onnxruntime()
        widened.append(True)

    ocr.before_ocr.append(widen)
    while not widened:
        _, raw = receive()
        if _spent() * 2 > budget:  # a fresh reader takes this message and the rest
            break
        at("")  # the message is begun: xunbao records the attempt now
        try:
            answer(("done", read_mail(raw, limits, wording or DEFAULT_WORDING, at)))
        except MemoryError:
            answer(("done", crashed(None)))
        except Exception:  # mail-parser gave up on the MIME structure
            answer(("done", Unread(BROKEN)))
    answer(("retired", None))


def _spent() -> int:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return int(used.ru_utime + used.ru_stime)


if __name__ == "__main__":
    # Through the package, so what this module defines is named pipeline.reading.reader_process,
    # not __main__ (what is pickled back is defined elsewhere: sandbox, reading, mail).
    from pipeline.reading.reader_process import serve

    serve(int(sys.argv[1]))
