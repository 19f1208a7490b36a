"""Reminders (催报): before each cutoff, one polite letter to every unit with nothing in.

At `reminders.time`, `reminders.days_before` days before the deadline, every reporting unit
with no counted and no pending report in the period (pending: a message held for review
from one of its registered senders or naming it) gets one reminder naming the period, the
deadline and the form, copied to its supervision group's contact when config gives one;
the clerk (`delivery.clerk`) gets the list. A unit that joins later (`since:` after the
period) is never reminded. Each letter is a delivery of kind `reminder:<unit>` (the list:
`reminder-list`), so a unit hears once per period, whatever restarts or kills happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.config import Config, Unit
from pipeline.outputs import letters
from pipeline.standings.held import pending_units
from pipeline.standings.periods import Period, period_of
from pipeline.standings.timetable import campaign_window

if TYPE_CHECKING:
    from pipeline.delivery.sending import Outgoing, StepResult
    from pipeline.ledger import Ledger

KIND = "reminder:"
LIST = "reminder-list"


@dataclass(frozen=True)
class Plan:
    period: Period
    due: list[Unit]  # units to remind
    unreachable: list[Unit]  # units to remind that have no whole address on record


def moment(config: Config, period: Period) -> datetime:
    """When the reminders of `period` go out."""
    day = period.end - timedelta(days=config.reminders.days_before)
    return datetime.combine(day, config.reminders.time, tzinfo=config.schedule.zone)


def next_moment(config: Config, now: datetime) -> datetime | None:
    """The next reminder time after `now` (the server wakes for it); None when off."""
    if not (config.reminders.enabled and config.delivery.host):
        return None
    period = period_of(now, config.schedule)
    when = moment(config, period)
    if when <= now:  # this period's is past: the next period's
        period = period_of(period.cutoff(config.schedule) + timedelta(seconds=1), config.schedule)
        when = moment(config, period)
    return when if period <= campaign_window(config)[1] else None


def plan(config: Config, ledger: Ledger, now: datetime) -> Plan | None:
    """Who is to be reminded now, or None outside the reminder window of the open period."""
    period = period_of(now, config.schedule)
    first, last = campaign_window(config)
    if not first <= period <= last or not moment(config, period) <= now:
        return None
    held = pending_units(config, ledger).get(str(period), frozenset())
    quiet = ledger.reported_units(str(period)) | held
    due = [
        unit
        for unit in config.reporting_units
        if unit.name not in quiet and (unit.since is None or unit.since <= period.end)
    ]
    return Plan(period, due, [u for u in due if not u.addresses])


def send_due(config: Config, ledger: Ledger, now: datetime) -> StepResult:
    """The after-poll step: the reminders of the open period, once it is their time."""
    from pipeline.delivery.sending import StepResult, send

    result = StepResult()
    if not (config.reminders.enabled and config.delivery.host):
        return result
    found = plan(config, ledger, now)
    if found is None:
        return result
    period = str(found.period)
    due = [
        letter(config, found.period, unit)
        for unit in found.due
        if unit.addresses and not ledger.delivered(period, unit.addresses[0], f"{KIND}{unit.name}")
    ]
    clerk = config.delivery.clerk
    if clerk and not ledger.delivered(period, clerk, LIST):
        due.append(clerk_list(config, found))
    if found.unreachable and due:  # said once, when the reminders go out
        names = "、".join(u.name for u in found.unreachable)
        result.lines.append(f"以下单位没有登记完整的邮箱地址，无法发送催报，请电话联系：{names}。")
    result.sent, result.failures = send(config, ledger, due)
    return result


def letter(config: Config, period: Period, unit: Unit) -> Outgoing:
    from pipeline.delivery.sending import Outgoing, envelope

    first, *others = unit.addresses
    copies = [*others, *group_contacts(config, unit)] if config.reminders.copy_groups else others
    deadline = _deadline(config, period)
    subject = f"催报：请于 {deadline} 前报送{period.label()}的{config.reminders.form}"
    mail = envelope(config, subject)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: not to be answered by a robot
    mail.set_content(
        letters.render(
            "reminder.txt.j2",
            unit=unit.name,
            period_label=period.label(),
            deadline=deadline,
            form=config.reminders.form,
            address=config.mailbox.address or config.delivery.sender,
            department=config.circular.department,
        )
    )
    return Outgoing(str(period), first, f"{KIND}{unit.name}", mail, tuple(copies))


def group_contacts(config: Config, unit: Unit) -> list[str]:
    """The contacts of the supervision groups that follow the unit and take reminders."""
    return [
        g.email
        for g in config.groups
        if g.email and "reminders" in g.copies and unit.name in config.group_units(g)
    ]


def clerk_list(config: Config, found: Plan) -> Outgoing:
    from pipeline.delivery.sending import Outgoing, envelope

    label = found.period.label()
    mail = envelope(config, f"催报名单：{label}尚未报送的单位（{len(found.due)} 个）")
    mail.set_content(
        letters.render(
            "reminder-list.txt.j2",
            period_label=label,
            deadline=_deadline(config, found.period),
            units=[
                (
                    u.name,
                    "、".join(u.addresses) or "无登记邮箱，请电话联系",
                    group_contacts(config, u),
                )
                for u in found.due
            ],
            department=config.circular.department,
        )
    )
    return Outgoing(str(found.period), config.delivery.clerk, LIST, mail)


def _where(unit: Unit) -> str:
    return "、".join(unit.addresses) or "无登记邮箱，未发催报，请电话联系"


def _deadline(config: Config, period: Period) -> str:
    return letters.moment(period.cutoff(config.schedule), config.schedule.zone)
