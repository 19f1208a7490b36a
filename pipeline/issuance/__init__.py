"""Issuing the circular: the period's state decided in one place, sign-off, versions and
corrections (更正), each sent to every recipient exactly once.

A version is recorded (ledger `circulars`) before any copy of it is sent, with the
standings it states; a recipient's copy is recorded as soon as the server has taken it.
So a run cut off mid-way finishes that same version next time and never sends it twice.
A period's circular changes after issue when any figure, held message or config that
feeds it changes: the standings' fingerprint then differs from the latest version's, and
the next version carries a 更正说明 of what changed. An identical version is never made.

Sending is allowed under `delivery.sign_off`:
- `auto`: at the cutoff when nothing of the period is held for review; otherwise the
  clerk is told and the circular waits until the queue is empty or `review_wait_hours`
  after the cutoff, when it goes out with the held units as 待核实;
- `required`: only once a leader in `delivery.signers` has signed these standings (sign).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import runtime
from pipeline.config import Config
from pipeline.errors import UsageError
from pipeline.issuance.phase import (
    PHASE_LABELS,
    PeriodContext,
    PeriodState,
    change_digest,
)
from pipeline.ledger import Ledger
from pipeline.ledger.records import VersionRecord
from pipeline.outputs import corrections
from pipeline.outputs.corrections import Correction
from pipeline.standings.periods import Period

if TYPE_CHECKING:
    from pipeline import outputs
    from pipeline.standings.table import Standings

_log = logging.getLogger("xunbao.issuance")
_WAITING = "circular-waiting:"  # settings key: a period whose circular was held back
_SETTLED = "circular-settled:"  # settings key: a period's change digest when last settled


# ── settling one period ────────────────────────────────────────
@dataclass
class Settled:
    period: Period
    state: PeriodState  # as found, before anything was sent
    published: outputs.Published | None = None
    issued: VersionRecord | None = None  # the version this call issued
    sent: int | None = None  # copies sent by this call; None: nothing went out
    skipped: int = 0  # recipients who had the version already
    notified: bool = False  # the clerk was told the circular waits


def settle_period(
    config: Config,
    ledger: Ledger,
    period: Period,
    now: datetime,
    *,
    send: bool = True,
    out: Path | None = None,
    publish: bool = True,
    send_now: bool = False,
    context: PeriodContext | None = None,
) -> Settled:
    """Compose the period's circular (a correction when it changed since issue) and send it
    when its state allows; otherwise tell the clerk. `send=False` only composes;
    `send_now` sends although messages of the period are still held (the clerk decided).
    `context`: the caller's, when it looked at the period first (its standings are reused)."""
    result = _settle(config, ledger, period, now, send, out, publish, send_now, context)
    if send:  # settled as things stand: the ticks leave it until something changes
        ledger.set_setting(_SETTLED + str(period), change_digest(config, ledger))
    return result


def _settle(
    config: Config,
    ledger: Ledger,
    period: Period,
    now: datetime,
    send: bool,
    out: Path | None,
    publish: bool,
    send_now: bool,
    context: PeriodContext | None,
) -> Settled:
    context = context or PeriodContext(config, ledger, period)  # each computed once
    found = context.state(now)
    if send_now and found.phase == "awaiting_review":
        found = replace(found, phase="ready")
    result = Settled(period, found)
    if send and found.latest is not None:
        _finish(config, ledger, found.latest, result)  # a version cut off mid-way
    # Only composing needs the standings: an issued period that did not move, or one
    # still waiting, is settled by its state alone (no pandas, no rendering).
    composing = publish or found.phase == "ready"
    table = context.standings if composing else None
    correction = correction_of(config, found, table) if table is not None else None
    if table is not None:
        from pipeline import outputs  # rendering: only a settling that composes loads it

        result.published = outputs.publish(
            config, ledger, period, table=table, out=out, correction=correction
        )
    waiting = send and found.phase in ("awaiting_review", "awaiting_sign_off")
    if send and found.phase == "ready":
        assert result.published is not None and table is not None
        result.issued = issue(config, ledger, found, table, correction, result.published)
        ledger.clear_setting(_WAITING + str(period))
    elif waiting:
        ledger.set_setting(_WAITING + str(period), found.phase)  # the ticks take it from here
    _year_summary(config, ledger, result)  # before sending: a failed send still has it
    if result.issued is not None:
        _finish(config, ledger, result.issued, result)
    elif waiting:
        result.notified = _notify(config, ledger, found)
    return result


