"""`xunbao status`: what ops staff (and a monitor) need to know, read from the ledger.

Last run and last poll, next run (none after the campaign), periods waiting to be caught
up, messages held for review, circulars not delivered to every recipient (or none made
yet), receipts and reminders sent and failed since the last cutoff, and whether the
mailbox answers. Overall is 正常 only when nothing waits for a person. `collect` returns a
`Status`; its `to_json` is the `--json` form monitors read, and `sentences` says it in
short Chinese sentences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime

from pipeline.config import Config
from pipeline.delivery import state as delivery_state
from pipeline.delivery.state import Copies
from pipeline.errors import XunbaoError
from pipeline.ledger import Ledger, open_ledger
from pipeline.ledger.records import LetterCounts, RunRecord
from pipeline.mailbox import open_source
from pipeline.reading import walls
from pipeline.runtime import ServeLock
from pipeline.service.logs import Redactor, secrets_of
from pipeline.standings import timetable
from pipeline.standings.periods import Period, latest_closed, local_text
from pipeline.standings.timetable import (
    TRIGGER_NAMES,
    campaign_window,
    due_periods,
    next_run,
    next_runs,
    scheduled_runs,
)

LETTERS = {"receipts": "回执", "reminders": "催报"}  # run summary key → what it sends
_OUTCOMES = {"ok": "成功", "failed": "失败", "interrupted": "中断", None: "进行中或被强行终止"}


@dataclass(frozen=True)
class RunLine:
    """One run (or poll) as status shows it."""

    id: int
    period: str | None
    trigger: str
    started_at: str
    finished_at: str | None
    outcome: str  # ok, failed, interrupted; running while under way (or killed)
    counts: Mapping[str, int]  # new, counted, review, ignored: those the run knew
    sent: int | None
    letters: Mapping[str, LetterCounts]  # receipts, reminders
    error: str | None

    @classmethod
    def of(cls, row: RunRecord) -> RunLine:
        s = row.summary
        counts = {"new": s.new, "counted": s.counted, "review": s.review, "ignored": s.ignored}
        return cls(
            row.id,
            row.period,
            row.trigger,
            row.started_at,
            row.finished_at,
            row.outcome or "running",
            {k: n for k, n in counts.items() if n is not None},
            s.sent,
            {kind: s.letters[kind] for kind in LETTERS if kind in s.letters},
            s.error,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "period": self.period,
            "trigger": self.trigger,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "outcome": self.outcome,
            "counts": dict(self.counts),
            "sent": self.sent,
            **{kind: asdict(counts) for kind, counts in self.letters.items()},
            "error": self.error,
        }


@dataclass(frozen=True)
class NextRun:
    at: datetime
    period: Period


@dataclass(frozen=True)
class CircularLine:
    """The state of the latest circular issued or waiting (issuance decides it)."""

    period: Period
    phase: str
    label: str
    held: int
    pending: tuple[str, ...]
    version: int | None


@dataclass(frozen=True)
class MailboxCheck:
    source: str  # directory or imap
    ok: bool
    detail: str  # what was tried, passwords redacted


@dataclass(frozen=True)
class Status:
    now: datetime  # in the campaign's zone
    serving: bool
    last_run: RunLine | None
    last_poll: RunLine | None
    circulars: int  # runs that made a circular
    letters: Mapping[str, LetterCounts]  # since the last cutoff's run
    next_run: NextRun | None
    missed: tuple[Period, ...]
    campaign_over: bool
    campaign_end: date
    review: int  # messages held for review
    delivery_configured: bool
    undelivered: tuple[Copies, ...]
    mailbox: MailboxCheck | None  # None: not checked
    circular: CircularLine | None
    sandbox_missing: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        """正常: nothing waits for a person."""
        last = self.last_run
        return (
            (last is None or last.outcome in ("ok", "running"))
            and not self.undelivered
            and not self.review
            and not any(counts.failed for counts in self.letters.values())
            and (self.mailbox is None or self.mailbox.ok)
        )

    def to_json(self, config: Config) -> dict[str, object]:
        """The `--json` form; `summary` holds the sentences."""
        circular = self.circular
        return {
            "now": self.now.isoformat(timespec="seconds"),
            "serving": self.serving,
            "last_run": self.last_run.to_json() if self.last_run else None,
            "last_poll": self.last_poll.to_json() if self.last_poll else None,
            "circulars": self.circulars,
            "letters": {kind: asdict(counts) for kind, counts in self.letters.items()},
            "next_run": {
                "at": self.next_run.at.isoformat(),
                "period": str(self.next_run.period),
                "label": self.next_run.period.label(),
            }
            if self.next_run
            else None,
            "missed": [str(p) for p in self.missed],
            "campaign_over": self.campaign_over,
            "campaign_end": str(self.campaign_end),
            "review": self.review,
            "delivery_configured": self.delivery_configured,
            "undelivered": [delivery_state.as_json(c) for c in self.undelivered],
            "mailbox": asdict(self.mailbox) if self.mailbox else None,
            "circular": {**asdict(circular), "period": str(circular.period)}
            | {"pending": list(circular.pending)}
            if circular
            else None,
            "sandbox_missing": list(self.sandbox_missing),
            "healthy": self.healthy,
            "summary": sentences(config, self),
        }


def collect(config: Config, now: datetime, check_mailbox: bool = True) -> Status:
    ledger = open_ledger(config)
    try:
        every = ledger.runs()
        runs = [r for r in every if r.trigger != "poll"]
        polls = [r for r in every if r.trigger == "poll"]
        missed = due_periods(ledger, config, now) if scheduled_runs(ledger) else []
        review = ledger.count_messages(outcome="review")
        undelivered = _undelivered(config, ledger, runs)
        mailbox = _mailbox(config, ledger) if check_mailbox else None
        circular = _circular(config, ledger, now)
    finally:
        ledger.close()
    upcoming = next_run(config, now)
    last_period = campaign_window(config)[1]
    return Status(
        now=now.astimezone(config.schedule.zone),
        serving=ServeLock(config.resolve(config.storage.path)).held_elsewhere(),
        last_run=RunLine.of(runs[-1]) if runs else None,
        last_poll=RunLine.of(polls[-1]) if polls else None,
        circulars=sum(1 for r in runs if r.outcome == "ok" and r.summary.made),
        letters=_letters(every, runs),
        next_run=NextRun(*upcoming) if upcoming else None,
        missed=tuple(missed),
        campaign_over=now > last_period.cutoff(config.schedule),
        campaign_end=config.campaign.end,
        review=review,
        delivery_configured=bool(config.delivery.host),
        undelivered=tuple(undelivered),
        mailbox=mailbox,
        circular=circular,
        sandbox_missing=tuple(walls.missing()),
    )


def _circular(config: Config, ledger: Ledger, now: datetime) -> CircularLine | None:
    """The state of the latest circular issued or waiting, else of the latest closed
    period (issuance decides it)."""
    from pipeline import issuance
    from pipeline.issuance import phase

    known = issuance.known_periods(ledger)
    first, last = campaign_window(config)
    period = max(known) if known else min(latest_closed(now, config.schedule), last)
    if period < first:
        return None
    found = phase.state(config, ledger, period, now)
    label = found.label
    unasked = None
    if found.latest is None and found.phase != "collecting" and period not in known:
        unasked = timetable.unasked(config, ledger, period, timetable.first_use(ledger))
    if unasked:  # serve will not make it (job.cycle): say so, and how to ask for it
        label = f"不自动生成（该旬{unasked}）；需要时运行 xunbao run --period {period}"
    version = found.latest.version if found.latest else None
    return CircularLine(period, found.phase, label, found.held, found.pending_units, version)


def _letters(every: list[RunRecord], runs: list[RunRecord]) -> dict[str, LetterCounts]:
    """Receipts and reminders sent and failed since the last cutoff's run began (its own
    and every poll since)."""
    since = runs[-1].id if runs else 0
    totals = {kind: LetterCounts() for kind in LETTERS}
    for run in every:
        if run.id >= since:
            for kind, counts in totals.items():
                done = run.summary.letters.get(kind, LetterCounts())
                totals[kind] = LetterCounts(counts.sent + done.sent, counts.failed + done.failed)
    return totals


def _undelivered(config: Config, ledger: Ledger, runs: list[RunRecord]) -> list[Copies]:
    """Every issued circular (and every period a run meant to send) with the recipients
    whose server has not accepted its latest version: each one's state and last error."""
    meant = {
        r.period
        for r in runs
        if r.period and r.summary.made and (r.trigger != "manual" or r.summary.sent is not None)
    }
    return delivery_state.undelivered(config, ledger, meant)


