"""The form's wording: its labels, the blank inside the figure's label, the footer's stop
words and the column heads of running totals. The 2015 form is the default; a campaign's
own form comes from the `form:` section of config.yaml.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property

from pipeline.config import FormWording

_SPACE = re.compile(r"\s+")
# After a label at the start of a cell: the end, a colon, a bracket, a blank or a digit.
_FOLLOWS = re.compile(r"[:：(（\[【_＿\d]")
_HINT = re.compile(r"^\s*[(（\[【]([^()（）\[\]【】]*)[)）\]】]")


def _compact(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class Wording:
    """Labels as tuples of synonyms; defaults from config.FormWording (the 2015 form)."""

    unit: tuple[str, ...]
    date: tuple[str, ...]
    figure: tuple[str, ...]
    measures: tuple[str, ...]
    blank: str  # the blank inside the figure's label, one group
    stops: tuple[str, ...]  # the footer's labels: the measures end there
    heads: tuple[str, ...]  # column heads that are not figures
    totals: tuple[str, ...]  # the head over the figure in a row of running totals
    synonyms: dict[str, str] = field(default_factory=dict)
    others: tuple[str, ...] = ()  # further labels (a multi-metric campaign's row labels)

    @cached_property
    def blank_re(self) -> re.Pattern[str]:
        return re.compile(self.blank, re.DOTALL)

    @cached_property
    def labels(self) -> tuple[str, ...]:
        every = (self.unit, self.date, self.figure, self.measures, self.stops, self.heads)
        return tuple(label for group in every for label in group) + self.totals + self.others

    def with_labels(self, labels: Iterable[str]) -> Wording:
        added = tuple(_compact(label) for label in labels)
        found = self._memo.get(("with", "\n".join(added)))
        if isinstance(found, Wording):
            return found  # the same wording (and its memo) for every form of a campaign
        made = replace(self, others=self.others + added)
        self._memo[("with", "\n".join(added))] = made
        return made

    @cached_property
    def _memo(self) -> dict[tuple[str, str], object]:
        """Answers about cells already seen: a form's cells repeat from mail to mail."""
        return {}

    def normal(self, text: str) -> str:
        found = self._memo.get(("normal", text))
        if isinstance(found, str):
            return found
        shown = unicodedata.normalize("NFKC", text)
        for word, meant in self.synonyms.items():
            shown = shown.replace(word, meant)
        if len(self._memo) < 20000:
            self._memo[("normal", text)] = shown
        return shown

    def _flat(self, cell: str) -> tuple[str, str]:
        """The cell's normal text, and that without white space (asked once per label)."""
        found = self._memo.get(("flat", cell))
        if isinstance(found, tuple):
            return found
        text = self.normal(cell)
        made = (text, _compact(text))
        if len(self._memo) < 20000:
            self._memo[("flat", cell)] = made
        return made

    def after_label(self, cell: str, label: str) -> str | None:
        """The text after `label` if the cell holds it as a label, else None.

        A label counts at the start of a cell or line, or anywhere right before a colon;
        at the start it must not run on into prose ("报送单位填错了，现重新发送")."""
        text, flat = self._flat(cell)
        pos = flat.find(label)
        if pos < 0:
            return None
        after = flat[pos + len(label) :]
        rest = _original_after(text, pos + len(label))
        if pos > 0 and not after.startswith((":", "：")):
            return None
        if after and not (
            _FOLLOWS.match(after) or rest[:1].isspace() or self.blank_re.match(after)
        ):
            return None
        return rest.strip()

    def is_label(self, cell: str) -> bool:
        found = self._memo.get(("label", cell))
        if isinstance(found, bool):
            return found
        answer = any(self.after_label(cell, label) is not None for label in self.labels)
        if len(self._memo) < 20000:
            self._memo[("label", cell)] = answer
        return answer

    def is_bare_label(self, cell: str) -> bool:
        """A cell that is only a label (with its hint in brackets), such as a column head."""
        found = self._memo.get(("bare", cell))
        if isinstance(found, bool):
            return found
        answer = self._is_bare_label(cell)
        if len(self._memo) < 20000:
            self._memo[("bare", cell)] = answer
        return answer

    def _is_bare_label(self, cell: str) -> bool:
        flat = _compact(self.normal(cell)).rstrip(":：")
        for label in self.labels:
            if flat.startswith(label):
                rest = self.strip_hint(flat[len(label) :])
                blank = self.blank_re.search(flat)
                if not rest and not (blank and blank.group(1).strip(" _＿")):
                    return True
        return False

    def strip_hint(self, rest: str) -> str:
        """Drop the label's bracketed hint (（新增 名农民工入会）, （300字左右）) and colons."""
        while (hint := _HINT.match(rest)) and (
            self.blank_re.search(hint.group(1))
            or "字" in hint.group(1)
            or not re.search(r"\d", hint.group(1))
        ):
            rest = rest[hint.end() :]
        return rest.strip().lstrip(":：").strip()

    def split_blank(self, rest: str) -> tuple[str, str]:
        """(what is written in the blank, the text after the label's hint)."""
        match = self.blank_re.search(rest)
        if match is None or match.start() > 3:
            return "", rest
        filled = match.group(1).strip(" _＿\u3000")
        tail = rest[match.end() :]
        close = re.search(r"[)）]", tail)
        return filled, tail[close.end() :] if close else ""

    def cut_at_label(self, inline: str) -> str:
        """'X 报送时间：Y' → 'X': a value ends where the next label begins."""
        for label in self.unit + self.date:
            at = self.normal(inline).find(label)
            if at > 0:
                inline = inline[:at]
        return inline.strip(" :：")

    def clean_unit(self, text: str | None) -> str | None:
        if not text:
            return None
        text = re.split(r"[（(]盖章|\s{2,}|\t", text)[0].strip(" ：:")
        return text or None


def _original_after(text: str, count: int) -> str:
    """The original text after its first `count` non-space characters."""
    seen = 0
    for k, ch in enumerate(text):
        if seen == count:
            return text[k:]
        if not ch.isspace():
            seen += 1
    return ""


def wording_of(form: FormWording) -> Wording:
    """The wording a campaign's config gives (its `form:` section)."""

    def labels(names: list[str]) -> tuple[str, ...]:
        return tuple(_compact(name) for name in names if name.strip())

    return Wording(
        unit=labels(form.unit),
        date=labels(form.date),
        figure=labels(form.figure),
        measures=labels(form.measures),
        blank=form.blank,
        stops=labels(form.stops),
        heads=labels(form.heads),
        totals=labels(form.totals),
        synonyms=dict(form.synonyms),
    )


DEFAULT_WORDING = wording_of(FormWording())
