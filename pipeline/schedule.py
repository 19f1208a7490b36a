"""xunbao on its own: the dekad trigger, catch-up after downtime, and the `serve` loop.

The trigger is APScheduler's: cron on the configured days at the cutoff time, OR'ed with
"the last day" of the months too short for the latest configured day (February for 30).
The loop around it is ours, because the truth about what has run lives in the ledger's
`runs` table, not in a job store: on every wake-up (start, each cutoff, each retry) the
server runs every period whose cutoff has passed since the last successful run, oldest
first, each with its own date. Missing a cutoff by hours or weeks (misfire) is therefore
never fatal, and a restart never runs a period twice. Time comes from an injectable
`Clock`, so tests drive a year of cutoffs without sleeping.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from . import config as config_module
from . import job, logs
from .config import Config, Schedule
from .errors import ConfigError, XunbaoError
from .ledger import Ledger
from .periods import Period, between, latest_closed, period_of, window
from .runtime import Clock, ServeLock, SystemClock

log = logging.getLogger("xunbao.schedule")

TRIGGER_NAMES = {
    "schedule": "按时运行",
    "catchup": "补跑",
    "once": "单次运行",
    "manual": "手工运行",
}
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
_SHORTEST_MONTH = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}  # others have 31 days


# ── when ───────────────────────────────────────────────────────
def dekad_trigger(schedule: Schedule) -> BaseTrigger:
    """Fires at the cutoff of every period, in the schedule's own timezone."""
    at: dict[str, Any] = {
        "hour": schedule.time.hour,
        "minute": schedule.time.minute,
        "second": schedule.time.second,
        "timezone": schedule.zone,
    }
    triggers: list[BaseTrigger] = [CronTrigger(day=",".join(map(str, schedule.days)), **at)]
    # A plain day='10,20,30' skips February's third run: add its last day (and any other
    # month too short for the latest configured day), as periods.py does.
    short = [m for m in range(1, 13) if max(schedule.days) > _SHORTEST_MONTH.get(m, 31)]
    if short:
        triggers.append(CronTrigger(month=",".join(map(str, short)), day="last", **at))
    return OrTrigger(triggers) if len(triggers) > 1 else triggers[0]


def next_runs(schedule: Schedule, start: datetime, count: int) -> list[tuple[datetime, Period]]:
    """The next `count` run times at or after `start`, each with the period it closes."""
    trigger = dekad_trigger(schedule)
    runs: list[tuple[datetime, Period]] = []
    probe = start
    while len(runs) < count:
        fire = trigger.get_next_fire_time(None, probe)
        assert fire is not None, "cron triggers without an end date always fire again"
        runs.append((fire, period_of(fire, schedule)))
        probe = fire + timedelta(seconds=1)
    return runs


def next_run(schedule: Schedule, after: datetime) -> tuple[datetime, Period]:
    """The first run strictly after `after`."""
    return next_runs(schedule, after + timedelta(microseconds=1), 1)[0]


def local(when: datetime, schedule: Schedule) -> str:
    return when.astimezone(schedule.zone).strftime("%Y-%m-%d %H:%M")


# ── what is due ────────────────────────────────────────────────
def scheduled_runs(ledger: Ledger) -> list[dict[str, Any]]:
    """Runs made by `serve` (a manual `xunbao run` may use --no-send or --out: not counted)."""
    return ledger.runs(exclude_trigger="manual")


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
    ok = [Period.parse(r["period"]) for r in runs if r["outcome"] == "ok"]
    if ok:
        due = [p for p in between(max(ok).end, latest, schedule) if p > max(ok)]
    elif runs:  # tried before, never succeeded: from the first attempt on
        due = between(min(Period.parse(r["period"]) for r in runs).end, latest, schedule)
    else:
        due = [latest]
    first, last = campaign_window(config)
    return [p for p in due if first <= p <= last]


@dataclass
class _Failure:
    attempts: int
    retry_at: datetime | None  # None: given up until a reload or restart


