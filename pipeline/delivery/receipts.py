"""Receipts (回执): a unit hears, within one poll, what became of its report.

For a counted report: the figure recorded, the period it counts for, and which earlier
report it replaced. For a report from a registered sender held for review: why, in words a
unit understands, and what to do. Never for ignored mail, never to an address no unit
registered (no backscatter), never for mail that arrived before receipts were switched on
(the moment is kept in the ledger), at most `delivery.receipt_limit` a day to one address,
and once per message: `delivery.send` records each one.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.config.units import Directory
from pipeline.outputs import letters
from pipeline.standings.periods import Period

_log = logging.getLogger("xunbao.receipts")

if TYPE_CHECKING:
    from pipeline.delivery.sending import Outgoing, StepResult
    from pipeline.ledger import Ledger
    from pipeline.ledger.letters import Received

SWITCHED_ON = "receipts_on_at"  # settings: when receipts were switched on (ISO time)
FROM_MESSAGE = "receipts_after_message"  # settings: the last message before that moment
KIND = "receipt:"

# A held report's reason (written for the clerk) → why in a unit's words, and what to do.
_ADVICE: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"不是任何单位登记|登记为 .* 的报送邮箱，报表却是"),
        "发件邮箱与报表上的报送单位对不上",
        "用本单位登记的报送邮箱发送本单位的旬报表；如邮箱有变动，请告知市总工会组宣部",
    ),
    (
        re.compile(r"不一致"),
        "同一封邮件里的数字不一致",
        "核对“已完成目标任务数”后，只发送一份正确的旬报表",
    ),
    (
        re.compile(r"低于该单位此前"),
        "本次累计数低于你单位此前已确认的数字",
        "核对数字；如确需更正，请在邮件主题中注明“更正”后重新发送",
    ),
    (
        re.compile(r"是空的"),
        "旬报表中“已完成目标任务数”一栏是空的",
        "填写数字后重新发送",
    ),
    (
        re.compile(r"没有找到旬报表"),
        "邮件中没有找到旬报表",
        "把旬报表作为附件（Excel .xlsx 或 Word .docx）重新发送",
    ),
    (
        re.compile(r"加密|密码|无法读取|无法打开|损坏|格式|识别|看不清|图片|照片|超过"),
        "附件无法准确读取",
        "把旬报表另存为 Excel（.xlsx）文件后作为附件重新发送，并核对数字",
    ),
]
_DEFAULT_ADVICE = ("需要工作人员人工核实", "核对旬报表中的数字；如有变动，请重新发送旬报表")


def send_due(config: Config, ledger: Ledger, now: datetime) -> StepResult:
    """The after-poll step: send the receipts owed since receipts were switched on."""
    from pipeline.delivery.sending import StepResult, send

    result = StepResult()
    since = note_switch(config, ledger, now)
    if since is None:
        return result
    owing, held_back = owed(config, ledger, since)
    if held_back:
        who = "、".join(f"{address} {count} 封" for address, count in held_back.items())
        limit = config.delivery.receipt_limit
        result.lines.append(f"回执已达每个邮箱每天 {limit} 封的上限，暂缓发送：{who}。")
    due: list[Outgoing] = []
    for message, unit in owing:  # one by one: a message that cannot be answered stops none
        try:
            due.append(receipt(config, ledger, message, unit))
        except Exception as exc:  # any fault of one message's data
            _log.warning("第 %d 号邮件的回执未能生成：%r", message.id, exc)
            result.failures.append(f"第 {message.id} 号邮件的回执未能生成")
    sent, failures = send(config, ledger, due)
    result.sent, result.failures = sent, result.failures + failures
    return result


def note_switch(config: Config, ledger: Ledger, now: datetime) -> datetime | None:
    """The moment receipts were switched on (recorded the first time they are found on),
    or None while they are off (a later switch-on then starts afresh)."""
    if not (config.delivery.receipts and config.delivery.host):
        ledger.clear_setting(SWITCHED_ON)
        ledger.clear_setting(FROM_MESSAGE)
        return None
    recorded = ledger.setting(SWITCHED_ON)
    if recorded is None:
        ledger.set_setting(SWITCHED_ON, now.isoformat())
        ledger.set_setting(FROM_MESSAGE, str(ledger.last_message_id()))
        return now
    return datetime.fromisoformat(recorded)


def owed(
    config: Config, ledger: Ledger, since: datetime
) -> tuple[list[tuple[Received, str]], dict[str, int]]:
    """The messages (and their units) owed a receipt now, and per address how many wait for
    the daily limit. Only a registered sender whose domain was vouched for is answered: a
    forged From must never turn the union's mailbox against the unit it names."""
    directory = Directory(config)
    after = int(ledger.setting(FROM_MESSAGE) or 0)
    day_ago = datetime.now().astimezone() - timedelta(days=1)  # deliveries keep real time
    budget: dict[str, int] = {}
    due: list[tuple[Received, str]] = []
    held_back: dict[str, int] = {}
    for message in ledger.receipts_due(after):
        unit = directory.by_sender(message.sender)
        if unit is None or message.arrival is None or message.arrival < since:
            continue  # a stranger, or mail from before the switch-on: no receipt
        if not message.vouched:
            continue  # nobody vouched for the sender: it may not be the unit at all
        if message.sender not in budget:
            sent = ledger.sent_since(message.sender, KIND, day_ago)
            budget[message.sender] = config.delivery.receipt_limit - sent
        if budget[message.sender] <= 0:
            held_back[message.sender] = held_back.get(message.sender, 0) + 1
            continue
        budget[message.sender] -= 1
        due.append((message, unit))
    return due, held_back


