"""电话录入 in the desk: 其他 is a unit like the others, an entry is withdrawn with a reason
and then shown as withdrawn (and no longer counted), an implausible figure is confirmed."""

from __future__ import annotations

import re

from desk_support import PERIOD, Desk, standing


def record(desk: Desk, **data: str) -> tuple[int, str]:
    response = desk.client.post(
        "/phone", data={"csrf": desk.csrf("/phone"), "period": PERIOD, **data}
    )
    return response.status_code, response.text


def test_other_is_in_the_unit_list(clerk: Desk) -> None:
    page = clerk.client.get(f"/phone?period={PERIOD}").text
    assert "<option>其他</option>" in page
    assert record(clerk, unit="其他", value="40", note="零星企业汇总")[0] == 303
    assert "其他" in clerk.client.get(f"/phone?period={PERIOD}").text


def test_a_phone_entry_is_withdrawn_with_a_reason(clerk: Desk) -> None:
    assert record(clerk, unit="嘉阳集团", value="12", note="电话报送")[0] == 303
    page = clerk.client.get(f"/phone?period={PERIOD}").text
    number = int(re.search(r'action="/phone/(\d+)/withdraw"', page).group(1))  # type: ignore[union-attr]
    url = f"/phone/{number}/withdraw"
    empty = clerk.client.post(url, data={"csrf": clerk.csrf("/phone"), "reason": " "})
    assert empty.status_code == 400 and "撤回时请写明理由" in empty.text
    assert "--reason" not in empty.text and 'action="/phone"' in empty.text
    done = clerk.client.post(url, data={"csrf": clerk.csrf("/phone"), "reason": "单位来电更正"})
    assert done.status_code == 303
    page = clerk.client.get(f"/phone?period={PERIOD}").text
    assert "已撤回，不计入" in page and "单位来电更正" in page and "<s>12</s>" in page
    assert f'action="/phone/{number}/withdraw"' not in page
    circular = clerk.client.get(f"/circular?period={PERIOD}").text
    assert standing(circular, "嘉阳集团")[3] == "未报送"


def test_an_implausible_phone_figure_is_confirmed_with_a_note(clerk: Desk) -> None:
    status, page = record(clerk, unit="嘉阳集团", value="999", note="")
    assert status == 409 and "超过其目标任务数 50 的 3 倍" in page and "仍然录入" in page
    assert 'value="999"' in page
    status, page = record(clerk, unit="嘉阳集团", value="999", confirm="too_high:")
    assert status == 400 and "请写明核实情况" in page and "仍然录入" in page
    status, _ = record(clerk, unit="嘉阳集团", value="999", confirm="too_high:", note="已核实")
    assert status == 303
