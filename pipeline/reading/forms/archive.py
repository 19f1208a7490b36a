"""Archives holding forms: .zip (stdlib), .7z (py7zr) and .rar (rarfile, unpacking through
Debian's free `unar`). Members are read like attachments.

Sizes are checked from the archive's own directory before anything is unpacked (guards);
a 7z is unpacked into the process's temporary folder, which lives under xunbao's storage.

Chinese Windows zips store GBK names without the UTF-8 flag; zipfile decodes those as
cp437, so the name is re-decoded from the original bytes.
"""

from __future__ import annotations

import functools
import io
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.config import Limits
from pipeline.reading.forms import guards
from pipeline.reading.forms.spreadsheet import FormUnreadable


def zip_members(data: bytes, limits: Limits) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FormUnreadable("压缩包无法打开（文件已损坏）") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise FormUnreadable("压缩包设有密码，无法读取")
            yield _name(info), archive.read(info)


def _check_7z(members: list[object], packed: int, limits: Limits) -> None:
    """Declared sizes first; a solid 7z has no per-member packed size, so the whole
    archive's size stands in for it."""
    guards.sizes(
        (
            (
                str(getattr(m, "filename", "")),
                int(getattr(m, "uncompressed", 0) or 0),
                int(getattr(m, "compressed", 0) or packed),
            )
            for m in members
        ),
        limits,
    )


def _name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def sevenzip_members(data: bytes, limits: Limits) -> Iterator[tuple[str, bytes]]:
    import py7zr

    with tempfile.TemporaryDirectory(prefix="xunbao-7z-") as folder:
        try:
            with py7zr.SevenZipFile(io.BytesIO(data)) as archive:
                if archive.needs_password():
                    raise FormUnreadable("压缩包设有密码，无法读取")
                members = [m for m in archive.list() if not m.is_directory]
                _check_7z(members, len(data), limits)
                archive.extractall(path=folder)
        except (py7zr.exceptions.ArchiveError, EOFError, OSError, ValueError, KeyError):
            raise FormUnreadable("7z 压缩包无法打开（文件已损坏）") from None
        root = Path(folder)
        for path in sorted(root.rglob("*")):
            if path.is_file():
                yield path.relative_to(root).as_posix(), path.read_bytes()


def rar_members(data: bytes, limits: Limits) -> Iterator[tuple[str, bytes]]:
    import rarfile

    try:
        _use_unar()
        # strict: a cut archive is refused, not read up to the cut (a member would be missed)
        with rarfile.RarFile(io.BytesIO(data), errors="strict") as archive:
            if archive.needs_password():
                raise FormUnreadable("压缩包设有密码，无法读取")
            infos = [i for i in archive.infolist() if i.is_file()]
            guards.sizes(((i.filename, i.file_size, i.compress_size) for i in infos), limits)
            members = [(str(i.filename), archive.read(i)) for i in infos]
    except rarfile.RarCannotExec:
        why = "本机未安装 unar，无法解开 RAR 压缩包（请运行 scripts/setup.sh）"
        raise FormUnreadable(why) from None
    except (rarfile.Error, EOFError, OSError, ValueError, KeyError):
        raise FormUnreadable("RAR 压缩包无法打开（文件已损坏）") from None
    yield from members


@functools.cache
def _use_unar() -> None:
    # unrar is non-free and not in Debian main; unar is. Checked once per process.
    import rarfile

    rarfile.tool_setup(
        unrar=False, unar=True, bsdtar=False, sevenzip=False, sevenzip2=False, force=True
    )
