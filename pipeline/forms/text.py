"""Plain text: a mail body, a .txt or a .csv form (UTF-8 with or without BOM, or GBK)."""

from __future__ import annotations

import csv
import io

from .fields import Rows


def text_rows(body: str) -> Rows:
    # Tabs come from HTML tables flattened by mail.html_to_text: keep them as cells.
    # Empty lines stay (as empty rows): in a table pasted one cell per line, an empty
    # line is an empty cell, and dropping it would shift the values under their heads.
    return [line.split("\t") for line in body.splitlines()]


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


def read_text_rows(data: bytes) -> Rows:
    return text_rows(decode(data))


def read_csv_rows(data: bytes) -> Rows:
    return [list(row) for row in csv.reader(io.StringIO(decode(data)))]