def _year_summary(config: Config, ledger: Ledger, result: Settled) -> None:
    """After the last dekad, the year's summary beside what was published. It counts what
    the issued circulars named, so it is written once, after this one is issued if it is."""
    if result.published is not None:
        from pipeline.outputs import summary as summary_output

        summary_output.after_final(config, ledger, result.period, result.published.folder.parent)


def correction_of(config: Config, found: PeriodState, table: Standings) -> Correction | None:
    """The correction the circular would be now: the standings moved since issue."""
    if found.latest is None or not found.correction_due:
        return None
    text = corrections.note(
        found.latest.standings, corrections.snapshot(table), config.campaign.measure
    )
    today = datetime.now(config.schedule.zone).date()
    return Correction(found.next_version, text, today)


def issue(
    config: Config,
    ledger: Ledger,
    found: PeriodState,
    table: Standings,
    correction: Correction | None,
    published: outputs.Published,
) -> VersionRecord:
    """Record the next version, then keep its files as circular-vN.pdf / standings-vN.xlsx."""
    from pipeline.outputs.corrections import doc_number

    # Files first: a version recorded is a version whose files exist.
    for path, suffix in ((published.pdf, ".pdf"), (published.xlsx, ".xlsx")):
        kept = version_file(published.folder, path.stem, found.next_version, suffix)
        shutil.copyfile(path, kept)
    return ledger.add_version(
        str(found.period),
        found.next_version,
        found.fingerprint,
        corrections.snapshot(table),
        correction.note if correction else "",
        doc_number(config, found.period, ledger.versions()),
        found.signature,
    )


def version_file(folder: Path, stem: str, version: int, suffix: str) -> Path:
    return folder / f"{stem}-v{version}{suffix}"


def _finish(config: Config, ledger: Ledger, version: VersionRecord, result: Settled) -> None:
    """Send the version to every recipient who has not had it (none: nothing to do)."""
    if not config.delivery.host:
        result.sent = result.sent or 0
        return
    from pipeline.delivery import sending as delivery

    folder = config.resolve(config.output.dir) / version.period
    if result.published is not None:
        folder = result.published.folder
    pdf = version_file(folder, "circular", version.version, ".pdf")
    xlsx = version_file(folder, "standings", version.version, ".xlsx")
    done = delivery.deliver_version(config, ledger, version, pdf, xlsx)
    result.sent = (result.sent or 0) + done.sent
    result.skipped = done.skipped


def _notify(config: Config, ledger: Ledger, found: PeriodState) -> bool:
    """Tell the clerk once per period, phase and version that the circular waits."""
    what = f"{found.period.label()}通报{PHASE_LABELS[found.phase]}"
    if found.phase == "awaiting_review" and found.send_by is not None:
        when = found.send_by.astimezone(config.schedule.zone).strftime("%Y-%m-%d %H:%M")
        what += (
            f"：{found.held} 封邮件待审核，审核完即发送，最迟 {when} 发送（待审核单位列为待核实）"
        )
    elif found.phase == "awaiting_sign_off":
        what += "：请领导签发（审核台“通报”页，或 xunbao sign）"
    _log.warning(what)
    if not config.delivery.host or not config.delivery.clerk:
        return False
    from pipeline.delivery import sending as delivery

    kind = f"notice:{found.phase}:v{found.next_version}"
    return delivery.notify_clerk(config, ledger, str(found.period), kind, what) > 0


# ── the clerk's and the leader's commands ──────────────────────
def sign(
    config: Config,
    ledger: Ledger,
    period: Period,
    by: str,
    now: datetime,
    wait: runtime.Say = _log.info,
) -> Settled:
    """A leader signs the circular as it stands now, and it is sent. Like every way a
    circular goes out, it waits for any other xunbao sending from the ledger (`wait` tells
    the person so)."""
    with runtime.one_cycle_at_a_time(config, wait):
        return _sign(config, ledger, period, by, now)


