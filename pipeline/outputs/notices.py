"""约谈, followed through (the seed: 约谈工会主要负责人，帮助其制定措施，落实责任): a notice
(约谈通知书) to each unit a circular summoned, and in the next circular one line per unit
that circular summoned — 已约谈 / 整改措施 / 本期进展 — from the talks recorded (talks.py).

Notices are written as .docx and .pdf beside the circular for the leaders to approve and
send themselves: nothing here mails a unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from markupsafe import Markup

from pipeline import atomic
from pipeline.config import Config
from pipeline.ledger import Ledger
from pipeline.ledger.records import UnitSnapshot
from pipeline.ledger.talks import Talk
from pipeline.outputs import circular
from pipeline.outputs import docx as circular_docx
from pipeline.standings import spans
from pipeline.standings.rules import rate_of
from pipeline.standings.table import Standing, Standings


@dataclass(frozen=True)
class Notice:
    """One 约谈通知书: whom, why, the figures, when and where."""

    unit: str
    leader: str  # 主要负责人; empty: the unit alone is addressed
    reasons: tuple[str, ...]
    standing: Standing
    of_units: int  # how many units are ranked
    circular_label: str
    issued_on: date
    talk_at: datetime


@dataclass(frozen=True)
class FollowUp:
    """A unit the previous circular summoned: its talk (if recorded) and its progress since."""

    unit: str
    summoned_in: str  # the previous circular's span, e.g. 2015年9月中旬
    talk: Talk | None
    then_completed: int
    then_rate: float
    now_completed: int
    now_rate: float

    @property
    def gained(self) -> int:
        return self.now_completed - self.then_completed


def reasons(standing: Standing, term: str) -> tuple[str, ...]:
    """Why the unit is summoned, in the circular's words."""
    found = []
    if standing.status == "lagging":
        found.append("完成率处于全市末位")
    if standing.status == "missing":
        found.append(f"{term}未按时报送旬报表")
    if standing.summoned_streak >= 2:
        found.append(f"已连续{circular.times(standing.summoned_streak)}次被约谈")
    return tuple(found)


def notices(config: Config, standings: Standings) -> list[Notice]:
    period = standings.period
    zone = config.schedule.zone
    day = period.end + timedelta(days=config.talks.days_after)
    at = datetime.combine(day, config.talks.time, tzinfo=zone)
    term = spans.term(config, period)
    return [
        Notice(
            unit=s.unit,
            leader=config.unit(s.unit).leader,
            reasons=reasons(s, term),
            standing=s,
            of_units=len(standings.units),
            circular_label=spans.label(config, period),
            issued_on=period.end,
            talk_at=at,
        )
        for s in standings.summoned
    ]


def write_notices(config: Config, standings: Standings, folder: Path) -> list[Path]:
    """Each summoned unit's notice as <unit>约谈通知书.docx and .pdf in `folder`."""
    environment = circular.templates()
    written = []
    for notice in notices(config, standings):
        context = {
            "n": notice,
            "t": config.talks,
            "c": config.circular,
            "campaign": config.campaign,
        }
        draft = circular.render(environment, "talk_notice.html.j2", css="", **context)
        chosen = circular.choose_fonts(config, draft)
        families = {role: Markup(choice.css) for role, choice in chosen.items()}
        css = circular.render(environment, "circular.css.j2", font=families, red=circular.RED)
        page = circular.render(environment, "talk_notice.html.j2", css=Markup(css), **context)
        fonts = {role: c.family for role, c in chosen.items()}
        base = folder / f"{notice.unit}{config.talks.title}"
        folder.mkdir(parents=True, exist_ok=True)
        with atomic.written(base.with_suffix(".pdf")) as temporary:
            temporary.write_bytes(circular.Circular("", page, fonts).pdf())
        with atomic.written(base.with_suffix(".docx")) as temporary:
            circular_docx.write(page, fonts, circular.RED, temporary)
        written += [base.with_suffix(".docx"), base.with_suffix(".pdf")]
    return written


def followups(config: Config, ledger: Ledger, standings: Standings) -> list[FollowUp]:
    """The units the last issued circular before this one summoned, with their talks."""
    issued = ledger.issued_summons()
    earlier = [p for p in issued if p < str(standings.period)]
    if not earlier:
        return []
    prior = max(earlier)
    version = ledger.latest_version(prior)
    then = {u.unit: u for u in version.standings.units} if version else {}
    now = {s.unit: s for s in standings.units}
    talks = {t.unit: t for t in ledger.talks(prior)}
    from pipeline.standings.periods import Period

    label = spans.label(config, Period.parse(prior))
    return [
        FollowUp(
            unit=unit,
            summoned_in=label,
            talk=talks.get(unit),
            then_completed=then[unit].completed if unit in then else 0,
            then_rate=_rate(then.get(unit)),
            now_completed=now[unit].completed,
            now_rate=now[unit].rate,
        )
        for unit in sorted(issued[prior])
        if unit in now
    ]


def _rate(issued: UnitSnapshot | None) -> float:
    """A unit's rate as the issued circular stated it (its snapshot keeps the figures)."""
    return rate_of(issued.completed, issued.target) if issued else 0.0
