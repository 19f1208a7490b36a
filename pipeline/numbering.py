"""Document numbers (文号): one per issued circular, in the order circulars are issued.

The next number goes to the next circular actually issued, so a dekad that was never sent
leaves no gap; a correction keeps its circular's number. Numbers restart at 1 each year
(`circular.first_seq` in the campaign's first year)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .config import Config
from .periods import Period
from .records import VersionRecord


def doc_number(config: Config, period: Period, issued: Iterable[VersionRecord]) -> str:
    """The period's number: the one it was issued under, else the year's next one."""
    issued = list(issued)
    for version in sorted(issued, key=lambda v: v.version):
        if version.period == str(period) and version.doc_number:
            return version.doc_number
    year = period.end.year
    first = config.circular.first_seq if year == config.campaign.start.year else 1
    taken = [_seq(config, year, v.doc_number) for v in issued]
    seq = max([first - 1, *(s for s in taken if s is not None)]) + 1
    return config.circular.doc_number.format(year=year, seq=seq)


def _seq(config: Config, year: int, number: str) -> int | None:
    """The sequence in a number of `year` written in the configured format (None: not one)."""
    fmt = config.circular.doc_number
    head, sep, tail = fmt.partition("{seq}")
    if not sep:
        return None
    pattern = re.escape(head.format(year=year)) + r"(\d+)" + re.escape(tail.format(year=year))
    found = re.fullmatch(pattern, number)
    return int(found.group(1)) if found else None
