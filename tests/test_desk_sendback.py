"""退回修改: the clerk sends a held report back; the unit's notice arrives at a real SMTP
server (aiosmtpd), the register links the send-back to the unit's next report, and the
desk lists units with an open send-back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SMTP_PASSWORD
from desk_support import PERIOD, Desk, client, copy_sample, ingest_mail, login
from messages import to_mailbox
from ruamel.yaml import YAML
from test_delivery import delivery_section

ON_BEHALF = 26  # 沐川县's address (mcxzgh@163.com) sends 峨边县's form


@pytest.fixture
def workspace(desk_sample: Path, tmp_path: Path) -> Path:
    return copy_sample(desk_sample, tmp_path / "ws")


def test_a_report_sent_back_tells_the_unit_and_is_linked_to_its_resend(
    workspace: Path, smtp: Any, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp()
    server.start()
    yaml = YAML()
    tree = yaml.load(workspace.read_text(encoding="utf-8"))
    tree["delivery"] = delivery_section(server.port, certificate[0])
    with workspace.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    clerk = Desk(client(workspace), workspace)
    assert login(clerk.client, "小李") == 303
    page = clerk.client.get(f"/queue/{PERIOD}/{ON_BEHALF}").text
    assert 'name="notify" value="1" checked' in page  # a registered sender: offered ticked
    url = f"/queue/{PERIOD}/{ON_BEHALF}/reject"
    unchosen = clerk.client.post(
        url, data={"csrf": clerk.csrf(), "reason": "代报", "notify": "1", "back_unit": ""}
    )
    assert unchosen.status_code == 400 and "请选择报送单位" in unchosen.text
    done = clerk.client.post(
        url,
        data={
            "csrf": clerk.csrf(),
            "reason": "请用峨边县自己的邮箱报送",
            "notify": "1",
            "back_unit": "沐川县",
            "resend": "本单位的旬报表",
        },
    )
    assert done.status_code == 303
    shown = clerk.client.get(done.headers["location"]).text
    assert "已退回 沐川县，通知已发往 mcxzgh@163.com" in shown
    (notice,) = [m for r, m in server.received() if r == "mcxzgh@163.com"]
    body = notice.get_content()
    assert "退回修改" in str(notice["Subject"]) and "沐川县" in body
    assert "请用峨边县自己的邮箱报送" in body and "本单位的旬报表" in body and "前" in body
    overview = clerk.client.get(f"/overview?period={PERIOD}").text
    assert "退回修改、待重报" in overview and f"第 {ON_BEHALF} 号邮件" in overview
    register = clerk.client.get(f"/register?period={PERIOD}").text
    assert "待重报" in register
    # the unit sends its report again: 退回 → 已重报
    resent = to_mailbox(
        "mcxzgh@163.com",
        "沐川县旬报（更正）",
        "Sun, 20 Sep 2015 09:00:00 +0800",
        "<resend-1@example.com>",
        "报送单位：沐川县\n已完成目标任务数（新增 3950 名农民工入会）",
    )
    again = ingest_mail(workspace, bytes(resent), "<resend-1@example.com>")
    register = clerk.client.get(f"/register?period={PERIOD}").text
    assert f"已重报：第 {again} 号邮件" in register
    assert f"重报（回应第 {ON_BEHALF} 号邮件的退回）" in register
    assert "退回修改、待重报" not in clerk.client.get(f"/overview?period={PERIOD}").text


def test_with_no_mail_server_the_page_says_no_notice_went(workspace: Path) -> None:
    clerk = Desk(client(workspace), workspace)
    assert login(clerk.client, "小李") == 303
    done = clerk.client.post(
        f"/queue/{PERIOD}/{ON_BEHALF}/reject",
        data={"csrf": clerk.csrf(), "reason": "代报", "notify": "1", "back_unit": "沐川县"},
    )
    assert done.status_code == 303
    shown = clerk.client.get(done.headers["location"]).text
    assert "已退回 沐川县，但未设置发送邮件的服务器，未能通知单位" in shown
