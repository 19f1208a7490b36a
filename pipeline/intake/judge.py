"""One message in, one outcome out: counted, held for review, or ignored — with a reason.

The rules run in a fixed order and the first that applies decides. A figure is counted
only when the form was read without doubt, the unit is certain and the sender is
registered for that unit; everything else is held for a person, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.config import Config, Metric
from pipeline.config.units import Directory
from pipeline.intake import inputs, screens
from pipeline.intake import roster as roster_list
from pipeline.ledger import Entry, Ledger, Report
from pipeline.ledger.detail import FormSaid, FormSeen, MessageDetail, NameList
from pipeline.mailbox import RawMessage, senders
from pipeline.mailbox.parse import SERVER_TIME, Mail
from pipeline.reading import forms
from pipeline.reading.forms import fields
from pipeline.reading.forms.numbers import Figure
from pipeline.reading.forms.table import MetricSpec, Role
from pipeline.reading.mails import Headline, ReadMail, headline, read_mail
from pipeline.reading.sandbox import Unread
from pipeline.standings.periods import period_of

if TYPE_CHECKING:
    from pipeline.reading.sandbox import Read

REASON_CHARS = 300

_BROKEN_HEAD = (
    "MissingHeaderBodySeparatorDefect"  # characters of the sender's own words in a thank-you
)


@dataclass(frozen=True)
class Assessment:
    entry: Entry
    report: Report | None
    also: tuple[Report, ...] = ()  # other units' reports in the same mail (a liaison's)


class Intake:
    def __init__(self, config: Config, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger
        self.directory = Directory(config)
        self.wording = forms.wording_of(config.form)
        self._reads: dict[int, dict[str, Figure]] = {}
        self._salt: bytes | None = None  # for the name lists' hashes, read when first needed
        # what the reader needs of each metric; the single metric's labels are the form's
        self.metrics = [
            MetricSpec(
                m.key,
                m.row_labels if m.key else (*self.wording.figure, m.name),
                Role.TOTAL if m.read_from == "累计" else Role.DEKAD,
            )
            for m in config.metrics
        ]
        own = {config.mailbox.address, config.delivery.sender, config.mailbox.username}
        self.own_addresses = {a.lower() for a in own if a}

    def assess(
        self, raw: RawMessage, read: Read | None = None, registered_as: int | None = None
    ) -> Assessment:
        """`read` is what a reader process made of the message; None reads it here.
        `registered_as`: the message is in the register already, as that number (recheck)."""
        sha = raw.sha256
        if raw.too_large:
            limit = self.config.mailbox.max_message_mb
            reason = f"邮件超过 {limit:g} MB，未下载，请在邮箱中查看"
            return self._hold(self._unread(raw, sha), reason)
        if read is None:
            read = read_mail(raw.raw, self.config.limits, self.wording)
        if isinstance(read, Unread):
            return self._hold(self._unread(raw, sha), read.reason)
        mail = read.mail
        arrival, basis = mail.arrival(raw)
        base = self._entry(raw, sha, mail, arrival, basis)
        base = _with(
            base,
            detail=MessageDetail(
                attachments=tuple(a.filename for a in mail.attachments[:200]),
                body=mail.body[:4000],
                defects=tuple(mail.defects),
            ),
        )
        duplicate = self.ledger.duplicate_of(mail.message_id, sha, registered_as)
        if duplicate is not None:
            return self._ignore(
                base, f"重复邮件：与第 {duplicate} 号邮件相同（Message-ID 或内容一致）"
            )
        not_a_report = screens.not_a_report(mail, self.own_addresses)
        if not_a_report:
            return self._ignore(base, not_a_report)
        if _BROKEN_HEAD in mail.defects:
            # A bare CR or a missing blank line ended the headers early: what reads as the
            # body began inside them (a figure smuggled in through the Subject, say).
            return self._hold(
                base, "邮件头格式异常（头部与正文之间缺少空行），内容可能被篡改，请人工查看"
            )
        registered = bool(self.directory.units_of_sender(mail.sender))
        judged = senders.judge(self.config.mailbox, mail, raw.raw, registered)
        base = _with(base, detail=replace(base.detail, vouched=judged.vouched))
        if judged.held:
            return self._hold(base, judged.held)
        if arrival is None:
            return self._hold(base, "无法确定邮件到达时间（没有服务器时间，也没有 Date 头）")
        return self._judge(base, mail, read)

    def failed(self, raw: RawMessage) -> Assessment:
        """An outcome for a message that could not be processed at all (the log has why)."""
        sha = raw.sha256
        return self._hold(self._unread(raw, sha), "这封邮件未能自动处理，已留待人工查看")

    def _unread(self, raw: RawMessage, sha: str) -> Entry:
        """An entry from the headers alone, so the clerk can find the message."""
        head = headline(raw.raw or raw.head)
        clocks = [(raw.internal_date, SERVER_TIME), (head.received, "Received 头")]
        arrival, basis = next(((t, b) for t, b in clocks if t), (head.date, "Date 头"))
        return self._entry(raw, sha, head, arrival, basis if arrival else "")

    def _entry(
        self, raw: RawMessage, sha: str, head: Mail | Headline, arrival: datetime | None, basis: str
    ) -> Entry:
        return Entry(
            source_ref=raw.ref,
            sha256=sha,
            outcome="review",
            reason="",
            message_id=head.message_id,
            sender=head.sender,
            subject=head.subject,
            arrival=arrival,
            arrival_basis=basis,
            period=self._period(arrival),
        )

    def _period(self, arrival: datetime | None) -> str | None:
        return str(period_of(arrival, self.config.schedule)) if arrival else None

    def _judge(self, base: Entry, mail: Mail, read: ReadMail) -> Assessment:
        self._reads = {}  # this message's forms, each read once
        readings, unreadable = read.readings, read.unreadable
        grids = [r.rows for r in readings] + read.lists  # where a name list may be
        if not readings and not mail.attachments and (note := screens.acknowledgement(mail)):
            return self._ignore(base, note)
        if not readings:
            why = (
                bounded(unreadable, "个附件")
                or "邮件中没有找到旬报表（附件和正文都没有“已完成目标任务数”等栏目）"
            )
            return self._hold(base, why)
        # the name list, kept with the message so approving a held one needs no reader
        names = roster_list.find(grids, self._salted())
        base = _with(base, detail=self._describe(base.detail, readings, unreadable, names))
        groups = self._by_unit(mail.sender, readings)
        if groups is None:
            return self._one_unit(base, mail, readings, names)
        # A liaison registered for several units sent each unit's form in one mail: one
        # report per unit, all linked to this message; any doubt holds the whole mail.
        reports: list[Report] = []
        said: list[str] = []
        for unit, mine in groups.items():
            chosen = self._figures(mine)
            judged = (
                chosen
                if isinstance(chosen, str)
                else self._report(base, mail, chosen, self._names_in(mine), unit)
            )
            if isinstance(judged, str):
                return self._hold(_with(base, unit=unit), f"{unit}：{judged}")
            reports.append(judged[0])
            said.append(judged[1])
        first = reports[0]
        entry = _with(base, outcome="counted", unit=first.unit, value=first.value)
        return Assessment(_with(entry, reason=bounded(said)), first, tuple(reports[1:]))

    def _one_unit(
        self, base: Entry, mail: Mail, readings: list[forms.Reading], names: NameList | None
    ) -> Assessment:
        chosen = self._figures(readings)
        if isinstance(chosen, str):
            return self._hold(base, chosen)
        base = _with(base, value=next(iter(chosen.values()))[0])
        unit, problem = self.directory.unit_of(mail.sender, {r.unit for r in readings if r.unit})
        if unit is None:
            return self._hold(base, problem or "无法确定报送单位")
        base = _with(base, unit=unit)
        judged = self._report(base, mail, chosen, names, unit)
        if isinstance(judged, str):
            return self._hold(base, judged)
        report, reason = judged
        return Assessment(_with(base, outcome="counted", reason=reason), report)

    def _by_unit(
        self, sender: str, readings: list[forms.Reading]
    ) -> dict[str, list[forms.Reading]] | None:
        """The forms grouped by unit, when a sender registered for several units sent
        forms naming two or more of them; None for every other mail."""
        registered = self.directory.units_of_sender(sender)
        if len(registered) < 2 or not all(r.unit for r in readings):
            return None
        groups: dict[str, list[forms.Reading]] = {}
        for r in readings:
            unit = self.directory.match(r.unit or "").settled_by(registered).unit
            if unit is None or unit not in registered:
                return None
            groups.setdefault(unit, []).append(r)
        return groups if len(groups) > 1 else None

    def _report(
        self,
        base: Entry,
        mail: Mail,
        chosen: dict[str, tuple[int, forms.Reading]],
        names: NameList | None,
        unit: str,
    ) -> tuple[Report, str] | str:
        """The unit's report from the figures chosen, and the register's line; or why
        it must be held (a running total that fell, a short name list)."""
        period = base.period or ""
        metrics = {m.key: m for m in self.config.metrics}
        figures = {key: value for key, (value, _) in chosen.items()}
        # each metric's figure of an earlier period, looked up once for every check
        previous = {key: self.ledger.previous_value(unit, period, key) for key in figures}
        fall = inputs.fell(metrics, figures, previous) or inputs.doubtful(
            self.config, self.ledger, unit, period, figures, previous
        )
        if fall:
            return fall
        headline = next(iter(figures))
        roster = self._roster(names, unit, metrics[headline], figures, previous[headline])
        if isinstance(roster, str):
            return roster
        reading = next(iter(chosen.values()))[1]
        assert base.arrival is not None
        report = Report(
            unit=unit,
            period=period,
            value=next(iter(figures.values())),
            arrival=base.arrival,
            measures=reading.measures,
            reported_on=reading.reported_on.isoformat() if reading.reported_on else None,
            note="更正" if "更正" in mail.subject else "",
            figures=tuple(figures.items()),
            roster=roster.hashes if roster else frozenset(),
        )
        shown = "；".join(
            f"{inputs.named(metrics[k], ' ')}{v} {metrics[k].measure}" for k, v in figures.items()
        )
        reason = f"计入 {unit}：{shown}（{reading.origin}）"
        if roster:
            reason += f"；实名登记 {roster.valid} 名"
        return report, reason

    def _salted(self) -> bytes:
        if self._salt is None:
            self._salt = roster_list.salt(self.config.resolve(self.config.storage.path).parent)
        return self._salt

    def _names_in(self, readings: list[forms.Reading]) -> NameList | None:
        """The name list among one unit's own forms (a liaison's mail carries several)."""
        return roster_list.find([r.rows for r in readings], self._salted())

    def _roster(
        self,
        found: NameList | None,
        unit: str,
        metric: Metric,
        figures: dict[str, int],
        previous: int | None,
    ) -> NameList | str | None:
        """The report's name list (实名登记), or why it falls short of the claimed increase.

        Only counts and salted hashes are kept; the ID numbers never leave `roster`."""
        if found is None:
            return None
        claimed = figures[metric.key]
        if metric.cumulative:
            claimed -= previous or 0
        new = found.valid - self.ledger.roster_known(unit, found.hashes)
        tolerance = self.config.rules.roster_tolerance
        if claimed - new > tolerance:
            return (
                f"实名登记名单有效 {new} 名（共 {found.rows} 行；身份证号校验通过、去重、"
                f"不含此前名单已有的），少于本次新增的 {claimed} 名"
                + (f"，相差超过 {tolerance} 名" if tolerance else "")
                + "，请核实"
            )
        return found

    def _figures(self, readings: list[forms.Reading]) -> dict[str, tuple[int, forms.Reading]] | str:
        """Each metric's figure (headline first) and the first reading giving it, or why the
        message must be held: a doubtful figure, two different ones, or none at all."""
        read = [(r, self._read(r)) for r in readings]
        problems = [
            f"{r.origin}：{inputs.named(m, '一栏')}{problem}"
            for m in self.config.metrics
            for r, figures in read
            if (problem := figures.get(m.key, (None, None))[1])
        ]
        if problems:
            return "；".join(problems)
        found: dict[str, tuple[int, forms.Reading]] = {}
        for m in self.config.metrics:
            given = [(r, f[m.key][0]) for r, f in read if f.get(m.key, (None, None))[0] is not None]
            if len({value for _, value in given}) > 1:
                shown = "、".join(f"{r.origin} 写 {value}" for r, value in given)
                return f"同一封邮件里的{inputs.named(m, '一栏')}完成数不一致（{shown}）"
            if given:
                found[m.key] = (int(given[0][1] or 0), given[0][0])
        if not found:
            empty = "各项指标" if self.config.campaign.metrics else "“已完成目标任务数”一栏"
            return f"找到了旬报表，但{empty}是空的"
        headline = self.config.metrics[0]
        if headline.key not in found:
            # a blank secondary metric is simply not reported; the headline ranks the unit
            return f"找到了旬报表，但主要指标“{headline.name}”一栏是空的"
        return found

    def _read(self, reading: forms.Reading) -> dict[str, Figure]:
        """metric key → (value, problem) as read from one form, for every campaign alike;
        once per form and message (the register's description and the judgement ask)."""
        if id(reading) not in self._reads:
            self._reads[id(reading)] = fields.figures(reading, self.metrics, self.wording).figures
        return self._reads[id(reading)]

    def _describe(
        self,
        noted: MessageDetail,
        readings: list[forms.Reading],
        unreadable: list[str],
        names: NameList | None,
    ) -> MessageDetail:
        """What was read, kept for the clerk (`review show`) and for `review approve`."""
        best = next((r for r in readings if r.value is not None), readings[0])
        written = best.unit or ""
        unit = self.directory.match(written).unit if written else None
        figures: dict[str, int] = {}  # per metric, the first figure read without doubt
        for r in readings:
            for key, (value, problem) in self._read(r).items():
                if value is not None and problem is None:
                    figures.setdefault(key, value)
        return replace(
            noted,
            readings=tuple(FormSeen(r.origin, r.unit, r.value, r.problem) for r in readings),
            unreadable=tuple(unreadable[:200]),
            ocr_text="\n\n".join(r.ocr_text for r in readings if r.ocr_text),
            said=FormSaid(
                unit=unit,
                value=best.value,
                figures=figures,
                measures=best.measures,
                reported_on=best.reported_on.isoformat() if best.reported_on else None,
            ),
            name_list=names is not None,
            names=names,
        )

    def _hold(self, entry: Entry, reason: str) -> Assessment:
        return Assessment(_with(entry, outcome="review", reason=bounded([reason])), None)

    def _ignore(self, entry: Entry, reason: str) -> Assessment:
        return Assessment(_with(entry, outcome="ignored", reason=bounded([reason])), None)


def bounded(parts: list[str], what: str = "项", limit: int = REASON_CHARS) -> str:
    """Reasons joined with "；" in at most `limit` characters: whole parts while they fit,
    then "等 N 个附件" for the rest (a mail with 1,000 broken attachments stays readable)."""
    text = "；".join(parts)
    if len(text) <= limit:
        return text
    shown: list[str] = []
    for number, part in enumerate(parts):
        rest = len(parts) - number
        # no command named: the register's reason is read in the desk too
        tail = f"；等 {rest} {what}（详见该邮件的详情）" if len(parts) > 1 else ""
        if len("；".join([*shown, part])) + len(tail) > limit:
            if not shown:
                return part[: max(limit - len(tail) - 1, 20)] + "…" + tail
            return "；".join(shown) + tail
        shown.append(part)
    return text


def _with(entry: Entry, **changes: object) -> Entry:
    return replace(entry, **changes)  # type: ignore[arg-type]
