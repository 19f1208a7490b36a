"""The dekad schedule and `xunbao serve`, driven by a controllable clock (nothing sleeps).

In-process tests run the real `job.cycle` (real mailbox directory, real ledger, real
standings, real circular HTML) and replace only WeasyPrint's PDF rendering, which costs
seconds per period; the subprocess tests run `xunbao serve` exactly as a user does.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from itertools import pairwise, takewhile
from pathlib import Path
from typing import Any

import pytest
from fakeclock import SHANGHAI, FakeClock, at

from pipeline import config as config_module
from pipeline import outputs
from pipeline.delivery.sending import StepResult
from pipeline.ledger.records import RunSummary
from pipeline.outputs import circular
from pipeline.service import followup, job
from pipeline.service.schedule import Server
from pipeline.standings import periods
from pipeline.standings.timetable import due_periods, next_run, next_runs

ROOT = Path(__file__).resolve().parent.parent
XUNBAO = Path(sys.executable).parent / "xunbao"
# The simulated dates fall in 2016: give the sample campaign that year (the seed's ends in 2015).
# These simulations test the plain dekad calendar: December's last cutoff on the 30th
# (schedule.year_end, tested below on the seed's own dates, moves it to the year's end).
CAMPAIGN_2016 = {
    "start: 2015-09-01": "start: 2015-12-01",
    "end: 2015-12-31": "end: 2016-12-31",
    "year_end: true": "year_end: false",
}
# Months of simulated time: the circulars alone (polling every 30 minutes is tested below).
NO_POLLING = {"poll_minutes: 30": "poll_minutes: 0"}


# ── helpers ────────────────────────────────────────────────────
def write_report(inbox: Path, name: str, sender: str, unit: str, value: int, when: str) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "lsszghzxb@126.com"
    message["Subject"] = f"{unit}旬报表"
    message["Date"] = format_datetime(at(when))
    message["Message-ID"] = f"<{name}@test.example>"
    message.set_content(
        f"报送单位：{unit}\n报送时间：{at(when):%Y年%m月%d日}\n"
        f"已完成目标任务数（新增 {value} 名农民工入会）\n主要工作举措：\n1. 深入工地宣传。\n"
    )
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / f"{name}.eml").write_bytes(bytes(message))


def make_config(folder: Path, inbox: Path, replace: dict[str, str] | None = None) -> Path:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("path: inbox_samples", f"path: {inbox}")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    write_report(inbox, "a", "szqzgh@163.com", "乐山市市中区总工会", 1200, "2016-01-08 10:00")
    write_report(inbox, "b", "wtqzgh@126.com", "五通桥区总工会", 900, "2016-02-27 09:00")
    make_config(tmp_path, inbox, CAMPAIGN_2016 | NO_POLLING)
    return tmp_path


@pytest.fixture(autouse=True)
def no_pdf_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint takes ~2 s a circular; everything else in the cycle stays real."""
    monkeypatch.setattr(circular.Circular, "pdf", lambda self: b"%PDF-1.7 test\n")


Call = tuple[datetime, str, str]  # (clock time, period, trigger)


def recording(clock: FakeClock, calls: list[Call]) -> Callable[..., job.CycleResult]:
    def cycle(config: config_module.Config, period: periods.Period, **kw: Any) -> job.CycleResult:
        calls.append((clock.now(), str(period), kw["trigger"]))
        return job.cycle(config, period, **kw)

    return cycle


def serve(
    folder: Path, start: datetime, stop: datetime, calls: list[Call], poll_hours: float = 6
) -> FakeClock:
    clock = FakeClock(start)
    server = Server(folder / "config.yaml", clock=clock, cycle=recording(clock, calls))
    server.check_every = timedelta(hours=poll_hours)
    clock.at(stop, server.request_stop)
    assert server.serve() == 0
    return clock