def _mailbox(config: Config, ledger: Ledger) -> MailboxCheck:
    settings = config.mailbox
    if settings.source == "directory":
        path = config.resolve(settings.path)
        ok = path.is_dir()
        return MailboxCheck("directory", ok, f"收件目录 {path} {'可以读取' if ok else '不存在'}")
    redact = Redactor(secrets_of(config)).redact
    where = f"{settings.username}@{settings.host}:{settings.port}"
    try:
        source = open_source(config, ledger)
        try:
            # A public connect() when the source offers one; else its login-and-select step.
            connect = getattr(source, "connect", None) or getattr(source, "_connected", None)
            if connect is not None:
                connect()
        finally:
            source.close()
    except XunbaoError as exc:
        return MailboxCheck("imap", False, redact(f"{where}：{exc}"))
    except Exception as exc:  # a status page must answer whatever the network does
        return MailboxCheck("imap", False, redact(f"{where}：连接失败（{exc}）"))
    return MailboxCheck("imap", True, f"IMAP 邮箱 {where} 登录成功")


def sentences(config: Config, data: Status) -> list[str]:
    lines = ["服务：xunbao serve 正在运行。" if data.serving else "服务：xunbao serve 未在运行。"]
    lines.append(_last_line(config, data.last_run))
    if data.last_poll is not None:
        poll = data.last_poll
        when = local_text(poll.started_at, config.schedule)
        how = _OUTCOMES.get(None if poll.outcome == "running" else poll.outcome, "")
        new = poll.counts.get("new", 0)
        why = f"；原因：{poll.error.rstrip('。. ')}" if poll.error else ""
        lines.append(f"上次收信：{when}，{how}；新邮件 {new} 封{why}。")
    upcoming = data.next_run
    if upcoming is not None:
        at = local_text(upcoming.at.isoformat(), config.schedule)
        label = upcoming.period.label()
        lines.append(f"下次运行：{at}（{label}，截至 {upcoming.period}）。")
    if data.campaign_over:
        lines.append(
            f"活动已于 {data.campaign_end} 结束：服务不再自动生成通报（见 campaign.end）。"
        )
    if data.missed:
        lines.append(f"待补跑的旬：{'、'.join(map(str, data.missed))}（服务启动后自动补跑）。")
    if data.circular is not None:
        c = data.circular
        lines.append(f"本旬通报（截至 {c.period}）：{c.label}。")
    if data.review:
        lines.append(f"待审核邮件：{data.review} 封，请运行 xunbao review 查看。")
    else:
        lines.append("待审核邮件：无。")
    lines += _delivery_lines(data)
    letters = data.letters
    if (
        config.delivery.receipts
        or config.reminders.enabled
        or any(k.sent or k.failed for k in letters.values())
    ):
        shown = "；".join(_sent_line(name, letters[kind]) for kind, name in LETTERS.items())
        lines.append(f"回执与催报（自上次截止运行以来）：{shown}。")
    mailbox = data.mailbox
    if mailbox is not None:
        lines.append(f"收件邮箱：{'正常' if mailbox.ok else '无法连接'}（{mailbox.detail}）。")
    lines.append(walls.summary())
    lines.append("总体：正常。" if data.healthy else "总体：需要处理，请查看上面的说明。")
    return lines


