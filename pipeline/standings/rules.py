"""The seed's rules for the circular (乐工发〔2015〕33号, 三（五）建立通报制度), as pure functions.

One period's table (index: unit; columns target, completed, reported, measures) goes in;
statuses, the summoned units, streaks across periods, good examples and the supervision
groups' figures come out. Nothing here reads files, mail or the clock.

- completed: completed ≥ target;
- behind: not completed and rate < expected progress × `behind_margin`;
- lagging (末位): the bottom `lagging_count` by rate among units that reported this period and
  have not completed (ties at the boundary are all included) — the seed's 处于末位 is a place
  in the ranking, not a distance from time progress; `lagging_only_behind` keeps the stricter
  reading (only units behind schedule can be last); units that did not report are listed as
  missing instead and take no lagging place;
- missing (未报送): no accepted report in this period (non-reporting buckets are not in the table);
- pending (待核实): no accepted report, but a message of the unit waits in the review queue:
  never summoned for that period;
- summoned (约谈): the units whose status is in `summon` (lagging and/or missing);
- escalated (在全市工会进行通报): summoned in `escalate_after` consecutive periods or more —
  the seed's 连续两次被约谈: a period that did not summon the unit (待核实 included) ends the
  streak, because the circular of that period named it as not summoned;
- good examples (先进典型): the top `examples_count` by rate among units that reported
  measures this period and are not behind schedule.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.config import Rules

if TYPE_CHECKING:  # pandas is imported where a table is classified, not by every command
    import pandas as pd

STATUS_LABELS = {
    "completed": "已完成",
    "on_track": "推进中",
    "lagging": "末位",
    "missing": "未报送",
    "pending": "待核实",
    "bucket": "—",  # a non-reporting bucket such as 其他: a row of its own, no rank or status
}


def expected_share(start: datetime, end: datetime, at: datetime) -> float:
    """Share of the campaign's time elapsed at `at`, clamped to [0, 1]."""
    return min(max((at - start) / (end - start), 0.0), 1.0)


def rate_of(completed: int, target: int) -> float:
    """The completion rate of one figure against its target: 0 without a target (the
    table's `classify` is its vector form, where a unit with no target counts as done)."""
    return completed / target if target else 0.0


def growth_of(completed: int, base: int | None) -> float | None:
    """Growth on the base year's figure (2014's members); None without one."""
    return completed / base if base else None


def classify(table: pd.DataFrame, expected: float, rules: Rules) -> pd.DataFrame:
    """Add rate, rank, done, behind, status and summoned to one period's table
    (columns target, completed, reported, pending, measures)."""
    out = table.copy()
    target = out["target"].where(out["target"] > 0)
    out["rate"] = (out["completed"] / target).fillna(1.0).astype(float)
    out["rank"] = out["rate"].rank(ascending=False, method="min").astype(int)
    out["done"] = out["completed"] >= out["target"]
    out["behind"] = ~out["done"] & (out["rate"] < expected * rules.behind_margin)
    pool = out["reported"] & ~out["done"]
    candidates = out[pool & out["behind"]] if rules.lagging_only_behind else out[pool]
    bottom = candidates.nsmallest(rules.lagging_count, "rate", keep="all").index
    out["status"] = "on_track"
    out.loc[out.index.isin(bottom), "status"] = "lagging"
    out.loc[~out["reported"], "status"] = "missing"
    pending = out.get("pending", False)
    out.loc[~out["reported"] & pending, "status"] = "pending"
    out.loc[out["done"], "status"] = "completed"
    out["summoned"] = out["status"].isin(rules.summon)
    return out


@dataclass(frozen=True)
class Streaks:
    """Consecutive periods, up to the latest one seen, each unit was lagging / summoned."""

    lagging: Mapping[str, int] = field(default_factory=dict)
    summoned: Mapping[str, int] = field(default_factory=dict)

    def advance(self, classified: pd.DataFrame) -> Streaks:
        """The streaks after one more period; a period without the mark resets it to 0."""
        lagging = classified["status"] == "lagging"
        return Streaks(
            lagging=_count(self.lagging, lagging),
            summoned=_count(self.summoned, classified["summoned"]),
        )

    def escalated(self, rules: Rules) -> set[str]:
        return {unit for unit, n in self.summoned.items() if n >= rules.escalate_after}


