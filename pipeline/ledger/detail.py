"""What intake noted about a message, for the clerk and for approval: the register's
`detail` column, typed.

Intake writes it once; review, the desk and the CLI read it by attribute. It is stored as
the JSON it always was (the same keys), so rows written by earlier versions read the same:
a key they lack takes its default here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FormSeen:
    """One form found in the mail (an attachment, a table in the body, an image's text):
    where it was, the unit and headline figure it names, and what was doubtful in it."""

    origin: str
    unit: str | None = None
    value: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class FormSaid:
    """What the mail's forms said, as approval takes it: the unit named (matched to the
    config), the headline figure, each metric's figure read without doubt, the measures
    and the form's date."""

    unit: str | None = None
    value: int | None = None
    figures: Mapping[str, int] = field(default_factory=dict)
    measures: str = ""
    reported_on: str | None = None


@dataclass(frozen=True)
class NameList:
    """A name list (实名登记) in the mail: its rows and the salted hashes of its valid ID
    numbers. Only these leave the reader; an ID number is never stored here."""

    rows: int
    hashes: frozenset[str]

    @property
    def valid(self) -> int:
        return len(self.hashes)


@dataclass(frozen=True)
class MessageDetail:
    attachments: tuple[str, ...] = ()
    body: str = ""
    defects: tuple[str, ...] = ()  # MIME faults mail-parser saw
    vouched: str = ""  # what vouched for the From domain (DKIM, SPF …); '': nothing did
    readings: tuple[FormSeen, ...] = ()
    unreadable: tuple[str, ...] = ()  # attachments no reader could open, and why
    ocr_text: str = ""
    said: FormSaid = field(default_factory=FormSaid)
    # Whether the mail holds a name list; None for mail noted before intake looked, whose
    # original approval must read again.
    name_list: bool | None = None
    # The held mail's name list, so approving it needs no reader
    names: NameList | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "attachments": list(self.attachments),
            "body": self.body,
            "defects": list(self.defects),
            "vouched": self.vouched,
        }
        if self.readings or self.said != FormSaid():
            data["readings"] = [vars(r) for r in self.readings]
            data["unreadable"] = list(self.unreadable)
            data["ocr_text"] = self.ocr_text
            data["reading"] = {**vars(self.said), "figures": dict(self.said.figures)}
        if self.name_list is not None:
            data["name_list"] = self.name_list
        if self.names is not None:
            data["names"] = {"rows": self.names.rows, "hashes": sorted(self.names.hashes)}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def of_json(cls, text: str | None) -> MessageDetail:
        data = json.loads(text or "{}")
        said = data.get("reading") or {}
        names = data.get("names")
        return cls(
            attachments=tuple(data.get("attachments", ())),
            body=data.get("body", ""),
            defects=tuple(data.get("defects", ())),
            vouched=str(data.get("vouched") or ""),
            readings=tuple(
                FormSeen(r.get("origin", ""), r.get("unit"), r.get("value"), r.get("problem"))
                for r in data.get("readings", ())
            ),
            unreadable=tuple(data.get("unreadable", ())),
            ocr_text=data.get("ocr_text", ""),
            said=FormSaid(
                unit=said.get("unit"),
                value=said.get("value"),
                figures={str(k): int(v) for k, v in (said.get("figures") or {}).items()},
                measures=said.get("measures") or "",
                reported_on=said.get("reported_on"),
            ),
            name_list=data.get("name_list"),
            names=NameList(int(names["rows"]), frozenset(names["hashes"])) if names else None,
        )
