"""Which sheets of a workbook are the form: a 填表说明 sheet with an example figure is not.

Offices send the city union's template back as they got it, instructions sheet and all;
its example row ("示例：新发展农民工会员 本旬数 50 累计数 200") must never count.
"""

from __future__ import annotations

from pipeline.reading.forms.cells import Rows, Sheet, joined

_INSTRUCTIONS = ("填表说明", "填报说明", "说明", "示例", "样表", "填写说明", "例表", "范例")


def form_sheets(sheets: list[Sheet]) -> Sheet:
    """Every sheet but those of instructions (填表说明, 示例), read as one: an example
    figure there is never a unit's. A workbook of instructions only is read whole."""
    forms = [sheet for sheet in sheets if not _instructions(sheet.source, sheet.texts())]
    return joined(forms or sheets)


def _instructions(name: str, grid: Rows) -> bool:
    title = "".join(name.split())
    first = next(("".join(c.split()) for row in grid for c in row if c.strip()), "")
    return title.startswith(_INSTRUCTIONS) or first.startswith(("填表说明", "填报说明", "填写说明"))