def _sign(config: Config, ledger: Ledger, period: Period, by: str, now: datetime) -> Settled:
    signers = config.delivery.signers
    if config.delivery.sign_off != "required":
        raise UsageError("按配置通报无需签发，会自动发送。", "sign_off_auto")
    if by not in signers:
        raise UsageError(f"{by} 不是登记的签发人（可签发：{'、'.join(signers)}）。", "not_signer")
    context = PeriodContext(config, ledger, period)
    found = context.state(now)
    if found.phase == "collecting":
        raise UsageError(f"{period} 的截止时间未到，不能签发。", "too_early")
    if found.phase in ("issued", "corrected"):
        shown = f"第 {found.next_version - 1} 版"
        raise UsageError(f"{period} 的通报已发出（{shown}），内容没有变化。", "unchanged")
    ledger.sign(str(period), found.fingerprint, by)  # the state changes, the standings not
    return settle_period(config, ledger, period, now, context=context)


def reissue(
    config: Config, ledger: Ledger, period: Period, now: datetime, wait: runtime.Say = _log.info
) -> Settled:
    """Send the correction of an issued circular now (or finish an interrupted sending)."""
    with runtime.one_cycle_at_a_time(config, wait):
        context = PeriodContext(config, ledger, period)
        if context.state(now).latest is None:
            raise UsageError(f"{period} 的通报尚未发出过。", "never_issued", period=str(period))
        return _send_now(context, now)


def send_now(
    config: Config, ledger: Ledger, period: Period, now: datetime, wait: runtime.Say = _log.info
) -> Settled:
    """The desk's 发送: issue the circular now although messages are still held (their units
    shown as 待核实; the clerk decided), send its correction, or finish an interrupted
    sending. Recipients who have the version already are skipped."""
    if not config.delivery.host:
        raise UsageError("未配置发送通报的邮件服务器，无法发送。", "no_mail_server")
    with runtime.one_cycle_at_a_time(config, wait):
        return _send_now(PeriodContext(config, ledger, period), now)


def _send_now(context: PeriodContext, now: datetime) -> Settled:
    found = context.state(now)
    if found.phase == "collecting":
        raise UsageError(f"{found.period} 的截止时间未到，不能发送。", "too_early")
    if found.phase == "awaiting_sign_off":
        raise UsageError("通报须先由领导签发。", "unsigned", period=str(found.period))
    config, ledger = context.config, context.ledger
    return settle_period(
        config, ledger, found.period, now, publish=False, send_now=True, context=context
    )


def describe(config: Config, settled: Settled, send: bool) -> list[str]:
    """What a settling did, in Chinese lines for the CLI and the log."""
    found, lines = settled.state, []
    if not send:
        return ["未发送通报（--no-send）。"]
    if settled.issued is not None:
        number = settled.issued.version
        what = f"第 {number} 版（更正）" if number > 1 else "第 1 版"
        if not config.delivery.host:
            lines.append(f"通报{what}已定稿；未设置发送邮件的服务器，未发送邮件。")
        if settled.issued.correction:
            lines.append(f"更正说明：{settled.issued.correction}")
    elif found.phase in ("issued", "corrected") and settled.sent:
        pass  # the same version completed for those who lacked it: said once, below
    elif found.phase in ("issued", "corrected"):
        lines.append(f"通报与已发出的第 {found.next_version - 1} 版相同，不重复发送。")
    else:
        lines.append(f"通报暂不发送：{found.label}。")
    if config.delivery.host and settled.sent is not None:
        lines.append(f"通报已发送给 {settled.sent} 位收件人（此前已发送 {settled.skipped} 位）。")
    return lines


def settle_known(config: Config, ledger: Ledger, now: datetime) -> list[Settled]:
    """One tick of `serve`: every period whose circular a cycle held back (waiting for
    review or a signature) and every issued one, each sent, corrected or left waiting as
    its state says. Composing a period first is the cycle's job, at the cutoff."""
    # An issued period changes only when the ledger or the config does: one settled since
    # the last change (by a cycle or a tick; a failed sending leaves no mark) is left.
    # Waiting ones also move with the clock.
    now_digest = change_digest(config, ledger)
    issued = {Period.parse(p) for p in ledger.issued_periods()}
    periods = {p for p in issued if ledger.setting(_SETTLED + str(p)) != now_digest}
    periods |= _waiting(ledger)
    return [settle_period(config, ledger, p, now, publish=False) for p in sorted(periods)]


def _waiting(ledger: Ledger) -> set[Period]:
    return {Period.parse(key.removeprefix(_WAITING)) for key in ledger.settings(_WAITING)}


def known_periods(ledger: Ledger) -> set[Period]:
    """Periods whose circular was issued or is waiting to be."""
    return {Period.parse(p) for p in ledger.issued_periods()} | _waiting(ledger)
