"""The serve loop's APScheduler triggers: cutoffs from `periods`, reminders, polls."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from fakeclock import at

from pipeline import config as config_module
from pipeline.config import Config
from pipeline.service.triggers import DekadTrigger, ReminderTrigger, next_poll, poll_trigger

ROOT = Path(__file__).resolve().parent.parent


def load(tmp_path: Path, replace: dict[str, str]) -> Config:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("path: inbox_samples", f"path: {tmp_path / 'inbox'}")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    return config_module.load(tmp_path / "config.yaml").config


CAMPAIGN = {"start: 2015-09-01": "start: 2023-12-01", "end: 2015-12-31": "end: 2024-03-15"}
REMINDERS = {
    "  enabled: false            # true：在截止前": "  enabled: true             # true：在截止前",
    'host: ""                  # 例如 smtp.126.com': "host: smtp.example.org",
    "  days_before: 0 ": "  days_before: 2 ",
}


def test_cutoffs_fall_on_februarys_last_day_and_stop_after_the_campaign(tmp_path: Path) -> None:
    trigger = DekadTrigger(load(tmp_path, CAMPAIGN))
    fired = [trigger.get_next_fire_time(None, at("2024-02-10 18:00"))]
    while (last := fired[-1]) is not None:
        fired.append(trigger.get_next_fire_time(last, last))
    assert fired == [
        at("2024-02-20 18:00"),
        at("2024-02-29 18:00"),  # leap year: the 29th, not the 30th
        at("2024-03-10 18:00"),
        at("2024-03-20 18:00"),  # the period holding campaign.end (03-15): the last
        None,
    ]
    # Asia/Shanghai has no DST: every cutoff is 10:00 UTC, whatever the season
    assert {f.astimezone(UTC).hour for f in fired if f} == {10}
    assert trigger.get_next_fire_time(None, at("2024-03-20 18:00")) is None
    # a common year: the 28th
    assert trigger.get_next_fire_time(None, at("2023-02-20 18:00")) == at("2023-02-28 18:00")


def test_reminders_before_each_cutoff_and_polls_every_interval(tmp_path: Path) -> None:
    config = load(tmp_path, CAMPAIGN | REMINDERS)
    reminders = ReminderTrigger(config)
    fired = [reminders.get_next_fire_time(None, at("2024-02-10 18:00"))]
    while (last := fired[-1]) is not None:
        fired.append(reminders.get_next_fire_time(last, last))
    moments = ["02-18", "02-27", "03-08", "03-18"]  # two days before each cutoff
    assert fired == [at(f"2024-{m} 09:00") for m in moments] + [None]
    off = ReminderTrigger(load(tmp_path, CAMPAIGN))  # reminders off by default
    assert off.get_next_fire_time(None, at("2024-02-11 00:00")) is None

    polls = poll_trigger(config, at("2024-02-11 23:45"))
    assert polls is not None and polls.start_date == at("2024-02-11 23:45")
    assert next_poll(polls, at("2024-02-11 23:50")) == at("2024-02-12 00:15")
    overdue = at("2024-02-12 03:00")  # the machine slept: poll at once
    assert next_poll(polls, overdue) == overdue
    no_polls = load(tmp_path, CAMPAIGN | {"poll_minutes: 30": "poll_minutes: 0"})
    assert poll_trigger(no_polls, at("2024-02-11 23:45")) is None
    assert next_poll(None, overdue) is None
