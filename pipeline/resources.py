"""Where xunbao's own files are: its templates, the starter config and the sample inbox.

In a checkout they sit beside the package (the design card keeps `templates/` at the top
level); an installed wheel carries the same files as data under `<prefix>/share/xunbao`
(pyproject's `data-files`). `start_site` copies the starter config and the sample inbox
into a folder, so that `xunbao run` works there with nothing else (`xunbao init`).
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

from .errors import UsageError

CHECKOUT = Path(__file__).resolve().parent.parent
INSTALLED = Path(sysconfig.get_path("data")) / "share" / "xunbao"
_STARTER = ("config.yaml", "inbox_samples")


def shared(name: str) -> Path:
    """The checkout's `name` when running from one, else the installed copy."""
    for base in (CHECKOUT, INSTALLED):
        if (base / name).exists():
            return base / name
    return CHECKOUT / name  # missing everywhere: the caller's error names the checkout path


def templates() -> Path:
    return shared("templates")


def start_site(folder: Path) -> list[Path]:
    """Copy config.yaml and the sample inbox into `folder`; the paths written.

    Refuses when either is already there: a site's own config is never overwritten."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = [name for name in _STARTER if (folder / name).exists()]
    if taken:
        raise UsageError(f"{folder} 中已有 {'、'.join(taken)}，为免覆盖现有配置，未做任何改动。")
    written = []
    for name in _STARTER:
        source = shared(name)
        if not source.exists():
            raise UsageError(f"找不到 xunbao 自带的 {name}：安装可能不完整，请重新安装。")
        target = folder / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
        written.append(target)
    return written