def receipt(config: Config, ledger: Ledger, message: Received, unit: str) -> Outgoing:
    from pipeline.delivery.sending import Outgoing, envelope, header_text

    # Never the sender's subject or words: a forger's text must not go out under our name.
    period = Period.parse(message.period).label() if message.period else ""
    mail = envelope(config, f"回执：{unit}{period}旬报")
    mail.set_content(text(config, ledger, message, unit))
    mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: their auto-reply must not answer
    reply_to = header_text(message.message_id)
    if reply_to:
        mail["In-Reply-To"] = reply_to
        mail["References"] = reply_to
    return Outgoing(message.period or "", message.sender, f"{KIND}{message.id}", mail)


def text(config: Config, ledger: Ledger, message: Received, unit: str) -> str:
    zone = config.schedule.zone
    assert message.arrival is not None
    period = Period.parse(message.period) if message.period else None
    counted = message.outcome == "counted"
    why, todo = advice(message.reason)
    earlier = ledger.replaced_by(message.id) if counted else None
    superseded = ""
    if earlier is not None:
        how = "发来" if earlier.message is not None else "登记"
        shown = f"{earlier.value:,} {config.campaign.measure}"
        superseded = f"于 {letters.moment(earlier.arrival, zone)} {how}的 {shown}"
    return letters.render(
        "receipt.txt.j2",
        unit=unit,
        arrived=letters.moment(message.arrival, zone),
        number=message.id,
        counted=counted,
        figures=_figures(config, message),
        period_label=period.label() if period else "",
        deadline=_deadline(period, config) if period else "",
        superseded=superseded,
        why=why,
        todo=todo,
        department=config.circular.department,
    )


def advice(reason: str) -> tuple[str, str]:
    """Why a report was held and what the unit can do, in the unit's words."""
    for pattern, why, todo in _ADVICE:
        if pattern.search(reason):
            return why, todo
    return _DEFAULT_ADVICE


def _figures(config: Config, message: Received) -> str:
    value = f"{message.value:,}" if message.value is not None else "—"
    return f"{config.campaign.metric} {value} {config.campaign.measure}"


def _deadline(period: Period, config: Config) -> str:
    cutoff = period.cutoff(config.schedule)
    return letters.moment(cutoff, config.schedule.zone)