def runs(folder: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(folder / "data/xunbao.sqlite")
    db.row_factory = sqlite3.Row
    rows = [dict(r) for r in db.execute("SELECT * FROM runs ORDER BY id")]
    db.close()
    return rows


# ── run dates ──────────────────────────────────────────────────
@pytest.mark.parametrize("year", [2015, 2016, 2023, 2024])
def test_run_dates_over_a_whole_year(year: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server's own timezone must not matter: pretend it runs in New York.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        schedule = config_module.Schedule()
        fired = next_runs(schedule, at(f"{year}-01-01 00:00"), 37)
    finally:
        monkeypatch.undo()
        time.tzset()
    this_year = [(f, p) for f, p in fired if f.year == year]
    assert len(this_year) == 36
    days = [f.astimezone(SHANGHAI).date() for f, _ in this_year]
    february = [d.day for d in days if d.month == 2]
    assert february == [10, 20, 29 if year in (2016, 2024) else 28]
    assert all(d.day in (10, 20, 30) for d in days if d.month != 2)
    assert not any(d.day == 31 for d in days)
    for fire, period in this_year:
        local = fire.astimezone(SHANGHAI)
        assert (local.hour, local.minute, local.utcoffset()) == (18, 0, timedelta(hours=8))
        assert period.end == local.date() and period.cutoff(schedule) == fire
    # The same days periods.py assigns reports to, and each one a deadline.
    expected = list(
        takewhile(lambda d: d.year == year, periods.deadlines(date(year, 1, 1), schedule))
    )
    assert days == expected and all(periods.is_deadline(d, schedule) for d in days)


def test_schedule_command_lists_runs_from_a_date(workspace: Path) -> None:
    result = subprocess.run(
        [str(XUNBAO), "schedule", "--from", "2016-02-01", "--count", "4"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [
        "2016-02-10",
        "2016-02-20",
        "2016-02-29",
        "2016-03-10",
    ]
    assert "2016-02-29 18:00  2016年2月下旬（截至 2016-02-29）" in lines


# ── the server over simulated time ─────────────────────────────
def light_publish(
    config: config_module.Config,
    ledger: Any,
    period: periods.Period,
    out: Path | None = None,
    **_: Any,
) -> outputs.Published:
    """37 real circulars take ~20 s even without PDFs; the catch-up test makes real ones."""
    folder = (out or config.resolve(config.output.dir)) / str(period)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "circular.pdf").write_bytes(b"%PDF-1.7 test\n")
    (folder / "standings.xlsx").write_bytes(b"PK test\n")
    (folder / "standings.json").write_text(json.dumps({"period": str(period)}), "utf-8")
    pdf, xlsx, data = folder / "circular.pdf", folder / "standings.xlsx", folder / "standings.json"
    return outputs.Published(period, folder, pdf, xlsx, data, None)  # type: ignore[arg-type]


def test_a_year_left_alone_runs_every_period_on_time(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outputs, "publish", light_publish)
    calls: list[Call] = []
    serve(workspace, at("2016-01-01 00:00"), at("2017-01-01 00:00"), calls)
    first, *scheduled = calls
    # First start ever: the latest closed period once, then every cutoff of 2016 on time.
    assert first == (at("2016-01-01 00:00"), "2015-12-30", "catchup")
    expected = [
        p.cutoff(config_module.Schedule())
        for _, p in next_runs(config_module.Schedule(), at("2016-01-01 00:00"), 36)
    ]
    assert [c[0] for c in scheduled] == expected
    assert all(c[0].date().isoformat() == c[1] and c[2] == "schedule" for c in scheduled)
    assert "2016-02-29" in [c[1] for c in scheduled]
    rows = runs(workspace)
    assert len(rows) == 37 and {r["outcome"] for r in rows} == {"ok"}
    # A circular only for the dekads something was received for: 2015-12-30 closed before
    # the first start, and the others would name every unit 未报送 (issue 23).
    made = [p for _, p, _ in calls if (workspace / "out" / p / "circular.pdf").exists()]
    assert made == ["2016-01-10", "2016-02-29"]
    for period in made:
        path = workspace / "out" / period / "standings.json"
        assert json.loads(path.read_text(encoding="utf-8"))["period"] == period


def test_catch_up_after_downtime_once_per_period_oldest_first(workspace: Path) -> None:
    calls: list[Call] = []
    serve(workspace, at("2016-01-10 17:00"), at("2016-01-10 19:00"), calls)
    assert [c[1:] for c in calls] == [("2015-12-30", "catchup"), ("2016-01-10", "schedule")]

    # Down from 19:00 on 10 January until noon on 5 March: five cutoffs missed.
    calls.clear()
    serve(workspace, at("2016-03-05 12:00"), at("2016-03-05 13:00"), calls)
    missed = ["2016-01-20", "2016-01-30", "2016-02-10", "2016-02-20", "2016-02-29"]
    assert [c[1] for c in calls] == missed
    assert {c[0] for c in calls} == {at("2016-03-05 12:00")}
    assert {c[2] for c in calls} == {"catchup"}
    # Each circular carries its own period's date, not the day it was made.
    page = (workspace / "out/2016-02-29/circular.html").read_text(encoding="utf-8")
    assert "2016年2月下旬" in page or "2月29日" in page
    report = json.loads((workspace / "out/2016-02-29/standings.json").read_text("utf-8"))
    assert report["period"] == "2016-02-29"

    # Restart again: nothing is run twice.
    calls.clear()
    serve(workspace, at("2016-03-05 14:00"), at("2016-03-05 15:00"), calls)
    assert calls == []
    periods_run = [r["period"] for r in runs(workspace)]
    assert len(periods_run) == len(set(periods_run)) == 7


def test_a_run_cut_off_by_a_crash_is_run_again_once(workspace: Path) -> None:
    calls: list[Call] = []
    serve(workspace, at("2016-01-10 18:30"), at("2016-01-10 19:00"), calls)
    db = sqlite3.connect(workspace / "data/xunbao.sqlite")
    db.execute(  # what a SIGKILL in the middle of the 20 January run leaves behind
        "INSERT INTO runs (period, trigger, started_at) VALUES ('2016-01-20', 'schedule', ?)",
        (at("2016-01-20 18:00").isoformat(),),
    )
    db.commit()
    db.close()
    calls.clear()
    serve(workspace, at("2016-01-21 09:00"), at("2016-01-21 10:00"), calls)
    assert [c[1:] for c in calls] == [("2016-01-20", "catchup")]
    outcomes = [(r["period"], r["outcome"]) for r in runs(workspace)][-2:]
    assert outcomes == [("2016-01-20", "interrupted"), ("2016-01-20", "ok")]


def test_a_failed_run_is_retried_and_a_manual_run_does_not_count(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = workspace / "inbox"
    hidden = workspace / "inbox.away"
    # A manual run for a period does not stop serve from making its own.
    config = config_module.load(workspace / "config.yaml").config
    job.cycle(config, periods.Period.parse("2016-01-10"), send=False, echo=lambda _: None)
    calls: list[Call] = []
    clock = FakeClock(at("2016-01-10 18:00"))
    server = Server(workspace / "config.yaml", clock=clock, cycle=recording(clock, calls))
    server.check_every = timedelta(hours=1)
    inbox.rename(hidden)  # the mailbox is gone at the cutoff...
    clock.at(at("2016-01-10 18:03"), lambda: hidden.rename(inbox))  # ...and back soon after
    clock.at(at("2016-01-10 20:00"), server.request_stop)
    assert server.serve() == 0
    assert [c[:2] for c in calls] == [
        (at("2016-01-10 18:00"), "2016-01-10"),
        (at("2016-01-10 18:05"), "2016-01-10"),  # first retry after 5 minutes
    ]
    outcomes = [(r["trigger"], r["outcome"]) for r in runs(workspace)]
    assert outcomes == [("manual", "ok"), ("catchup", "failed"), ("schedule", "ok")]
    assert "收件目录" in json.loads(runs(workspace)[1]["summary"])["error"]


def test_due_periods_first_start_and_after_success(workspace: Path) -> None:
    config = config_module.load(workspace / "config.yaml").config
    ledger = job.open_ledger(config)
    try:
        assert due_periods(ledger, config, at("2016-03-01 08:00")) == [
            periods.Period(date(2016, 2, 29))
        ]
        run = ledger.start_run("2016-02-10", "schedule")
        ledger.finish_run(run, "ok", RunSummary())
        due = due_periods(ledger, config, at("2016-03-10 18:00"))
        assert [str(p) for p in due] == ["2016-02-20", "2016-02-29", "2016-03-10"]
    finally:
        ledger.close()


def test_after_the_campaign_ends_nothing_more_is_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_config(tmp_path, tmp_path / "inbox", NO_POLLING)  # the seed's: 2015-09-01 to 12-31
    write_report(tmp_path / "inbox", "a", "szqzgh@163.com", "市中区总工会", 5, "2015-12-31 10:00")
    calls: list[Call] = []
    caplog.set_level("INFO", logger="xunbao")
    serve(tmp_path, at("2016-01-09 09:00"), at("2016-03-01 00:00"), calls)
    # With schedule.year_end the report of 31 December is in the period ending at the
    # year's end: the campaign's last (年度) circular, caught up; then silence (issue 25).
    assert [c[1:] for c in calls] == [("2015-12-31", "catchup")]
    assert any("已于 2015-12-31 结束" in r.getMessage() for r in caplog.records)


# ── polling between cutoffs ────────────────────────────────────
@pytest.mark.slow  # 450 polls of nine simulated days
def test_mail_is_read_between_cutoffs_and_the_circular_waits_for_the_cutoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_config(tmp_path, inbox, CAMPAIGN_2016)  # poll_minutes: 30, the sample's default
    stepped: list[tuple[datetime, int]] = []

    def count_messages(config: config_module.Config, ledger: Any, now: datetime) -> StepResult:
        stepped.append((now, len(ledger.messages())))
        return StepResult()

    # The after-poll seam: every poll (and every cycle) ends with the steps, given the clock.
    monkeypatch.setattr(followup, "steps", lambda: [followup.Step("seen", "测试", count_messages)])
    calls: list[Call] = []
    clock = FakeClock(at("2016-01-11 09:00"))
    server = Server(tmp_path / "config.yaml", clock=clock, cycle=recording(clock, calls))
    held = ("c", "qq123@qq.com", "马边彝族自治县总工会", 300, "2016-01-12 10:05")
    clock.at(at("2016-01-12 10:05"), lambda: write_report(inbox, *held))
    clock.at(at("2016-01-20 19:00"), server.request_stop)
    assert server.serve() == 0

    # The circular is made at the cutoffs only (the first start catches up 2016-01-10).
    assert [c[1:] for c in calls] == [("2016-01-10", "catchup"), ("2016-01-20", "schedule")]
    # The held report reached the queue at the first poll after it arrived, days early.
    db = sqlite3.connect(tmp_path / "data/xunbao.sqlite")
    ((outcome, period),) = db.execute("SELECT outcome, period FROM messages").fetchall()
    db.close()
    assert (outcome, period) == ("review", "2016-01-20")
    first_seen = next(when for when, count in stepped if count == 1)
    assert first_seen == at("2016-01-12 10:30")
    polls = [r for r in runs(tmp_path) if r["trigger"] == "poll"]
    cutoff = at("2016-01-20 18:00")
    assert {r["outcome"] for r in polls} == {"ok"}
    times = [datetime.fromisoformat(r["started_at"]) for r in polls]
    assert {r["period"] for r, t in zip(polls, times, strict=True) if t < cutoff} == {"2016-01-20"}
    assert {r["period"] for r, t in zip(polls, times, strict=True) if t > cutoff} == {"2016-01-30"}
    assert times[0] == at("2016-01-11 09:30") and all(
        later - earlier == timedelta(minutes=30)
        for earlier, later in pairwise(times)
        if later < at("2016-01-20 18:00")
    )
    # Every 30 minutes from 09:30 on the 11th to 17:30 on the 20th (the 18:00 cutoff's own
    # cycle reads the mailbox), then 18:30.
    before = (cutoff - at("2016-01-11 09:30")) // timedelta(minutes=30)
    assert len(polls) == before + 1
    assert len(stepped) == len(polls) + 2  # and once in each cycle


def test_no_run_after_the_campaign_ends(workspace: Path) -> None:
    config = config_module.load(workspace / "config.yaml").config  # ends 2016-12-31
    assert next_run(config, at("2016-12-30 18:00")) == (
        at("2017-01-10 18:00"),
        periods.Period(date(2017, 1, 10)),
    )  # the period holding 31 December is the last
    assert next_run(config, at("2017-01-10 18:00")) is None


# ── reload ─────────────────────────────────────────────────────
def test_reload_good_then_broken_config(workspace: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = workspace / "config.yaml"
    original = path.read_text(encoding="utf-8")
    calls: list[Call] = []
    clock = FakeClock(at("2016-01-01 00:00"))
    server = Server(path, clock=clock, cycle=recording(clock, calls))
    server.check_every = timedelta(hours=1)

    def write(text: str) -> Callable[[], object]:
        return lambda: path.write_text(text, encoding="utf-8")

    late = original.replace('time: "18:00"', 'time: "20:00"')
    broken = late.replace("target: 71000", "target: 七万一千")
    early = original.replace('time: "18:00"', 'time: "09:00"')
    clock.at(at("2016-01-05 12:00"), write(late))  # a good edit: picked up by polling
    clock.at(at("2016-01-12 12:00"), write(broken))  # a broken edit: the old one stays
    clock.at(at("2016-01-21 12:00"), lambda: os.kill(os.getpid(), signal.SIGHUP))
    clock.at(at("2016-01-22 12:00"), write(early))
    clock.at(at("2016-02-01 00:00"), server.request_stop)
    caplog.set_level("INFO", logger="xunbao")
    assert server.serve() == 0
    assert [c[0] for c in calls] == [
        at("2016-01-01 00:00"),  # first start: the latest closed period
        at("2016-01-10 20:00"),  # the new cutoff time
        at("2016-01-20 20:00"),  # the broken file changed nothing
        at("2016-01-30 09:00"),  # the repaired file is in force
    ]
    messages = [r.getMessage() for r in caplog.records]
    rejected = [m for m in messages if "新配置有误，继续使用原来的配置" in m]
    assert len(rejected) == 2  # once for the edit, once for the SIGHUP
    assert "config.yaml 第" in rejected[0] and "campaign.target" in rejected[0]
    assert any("SIGHUP" in m for m in rejected)
    assert sum("已重新加载" in m for m in messages) == 2


# ── real processes ─────────────────────────────────────────────
def campaign_around_today() -> dict[str, str]:
    """The subprocesses run at the real date: a campaign in progress then."""
    today = date.today()
    return {
        "start: 2015-09-01": f"start: {today - timedelta(days=100)}",
        "end: 2015-12-31": f"end: {today + timedelta(days=100)}",
    }


def _inbox_for_cli(tmp_path: Path) -> Path:
    samples = ROOT / "inbox_samples"
    if samples.is_dir() and any(samples.glob("*.eml")):
        return samples
    inbox = tmp_path / "inbox"
    write_report(inbox, "a", "szqzgh@163.com", "乐山市市中区总工会", 1200, "2015-09-08 10:00")
    return inbox


def xunbao(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(XUNBAO), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_once_runs_the_due_period_then_only_reads_the_mail(tmp_path: Path) -> None:
    make_config(tmp_path, _inbox_for_cli(tmp_path), campaign_around_today())
    first = xunbao("serve", "--once", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    period = periods.latest_closed(datetime.now(UTC), config_module.Schedule())
    folder = tmp_path / "out" / str(period)
    assert f"开始单次运行：{period.label()}" in first.stderr
    # A fresh ledger: the dekad closed before it first read the mail, so no circular.
    assert "在台账开始收信之前已截止：不自动生成、发送通报" in first.stderr
    assert not (folder / "circular.pdf").exists()
    again = xunbao("serve", "--once", "--log-json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    events = [json.loads(line)["event"] for line in again.stderr.splitlines()]
    assert events == ["serve.start", "run.none"]  # a quiet poll logs nothing at INFO
    collecting = periods.following(period, config_module.Schedule())
    assert [(r["period"], r["trigger"], r["outcome"]) for r in runs(tmp_path)] == [
        (str(period), "once", "ok"),
        (str(collecting), "poll", "ok"),  # nothing due: cron's --once reads new mail
    ]


def test_sigterm_during_a_run_finishes_the_run_then_exits(tmp_path: Path) -> None:
    make_config(tmp_path, _inbox_for_cli(tmp_path), campaign_around_today())
    process = subprocess.Popen(
        [str(XUNBAO), "serve"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TZ": "America/New_York"},
    )
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if "开始补跑" in line:
            process.send_signal(signal.SIGTERM)
            break
    _, rest = process.communicate(timeout=120)
    lines += rest.splitlines(keepends=True)
    assert process.returncode == 0, "".join(lines)
    text = [line.split(" ", 3)[3] for line in lines if line.count(" ") >= 3]
    said = next(i for i, t in enumerate(text) if t.startswith("收到停止信号：当前运行"))
    done = next(i for i, t in enumerate(text) if "补跑完成" in t)
    assert said < done, "the signal arrived during the run, and the run still finished"
    assert text[-1].startswith("xunbao serve 已停止")
    assert not any("下次运行时间" in t for t in text)  # it did not go back to waiting
    assert [r["outcome"] for r in runs(tmp_path)] == ["ok"]
