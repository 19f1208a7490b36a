"""Checks of the keys that carry the seed's own rules (issue 25): bases shared by a group of
units, the enterprises listed under the supervision groups, the 约谈 settings. Each returns
Chinese error sentences that name the line and the fix."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.config.checks import Locator


def base_groups(config: Config, at: Locator) -> list[str]:
    """Each member is a registered unit, in one base group at most, without a base of its own."""
    names = {n: u.name for u in config.units for n in [u.name, *u.aliases]}
    errors: list[str] = []
    owner: dict[str, str] = {}
    for g, group in enumerate(config.base_groups):
        for k, member in enumerate(group.units):
            where = at.where(("base_groups", g, "units", k))
            canonical = names.get(member)
            if canonical is None:
                close = difflib.get_close_matches(member, list(names), n=1, cutoff=0.5)
                hint = f"是否想写 {close[0]}？" if close else "请先在 units 中登记该单位。"
                errors.append(f"{where}：{member} 不是已登记的单位。{hint}")
            elif canonical in owner:
                errors.append(
                    f"{where}：{canonical} 已属于合并基数“{owner[canonical]}”，"
                    "一个单位的2014年会员数只能计入一处。请删去一处。"
                )
            elif config.unit(canonical).base is not None:
                errors.append(
                    f"{where}：{canonical} 在 units 中另有 base，与合并基数“{group.name}”重复。"
                    "请删去该单位的 base 或把它移出本组。"
                )
            owner.setdefault(canonical or member, group.name)
    return errors


def parts(config: Config, at: Locator) -> list[str]:
    """An enterprise's `part_of` names a bucket (reporting: false, not itself a part), and
    the enterprise does not report on its own."""
    buckets = {u.name for u in config.units if not u.reporting and not u.part_of}
    errors: list[str] = []
    for i, unit in enumerate(config.units):
        if unit.part_of is None:
            continue
        if unit.part_of not in buckets:
            known = "、".join(sorted(buckets)) or "无（请先登记 reporting: false 的单位，如 其他）"
            errors.append(
                f"{at.where(('units', i, 'part_of'))}：{unit.part_of} 不是不单独报送的汇总单位。"
                f"可写：{known}。"
            )
        if unit.reporting:
            errors.append(
                f"{at.where(('units', i, 'reporting'))}：计入 {unit.part_of} 的企业不单独排名，"
                "请删去 reporting: true。"
            )
    return errors


def unregistered_others(config: Config, at: Locator) -> list[str]:
    """Warnings: an enterprise a supervision group lists (groups[].others) that is not
    registered as a unit, so its reports cannot count in its bucket."""
    names = {n for u in config.units for n in [u.name, *u.aliases]}
    return [
        f"{at.where(('groups', g, 'others', k))}：{name} 没有在 units 中登记（如 part_of: 其他），"
        "它的报表会转人工审核，也计不进“其他”。"
        for g, group in enumerate(config.groups)
        for k, name in enumerate(group.others)
        if name not in names
    ]
