"""Where each copy of a circular stands, in the server's word: 已送达 only once the server
accepted it (ledger `deliveries`), 重试中 after a try that failed (the outbox keeps why),
待发送 when no try was made yet. The desk, `status` and `circulars` all read this."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pipeline.config import Config
from pipeline.errors import DeliveryError
from pipeline.ledger import Ledger, circular_kind
from pipeline.ledger.records import VersionRecord

State = Literal["pending", "retrying", "delivered"]
STATE_NAMES: dict[State, str] = {"pending": "待发送", "retrying": "重试中", "delivered": "已送达"}


@dataclass(frozen=True)
class Copy:
    """One recipient's copy of one version."""

    recipient: str
    state: State
    sent_at: str | None  # when the server accepted it
    error: str  # why the last try failed ('' when none did)

    @property
    def name(self) -> str:
        return STATE_NAMES[self.state]

    @property
    def text(self) -> str:
        """e.g. 'a@b.c 重试中（无法连接发信服务器 …）'."""
        return f"{self.recipient} {self.name}" + (f"（{self.error}）" if self.error else "")


@dataclass(frozen=True)
class Copies:
    """Every recipient's copy of one version of a period's circular."""

    period: str
    version: int
    copies: tuple[Copy, ...]

    @property
    def waiting(self) -> tuple[Copy, ...]:
        return tuple(c for c in self.copies if c.state != "delivered")

    @property
    def delivered(self) -> bool:
        return not self.waiting

    @property
    def text(self) -> str:
        """One line: '已送达 2/3；b@c.d 重试中（…）'."""
        done = len(self.copies) - len(self.waiting)
        head = f"已送达 {done}/{len(self.copies)}"
        return "；".join([head, *(c.text for c in self.waiting)])


def copies(config: Config, ledger: Ledger, period: str, version: int) -> Copies:
    """The copies of `version` (0: a circular meant to go out that has no version yet)."""
    kind = circular_kind(max(version, 1))
    accepted = {
        d.recipient: d.sent_at for d in ledger.deliveries() if (d.period, d.kind) == (period, kind)
    }
    failed = {o.recipient: o for o in ledger.outbox() if (o.period, o.kind) == (period, kind)}
    found = []
    for recipient in dict.fromkeys(r.lower() for r in config.circular_recipients()):
        if recipient in accepted:
            found.append(Copy(recipient, "delivered", accepted[recipient], ""))
        elif recipient in failed:
            found.append(Copy(recipient, "retrying", None, failed[recipient].error))
        else:
            found.append(Copy(recipient, "pending", None, ""))
    return Copies(period, version, tuple(found))


def of_version(config: Config, ledger: Ledger, version: VersionRecord) -> Copies:
    return copies(config, ledger, version.period, version.version)


def undelivered(config: Config, ledger: Ledger, meant: Iterable[str] = ()) -> list[Copies]:
    """The latest version of every issued period (and of each period in `meant`, a
    circular a run set out to send) that some recipient has not had."""
    if not config.delivery.host:
        return []
    latest = {v.period: v.version for v in ledger.versions()}  # ordered: the last wins
    periods = sorted(set(latest) | set(meant))
    found = [copies(config, ledger, p, latest.get(p, 0)) for p in periods]
    return [c for c in found if not c.delivered]


def as_json(found: Copies) -> dict[str, object]:
    return {
        "period": found.period,
        "version": found.version or None,
        "missing": [c.recipient for c in found.waiting],
        "recipients": [
            {"recipient": c.recipient, "state": c.name, "sent_at": c.sent_at, "error": c.error}
            for c in found.copies
        ],
    }


def not_sent(exc: DeliveryError, signed: bool) -> str:
    """What a sign-off or a 发送 whose sending failed says."""
    head = "已签发；" if signed else ""
    return f"{head}发送失败（{exc.reason}）；下次运行时重试。"


# END