# ── the server ─────────────────────────────────────────────────
class Server:
    def __init__(
        self,
        config_path: Path,
        *,
        clock: Clock | None = None,
        cycle: Callable[..., job.CycleResult] = job.cycle,
        poll: timedelta = timedelta(seconds=30),
    ) -> None:
        self.config_path = config_path
        self.config: Config = config_module.load(config_path).config
        self._stamp = _stamp(config_path)
        self.clock: Clock = clock or SystemClock()
        self.cycle = cycle
        self.poll = poll
        self.stop_requested = False
        self.reload_requested = False
        self.running: Period | None = None
        self.failures: dict[Period, _Failure] = {}
        self.once = False

    # signals only set flags; the loop acts on them between runs
    def request_stop(self, *_: Any) -> None:
        self.stop_requested = True
        if self.running is not None:
            log.info("收到停止信号：当前运行（%s）结束后退出。", self.running)
        else:
            log.info("收到停止信号，正在退出。")

    def request_reload(self, *_: Any) -> None:
        self.reload_requested = True

    # ── the loop ───────────────────────────────────────────────
    def serve(self, once: bool = False) -> int:
        """Run until stopped (0), or with `once` run what is due and return (1 if any failed)."""
        lock = ServeLock(self.config.resolve(self.config.storage.path))
        lock.acquire()
        restore = self._install_signals()
        self.once = once
        self._log_start()
        try:
            self._close_stale_runs()
            if once:
                failed = self.run_due("once")
                return 1 if failed else 0
            self.run_due("catchup")
            while not self.stop_requested:
                target = self.next_wake(self.clock.now())
                self._log_next(target)
                self._sleep_until(target)
                if not self.stop_requested and self.clock.now() >= target:
                    self.run_due("schedule")
            logs.event(log, logging.INFO, "serve.stop", "xunbao serve 已停止。")
            return 0
        finally:
            restore()
            lock.release()

    def run_due(self, trigger: str) -> int:
        """Run every due period, oldest first; the number that failed."""
        ledger = job.open_ledger(self.config)
        try:
            due = due_periods(ledger, self.config, self.clock.now())
        finally:
            ledger.close()
        due = [p for p in due if self._may_run(p)]
        if not due:
            self._nothing_due(trigger)
        if len(due) > 1:
            names = "、".join(str(p) for p in due)
            logs.event(log, logging.INFO, "run.catchup", f"需要补跑 {len(due)} 个旬：{names}。")
        failed = 0
        for period in due:
            if self.stop_requested:
                log.info("已收到停止信号：其余的旬将在下次启动时补跑。")
                break
            failed += not self._run_one(period, trigger)
        return failed

    def _nothing_due(self, trigger: str) -> None:
        campaign = self.config.campaign
        if latest_closed(self.clock.now(), self.config.schedule) > campaign_window(self.config)[1]:
            message = (
                f"活动“{campaign.name}”已于 {campaign.end} 结束（config.yaml 中的 campaign.end），"
                "不再自动生成通报。开始新的活动时请修改 campaign 和各单位的目标。"
            )
            logs.event(log, logging.WARNING, "run.campaign_over", message)
        elif trigger == "once":
            logs.event(log, logging.INFO, "run.none", "没有到期需要运行的旬。")

    def _may_run(self, period: Period) -> bool:
        failure = self.failures.get(period)
        if failure is None:
            return True
        return failure.retry_at is not None and self.clock.now() >= failure.retry_at

    def _run_one(self, period: Period, trigger: str) -> bool:
        label = f"{period.label()}（截至 {period}）"
        what = TRIGGER_NAMES.get(trigger, trigger)
        fields = {"period": str(period), "trigger": trigger}
        self.running = period  # before the log line: a signal may follow it at once
        logs.event(log, logging.INFO, "run.start", f"开始{what}：{label}。", **fields)
        started = time.monotonic()
        try:
            result = self.cycle(self.config, period, trigger=trigger, echo=self._echo)
        except XunbaoError as exc:
            self._failed(period, label, str(exc))
            return False
        except Exception as exc:
            log.debug("运行出错", exc_info=True)
            self._failed(period, label, f"程序内部错误：{exc!r}", exc_info=True)
            return False
        finally:
            self.running = None
        self.failures.pop(period, None)
        seconds = time.monotonic() - started
        message = f"{label}{what}完成，用时 {seconds:.1f} 秒。"
        logs.event(log, logging.INFO, "run.ok", message, **fields, **result.summary())
        return True

    def _echo(self, line: str) -> None:
        logs.event(log, logging.INFO, "run.step", line)

    def _failed(self, period: Period, label: str, why: str, exc_info: bool = False) -> None:
        before = self.failures.get(period)
        attempts = (before.attempts if before else 0) + 1
        why = why.rstrip("。. ")
        if self.once:
            retry_at, then = None, "下次执行 xunbao serve --once 时重试"
        elif attempts > len(RETRY_DELAYS):
            retry_at = None
            then = (
                "不再自动重试。排除问题后请执行 systemctl reload xunbao（或重启服务），"
                f"也可以手工运行 xunbao run --period {period}"
            )
        else:
            retry_at = self.clock.now() + RETRY_DELAYS[attempts - 1]
            then = f"将于 {local(retry_at, self.config.schedule)} 重试"
        self.failures[period] = _Failure(attempts, retry_at)
        message = f"{label}运行失败（第 {attempts} 次）：{why}。{then}。"
        fields = {"period": str(period), "attempts": attempts, "error": why}
        log.error(message, exc_info=exc_info, extra={"event": "run.failed", "fields": fields})

    def next_wake(self, now: datetime) -> datetime:
        fire, _ = next_run(self.config.schedule, now)
        retries = [f.retry_at for f in self.failures.values() if f.retry_at is not None]
        return min([fire, *retries])

    def _sleep_until(self, target: datetime) -> None:
        while not self.stop_requested:
            if self._maybe_reload():
                return  # the schedule may have changed: the caller recomputes the target
            now = self.clock.now()
            if now >= target:
                return
            wake = min(target, now + self.poll)
            self.clock.wait(wake, lambda: self.stop_requested or self.reload_requested)

    def _log_start(self) -> None:
        schedule = self.config.schedule
        days = "、".join(map(str, schedule.days))
        message = (
            f"xunbao serve 已启动（配置 {self.config_path.resolve()}）：每月 {days} 日（二月的"
            f" 30 日改为最后一天）{schedule.time:%H:%M} 运行，时区 {schedule.timezone}。"
        )
        logs.event(log, logging.INFO, "serve.start", message, once=self.once)

    def _log_next(self, target: datetime) -> None:
        fire, period = next_run(self.config.schedule, self.clock.now())
        when = local(target, self.config.schedule)
        if target < fire:
            message = f"下次重试时间：{when}。"
        else:
            message = f"下次运行时间：{when}（{period.label()}，截至 {period}）。"
        logs.event(log, logging.INFO, "serve.next", message, at=target.isoformat())

    def _maybe_reload(self) -> bool:
        """Pick up a changed config.yaml (or SIGHUP); a broken one leaves the old in force."""
        stamp = _stamp(self.config_path)
        if not self.reload_requested and stamp == self._stamp:
            return False
        why = "收到重新加载信号（SIGHUP）" if self.reload_requested else "配置文件已修改"
        self.reload_requested = False
        self._stamp = stamp
        try:
            config = config_module.load(self.config_path).config
        except (ConfigError, OSError) as exc:
            problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
            message = f"{why}，但新配置有误，继续使用原来的配置：{'；'.join(problems)}"
            log.error(message, extra={"event": "config.rejected", "fields": {"problems": problems}})
            return False
        self.config = config
        self.failures.clear()  # a fixed config deserves a fresh try
        logs.reconfigure(config)
        logs.event(log, logging.INFO, "config.reloaded", f"{why}：已重新加载 {self.config_path}。")
        return True

    def _close_stale_runs(self) -> None:
        ledger = job.open_ledger(self.config)
        try:
            if stale := ledger.close_stale_runs(exclude_trigger="manual"):
                log.warning("发现 %d 次未正常结束的运行（服务曾被强行终止），已标记为中断。", stale)
        finally:
            ledger.close()

    def _install_signals(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        wanted: dict[signal.Signals, Callable[[int, FrameType | None], None]] = {
            signal.SIGTERM: self._on_stop,
            signal.SIGINT: self._on_stop,
            signal.SIGHUP: self.request_reload,
        }
        before = {number: signal.signal(number, handler) for number, handler in wanted.items()}

        def restore() -> None:
            for number, handler in before.items():
                signal.signal(number, handler)

        return restore

    def _on_stop(self, number: int, frame: FrameType | None) -> None:
        if number == signal.SIGINT and self.stop_requested:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, the run is marked interrupted
        self.request_stop()


def _stamp(path: Path) -> bytes | None:
    """The file's content: a change of any kind (editor, rename, touch-free copy) shows."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def serve_command(config_path: Path, *, once: bool, log_json: bool) -> int:
    """`xunbao serve`: set up logging and run the loop."""
    server = Server(config_path)
    logs.setup(as_json=log_json, config=server.config)
    return server.serve(once=once)
