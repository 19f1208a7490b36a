"""`xunbao status`: what ops staff (and a monitor) need to know, read from the ledger.

Last run and last poll, next run (none after the campaign), periods waiting to be caught
up, messages held for review, circulars not delivered to every recipient (or none made
yet), receipts and reminders sent and failed since the last cutoff, and whether the
mailbox answers. Overall is 正常 only when nothing waits for a person. `collect` returns
plain data (the `--json` form); `sentences` turns it into short Chinese sentences.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from pipeline.config import Config
from pipeline.errors import XunbaoError
from pipeline.ledger import Ledger, open_ledger
from pipeline.ledger.records import LetterCounts, RunRecord
from pipeline.mailbox import open_source
from pipeline.reading import walls
from pipeline.runtime import ServeLock
from pipeline.service.logs import Redactor, secrets_of
from pipeline.standings import timetable
from pipeline.standings.periods import latest_closed, local_text
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


def collect(config: Config, now: datetime, check_mailbox: bool = True) -> dict[str, Any]:
    ledger = open_ledger(config)
    try:
        every = ledger.runs()
        runs = [r for r in every if r.trigger != "poll"]
        polls = [r for r in every if r.trigger == "poll"]
        missed = due_periods(ledger, config, now) if scheduled_runs(ledger) else []
        review = ledger.messages(outcome="review")
        undelivered = _undelivered(config, ledger, runs)
        mailbox = _mailbox(config, ledger) if check_mailbox else None
        circular = _circular(config, ledger, now)
    finally:
        ledger.close()
    upcoming = next_run(config, now)
    last_period = campaign_window(config)[1]
    data: dict[str, Any] = {
        "now": now.astimezone(config.schedule.zone).isoformat(timespec="seconds"),
        "serving": ServeLock(config.resolve(config.storage.path)).held_elsewhere(),
        "last_run": _run(runs[-1]) if runs else None,
        "last_poll": _run(polls[-1]) if polls else None,
        "circulars": sum(1 for r in runs if r.outcome == "ok" and r.summary.made),
        "letters": _letters(every, runs),
        "next_run": {
            "at": upcoming[0].isoformat(),
            "period": str(upcoming[1]),
            "label": upcoming[1].label(),
        }
        if upcoming
        else None,
        "missed": [str(p) for p in missed],
        "campaign_over": now > last_period.cutoff(config.schedule),
        "campaign_end": str(config.campaign.end),
        "review": len(review),
        "delivery_configured": bool(config.delivery.host),
        "undelivered": undelivered,
        "mailbox": mailbox,
        "circular": circular,
        "sandbox_missing": walls.missing(),
    }
    last = data["last_run"]
    data["healthy"] = (
        (last is None or last["outcome"] in ("ok", "running"))
        and not undelivered
        and not data["review"]
        and not any(kind["failed"] for kind in data["letters"].values())
        and (mailbox is None or mailbox["ok"])
    )
    data["summary"] = sentences(config, data)
    return data


def _circular(config: Config, ledger: Ledger, now: datetime) -> dict[str, Any] | None:
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
    return {
        "period": str(period),
        "phase": found.phase,
        "label": label,
        "held": found.held,
        "pending": list(found.pending_units),
        "version": found.latest.version if found.latest else None,
    }


def _run(row: RunRecord) -> dict[str, Any]:
    s = row.summary
    counts = {"new": s.new, "counted": s.counted, "review": s.review, "ignored": s.ignored}
    return {
        "id": row.id,
        "period": row.period,
        "trigger": row.trigger,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "outcome": row.outcome or "running",
        "counts": {k: n for k, n in counts.items() if n is not None},
        "sent": s.sent,
        **{kind: asdict(s.letters[kind]) for kind in LETTERS if kind in s.letters},
        "error": s.error,
    }


def _letters(every: list[RunRecord], runs: list[RunRecord]) -> dict[str, Any]:
    """Receipts and reminders sent and failed since the last cutoff's run began (its own
    and every poll since), e.g. {"receipts": {"sent": 3, "failed": 0}, …}."""
    since = runs[-1].id if runs else 0
    totals = {kind: {"sent": 0, "failed": 0} for kind in LETTERS}
    for run in every:
        if run.id >= since:
            for kind, counts in totals.items():
                done = run.summary.letters.get(kind, LetterCounts())
                counts["sent"] += done.sent
                counts["failed"] += done.failed
    return totals


def _undelivered(config: Config, ledger: Ledger, runs: list[RunRecord]) -> list[Any]:
    """Every issued circular (and every period a run meant to send) with the recipients
    whose server has not accepted its latest version: each one's state and last error."""
    from pipeline.delivery import state as delivery_state

    meant = {
        r.period
        for r in runs
        if r.period and r.summary.made and (r.trigger != "manual" or r.summary.sent is not None)
    }
    found = delivery_state.undelivered(config, ledger, meant)
    return [delivery_state.as_json(c) for c in found]


