"""The `serve` loop's wake-ups as APScheduler triggers: cutoffs, reminders and polls.

Each trigger answers `get_next_fire_time(previous, now)` and nothing else: cutoffs are asked
of `periods` (through `timetable`, so there is one calendar), reminder moments of
`reminders`, polls of APScheduler's `IntervalTrigger`. No APScheduler job store or scheduler
thread is used, because what has run is recorded in the ledger and a restart must read it
there; the triggers are pure functions of `now`, so a fake clock drives them in tests.
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pipeline.config import Config
from pipeline.delivery import reminders
from pipeline.standings.periods import Period
from pipeline.standings.timetable import next_run


class DekadTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 has no types
    """Fires at each cutoff of the campaign (the 10th, 20th, 30th; February: its last day),
    strictly after `previous` (or `now`); None once campaign.end's period is past."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def next_cutoff(self, after: datetime) -> tuple[datetime, Period] | None:
        return next_run(self.config, after)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        upcoming = self.next_cutoff(previous_fire_time or now)
        return upcoming[0] if upcoming else None


class ReminderTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 has no types
    """Fires at each period's reminder moment within the campaign; None when reminders are
    off (or there is no SMTP host to send them with)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        return reminders.next_moment(self.config, previous_fire_time or now)


def poll_trigger(config: Config, start: datetime) -> IntervalTrigger | None:
    """Every `mailbox.poll_minutes` from `start` (the last poll, or the end of a cycle, which
    reads the mailbox too) in the campaign's zone; None when polling is off."""
    minutes = config.mailbox.poll_minutes
    if not minutes:
        return None
    return IntervalTrigger(minutes=minutes, start_date=start, timezone=config.schedule.zone)


def next_poll(trigger: IntervalTrigger | None, now: datetime) -> datetime | None:
    """The poll after the one the trigger starts from; overdue (the machine slept): now."""
    if trigger is None:
        return None
    due: datetime | None = trigger.get_next_fire_time(trigger.start_date, now)
    return max(due, now) if due is not None else None