def _delivery_lines(data: Status) -> list[str]:
    if not data.delivery_configured:
        return ["通报发送：未配置 delivery.host，通报只生成、不发送。"]
    if not data.circulars:
        return ["通报发送：尚未生成通报。"]
    if not data.undelivered:
        return ["通报发送：已生成的通报都已送达全部收件人。"]
    lines = []
    for item in data.undelivered:
        who = "、".join(
            f"{c.recipient}（{c.name}" + (f"：{c.error}）" if c.error else "）")
            for c in item.waiting
        )
        version = f"通报（第 {item.version} 版）" if item.version else "通报"
        lines.append(f"未送达：{item.period} 的{version}尚未送达 {who}。")
    return lines


def _sent_line(name: str, counts: LetterCounts) -> str:
    failed = counts.failed
    return f"{name}发出 {counts.sent} 封" + (
        f"、未能发出 {failed} 封（下次收信时重试）" if failed else ""
    )


def _last_line(config: Config, run: RunLine | None) -> str:
    if run is None:
        return "上次运行：还没有运行记录。"
    when = local_text(run.started_at, config.schedule)
    how = TRIGGER_NAMES.get(run.trigger, run.trigger)
    outcome = _OUTCOMES.get(None if run.outcome == "running" else run.outcome, "")
    text = f"上次运行：{when}，{run.period}（{how}），{outcome}"
    c = run.counts
    if c:
        text += (
            f"；新邮件 {c.get('new', 0)} 封（计入 {c.get('counted', 0)}，"
            f"待审核 {c.get('review', 0)}，忽略 {c.get('ignored', 0)}）"
        )
    if run.sent is not None:
        text += f"；通报发出 {run.sent} 份"
    if run.error:
        text += f"；原因：{run.error.rstrip('。. ')}"
    return text + "。"


def schedule_lines(config: Config, start: date | None, count: int, now: datetime) -> list[str]:
    """`xunbao schedule`: the coming run times and the period each closes."""
    zone = config.schedule.zone
    begin = datetime.combine(start, datetime.min.time(), tzinfo=zone) if start else now
    lines = [f"接下来 {count} 次自动运行（时区 {config.schedule.timezone}）："]
    runs = next_runs(config.schedule, begin, count)
    for fire, period in runs:
        lines.append(f"{local_text(fire, config.schedule)}  {period.label()}（截至 {period}）")
    last = campaign_window(config)[1]
    if any(period > last for _, period in runs):
        lines.append(
            f"注意：活动在 {config.campaign.end} 结束（campaign.end），"
            f"{last} 之后的旬不会自动生成通报。"
        )
    return lines
