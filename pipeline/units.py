"""Who is who: matching a unit name as written on a form, and a sender address, to a unit."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .config import Config, FormWording, iter_unit_names


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


class Directory:
    def __init__(self, config: Config) -> None:
        self._form = config.form
        self._names: dict[str, set[str]] = {}
        for written, unit in iter_unit_names(config):
            self._names.setdefault(normalise(written, self._form), set()).add(unit)
        self._senders = {
            s: u.name for u in config.units for s in u.senders if not s.startswith("@")
        }
        self._domains = {
            s[1:]: u.name for u in config.units for s in u.senders if s.startswith("@")
        }

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
            return Match(None, f"报送单位“{written}”可能是 {options} 中的任一个，无法确定")
        return Match(None, f"报送单位“{written}”与任何登记单位都对不上")

    def by_sender(self, address: str) -> str | None:
        address = address.lower()
        if address in self._senders:
            return self._senders[address]
        return self._domains.get(address.rpartition("@")[2])
