"""Cheap checks made before a file is read, so a bomb is refused in milliseconds.

Only declared sizes are looked at (a zip's central directory, a 7z header, a worksheet's
<dimension>): the readers never unpack more than a member declares, and the sandbox's hard
limits catch whatever lies beyond these checks.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import PurePosixPath

from pipeline.config import Limits
from pipeline.reading.forms.spreadsheet import FormUnreadable

MB = 1024 * 1024
_ZIP_PACKAGES = {"zip", "xlsx", "xlsm", "docx", "ods", "odt"}
_HEAD = 64 * 1024  # a DTD must come before the root element: the head of a part is enough
_ROOT = re.compile(rb"<[A-Za-z_]")
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"'
)


def check(kind: str, data: bytes, limits: Limits) -> None:
    """Raise FormUnreadable if the file (of `forms.kinds` kind) declares more than the
    limits allow."""
    if kind in _ZIP_PACKAGES and zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            infos = [i for i in package.infolist() if not i.is_dir()]
            sizes(((i.filename, i.file_size, i.compress_size) for i in infos), limits)
            if kind != "zip":
                _no_dtd(package, infos)
            if kind in ("xlsx", "xlsm"):
                _dimensions(package, infos, limits)


def sizes(members: Iterable[tuple[str, int, int]], limits: Limits) -> None:
    """(name, unpacked, packed) of every member: count, total, each one and its ratio, and
    names that point outside the archive (never written anywhere, but never honest)."""
    members = list(members)
    for name, _, _ in members:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts:
            raise FormUnreadable(f"压缩包中的文件名 {_short(name)} 指向压缩包以外，可能是恶意文件")
    if len(members) > limits.archive_members:
        raise FormUnreadable(f"压缩包内文件过多（{len(members)} 个），可能是恶意文件")
    total = sum(size for _, size, _ in members)
    if total > limits.unpacked_mb * MB:
        raise FormUnreadable(f"解压后过大（约 {total // MB} MB），可能是“压缩炸弹”")
    for name, size, packed in members:
        if size > limits.member_mb * MB:
            raise FormUnreadable(f"内含的 {_short(name)} 解压后过大（约 {size // MB} MB）")
        if size > MB and size > limits.ratio * max(packed, 1):
            raise FormUnreadable(f"内含的 {_short(name)} 压缩比异常，可能是“压缩炸弹”")


def _no_dtd(package: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    # Office never writes a DTD; one in a part is an XXE or "billion laughs" attempt.
    for info in infos:
        if not info.filename.endswith((".xml", ".rels")):
            continue
        with package.open(info) as part:
            head = part.read(_HEAD)
        root = _ROOT.search(head)
        if _DTD.search(head, 0, root.start() if root else len(head)):
            raise FormUnreadable("文件中含有 Office 不会写入的 XML 声明（DTD），可能是恶意文件")


def _dimensions(package: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    for info in infos:
        if not info.filename.startswith("xl/worksheets/"):
            continue
        with package.open(info) as part:
            match = _DIMENSION.search(part.read(4096))
        if match is None or match.group(3) is None:
            continue
        first, last = _cell(match.group(1), match.group(2)), _cell(match.group(3), match.group(4))
        cells = (abs(last[0] - first[0]) + 1) * (abs(last[1] - first[1]) + 1)
        if cells > limits.cells:
            shown = match.group(0).split(b'"')[1].decode()
            raise FormUnreadable(f"工作表声明的范围过大（{shown}），文件可能已损坏")


def _cell(column: bytes, row: bytes) -> tuple[int, int]:
    number = 0
    for letter in column:
        number = number * 26 + letter - 64
    return number, int(row)


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "…"
