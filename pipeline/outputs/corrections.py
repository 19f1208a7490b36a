"""What changed between the circular as issued and the standings now: the 更正说明 of a
corrected version, in short Chinese sentences ("马边县由待核实更正为已报送 1,000 名").

And the document number (文号) a version carries: one per issued circular, in the order
circulars are issued, so a dekad never sent leaves no gap; a correction keeps its
circular's number; numbers restart at 1 each year (`circular.first_seq` in the first)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.ledger.records import Snapshot, UnitSnapshot
from pipeline.standings.rules import STATUS_LABELS

if TYPE_CHECKING:
    from datetime import date

    from pipeline.config import Config
    from pipeline.ledger.records import VersionRecord
    from pipeline.standings.periods import Period
    from pipeline.standings.table import Standings


@dataclass(frozen=True)
class Correction:
    """A version after the first: its number, what it corrects and the day it is issued
    (its 落款 and 印发 dates: the figures stay those of the period's cutoff)."""

    version: int
    note: str
    issued_on: date


def snapshot(table: Standings) -> Snapshot:
    """What a circular states, in a form of its own (not the JSON export, which may grow
    keys): a new field would make every issued circular look changed."""
    return Snapshot(
        target=table.target,
        completed=table.completed,
        rate=round(table.rate, 4),
        units=tuple(
            UnitSnapshot(
                s.unit, s.target, s.completed, s.rank, s.reported, s.status, s.summoned_streak
            )
            for s in table.units
        ),
        others=tuple(UnitSnapshot(s.unit, s.target, s.completed) for s in table.others),
        summoned=tuple(s.unit for s in table.summoned),
        escalated=tuple(s.unit for s in table.escalated),
        excerpts=tuple((e.unit, e.excerpt) for e in table.examples),
        metrics=tuple(snapshot(m) for m in table.metrics if m is not table),
    )


def fingerprint(table: Standings) -> str:
    text = json.dumps(snapshot(table).to_json(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def note(before: Snapshot, after: Snapshot, measure: str) -> str:
    """The 更正说明 from the issued snapshot to the new one; never empty."""
    lines: list[str] = []
    old = {u.unit: u for u in [*before.units, *before.others]}
    new = {u.unit: u for u in [*after.units, *after.others]}
    for name, now in new.items():
        was = old.get(name)
        if was is None:
            lines.append(f"增列{name}（{_state(now, measure)}）")
            continue
        if _state(was, measure) != _state(now, measure):
            lines.append(f"{name}由{_state(was, measure)}更正为{_state(now, measure)}")
    lines += [f"删去{name}" for name in old if name not in new]
    for label, then, later in (
        ("约谈单位", before.summoned, after.summoned),
        ("在全市工会进行通报的单位", before.escalated, after.escalated),
    ):
        added = [u for u in later if u not in then]
        dropped = [u for u in then if u not in later]
        if added:
            lines.append(f"{'、'.join(added)}列为{label}")
        if dropped:
            lines.append(f"{'、'.join(dropped)}不再列为{label}")
    if before.completed != after.completed:
        lines.append(f"全市合计由 {before.completed:,} 更正为 {after.completed:,} {measure}")
    if not lines:
        lines.append("先进典型及文字表述有调整，各单位数字未变")
    return "；".join(lines) + "。"


def _state(unit: UnitSnapshot, measure: str) -> str:
    if unit.status in ("missing", "pending"):
        return STATUS_LABELS[unit.status]
    done = f"{unit.completed:,} {measure}"
    return f"已报送 {done}" if unit.reported else done


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