def _mailbox(config: Config, ledger: Ledger) -> dict[str, Any]:
    settings = config.mailbox
    if settings.source == "directory":
        path = config.resolve(settings.path)
        ok = path.is_dir()
        detail = f"收件目录 {path} {'可以读取' if ok else '不存在'}"
        return {"source": "directory", "ok": ok, "detail": detail}
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
        return {"source": "imap", "ok": False, "detail": redact(f"{where}：{exc}")}
    except Exception as exc:  # a status page must answer whatever the network does
        return {"source": "imap", "ok": False, "detail": redact(f"{where}：连接失败（{exc}）")}
    return {"source": "imap", "ok": True, "detail": f"IMAP 邮箱 {where} 登录成功"}


def sentences(config: Config, data: dict[str, Any]) -> list[str]:
    lines = [
        "服务：xunbao serve 正在运行。" if data["serving"] else "服务：xunbao serve 未在运行。"
    ]
    lines.append(_last_line(config, data["last_run"]))
    if data["last_poll"] is not None:
        poll = data["last_poll"]
        when = local_text(poll["started_at"], config.schedule)
        how = _OUTCOMES.get(None if poll["outcome"] == "running" else poll["outcome"], "")
        new = poll["counts"].get("new", 0)
        why = f"；原因：{str(poll['error']).rstrip('。. ')}" if poll["error"] else ""
        lines.append(f"上次收信：{when}，{how}；新邮件 {new} 封{why}。")
    upcoming = data["next_run"]
    if upcoming is not None:
        at = local_text(upcoming["at"], config.schedule)
        lines.append(f"下次运行：{at}（{upcoming['label']}，截至 {upcoming['period']}）。")
    if data["campaign_over"]:
        lines.append(
            f"活动已于 {data['campaign_end']} 结束：服务不再自动生成通报（见 campaign.end）。"
        )
    if data["missed"]:
        lines.append(f"待补跑的旬：{'、'.join(data['missed'])}（服务启动后自动补跑）。")
    if data["circular"] is not None:
        c = data["circular"]
        lines.append(f"本旬通报（截至 {c['period']}）：{c['label']}。")
    if data["review"]:
        lines.append(f"待审核邮件：{data['review']} 封，请运行 xunbao review 查看。")
    else:
        lines.append("待审核邮件：无。")
    if not data["delivery_configured"]:
        lines.append("通报发送：未配置 delivery.host，通报只生成、不发送。")
    elif not data["circulars"]:
        lines.append("通报发送：尚未生成通报。")
    elif data["undelivered"]:
        for item in data["undelivered"]:
            waiting = [r for r in item["recipients"] if r["state"] != "已送达"]
            who = "、".join(
                f"{r['recipient']}（{r['state']}" + (f"：{r['error']}）" if r["error"] else "）")
                for r in waiting
            )
            version = f"通报（第 {item['version']} 版）" if item["version"] else "通报"
            lines.append(f"未送达：{item['period']} 的{version}尚未送达 {who}。")
    else:
        lines.append("通报发送：已生成的通报都已送达全部收件人。")
    letters = data["letters"]
    if (
        config.delivery.receipts
        or config.reminders.enabled
        or any(k["sent"] or k["failed"] for k in letters.values())
    ):
        shown = "；".join(_sent_line(name, letters[kind]) for kind, name in LETTERS.items())
        lines.append(f"回执与催报（自上次截止运行以来）：{shown}。")
    mailbox = data["mailbox"]
    if mailbox is not None:
        lines.append(
            f"收件邮箱：{'正常' if mailbox['ok'] else '无法连接'}（{mailbox['detail']}）。"
        )
    lines.append(walls.summary())
    lines.append("总体：正常。" if data["healthy"] else "总体：需要处理，请查看上面的说明。")
    return lines


def _sent_line(name: str, counts: dict[str, int]) -> str:
    failed = counts["failed"]
    return f"{name}发出 {counts['sent']} 封" + (
        f"、未能发出 {failed} 封（下次收信时重试）" if failed else ""
    )


def _last_line(config: Config, run: dict[str, Any] | None) -> str:
    if run is None:
        return "上次运行：还没有运行记录。"
    when = local_text(run["started_at"], config.schedule)
    how = TRIGGER_NAMES.get(run["trigger"], run["trigger"])
    outcome = _OUTCOMES.get(None if run["outcome"] == "running" else run["outcome"], "")
    text = f"上次运行：{when}，{run['period']}（{how}），{outcome}"
    c = run["counts"]
    if c:
        text += (
            f"；新邮件 {c.get('new', 0)} 封（计入 {c.get('counted', 0)}，"
            f"待审核 {c.get('review', 0)}，忽略 {c.get('ignored', 0)}）"
        )
    if run["sent"] is not None:
        text += f"；通报发出 {run['sent']} 份"
    if run["error"]:
        text += f"；原因：{str(run['error']).rstrip('。. ')}"
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
