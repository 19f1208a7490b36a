"""Where xunbao's own files are: its templates, the starter config and the sample inbox.

In a checkout they sit beside the package (the design card keeps `templates/` at the top
level); an installed wheel carries the same files as data under `<prefix>/share/xunbao`
(pyproject's `data-files`). `start_site` writes the starter config where a new site's
config is to be, and the sample inbox beside it, so that `xunbao run` works there with
nothing else (`xunbao init`).
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

from pipeline.errors import UsageError

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


def start_site(config: Path) -> list[Path]:
    """Write the starter config to `config` and the sample inbox beside it; the paths
    written. Refuses when either is already there: a site's own files are never
    overwritten."""
    targets = [config, config.parent / _STARTER[1]]
    taken = [str(path) for path in targets if path.exists()]
    if taken:
        raise UsageError(f"已有 {'、'.join(taken)}，为免覆盖现有配置，未做任何改动。")
    config.parent.mkdir(parents=True, exist_ok=True)
    for name, target in zip(_STARTER, targets, strict=True):
        source = shared(name)
        if not source.exists():
            raise UsageError(f"找不到 xunbao 自带的 {name}：安装可能不完整，请重新安装。")
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    return targets
