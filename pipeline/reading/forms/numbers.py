"""A figure as units write it: '2,650', '２６５０', '一千二百五十', '4188名', '4188（83.8%）'.

Only a cell that is a number, with at most a count word after it or a percentage in
brackets, is a figure. Anything else — prose, a range, 约/左右 — is a reason to hold the
form, never a number picked out of the text.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import cn2an

Figure = tuple[int | None, str | None]  # (value, why it cannot be trusted)

_DOUBT = re.compile(r"约|左右|大约|近|余|多|以上|不到|估|超过")
_RANGE = re.compile(r"\d\s*(-|~|～|至|到)\s*\d")
_PERCENT = re.compile(r"[(（][^()（）]*%[^()（）]*[)）]")
_DECORATION = re.compile(
    r"^(共|计|合计|新增|累计)|(人次|场次|名|人|个|位|户|家|场|次|份|项|期|件)$"
)
_WAN = re.compile(r"(\d+(?:\.\d+)?)万")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.0+)?|\d+(?:\.\d+)?")
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖拾佰仟]+")


@functools.lru_cache(maxsize=8192)  # a form's cells repeat from mail to mail
def parse_figure(text: str) -> Figure:
    """The cell's figure, or (None, why); an empty cell is (None, None)."""
    shown = unicodedata.normalize("NFKC", text).strip()
    core = re.sub(r"\s+", "", _PERCENT.sub("", shown))
    if not core:
        return None, None
    if _DOUBT.search(core) or _RANGE.search(core):
        return None, f"完成数写作“{shown}”，不是确切数字"
    core = _DECORATION.sub("", core)
    if wan := _WAN.fullmatch(core):
        return _tens_of_thousands(wan.group(1), shown)
    if _NUMBER.fullmatch(core):
        digits = core.replace(",", "")
        whole, _, frac = digits.partition(".")
        if set(frac) <= {"0"}:
            return int(whole), None
        return None, f"完成数“{shown}”不是整数"
    if _CN_NUMBER.fullmatch(core):
        try:
            return int(cn2an.cn2an(core, "smart")), None
        except (ValueError, KeyError):
            return None, f"无法识别中文数字“{core}”"
    if len(_NUMBER.findall(core)) > 1:
        return None, f"完成数一栏有多个数字（{shown}）"
    return None, f"完成数写作“{shown[:40]}”，不是确切数字"


def _tens_of_thousands(number: str, shown: str) -> Figure:
    """'0.42万' is 4200 when exact; '1.23456万' is not a whole number of people."""
    whole, _, frac = number.partition(".")
    digits = (frac + "0000")[:4]
    if len(frac) > 4 and set(frac[4:]) - {"0"}:
        return None, f"完成数“{shown}”不是整数"
    return int(whole) * 10000 + int(digits), None
