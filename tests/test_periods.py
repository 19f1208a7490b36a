"""Period assignment: deadlines 10/20/30, February's last day, the 31st, the cutoff time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import Schedule
from pipeline.standings.periods import Period, between, latest_closed, period_of, previous

SCHEDULE = Schedule()  # 10/20/30 at 18:00 Asia/Shanghai
SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.mark.parametrize(
    ("arrival", "period"),
    [
        ("2015-09-10 17:59", "2015-09-10"),
        ("2015-09-10 18:00", "2015-09-10"),  # at the cutoff still counts
        ("2015-09-10 18:01", "2015-09-20"),
        ("2015-09-11 08:00", "2015-09-20"),  # a form dated the 10th arriving the 11th
        ("2015-09-30 19:00", "2015-10-10"),
        ("2015-10-31 09:00", "2015-11-10"),  # the 31st belongs to the next period
        ("2015-02-25 09:00", "2015-02-28"),
        ("2016-02-29 17:00", "2016-02-29"),  # leap year
        ("2016-02-29 18:30", "2016-03-10"),
        ("2015-12-30 20:00", "2016-01-10"),  # across the year
    ],
)
def test_period_of(arrival: str, period: str) -> None:
    assert str(period_of(at(arrival), SCHEDULE)) == period


def test_period_uses_shanghai_time_whatever_the_input_zone() -> None:
    # 2015-09-10 10:30 UTC is 18:30 in Shanghai: past the cutoff.
    assert str(period_of(datetime(2015, 9, 10, 10, 30, tzinfo=UTC), SCHEDULE)) == "2015-09-20"


def test_latest_closed_and_previous() -> None:
    assert str(latest_closed(at("2015-09-20 18:00"), SCHEDULE)) == "2015-09-20"
    assert str(latest_closed(at("2015-09-20 17:00"), SCHEDULE)) == "2015-09-10"
    assert str(previous(Period(date(2016, 3, 10)), SCHEDULE)) == "2016-02-29"
    assert str(previous(Period(date(2015, 1, 10)), SCHEDULE)) == "2014-12-30"


def test_between_lists_each_period_once() -> None:
    periods = [str(p) for p in between(date(2016, 2, 1), Period(date(2016, 3, 10)), SCHEDULE)]
    assert periods == ["2016-02-10", "2016-02-20", "2016-02-29", "2016-03-10"]


def test_labels() -> None:
    assert Period(date(2015, 9, 20)).label() == "2015年9月中旬"
    assert Period(date(2016, 2, 29)).label() == "2016年2月下旬"
