"""Logging for the long-running service: one line per event, credentials never written.

Text lines for people (`2016-02-10 18:00:03+08:00 INFO 通报已生成…`) or JSON lines for a
log shipper (`--log-json`). A filter on the handler masks the configured passwords (the
values of `mailbox.password_env` / `delivery.password_env` and the password files) and
anything shaped like `password=…`, in messages, arguments and tracebacks alike.
A rich progress bar shows a long backfill, only when stderr is a terminal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pipeline.config import Config

if TYPE_CHECKING:  # only named in signatures: `review` and `messages` read no mail
    from pipeline.mailbox import RawMessage, Source

LOGGER = "xunbao"
MASK = "******"
# Values are ASCII tokens: a Chinese sentence after "授权码：" is a help text, not a secret.
# The class lists ASCII other than whitespace and "',;)]}, rather than excluding all of
# non-ASCII: compiling that exclusion cost every command ~17 ms at start.
_TOKEN = r"(\"[^\"]*\"|'[^']*'|[\x00-\x08\x0e-\x1b!#-&(*+\--:<-\\^-|~\x7f]+)"
_KEYED = re.compile(
    r"((?i:password|passwd|pwd|passphrase|secret|token|auth[_-]?code)|授权码|密码)"
    r"(\"?'?\s*[=:：]\s*)" + _TOKEN
)
_IMAP_LOGIN = re.compile(r"(\b(?i:login)\s+[!-~]+\s+)" + _TOKEN)
_SMTP_AUTH = re.compile(r"(\b(?i:auth\s+(?:plain|login))\s+)" + _TOKEN)


class Redactor(logging.Filter):
    """Masks secrets in a record before any formatter sees it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary words; real authorisation codes are long.
        self.secrets = {s for s in secrets if len(s) >= 4}

    def redact(self, text: str) -> str:
        for value in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(value, MASK)
        text = _KEYED.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        text = _IMAP_LOGIN.sub(lambda m: f"{m.group(1)}{MASK}", text)
        return _SMTP_AUTH.sub(lambda m: f"{m.group(1)}{MASK}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {k: self._value(v) for k, v in fields.items()}
        return True

    def _value(self, value: Any) -> Any:
        return self.redact(value) if isinstance(value, str) else value


def secrets_of(config: Config) -> list[str]:
    """The password values this config points at (environment variables and files)."""
    found = []
    for settings in (config.mailbox, config.delivery):
        if settings.password_env and os.environ.get(settings.password_env):
            found.append(os.environ[settings.password_env])
        if settings.password_file is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                found.append(config.resolve(settings.password_file).read_text("utf-8").strip())
    return found


class _Formatter(logging.Formatter):
    def __init__(self, zone: ZoneInfo | None, as_json: bool) -> None:
        super().__init__()
        self.zone = zone
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, self.zone).astimezone(self.zone)
        message = record.getMessage()
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if self.as_json:
            entry: dict[str, Any] = {
                "time": when.isoformat(timespec="seconds"),
                "level": record.levelname,
                "logger": record.name,
                "event": getattr(record, "event", None),
                "message": message,
            }
            entry.update(getattr(record, "fields", None) or {})
            return json.dumps(entry, ensure_ascii=False, default=str)
        # journald and grep both want one event per line.
        flat = message.replace("\r", "").replace("\n", " ⏎ ")
        return f"{when.isoformat(sep=' ', timespec='seconds')} {record.levelname} {flat}"


_handler: logging.Handler | None = None


def setup(
    *,
    as_json: bool = False,
    config: Config | None = None,
    stream: IO[str] | None = None,
    level: int = logging.INFO,
) -> logging.Handler:
    """Send xunbao's log records (and other libraries' warnings) to stderr, one per line."""
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(Redactor(secrets_of(config) if config else ()))
    handler.setFormatter(_Formatter(config.schedule.zone if config else None, as_json))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger(LOGGER).setLevel(level)
    for noisy in ("fontTools", "weasyprint"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    _handler = handler
    return handler


def reconfigure(config: Config) -> None:
    """After a reload: new password values to mask, new timezone for the time stamps."""
    if _handler is None:
        return
    for item in _handler.filters:
        if isinstance(item, Redactor):
            item.set_secrets(secrets_of(config))
    if isinstance(_handler.formatter, _Formatter):
        _handler.formatter.zone = config.schedule.zone


def event(logger: logging.Logger, level: int, name: str, message: str, **fields: Any) -> None:
    """One log line: a Chinese message plus machine-readable fields for --log-json."""
    logger.log(level, message, extra={"event": name, "fields": fields})


# ── backfill progress ──────────────────────────────────────────
BACKFILL_THRESHOLD = 50  # messages in one poll before a progress bar is worth showing


class _Watched:
    """A Source whose poll() drives a rich progress bar once it has yielded many messages."""

    def __init__(self, source: Source, threshold: int) -> None:
        self.source = source
        self.threshold = threshold

    def poll(self) -> Iterator[RawMessage]:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        progress: Progress | None = None
        task = None
        try:
            for count, message in enumerate(self.source.poll(), start=1):
                if progress is None and count > self.threshold:
                    progress = Progress(
                        SpinnerColumn(),
                        TextColumn("正在收取邮箱中的历史邮件"),
                        BarColumn(),
                        TextColumn("已处理 {task.completed} 封"),
                        TimeElapsedColumn(),
                        console=Console(stderr=True),
                        transient=True,
                    )
                    progress.start()
                    task = progress.add_task("backfill", total=None)
                if progress is not None and task is not None:
                    progress.update(task, completed=count)
                yield message
        finally:
            if progress is not None:
                progress.stop()

    def acknowledge(self, message: RawMessage) -> None:
        self.source.acknowledge(message)

    def close(self) -> None:
        self.source.close()


def with_progress(source: Source, threshold: int = BACKFILL_THRESHOLD) -> Source:
    """`source` itself when stderr is not a terminal (journald, cron, tests)."""
    if not sys.stderr.isatty():
        return source
    return _Watched(source, threshold)
