"""约谈 recorded: after a circular summoned a unit, the clerk keeps the record of the talk
(who attended, the measures agreed, the deadline) in the ledger; the next circular follows
it through (notices.py)."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.config.units import canonical_unit
from pipeline.errors import UsageError
from pipeline.ledger import Ledger
from pipeline.ledger.talks import Talk


def record(config: Config, ledger: Ledger, talk: Talk) -> Talk:
    """Keep the record of a talk with a unit that period's issued circular summoned."""
    unit = canonical_unit(config, talk.unit)
    summoned = ledger.issued_summons().get(talk.period)
    if summoned is None:
        raise UsageError(f"{talk.period} 的通报尚未发出，没有约谈单位。")
    if unit not in summoned:
        named = "、".join(sorted(summoned)) or "无"
        raise UsageError(f"{talk.period} 的通报没有约谈 {unit}（该期约谈：{named}）。")
    if talk.deadline is not None and talk.deadline < talk.held_on:
        raise UsageError(f"整改期限 {talk.deadline} 早于约谈日期 {talk.held_on}，请核对。")
    kept = Talk(
        talk.period,
        unit,
        talk.held_on,
        talk.attendees.strip(),
        talk.measures.strip(),
        talk.deadline,
        talk.recorded_by,
    )
    ledger.record_talk(kept)
    return kept
