"""退回修改: a held report sent back to its unit with the reason, what to resend and by
when; the unit's next report is linked to it in the register (退回 → 已重报).

The notice is a letter like a receipt (receipts.py): from the department, never quoting the
mail's own words, only to an address registered for the unit (the sender when it is one,
else the unit's first registered address), at most `delivery.receipt_limit` a day to one
address, recorded by `delivery.send`. Rejecting stays possible with no mail server: the
result says no notice went, and why. Open send-backs live in the ledger's settings (one
key per message), so no schema change was needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.clerk import review
from pipeline.config import Config
from pipeline.config.units import Directory, canonical_unit
from pipeline.errors import UsageError
from pipeline.ledger import Ledger
from pipeline.ledger.records import MessageRecord
from pipeline.outputs import letters
from pipeline.standings.periods import Period

KEY = "sendback:"  # settings key prefix and letter kind prefix
RESEND = "更正后的旬报表"  # what to resend when the clerk says nothing else
GRACE = timedelta(days=2)  # by when, once the period's cutoff has passed


@dataclass(frozen=True)
class SentBack:
    message: int
    unit: str
    by_when: str  # local time, as the notice says it
    notified: str  # the address the notice went to; '' when none went
    not_sent: str  # why no notice went ('' when it went)


@dataclass(frozen=True)
class Open:
    """A send-back and what answered it: the unit's next report, if any."""

    message: int
    unit: str
    period: str
    why: str
    by_when: str
    answered_by: int | None


def send_back(
    config: Config,
    ledger: Ledger,
    message: int,
    unit: str,
    why: str,
    now: datetime,
    *,
    resend: str = "",
    notify: bool = True,
    by: str | None = None,
) -> SentBack:
    """Reject a held message as 退回修改 and (with `notify`) tell its unit."""
    row = review.held(ledger, message)
    if not why.strip():
        raise UsageError("退回时请写明理由。", "reason_required")
    if not unit.strip():
        raise UsageError(f"退回第 {message} 号邮件时请选择报送单位。", "unit_missing")
    name = canonical_unit(config, unit)
    by_when = _by_when(config, row.period, now)
    reason = f"退回修改（{name}）：{why.strip()}"
    ledger.decide(message, "ignored", reason, None, review.actor(by), kind="sendback")
    at = now.astimezone(UTC).isoformat(timespec="seconds")  # as the ledger writes times
    record = {
        "unit": name,
        "period": row.period or "",
        "why": why.strip(),
        "by_when": by_when,
        "at": at,
    }
    ledger.set_setting(f"{KEY}{message}", json.dumps(record, ensure_ascii=False))
    if not notify:
        return SentBack(message, name, by_when, "", "未选择通知单位")
    address, problem = _address(config, ledger, row.sender, name, now)
    if problem:
        return SentBack(message, name, by_when, "", problem)
    from pipeline.delivery.sending import Outgoing, envelope, header_text, send

    period = Period.parse(row.period).label() if row.period else ""
    mail = envelope(config, f"退回修改：{name}{period}旬报")
    arrived = datetime.fromisoformat(row.arrival) if row.arrival else now
    mail.set_content(
        letters.render(
            "sendback.txt.j2",
            unit=name,
            arrived=letters.moment(arrived, config.schedule.zone),
            number=message,
            period_label=period,
            why=why.strip(),
            resend=resend.strip() or RESEND,
            by_when=by_when,
            department=config.circular.department,
        )
    )
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply to it
    if reply_to := header_text(row.message_id):
        mail["In-Reply-To"] = reply_to
        mail["References"] = reply_to
    try:
        _, failures = send(
            config, ledger, [Outgoing(row.period or "", address, KEY + str(message), mail)]
        )
    except Exception as exc:  # the decision stands; the page says the notice did not go
        return SentBack(message, name, by_when, "", f"通知未能发出：{exc}")
    if failures:
        return SentBack(message, name, by_when, "", "通知未能发出：" + "；".join(failures))
    return SentBack(message, name, by_when, address, "")


def _address(
    config: Config, ledger: Ledger, sender: str, unit: str, now: datetime
) -> tuple[str, str]:
    """Where the notice goes, or why it cannot go."""
    if not config.delivery.host:
        return "", "未设置发送邮件的服务器，未能通知单位"
    registered = config.unit(unit).senders
    if Directory(config).by_sender(sender) == unit:
        address = sender
    elif registered:
        address = registered[0]
    else:
        return "", f"{unit} 没有登记报送邮箱，未能通知，请电话告知"
    day_ago = now - timedelta(days=1)
    if ledger.sent_since(address, KEY, day_ago) >= config.delivery.receipt_limit:
        return "", f"今天发往 {address} 的通知已达上限，未再发送，请电话告知"
    return address, ""


def _by_when(config: Config, period: str | None, now: datetime) -> str:
    """The period's cutoff while it is ahead, else two days from now."""
    zone = config.schedule.zone
    if period:
        cutoff = Period.parse(period).cutoff(config.schedule)
        if cutoff > now:
            return letters.moment(cutoff, zone)
    return letters.moment(now + GRACE, zone)


def open_ones(config: Config, ledger: Ledger) -> list[Open]:
    """Every send-back, oldest first, each with the unit's report that answered it: the
    first of its mail received after the send-back, not ignored."""
    keys = sorted(ledger.settings(KEY), key=lambda k: int(k.removeprefix(KEY)))
    if not keys:
        return []
    directory = Directory(config)
    first = int(keys[0].removeprefix(KEY))
    # the mail after the first send-back that may answer one: not ignored
    rows = ledger.db.execute(
        "SELECT * FROM messages WHERE id > ? AND outcome != 'ignored' ORDER BY id", (first,)
    ).fetchall()
    later = [MessageRecord.of(r) for r in rows]
    found = []
    for key in keys:
        number = int(key.removeprefix(KEY))
        data = json.loads(ledger.setting(key) or "{}")
        unit, period = data.get("unit", ""), data.get("period", "")
        answered = next(
            (
                m.id
                for m in later
                if m.id > number
                and m.recorded_at >= data.get("at", "")  # received after the send-back
                and (m.period or "") >= period
                and unit in {m.unit, m.detail.said.unit, directory.by_sender(m.sender)}
            ),
            None,
        )
        found.append(
            Open(number, unit, period, data.get("why", ""), data.get("by_when", ""), answered)
        )
    return found


def notes(config: Config, ledger: Ledger) -> dict[int, str]:
    """What the register adds to a message's reason: 退回 → 已重报, both ways."""
    said: dict[int, str] = {}
    for item in open_ones(config, ledger):
        if item.answered_by is None:
            said[item.message] = f"；待重报（限 {item.by_when} 前）"
        else:
            said[item.message] = f"；已重报：第 {item.answered_by} 号邮件"
            said[item.answered_by] = f"；重报（回应第 {item.message} 号邮件的退回）"
    return said
