"""Old and office-suite formats: Word 97 (.doc) through antiword; anything else LibreOffice
opens (WPS's own formats, a broken .doc) converted by LibreOffice headless first.

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
from xml.etree import ElementTree

from pipeline.reading.forms import document, spreadsheet
from pipeline.reading.forms.cells import Rows, Sheet, plain
from pipeline.reading.forms.spreadsheet import FormUnreadable

_TIMEOUT = 120
Reader = Callable[[bytes], Sheet]
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


def read_doc(data: bytes) -> Sheet:
    """antiword's DocBook output keeps the tables as rows and entries, so a figure stays
    in the cell it was typed in however the text would wrap."""
    if shutil.which("antiword") is None:
        return _via_libreoffice(data, ".doc", "docx", document.read_docx)
    with tempfile.NamedTemporaryFile(suffix=".doc") as file:
        file.write(data)
        file.flush()
        env = {**os.environ, "LANG": "C.UTF-8"}
        done = subprocess.run(
            child_command(["antiword", "-x", "db", file.name]),
            capture_output=True,
            env=env,
            timeout=_TIMEOUT,
        )
    if done.returncode != 0:
        return _via_libreoffice(data, ".doc", "docx", document.read_docx)
    try:
        rows = docbook_rows(done.stdout)
    except ElementTree.ParseError:
        return _via_libreoffice(data, ".doc", "docx", document.read_docx)
    if any(" | |" in cell for row in rows for cell in row):
        # antiword gave up on this table's layout and flattened it into one paragraph
        # ("a |b | |c |d"): LibreOffice keeps its rows and columns.
        return _via_libreoffice(data, ".doc", "docx", document.read_docx)
    return plain(rows)  # antiword's DocBook keeps no spans: merged cells come out unmerged


def docbook_rows(xml: bytes) -> Rows:
    # The DOCTYPE names a DTD on the web: ElementTree never fetches it.
    root = ElementTree.fromstring(xml)
    rows: Rows = []
    _docbook_walk(root, rows)
    return rows


def _docbook_walk(element: ElementTree.Element, rows: Rows) -> None:
    for child in element:
        if child.tag == "row":
            rows.append([_lines(entry) for entry in child.iter("entry")])
        elif child.tag == "para" and child.find(".//informaltable") is None:
            if text := _lines(child):
                rows.append([text])
        elif child.tag not in ("bookinfo", "title"):
            _docbook_walk(child, rows)


def _lines(element: ElementTree.Element) -> str:
    lines = (line.strip() for line in "".join(element.itertext()).splitlines())
    return "\n".join(line for line in lines if line)


def read_wps(data: bytes) -> Sheet:
    return _via_libreoffice(data, ".wps", "docx", document.read_docx)


def read_doc_whole(data: bytes) -> Sheet:
    """Word 97 through LibreOffice, named .doc: named .wps, LibreOffice would try the
    Microsoft Works filter on it."""
    return _via_libreoffice(data, ".doc", "docx", document.read_docx)


def read_rtf(data: bytes) -> Sheet:
    return _via_libreoffice(data, ".rtf", "docx", document.read_docx)


def read_et(data: bytes) -> Sheet:
    return _via_libreoffice(data, ".et", "xlsx", spreadsheet.read_workbook)


def _via_libreoffice(data: bytes, suffix: str, target: str, reader: Reader) -> Sheet:
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
