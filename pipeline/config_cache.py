"""The validated config kept between commands, so `status`, `review` and `messages` start fast.

Validating config.yaml means building pydantic's validators for every model (and importing
YAML to parse it), about a fifth of a light command's start. A config that passed is
pickled under `$XDG_CACHE_HOME/xunbao/` (the service units point it at /var/cache/xunbao),
keyed by the file's bytes, its resolved path and the code and versions that judged it.
Anything else — a missing, corrupted, foreign or stale entry — means a full `config.load`,
which also gives every fault its usual message; a failed load is never kept. The entry holds
only what config.yaml holds: passwords come from the environment or files at sending time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path

import pydantic

from . import config as config_module
from .atomic import written
from .config_checks import looks_like_secret

_HERE = Path(__file__).resolve().parent
# Everything that decides whether a file is valid and what it loads to.
_JUDGES = ("config.py", "config_sections.py", "config_checks.py", "yamlfile.py")


def load(path: Path) -> config_module.Loaded:
    """`config.load(path)`, from the cache when this exact file passed before."""
    try:
        resolved = path.resolve()
        key, entry = _key(path, resolved), _entry(resolved)
    except (OSError, RuntimeError):  # unreadable: config.load says why; no home: no cache
        return config_module.load(path)
    found = _read(entry, key)
    if found is not None:
        return found
    loaded = config_module.load(path)
    _ = loaded.config.digest  # computed now, so it is stored with the config
    _write(entry, key, loaded)
    return loaded


def _folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "xunbao"


def _entry(resolved: Path) -> Path:
    name = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    return _folder() / f"config-{name}.pickle"


def _key(path: Path, resolved: Path) -> str:
    parts = [path.read_bytes(), str(resolved).encode()]
    parts += [(_HERE / name).read_bytes() for name in _JUDGES]
    parts += [sys.version.encode(), pydantic.VERSION.encode()]
    return hashlib.sha256(b"\0".join(hashlib.sha256(p).digest() for p in parts)).hexdigest()


def _read(entry: Path, key: str) -> config_module.Loaded | None:
    try:
        with entry.open("rb") as file:
            status = os.fstat(file.fileno())
            # Unpickling runs code: only a file this user wrote and nobody else can change.
            if status.st_uid != os.geteuid() or status.st_mode & 0o022:
                return None
            stored_key, loaded = pickle.load(file)
    except Exception:  # a damaged pickle fails in many ways; every one means rebuild
        return None
    if stored_key != key or not isinstance(loaded, config_module.Loaded):
        return None
    # The one verdict that depends on the environment: a password_env that looks like a
    # code, unless a variable of that name is set. Re-judged in full when it would differ.
    settings = (loaded.config.mailbox, loaded.config.delivery)
    if any(looks_like_secret(s.password_env) for s in settings):
        return None
    return loaded


def _write(entry: Path, key: str, loaded: config_module.Loaded) -> None:
    """Best effort: a read-only or full disk only costs the next command the full load."""
    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with written(entry) as temporary:
            temporary.write_bytes(pickle.dumps((key, loaded), pickle.HIGHEST_PROTOCOL))
            temporary.chmod(0o600)
    except OSError:
        pass
