"""Which installed font family each role of the circular uses.

WeasyPrint hands a CSS family list to Pango, and fontconfig substitutes a face for the first
family that is not installed instead of trying the next one. So the config's fallback list is
resolved here, once per process, from `fc-list`: each role gets the first family that is
installed and covers every character it has to set, and only that family reaches the CSS.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from .errors import RenderError

log = logging.getLogger(__name__)

APT_HINT = "请安装开源中文字体：sudo apt-get install fonts-noto-cjk fonts-arphic-ukai"


@dataclass(frozen=True)
class Choice:
    role: str
    family: str
    missing: str  # characters the family lacks (empty when it covers everything)

    @property
    def css(self) -> str:
        """A quoted CSS family name, safe inside a <style> element."""
        name = "".join(c for c in self.family if c not in '<>\\"')
        return f'"{name}"'


def _key(name: str) -> str:
    """fontconfig compares family names ignoring case and spaces."""
    return "".join(name.split()).casefold()


@cache
def _catalogue() -> dict[str, tuple[str, list[str]]]:
    """family key → (installed spelling, charset text of each of its faces)."""
    try:
        listing = subprocess.run(
            ["fc-list", "--format", "%{family}\t%{charset}\n"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise RenderError(f"无法列出已安装的字体（fc-list：{exc}）。请安装 fontconfig。") from exc
    catalogue: dict[str, tuple[str, list[str]]] = {}
    for line in listing.splitlines():
        families, _, charset = line.partition("\t")
        for family in filter(None, (f.strip() for f in families.split(","))):
            spelling, charsets = catalogue.setdefault(_key(family), (family, []))
            charsets.append(charset)
    return catalogue


def installed_families() -> list[str]:
    return sorted(spelling for spelling, _ in _catalogue().values())


@cache
def _coverage(key: str) -> frozenset[int]:
    """Code points every face of the family covers (ranges like `20-7e a0-17f 4e00`)."""
    faces = []
    for charset in _catalogue()[key][1]:
        points: set[int] = set()
        for item in charset.split():
            low, _, high = item.partition("-")
            points.update(range(int(low, 16), int(high or low, 16) + 1))
        faces.append(points)
    return frozenset(set.intersection(*faces)) if faces else frozenset()


def choose(role: str, candidates: Iterable[str], text: str = "") -> Choice:
    """The first installed candidate covering `text`; else the first installed one (logged).

    Raises RenderError, naming the Debian package, when no candidate is installed.
    """
    names = list(candidates)
    needed = {ord(c) for c in text if not c.isspace()}
    installed = [_key(n) for n in names if _key(n) in _catalogue()]
    if not installed:
        raise RenderError(
            f"通报的{role}字体均未安装（配置中依次为：{'、'.join(names)}）。{APT_HINT}"
        )
    for key in installed:
        lacking = needed - _coverage(key)
        if not lacking:
            return Choice(role, _catalogue()[key][0], "")
        log.info("字体 %s 缺少 %d 个字符，改试下一个", _catalogue()[key][0], len(lacking))
    first = installed[0]
    missing = "".join(sorted(chr(c) for c in needed - _coverage(first)))
    log.warning("%s字体 %s 缺少字符：%s", role, _catalogue()[first][0], missing)
    return Choice(role, _catalogue()[first][0], missing)
