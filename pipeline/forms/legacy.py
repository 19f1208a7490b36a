"""Old and office-suite formats: Word 97 (.doc) through antiword; WPS (.wps .et) and
OpenDocument text (.odt) converted by LibreOffice headless into .docx/.xlsx first.

Both run as children that the kernel kills when the reader process dies (`setpriv
--pdeathsig`); LibreOffice runs as soffice.bin itself, not through the oosplash launcher,
whose own child would outlive it. Its profile and files live in the reader's temporary
folder, which is under xunbao's storage.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import document, spreadsheet
from .fields import Rows
from .spreadsheet import FormUnreadable

_TIMEOUT = 120
Reader = Callable[[bytes], Rows]
_SOFFICE_BIN = Path("/usr/lib/libreoffice/program/soffice.bin")
_RESTART = 81  # soffice.bin asks to be started again once it has made a new profile


def child_command(command: list[str]) -> list[str]:
    """A command whose process dies with this one (no orphan after a kill -9)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


def _soffice() -> str | None:
    if _SOFFICE_BIN.exists():
        return str(_SOFFICE_BIN)
    return shutil.which("soffice") or shutil.which("libreoffice")


def read_doc(data: bytes) -> Rows:
    """antiword prints tables as |a|b| lines; a wrapped cell continues on lines whose
    first column is blank, which are folded back into the row they belong to."""
    if shutil.which("antiword") is None:
        return _via_libreoffice(data, ".doc", "docx", document.read_rows)
    with tempfile.NamedTemporaryFile(suffix=".doc") as file:
        file.write(data)
        file.flush()
        env = {**os.environ, "LANG": "C.UTF-8"}
        done = subprocess.run(
            child_command(["antiword", "-m", "UTF-8.txt", "-w", "0", file.name]),
            capture_output=True,
            env=env,
            timeout=_TIMEOUT,
        )
    if done.returncode != 0:
        return _via_libreoffice(data, ".doc", "docx", document.read_rows)
    return _antiword_rows(done.stdout.decode("utf-8", "replace"))


def _antiword_rows(text: str) -> Rows:
    rows: Rows = []
    in_table = False
    for line in text.splitlines():
        if not line.strip():
            in_table = False
            continue
        if not (line.startswith("|") and line.rstrip().endswith("|")):
            rows.append([line.strip()])
            in_table = False
            continue
        cells = [c.strip() for c in line.strip()[1:-1].split("|")]
        if in_table and rows and not cells[0] and len(cells) == len(rows[-1]):
            rows[-1] = [f"{a}\n{b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
        in_table = True
    return rows


def read_wps(data: bytes) -> Rows:
    return _via_libreoffice(data, ".wps", "docx", document.read_rows)


def read_et(data: bytes) -> Rows:
    return _via_libreoffice(data, ".et", "xlsx", spreadsheet.read_rows)


def read_odt(data: bytes) -> Rows:
    return _via_libreoffice(data, ".odt", "docx", document.read_rows)


def _via_libreoffice(data: bytes, suffix: str, target: str, reader: Reader) -> Rows:
    soffice = _soffice()
    if soffice is None:
        raise FormUnreadable(f"读取 {suffix} 文件需要 LibreOffice，本机未安装")
    with tempfile.TemporaryDirectory(prefix="xunbao-lo-") as folder:
        source = Path(folder) / f"form{suffix}"
        source.write_bytes(data)
        profile = Path(folder) / "profile"
        command = child_command(
            [
                soffice,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                target,
                "--outdir",
                folder,
                str(source),
            ]
        )
        try:
            for _ in range(2):
                done = subprocess.run(command, capture_output=True, timeout=_TIMEOUT)
                if done.returncode != _RESTART:
                    break
        except subprocess.TimeoutExpired:
            raise FormUnreadable(f"{suffix} 文件转换超时") from None
        converted = Path(folder) / f"form.{target}"
        if not converted.exists():
            raise FormUnreadable(f"{suffix} 文件无法打开（可能已损坏或加密）")
        return reader(converted.read_bytes())
