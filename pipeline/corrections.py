"""What changed between the circular as issued and the standings now: the 更正说明 of a
corrected version, in short Chinese sentences ("马边县由待核实更正为已报送 1,000 名")."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .rules import STATUS_LABELS

if TYPE_CHECKING:
    from .standings import Standings


@dataclass(frozen=True)
class Correction:
    """A version after the first: its number and what it corrects."""

    version: int
    note: str


_UNIT_KEYS = ("unit", "target", "completed", "rank", "reported", "status", "summoned_streak")


def snapshot(table: Standings) -> dict[str, Any]:
    """What a circular states, in a form of its own (not the JSON export, which may grow
    keys): a new key here would make every issued circular look changed."""
    return {
        "total": {
            "target": table.target,
            "completed": table.completed,
            "rate": round(table.rate, 4),
        },
        "units": [{k: getattr(s, k) for k in _UNIT_KEYS} for s in table.units],
        "others": [
            {"unit": s.unit, "target": s.target, "completed": s.completed} for s in table.others
        ],
        "summoned": [s.unit for s in table.summoned],
        "escalated": [s.unit for s in table.escalated],
        "excerpts": [[e.unit, e.excerpt] for e in table.examples],
        "metrics": [snapshot(m) for m in table.metrics if m is not table],
    }


def fingerprint(table: Standings) -> str:
    text = json.dumps(snapshot(table), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def note(before: dict[str, Any], after: dict[str, Any], measure: str) -> str:
    """The 更正说明 from the issued snapshot to the new one; never empty."""
    lines: list[str] = []
    old = {u["unit"]: u for u in [*before.get("units", []), *before.get("others", [])]}
    new = {u["unit"]: u for u in [*after.get("units", []), *after.get("others", [])]}
    for name, now in new.items():
        was = old.get(name)
        if was is None:
            lines.append(f"增列{name}（{_state(now, measure)}）")
            continue
        if _state(was, measure) != _state(now, measure):
            lines.append(f"{name}由{_state(was, measure)}更正为{_state(now, measure)}")
    lines += [f"删去{name}" for name in old if name not in new]
    for key, label in (("summoned", "约谈单位"), ("escalated", "在全市工会进行通报的单位")):
        added = [u for u in after.get(key, []) if u not in before.get(key, [])]
        dropped = [u for u in before.get(key, []) if u not in after.get(key, [])]
        if added:
            lines.append(f"{'、'.join(added)}列为{label}")
        if dropped:
            lines.append(f"{'、'.join(dropped)}不再列为{label}")
    total_before, total_after = before["total"]["completed"], after["total"]["completed"]
    if total_before != total_after:
        lines.append(f"全市合计由 {total_before:,} 更正为 {total_after:,} {measure}")
    if not lines:
        lines.append("先进典型及文字表述有调整，各单位数字未变")
    return "；".join(lines) + "。"


def _state(unit: dict[str, Any], measure: str) -> str:
    status = unit.get("status", "bucket")
    if status in ("missing", "pending"):
        return STATUS_LABELS[status]
    done = f"{unit['completed']:,} {measure}"
    return f"已报送 {done}" if unit.get("reported") else done
