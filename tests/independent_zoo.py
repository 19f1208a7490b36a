"""Measuring the reader on forms it never saw: tests/fixtures/independent_zoo.

Those 308 forms were written by a separate author from a prose description of how
offices fill forms, without reading the reader or its tests (see that folder's README);
nobody who works on the reader edits them. Each form is sent as the office would —
attached under the office's own file name, or as the mail body — from the unit's
registered address, and goes through intake exactly as a polled mail does: read in the
sandboxed reader pool, then judged. A form is
  right  counted for the right unit with every figure the manifest gives (and no other),
  held   held for a person (right when the manifest says a clerk must look),
  wrong  counted with any unit or figure that differs, or counted when it must be held.
Shared by tests/test_independent_zoo.py and bench/zoo_independent.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline import config
from pipeline.intake.judge import Assessment, Intake
from pipeline.ledger import Ledger
from pipeline.mailbox import RawMessage
from pipeline.reading.sandbox import Pool

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "tests" / "fixtures" / "independent_zoo"
CONFIGS = {"2015": ROOT / "config.yaml", "2019": ROOT / "examples" / "2019-work-points.yaml"}
KEYS = {"members": ""}  # the 2015 campaign's one metric has the key ''
ZONE = ZoneInfo("Asia/Shanghai")
_TYPES = {"jpg": ("image", "jpeg"), "pdf": ("application", "pdf")}


@dataclass(frozen=True)
class Verdict:
    file: str
    campaign: str
    format: str
    layout: str
    expected: str  # read | held
    outcome: str  # right | held | wrong
    detail: str  # what was counted, or why it was held

    @property
    def unaided(self) -> bool:
        return self.expected == "read" and self.outcome == "right"


def manifest() -> list[dict[str, object]]:
    return json.loads((ZOO / "manifest.json").read_text("utf-8"))  # type: ignore[no-any-return]


def mail_of(entry: dict[str, object]) -> bytes:
    """The form as the office sent it: from its registered address, on its report day."""
    data = (ZOO / str(entry["file"])).read_bytes()
    day = datetime.fromisoformat(f"{entry['report_date']}T10:00:00").replace(tzinfo=ZONE)
    message = EmailMessage()
    message["From"] = f"{entry['unit']} <{entry['sender']}>"
    message["To"] = "lsszghzxb@126.com"
    message["Subject"] = f"{entry['unit']}旬报"
    message["Date"] = format_datetime(day)
    message["Message-ID"] = f"<zoo-{Path(str(entry['file'])).stem}@example>"
    delivered = entry["delivered_as"]
    charset = str(entry.get("charset") or "utf-8")
    if delivered == "body_text":
        message.set_content(data.decode(charset))
    elif delivered == "body_html":
        message.set_content("请查收本旬报表。")
        message.add_alternative(data.decode(charset), subtype="html")
    else:
        message.set_content("附件为本单位旬报表，请查收。")
        fmt = str(entry["format"])
        main, sub = _TYPES.get(fmt, ("application", "octet-stream"))
        message.add_attachment(data, main, sub, filename=str(entry["filename"]))
    return message.as_bytes()


def judge(entry: dict[str, object], judged: Assessment) -> Verdict:
    counted = judged.entry.outcome == "counted" and judged.report is not None
    expected = str(entry["expect"])

    def verdict(outcome: str, detail: str) -> Verdict:
        return Verdict(
            str(entry["file"]),
            str(entry["campaign"]),
            str(entry["format"]),
            str(entry["layout"]),
            expected,
            outcome,
            detail,
        )

    if not counted:
        return verdict("held", judged.entry.reason)
    assert judged.report is not None
    got = dict(judged.report.rows())
    values = entry["values"]
    assert isinstance(values, dict)
    want = {KEYS.get(k, k): v for k, v in values.items() if v is not None}
    detail = f"{judged.report.unit} {got}"
    if expected == "held" or judged.report.unit != entry["unit"] or got != want:
        return verdict("wrong", f"{detail}，应为 {entry['unit']} {want}")
    return verdict("right", detail)


def _reading_only(cfg: config.Config) -> config.Config:
    """The campaign as configured, but for the plausibility check: the zoo's figures are
    spread over 0–3,000 whatever a unit's (example) target, and what is measured here is
    reading. Plausibility has its own tests (test_plausible)."""
    rules = cfg.rules.model_copy(update={"plausible_factor": 1e9})
    return cfg.model_copy(update={"rules": rules})


def run(storage: Path, campaign: str | None = None) -> Iterator[Verdict]:
    """Every zoo form through the reader pool and intake, campaign by campaign."""
    entries = manifest()
    for name, path in CONFIGS.items():
        if campaign not in (None, name):
            continue
        cfg = _reading_only(config.load(path).config)
        mine = [e for e in entries if e["campaign"] == name]
        intake = Intake(cfg, Ledger(storage / f"zoo-{name}.sqlite"))
        raws = [RawMessage(f"zoo:{e['file']}", mail_of(e), None) for e in mine]
        with Pool(cfg.limits, storage, intake.wording) as pool:
            reads = pool.read(((i, raw.raw) for i, raw in enumerate(raws)), lambda _: None)
            for i, read in reads:
                yield judge(mine[i], intake.assess(raws[i], read))
        intake.ledger.close()
