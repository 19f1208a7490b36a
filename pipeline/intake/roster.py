"""实名登记: the name list a report may carry (姓名, 身份证号, 工作单位, 入会时间 …).

Only counts and salted hashes leave this module: an ID number is personal data and is
never printed, logged, stored or exported. A row counts when its ID number has 18
characters and a correct GB 11643 check digit; the same person counts once, also across
the unit's earlier lists (compared by hash).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.ledger.detail import NameList
from pipeline.ledger.masking import valid_id

if TYPE_CHECKING:
    from pipeline.config import Config

_ID_HEADS = ("身份证号", "身份证号码", "公民身份号码", "身份证")
_NAME_HEADS = ("姓名",)


def find(grids: Iterable[Sequence[Sequence[str]]], salt: bytes) -> NameList | None:
    """The name list in any of the grids (a head row with 姓名 and 身份证号), or None."""
    rows = 0
    hashes: set[str] = set()
    found = False
    for grid in grids:
        column = None
        for row in grid:
            heads = [re.sub(r"\s+", "", cell) for cell in row]
            at = _id_column(heads)
            if at is not None and any(h in _NAME_HEADS for h in heads):
                column, found = at, True
                continue
            if column is None or column >= len(row) or not any(c.strip() for c in row):
                continue
            rows += 1
            number = valid_id(row[column])
            if number:
                hashes.add(digest(number, salt))
    return NameList(rows, frozenset(hashes)) if found else None


def _id_column(heads: list[str]) -> int | None:
    return next((k for k, h in enumerate(heads) if h in _ID_HEADS), None)


def digest(number: str, salt: bytes) -> str:
    return hashlib.sha256(salt + number.encode()).hexdigest()


def of_original(config: Config, sha256: str) -> NameList | None:
    """The name list of a kept original, read again inside the reader sandbox (a clerk
    approving a held report: intake kept only the reading, not the grids)."""
    from pipeline.ledger import originals
    from pipeline.reading import walls
    from pipeline.reading.mails import ReadMail
    from pipeline.reading.sandbox import Pool

    raw = originals.load(originals.folder(config), sha256) if sha256 else None
    if raw is None:
        return None
    storage = config.resolve(config.storage.path).parent
    one = config.limits.model_copy(update={"workers": 1})
    with Pool(one, storage, secrets=walls.private(config)) as pool:
        ((_, read),) = pool.read([(sha256, raw)], lambda _: None)
    if not isinstance(read, ReadMail):
        return None
    return find(read.lists, salt(storage))


def salt(folder: Path) -> bytes:
    """The installation's salt, kept next to the ledger (never in config); made once."""
    path = folder / "roster.salt"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as file:
            file.write(secrets.token_bytes(32))
    return path.read_bytes()
