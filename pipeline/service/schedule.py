"""xunbao on its own: catch-up after downtime, polling between cutoffs, and the `serve` loop.

Each kind of wake-up is an APScheduler trigger (`triggers`; cutoffs from `periods`, one
calendar), and `next_wake` is their earliest fire time. What has run lives in the ledger's
`runs` table, not in a job store: on every wake-up (start, each cutoff, each retry) the
server runs every period whose cutoff has passed since the last successful run, oldest
first, each with its own date, so a missed cutoff (misfire) is never fatal and a restart
never runs a period twice. Between cutoffs it polls the mailbox every `mailbox.poll_minutes`
(ingest, then the after-poll steps of `followup`) and wakes at each reminder time. Time
comes from an injectable `Clock`, so tests drive a year of cutoffs without sleeping.
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
from typing import Any, Literal

from pipeline import config as config_module
from pipeline.config import Config
from pipeline.delivery import receipts
from pipeline.errors import ConfigError, XunbaoError
from pipeline.runtime import Clock, ServeLock, SystemClock
from pipeline.service import job, logs
from pipeline.service.triggers import DekadTrigger, ReminderTrigger, next_poll, poll_trigger
from pipeline.standings.periods import Period, latest_closed, local_text
from pipeline.standings.timetable import (
    RETRY_DELAYS,
    SCHEDULED,
    TRIGGER_NAMES,
    campaign_window,
    due_periods,
)

log = logging.getLogger("xunbao.schedule")


@dataclass
class _Failure:
    attempts: int
    retry_at: datetime | None  # None: given up until a reload or restart


@dataclass(frozen=True, order=True)
class Wake:
    """The next moment the server acts, and why (at the same moment a cutoff comes first)."""

    at: datetime
    why: Literal["cutoff", "retry", "poll"]
    period: Period | None = None


_FIRST = {"cutoff": 0, "retry": 1, "poll": 2}


# ── the server ─────────────────────────────────────────────────
class Server:
    def __init__(
        self,
        config_path: Path,
        *,
        clock: Clock | None = None,
        cycle: Callable[..., job.CycleResult] = job.cycle,
        poll: Callable[..., job.PollResult] = job.poll,
        check_every: timedelta = timedelta(seconds=30),
    ) -> None:
        self.config_path = config_path
        self.config: Config = config_module.load(config_path).config
        self._stamp = _stamp(config_path)
        self.clock: Clock = clock or SystemClock()
        self.cycle = cycle
        self.poll = poll
        self.check_every = check_every  # how often a wait looks for a changed config.yaml
        self.stop_requested = False
        self.reload_requested = False
        self.running: Period | None = None
        self.failures: dict[Period, _Failure] = {}
        self.once = False
        self._triggers(self.config)
        self._announced: Wake | None = None
        self._told = False  # whether anything was announced yet (None means: nothing more)
        self._poll_error: str | None = None  # the last poll's fault, until one succeeds

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
        """Run until stopped (0), or with `once` run what is due — or, with nothing due, poll
        the mailbox — and return (1 if anything failed)."""
        lock = ServeLock(self.config.resolve(self.config.storage.path))
        lock.acquire()
        restore = self._install_signals()
        self.once = once
        self._log_start()
        try:
            self._close_stale_runs()
            self._note_switches()
            if once:
                ran, failed = self.run_due("once")
                if not ran:
                    failed = 0 if self.tick() else 1
                return 1 if failed else 0
            self.run_due("catchup")
            self.polls = poll_trigger(self.config, self.clock.now())
            while not self.stop_requested:
                wake = self.next_wake(self.clock.now())
                self._log_next(wake)
                self._sleep_until(wake.at if wake else None)
                if self.stop_requested or wake is None or self.clock.now() < wake.at:
                    continue  # stopped, or the config changed: plan again
                self._act(wake)
            logs.event(log, logging.INFO, "serve.stop", "xunbao serve 已停止。")
            return 0
        finally:
            restore()
            lock.release()

    def _act(self, wake: Wake) -> None:
        if wake.why == "poll":
            self.tick()
            return
        ran, _ = self.run_due("schedule")
        if ran:  # the cycle read the mailbox: the next poll counts from now
            self.polls = poll_trigger(self.config, self.clock.now())

    def tick(self) -> bool:
        """Read new mail between cutoffs and run the after-poll steps; False if it failed.

        A poll that failed (the mailbox is down) is logged and tried at the next poll; it
        never stops the server, and the cutoff's own cycle reads the mailbox again."""
        now = self.clock.now()
        self.polls = poll_trigger(self.config, now)
        lines: list[str] = []
        try:
            result = self.poll(self.config, echo=lines.append, now=now)
        except XunbaoError as exc:
            message = f"收信失败：{str(exc).rstrip('。. ')}。将在下次收信时重试。"
            logs.event(log, logging.WARNING, "poll.failed", message, error=str(exc))
            return False
        except Exception as exc:
            log.warning(
                "收信时程序内部错误：%r", exc, exc_info=True, extra={"event": "poll.failed"}
            )
            return False
        busy = result.ingested.new or any(
            r.sent or r.failures for r in result.followed.results.values()
        )
        for line in lines:
            logs.event(log, logging.INFO if busy else logging.DEBUG, "poll.step", line)
        return True

    def _poll_failed(self, why: str) -> None:
        """Warn once per distinct fault: a mailbox down all night is one line, not sixteen."""
        level = logging.DEBUG if why == self._poll_error else logging.WARNING
        self._poll_error = why
        message = f"收信失败：{why}。将在下次收信时重试（问题持续时不再重复提示）。"
        logs.event(log, level, "poll.failed", message, error=why)

    def _triggers(self, config: Config) -> None:
        """The wake-ups of `config`: cutoffs and reminders; polls start from now."""
        self.cutoffs, self.reminders = DekadTrigger(config), ReminderTrigger(config)
        self.polls = poll_trigger(config, self.clock.now())

    def run_due(self, trigger: str) -> tuple[int, int]:
        """Run every due period, oldest first; how many were run, and how many failed."""
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
        ran = failed = 0
        for period in due:
            if self.stop_requested:
                log.info("已收到停止信号：其余的旬将在下次启动时补跑。")
                break
            ran += 1
            failed += not self._run_one(period, trigger)
        return ran, failed

    def _nothing_due(self, trigger: str) -> None:
        if latest_closed(self.clock.now(), self.config.schedule) > campaign_window(self.config)[1]:
            logs.event(log, logging.WARNING, "run.campaign_over", self._campaign_over())
        elif trigger == "once":
            logs.event(log, logging.INFO, "run.none", "没有到期需要运行的旬。")

    def _campaign_over(self) -> str:
        campaign = self.config.campaign
        return (
            f"活动“{campaign.name}”已于 {campaign.end} 结束（config.yaml 中的 campaign.end），"
            "不再自动生成通报。开始新的活动时请修改 campaign 和各单位的目标"
            + ("；服务继续按时收信。" if self.config.mailbox.poll_minutes else "。")
        )

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
            result = self.cycle(
                self.config, period, trigger=trigger, echo=self._echo, now=self.clock.now()
            )
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
        logs.event(log, logging.INFO, "run.ok", message, **fields, **result.summary().to_json())
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
            then = f"将于 {local_text(retry_at, self.config.schedule)} 重试"
        self.failures[period] = _Failure(attempts, retry_at)
        message = f"{label}运行失败（第 {attempts} 次）：{why}。{then}。"
        fields = {"period": str(period), "attempts": attempts, "error": why}
        log.error(message, exc_info=exc_info, extra={"event": "run.failed", "fields": fields})

    def next_wake(self, now: datetime) -> Wake | None:
        """The next cutoff (none after the campaign), retry, poll or reminder time; None:
        nothing ever."""
        wakes = []
        if upcoming := self.cutoffs.next_cutoff(now):
            wakes.append(Wake(upcoming[0], "cutoff", upcoming[1]))
        wakes += [Wake(f.retry_at, "retry", p) for p, f in self.failures.items() if f.retry_at]
        if poll := next_poll(self.polls, now):
            wakes.append(Wake(poll, "poll"))
        if remind := self.reminders.get_next_fire_time(None, now):
            wakes.append(Wake(remind, "poll"))  # a poll, then the reminders are due
        return min(wakes, key=lambda w: (w.at, _FIRST[w.why]), default=None)

    def _sleep_until(self, target: datetime | None) -> None:
        """Wait for `target` (None: until stopped), looking for a changed config meanwhile."""
        while not self.stop_requested:
            if self._maybe_reload():
                return  # the schedule may have changed: the caller plans again
            now = self.clock.now()
            if target is not None and now >= target:
                return
            wake = now + self.check_every if target is None else min(target, now + self.check_every)
            self.clock.wait(wake, lambda: self.stop_requested or self.reload_requested)

    def _log_start(self) -> None:
        schedule = self.config.schedule
        minutes = self.config.mailbox.poll_minutes
        days = "、".join(map(str, schedule.days))
        message = (
            f"xunbao serve 已启动（配置 {self.config_path.resolve()}）：每月 {days} 日（二月的"
            f" 30 日改为最后一天）{schedule.time:%H:%M} 运行，时区 {schedule.timezone}"
            + (f"；两次截止之间每 {minutes:g} 分钟收信一次。" if minutes else "。")
        )
        logs.event(log, logging.INFO, "serve.start", message, once=self.once)

    def _log_next(self, wake: Wake | None) -> None:
        """Say when the next circular or retry is due; polls in between are not announced."""
        upcoming = self.cutoffs.next_cutoff(self.clock.now())
        shown = wake if wake is not None and wake.why == "retry" else None
        if shown is None and upcoming is not None:
            shown = Wake(upcoming[0], "cutoff", upcoming[1])
        if self._told and shown == self._announced:
            return
        self._announced, self._told = shown, True
        if shown is None:
            logs.event(log, logging.WARNING, "run.campaign_over", self._campaign_over())
            return
        when = local_text(shown.at, self.config.schedule)
        if shown.why == "retry":
            message = f"下次重试时间：{when}。"
        else:
            assert shown.period is not None
            message = f"下次运行时间：{when}（{shown.period.label()}，截至 {shown.period}）。"
        logs.event(log, logging.INFO, "serve.next", message, at=shown.at.isoformat())

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
        interval, polls = self.config.mailbox.poll_minutes, self.polls
        self.config = config
        self.failures.clear()  # a fixed config deserves a fresh try
        self._triggers(config)
        if config.mailbox.poll_minutes == interval:  # polls keep their rhythm
            self.polls = polls
        self._note_switches()
        logs.reconfigure(config)
        logs.event(log, logging.INFO, "config.reloaded", f"{why}：已重新加载 {self.config_path}。")
        return True

    def _note_switches(self) -> None:
        """Record when receipts were switched on (at start and at each reload): mail from
        before that moment never gets one."""
        with job.open_ledger(self.config) as ledger:
            receipts.note_switch(self.config, ledger, self.clock.now())

    def _close_stale_runs(self) -> None:
        ledger = job.open_ledger(self.config)
        try:
            if stale := ledger.close_stale_runs((*SCHEDULED, "poll")):
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
