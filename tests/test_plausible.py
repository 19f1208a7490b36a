"""Figures that make sense, or a person looks (issue 23): a mailed figure far above the unit's
target, or a rise bigger than any dekad has seen, is held with the comparison in the reason;
the clerk confirms it in one step, with `xunbao review confirm` or the desk's button."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import write_config
from desk_support import PASSWORDS, Desk, client, login
from test_schedule import write_report

from pipeline.clerk import accounts
from pipeline.ledger import Ledger

XUNBAO = Path(sys.executable).parent / "xunbao"


def xunbao(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(XUNBAO), *args, "--config", str(config)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def held(config: Path) -> dict[str, dict[str, object]]:
    return {m["from"]: m for m in json.loads(xunbao(config, "review", "--json").stdout)}


def test_implausible_figures_are_held_and_confirmed_in_one_step(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    reports = [  # (name, sender, unit, figure, arrival)
        ("a1", "lssjsgh@126.com", "市建设工会", 170, "2015-09-08 10:00"),
        ("b1", "szqzgh@163.com", "乐山市市中区总工会", 1000, "2015-09-08 10:00"),
        ("c1", "wtqzgh@126.com", "五通桥区总工会", 1500, "2015-09-08 10:00"),
        ("b2", "szqzgh@163.com", "乐山市市中区总工会", 1300, "2015-09-18 10:00"),
        ("c2", "wtqzgh@126.com", "五通桥区总工会", 1700, "2015-09-18 10:00"),
        ("a2", "lssjsgh@126.com", "市建设工会", 2000, "2015-09-18 11:00"),  # target 200
        ("c3", "wtqzgh@126.com", "五通桥区总工会", 3500, "2015-09-28 10:00"),  # +1,800
    ]
    for name, sender, unit, value, when in reports:
        write_report(inbox, name, sender, unit, value, when)
    config = write_config(tmp_path, mailbox={"source": "directory", "path": str(inbox)})
    xunbao(config, "run", "--period", "2015-09-30", "--no-send")

    queue = held(config)
    assert set(queue) == {"lssjsgh@126.com", "wtqzgh@126.com"}
    assert "完成数 2,000 超过该单位目标任务数 200 的 3 倍（600）" in str(
        queue["lssjsgh@126.com"]["reason"]
    )
    # the largest one-dekad rise so far: 市中区's 1,000 → 1,300
    jump = str(queue["wtqzgh@126.com"]["reason"])
    assert "比该单位此前的 1,700 增加 1,800，超过本活动以来单旬最大增幅 300，请核实" in jump

    # The clerk has phoned 五通桥区: one command counts the figure as read.
    number = queue["wtqzgh@126.com"]["id"]
    done = xunbao(config, "review", "confirm", str(number), "--by", "王芳")
    assert "数字已核实并计入：五通桥区 3,500（2015-09-30）" in done.stdout

    # 市建设工会's 2,000 is confirmed on the desk, with one button.
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        accounts.add(ledger, "小李", "clerk", PASSWORDS["小李"])
    desk = Desk(client(config), config)
    assert login(desk.client, "小李") == 303
    number = queue["lssjsgh@126.com"]["id"]
    page = desk.client.get(f"/queue/2015-09-20/{number}").text
    assert "数字无误，按报表计入" in page
    confirmed = desk.client.post(f"/queue/2015-09-20/{number}/confirm", data={"csrf": desk.csrf()})
    assert confirmed.status_code == 303
    assert held(config) == {}
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        counted = {(r.unit, r.period): r.value for r in ledger.active_reports()}
        actions = [(a.kind, a.actor) for a in ledger.actions()]
    assert counted[("市建设工会", "2015-09-20")] == 2000
    assert counted[("五通桥区", "2015-09-30")] == 3500
    assert actions == [("approve", "王芳"), ("approve", "小李")]
