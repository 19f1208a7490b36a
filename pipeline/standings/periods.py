"""Dekads (旬): which period a report belongs to, and the cutoffs around a date.

A period is named by its deadline day (e.g. 2015-09-20). Deadline days come from the
config (10, 20, 30); a day past the month's end becomes the month's last day, so
February's third period ends on the 28th or 29th and the 31st belongs to the next month —
except with `schedule.year_end`, where December's last period ends at 24:00 on the 31st, so
that a report sent up to the year's end counts in that year.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pipeline.config import Schedule


@dataclass(frozen=True, order=True)
class Period:
    end: date

    def __str__(self) -> str:
        return self.end.isoformat()

    @classmethod
    def parse(cls, text: str) -> Period:
        return cls(date.fromisoformat(text))

    def cutoff(self, schedule: Schedule) -> datetime:
        if schedule.year_end and (self.end.month, self.end.day) == (12, 31):
            return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=schedule.zone)
        return datetime.combine(self.end, schedule.time, tzinfo=schedule.zone)

    def label(self) -> str:
        """Chinese name, e.g. 2015年9月中旬."""
        part = "上" if self.end.day <= 10 else "中" if self.end.day <= 20 else "下"
        return f"{self.end.year}年{self.end.month}月{part}旬"


def local_text(when: datetime | str | None, schedule: Schedule, seconds: bool = False) -> str:
    """A stored time (aware, often UTC) as a person reads it: in the campaign's zone."""
    if not when:
        return ""
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    return moment.astimezone(schedule.zone).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""))


def _deadlines_in_month(year: int, month: int, schedule: Schedule) -> list[date]:
    last = calendar.monthrange(year, month)[1]
    days = sorted({date(year, month, min(day, last)) for day in schedule.days})
    if schedule.year_end and month == 12:
        days[-1] = date(year, 12, 31)  # the year's last period runs to its very end
    return days


def deadlines(start: date, schedule: Schedule) -> Iterator[date]:
    """Every deadline day on or after `start`, in order, forever."""
    year, month = start.year, start.month
    while True:
        for day in _deadlines_in_month(year, month, schedule):
            if day >= start:
                yield day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def period_of(arrival: datetime, schedule: Schedule) -> Period:
    """The first period whose cutoff is at or after `arrival` (an aware datetime)."""
    local = arrival.astimezone(schedule.zone)
    for day in deadlines(local.date(), schedule):
        period = Period(day)
        if period.cutoff(schedule) >= local:
            return period
    raise AssertionError("unreachable: deadlines() is infinite")


def latest_closed(now: datetime, schedule: Schedule) -> Period:
    """The latest period whose cutoff has passed at `now`."""
    local = now.astimezone(schedule.zone)
    current = period_of(local, schedule)
    if current.cutoff(schedule) == local:
        return current
    return previous(current, schedule)


def previous(period: Period, schedule: Schedule) -> Period:
    probe = period.end - timedelta(days=1)
    while True:
        days = _deadlines_in_month(probe.year, probe.month, schedule)
        earlier = [d for d in days if d < period.end]
        if earlier:
            return Period(earlier[-1])
        probe = probe.replace(day=1) - timedelta(days=1)


def following(period: Period, schedule: Schedule) -> Period:
    """The period after `period`."""
    return Period(next(deadlines(period.end + timedelta(days=1), schedule)))


def between(first: date, last: Period, schedule: Schedule) -> list[Period]:
    """The periods from the one containing `first` up to and including `last`."""
    result = []
    for day in deadlines(first, schedule):
        if day > last.end:
            break
        result.append(Period(day))
    return result


def is_deadline(day: date, schedule: Schedule) -> bool:
    return day in _deadlines_in_month(day.year, day.month, schedule)


def window(first: date, last: date, schedule: Schedule) -> tuple[Period, Period]:
    """The first and the last period of a campaign running from `first` to `last`."""
    zone = schedule.zone
    begin = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last, datetime.max.time(), tzinfo=zone)
    return period_of(begin, schedule), period_of(end, schedule)


def nearest(day: date, schedule: Schedule) -> tuple[Period, Period]:
    """The deadlines just before and just after a day that is not one."""
    after = Period(next(deadlines(day, schedule)))
    return previous(after, schedule), after