def _count(previous: Mapping[str, int], marked: pd.Series) -> dict[str, int]:
    return {str(u): previous.get(str(u), 0) + 1 if m else 0 for u, m in marked.items()}


def good_examples(classified: pd.DataFrame, rules: Rules) -> list[str]:
    """Units to praise: highest rate first among those that reported measures this period
    and are not behind schedule."""
    gave = classified["reported"] & (classified["measures"].str.strip() != "")
    pool = classified[gave & ~classified["behind"]]
    ordered = pool.assign(name=pool.index).sort_values(["rate", "name"], ascending=[False, True])
    return [str(u) for u in ordered.index[: rules.examples_count]]


_SENTENCE = re.compile(r"[^。；;！!？?]*[。；;！!？?]?")
_ITEM = re.compile(r"\s*(?<![0-9０-９])[（(]?[0-9０-９一二三四五六七八九十]{1,2}[)）.．、]\s*")
_ITEM_SPACE = re.compile(r"(?<![0-9０-９])([0-9０-９]{1,2}[.．、])\s+")
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_TRAILING = "；;，,、：: "


def excerpt(text: str, limit: int) -> str:
    """Whole sentences up to `limit` characters; a cut ends with “……”.

    Returned as plain text: the template escapes it.
    """
    flat = re.sub(r"\s+", " ", text).strip()
    flat = _ITEM_SPACE.sub(r"\1", flat)  # "1. 召开" → "1.召开"
    flat = _CJK_SPACE.sub("", flat)  # justified lines would stretch spaces between Chinese
    if len(flat) <= limit:
        return flat
    kept = ""
    for sentence in _sentences(flat):
        if len(kept) + len(sentence) > limit - 2:
            break
        kept += sentence
    kept = kept.rstrip(_TRAILING) or _clause_cut(flat[: limit - 2])
    return kept + "……"


def _clause_cut(text: str) -> str:
    """A hard cut, moved back to the last comma when there is one in the second half."""
    comma = max(text.rfind("，"), text.rfind(","))
    return (text[:comma] if comma > len(text) // 2 else text).rstrip(_TRAILING)


def _sentences(text: str) -> list[str]:
    """Split after sentence-final punctuation and before numbered items (1. 2、 （3）)."""
    pieces: list[str] = []
    for chunk in _SENTENCE.findall(text):
        if not chunk:
            continue
        starts = [m.start() for m in _ITEM.finditer(chunk) if m.start() > 0]
        cuts = [0, *starts, len(chunk)]
        pieces += [chunk[a:b] for a, b in itertools.pairwise(cuts) if chunk[a:b]]
    return pieces


@dataclass(frozen=True)
class GroupFigures:
    """One supervision group (督导组): its units and their combined completion."""

    name: str
    leaders: list[str]
    units: list[str]
    target: int
    completed: int
    reported: int
    summoned: list[str]

    @property
    def rate(self) -> float:
        return rate_of(self.completed, self.target)


def group_figures(
    groups: Iterable[tuple[str, list[str], list[str]]], classified: pd.DataFrame
) -> list[GroupFigures]:
    """(name, leaders, canonical unit names) per group → figures; unknown units are skipped."""
    result = []
    for name, leaders, members in groups:
        rows = classified.loc[[u for u in members if u in classified.index]]
        result.append(
            GroupFigures(
                name=name,
                leaders=list(leaders),
                units=[str(u) for u in rows.index],
                target=int(rows["target"].sum()),
                completed=int(rows["completed"].sum()),
                reported=int(rows["reported"].sum()),
                summoned=[str(u) for u in rows.index[rows["summoned"]]],
            )
        )
    return result
