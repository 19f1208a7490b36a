"""When things happen: the cutoffs (from `periods`, so there is one calendar), the
campaign's window, the periods due to run, and the names of the triggers of a run."""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline.config import Config, Schedule
from pipeline.ledger import Ledger
from pipeline.ledger.records import RunRecord
from pipeline.standings import spans
from pipeline.standings.periods import Period, between, following, latest_closed, period_of, window

TRIGGER_NAMES = {
    "schedule": "按时运行",
    "catchup": "补跑",
    "once": "单次运行",
    "manual": "手工运行",
    "poll": "收信",
}
SCHEDULED = ("schedule", "catchup", "once")  # the triggers of circulars made by `serve`
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


# ── when ───────────────────────────────────────────────────────
def next_runs(schedule: Schedule, start: datetime, count: int) -> list[tuple[datetime, Period]]:
    """The next `count` cutoffs at or after `start`, each with the period it closes."""
    period = period_of(start, schedule)
    runs: list[tuple[datetime, Period]] = []
    while len(runs) < count:
        runs.append((period.cutoff(schedule), period))
        period = following(period, schedule)
    return runs


def next_run(config: Config, after: datetime) -> tuple[datetime, Period] | None:
    """The first cutoff strictly after `after`; None once the campaign's last one is past."""
    fire, period = next_runs(config.schedule, after + timedelta(microseconds=1), 1)[0]
    return (fire, period) if period <= campaign_window(config)[1] else None


# ── what is due ────────────────────────────────────────────────
def scheduled_runs(ledger: Ledger) -> list[RunRecord]:
    """Circular runs made by `serve` (a manual `xunbao run` may use --no-send or --out, and a
    poll makes no circular: neither counts)."""
    return ledger.runs(triggers=SCHEDULED)


def campaign_window(config: Config) -> tuple[Period, Period]:
    """The first and the last period of the campaign: no circular outside them."""
    return window(config.campaign.start, config.campaign.end, config.schedule)


def due_periods(ledger: Ledger, config: Config, now: datetime) -> list[Period]:
    """Every campaign period closed at `now` and not run successfully since the last success.

    The first start ever (no scheduled run recorded) runs the latest closed period only.
    """
    schedule = config.schedule
    runs = scheduled_runs(ledger)
    latest = latest_closed(now, schedule)
    ok = [Period.parse(r.period) for r in runs if r.period and r.outcome == "ok"]
    if ok:
        due = [p for p in between(max(ok).end, latest, schedule) if p > max(ok)]
    elif runs:  # tried before, never succeeded: from the first attempt on
        tried = min((Period.parse(r.period) for r in runs if r.period), default=latest)
        due = between(tried.end, latest, schedule)
    else:
        due = [latest]
    first, last = campaign_window(config)
    return [p for p in due if first <= p <= last]


# ── what only a person may ask for ─────────────────────────────
def first_use(ledger: Ledger) -> datetime | None:
    """When the ledger first read the mailbox (its first run of any kind); None: never."""
    runs = ledger.runs()
    return min((datetime.fromisoformat(r.started_at) for r in runs), default=None)


def unasked(config: Config, ledger: Ledger, period: Period, first: datetime | None) -> str | None:
    """Why the period's circular is made only on request ("run --period"), or None.

    A dekad that closed before the ledger first read the mailbox (`first`; None: this is the
    first read) was never watched, and one for which nothing was received would name every
    unit 未报送: neither goes out by itself."""
    if spans.kind(config, period) == "adhoc":
        return None  # made only when asked for: never scheduled
    if not spans.wanted(config, period):
        return "不是月末一旬（按配置每月通报一次）"
    if first is None or period.cutoff(config.schedule) <= first:
        return "在台账开始收信之前已截止"
    reports = ledger.active_reports(period=str(period))
    if not reports and not ledger.count_messages(period=str(period), outcome="review"):
        return "没有收到任何报表"
    return None
