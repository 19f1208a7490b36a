"""配置: the check-config result of the file on disk, and the loaded units, senders, targets."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.responses import Response
from starlette.routing import Route

from pipeline import config as config_module
from pipeline.desk.auth import Context, route
from pipeline.desk.cache import Memo
from pipeline.errors import ConfigError

_checks: Memo[tuple[list[str], list[str]]] = Memo(4)
# "第 106 行，键 groups[2].units[1]：" — the line number is what a person edits by; the key
# path is the CLI's way of saying it
_KEY = re.compile(r"[，,]\s*键\s*[\w\[\].]+")


def plain(text: str) -> str:
    return _KEY.sub("", text)


def check(path: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the file as it is on disk now, as `xunbao check-config`."""
    try:
        return [], [plain(w) for w in config_module.load(path).warnings]
    except ConfigError as exc:
        return [plain(p) for p in exc.problems], []


def settings_page(context: Context) -> Response:
    path = context.desk.config_path
    try:
        stat = path.stat()
        problems, warnings = _checks.get(
            (str(path), stat.st_mtime_ns, stat.st_size), lambda: check(path)
        )
    except FileNotFoundError:
        problems, warnings = [f"找不到配置文件 {path}。"], []
    return context.render(
        "settings.html",
        nav="settings",
        path=path,
        problems=problems,
        warnings=warnings,
        config=context.config,
    )


ROUTES = [Route("/settings", route(settings_page))]
