"""Who is who: matching a unit name as written on a form, and a sender address, to a unit."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.config import Config, FormWording, iter_unit_names
from pipeline.errors import UsageError


def normalise(name: str, form: FormWording) -> str:
    """乐山市 市中区 总工会（盖章） → 市中区; full-width forms folded; brackets dropped.
    The place-name prefixes and the suffixes come from the config's `form:` section."""
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"[(（][^)）]*盖章[^)）]*[)）]", "", text)
    text = re.sub(r"[\s()（）【】\[\]“”\"'《》:：,，.。]", "", text)
    for prefix in form.place_prefixes:
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix) :]
            break
    for suffix in form.unit_suffixes:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text


@dataclass(frozen=True)
class Match:
    unit: str | None
    problem: str | None  # why no single unit matched, in Chinese
    candidates: frozenset[str] = frozenset()  # the units a name could be, when several

    def settled_by(self, registered: frozenset[str]) -> Match:
        """A name that fits several units is the one the sender is registered for, when
        exactly one of them is (峨眉山 from 峨眉山市总工会's address is 峨眉山市)."""
        mine = self.candidates & registered
        return Match(next(iter(mine)), None) if self.unit is None and len(mine) == 1 else self


class Directory:
    def __init__(self, config: Config) -> None:
        self._form = config.form
        self._names: dict[str, set[str]] = {}
        for written, unit in iter_unit_names(config):
            self._names.setdefault(normalise(written, self._form), set()).add(unit)
        # A liaison may be registered for several units (a county's union and its park's).
        self._senders: dict[str, frozenset[str]] = {}
        self._domains: dict[str, frozenset[str]] = {}
        for u in config.units:
            for s in u.senders:
                book, key = (self._domains, s[1:]) if s.startswith("@") else (self._senders, s)
                book[key.lower()] = book.get(key.lower(), frozenset()) | {u.name}

    def match(self, written: str) -> Match:
        key = normalise(written, self._form)
        exact = self._names.get(key, set())
        if len(exact) == 1:
            return Match(next(iter(exact)), None)
        near = exact or {
            unit
            for name, units in self._names.items()
            if key and (name in key or key in name)
            for unit in units
        }
        if len(near) == 1:
            return Match(next(iter(near)), None)
        if near:
            options = "、".join(sorted(near))
            why = f"报送单位“{written}”可能是 {options} 中的任一个，无法确定"
            return Match(None, why, frozenset(near))
        return Match(None, f"报送单位“{written}”与任何登记单位都对不上")

    def units_of_sender(self, address: str) -> frozenset[str]:
        """Every unit the address is registered for (most senders: one)."""
        address = address.lower()
        if address in self._senders:
            return self._senders[address]
        return self._domains.get(address.rpartition("@")[2], frozenset())

    def by_sender(self, address: str) -> str | None:
        """The sender's unit when it is registered for exactly one."""
        units = self.units_of_sender(address)
        return next(iter(units)) if len(units) == 1 else None

    def unit_of(self, sender: str, written: Iterable[str]) -> tuple[str | None, str | None]:
        """The unit of a report from `sender` whose forms name `written`, or why none.

        What the form leaves open, the sender's registration settles: a name that fits
        two units is the one the sender is registered for, and a sender registered for
        one unit needs no name at all."""
        registered = self.units_of_sender(sender)
        matched = set()
        for name in written:
            match = self.match(name).settled_by(registered)
            if match.unit is None:
                return None, match.problem
            matched.add(match.unit)
        if len(matched) > 1:
            return None, f"同一封邮件里出现了不同的报送单位：{'、'.join(sorted(matched))}"
        if not registered:
            claimed = f"（报表写的是 {next(iter(matched))}）" if matched else ""
            return None, f"发件人 {sender} 不是任何单位登记的报送邮箱{claimed}"
        if not matched:
            if len(registered) == 1:
                return next(iter(registered)), None
            return None, (
                f"发件人 {sender} 登记为 {'、'.join(sorted(registered))} 的报送邮箱，"
                "报表上没有写明是哪个单位的"
            )
        unit = matched.pop()
        if unit not in registered:
            mine = "、".join(sorted(registered))
            return None, f"发件人 {sender} 登记为 {mine} 的报送邮箱，报表却是 {unit} 的"
        return unit, None


def canonical_unit(config: Config, written: str) -> str:
    """The registered name of the unit `written` names, or a UsageError saying why none."""
    match = Directory(config).match(written)
    if match.unit is None:
        raise UsageError(f"{match.problem}。请写登记的单位名称。", "unknown_unit")
    return match.unit
