"""The trust loop as a clerk lives it, over a real Dovecot mailbox and a real aiosmtpd server:
held is not missing, delivery waits for review, corrections are reissued exactly once, a
leader signs off, a kill -9 during reissue never sends a version twice, recheck after a
config fix, and the inputs a clerk can get wrong are refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import XUNBAO, Account, needs_dovecot, write_config
from openpyxl import load_workbook
from servers import SmtpServer

from pipeline.ledger import Ledger

pytestmark = [needs_dovecot, pytest.mark.slow]

PERIOD = "2015-09-20"
RECIPIENTS = ["zxb@lszgh.example", "office@lszgh.example", "leader@lszgh.example"]
CLERK = "clerk@lszgh.example"
SMTP_USER, SMTP_PASSWORD = "lsszghzxb@126.com", "Smtp-Code-9d2f"
NEVER = 10**6  # hours: the latest send time of `auto` lies beyond the test


@pytest.fixture
def smtp(tmp_path: Path, certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = SmtpServer(
        *certificate, tmp_path / "received", SMTP_USER, SMTP_PASSWORD, rcpt_delay=0.05
    )
    server.start()
    yield server
    server.stop()


class Clerk:
    """One installation: the sample mail in a Dovecot account, a config, the xunbao CLI."""

    def __init__(self, folder: Path, account: Account, smtp: SmtpServer, ca: Path) -> None:
        self.folder, self.account, self.smtp, self.ca = folder, account, smtp, ca
        self.env = {**account.env(), "XUNBAO_SMTP_PASSWORD": SMTP_PASSWORD, "USER": "clerk-os"}

    def configure(self, *, units: list[dict[str, Any]] | None = None, **delivery: Any) -> None:
        section = {
            "host": "127.0.0.1",
            "port": self.smtp.port,
            "ssl": True,
            "ca_file": str(self.ca),
            "username": SMTP_USER,
            "sender": SMTP_USER,
            "recipients": RECIPIENTS,
            "clerk": CLERK,
            "timeout": 10,
        } | delivery
        extra = {"units": units} if units is not None else {}
        write_config(self.folder, mailbox=self.account.mailbox_config(), delivery=section, **extra)

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(XUNBAO), *args, "--config", str(self.folder / "config.yaml")],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=300,
        )
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def standings(self) -> dict[str, Any]:
        path = self.folder / "out" / PERIOD / "standings.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def held(self, sender: str) -> int:
        return int(next(m["id"] for m in self.json("review") if m["from"] == sender))

    def circulars(self) -> list[tuple[str, Any]]:
        """(recipient, message) of every circular received (not the clerk's notices)."""
        return [(r, m) for r, m in self.smtp.received() if "通报" in m["Subject"] and r != CLERK]

    def pdf_text(self, name: str = "circular.pdf") -> str:
        pdf = self.folder / "out" / PERIOD / name
        return subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.replace("\n", "")


@pytest.fixture
def clerk(
    tmp_path: Path,
    account: Account,
    smtp: SmtpServer,
    sample_mail: list[bytes],
    certificate: tuple[Path, Path],
) -> Clerk:
    account.append(sample_mail)
    return Clerk(tmp_path, account, smtp, certificate[0])


def body(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def test_held_report_is_pending_delays_delivery_and_its_approval_is_reissued_once(
    clerk: Clerk,
) -> None:
    clerk.configure(review_wait_hours=NEVER)
    first = clerk("run", "--period", PERIOD)
    assert "通报暂不发送：等待审核" in first.stdout
    data = clerk.standings()
    units = {u["unit"]: u for u in data["units"]}
    assert units["马边县"]["status"] == "pending" and "马边县" not in data["summoned"]
    assert "马边县报表待核实" in clerk.pdf_text()
    assert clerk.circulars() == []  # nothing went out while messages wait for review
    notices = [m for r, m in clerk.smtp.received() if r == CLERK]
    assert len(notices) == 1 and "待审核" in body(notices[0])

    # The latest time passes: out it goes, 马边县 shown as 待核实.
    clerk.configure(review_wait_hours=0)
    clerk("run", "--period", PERIOD)
    assert sorted(r for r, _ in clerk.circulars()) == sorted(RECIPIENTS)

    # The clerk approves the held form: the next cycle sends one correction to everyone.
    mabian = clerk.held("wangli1988@qq.com")
    clerk("review", "approve", str(mabian), "--unit", "马边县", "--by", "王芳")
    second = clerk("run", "--period", PERIOD)
    assert "马边县由待核实更正为已报送 1,000 名" in second.stdout
    corrections = [(r, m) for r, m in clerk.circulars() if m["Subject"].startswith("【更正】")]
    assert Counter(r for r, _ in corrections) == Counter(RECIPIENTS)
    assert all("马边县由待核实更正为已报送 1,000 名" in body(m) for _, m in corrections)
    assert "更正说明" in clerk.pdf_text() and "马边县由待核实更正为已报送" in clerk.pdf_text()
    assert (clerk.folder / "out" / PERIOD / "circular-v1.pdf").exists()
    assert "马边县报表待核实" in clerk.pdf_text("circular-v1.pdf")
    # GB/T 9704: the note opens the body, after 主送; a correction is signed and printed
    # on its own day, the first version on the cutoff's.
    corrected = clerk.pdf_text()
    assert corrected.index("部分企业工会：") < corrected.index("更正说明")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert f"{today.year}年{today.month}月{today.day}日印发" in corrected
    assert "2015年9月20日印发" in clerk.pdf_text("circular-v1.pdf")

    # Nothing changed: nothing is resent.
    again = clerk("run", "--period", PERIOD)
    assert "不重复发送" in again.stdout and len(clerk.circulars()) == 2 * len(RECIPIENTS)

    # Reopen, then approve with the figure confirmed by phone: a second correction.
    clerk("review", "reopen", str(mabian), "--reason", "数字待电话核实", "--by", "王芳")
    clerk("review", "approve", str(mabian), "--unit", "马边县", "--value", "1100")
    reissued = clerk("reissue", "--period", PERIOD)
    assert "马边县由已报送 1,000 名更正为已报送 1,100 名" in reissued.stdout
    assert len(clerk.circulars()) == 3 * len(RECIPIENTS)
    versions = clerk.json("circulars")
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[0]["doc_number"] == versions[2]["doc_number"] == "乐工组〔2015〕12号"
    with Ledger(clerk.folder / "ledger.sqlite") as ledger:
        acts = [(a.kind, a.actor) for a in ledger.actions() if a.message == mabian]
    assert acts == [("approve", "王芳"), ("reopen", "王芳"), ("approve", "命令行:clerk-os")]


# Holds the cycle lock until it is told to let go (a file appears), at most a minute.
HOLD_CYCLE_LOCK = """
import sys, time
from pathlib import Path
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
deadline = time.monotonic() + 60
while not Path(sys.argv[2]).exists() and time.monotonic() < deadline:
    time.sleep(0.05)
"""


def test_required_sign_off_sends_nothing_until_a_leader_signs(clerk: Clerk) -> None:
    clerk.configure(sign_off="required", signers=["张建国"])
    waiting = clerk("run", "--period", PERIOD)
    assert "等待签发" in waiting.stdout and clerk.circulars() == []
    refused = clerk("sign", "--period", PERIOD, "--by", "李四", ok=False)
    assert refused.returncode == 2 and "张建国" in refused.stderr
    # Another xunbao holds the ledger (a serve tick sending): signing waits for it, saying so.
    lock, release = clerk.folder / "ledger.sqlite.cycle.lock", clerk.folder / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_CYCLE_LOCK, str(lock), str(release)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    command = [str(XUNBAO), "sign", "--period", PERIOD, "--by", "张建国", "--config"]
    signing = subprocess.Popen(
        [*command, str(clerk.folder / "config.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clerk.env,
    )
    assert signing.stdout is not None
    said = signing.stdout.readline()  # sign says it waits, then waits
    assert "另一个 xunbao 正在处理同一个台账" in said
    assert signing.poll() is None and clerk.circulars() == []  # nothing sent while held
    release.touch()
    out, err = signing.communicate(timeout=300)
    holder.wait(timeout=30)
    assert signing.returncode == 0, out + err
    signed = subprocess.CompletedProcess(command, 0, said + out, err)
    assert "已由 张建国 签发" in signed.stdout
    assert sorted(r for r, _ in clerk.circulars()) == sorted(RECIPIENTS)
    (version,) = clerk.json("circulars")
    assert version["signed_by"] == "张建国" and version["signed_at"]
    # A correction under `required` waits for a signature too.
    clerk("record", "--unit", "嘉阳集团", "--period", PERIOD, "--value", "12", "--note", "电话")
    assert "等待签发" in clerk("run", "--period", PERIOD).stdout
    assert len(clerk.circulars()) == len(RECIPIENTS)
    clerk("sign", "--period", PERIOD, "--by", "张建国")
    assert len(clerk.circulars()) == 2 * len(RECIPIENTS)


def test_kill_9_during_reissue_never_sends_a_version_twice(clerk: Clerk) -> None:
    many = [f"member{i}@lszgh.example" for i in range(8)]
    clerk.configure(recipients=many)
    clerk("run", "--period", PERIOD)
    clerk("record", "--unit", "嘉阳集团", "--period", PERIOD, "--value", "12", "--note", "电话")
    clerk.smtp.stop()
    clerk.smtp.rcpt_delay = 0.4
    clerk.smtp.start()
    command = [str(XUNBAO), "reissue", "--period", PERIOD, "--config"]
    process = subprocess.Popen(
        [*command, str(clerk.folder / "config.yaml")],
        env=clerk.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        with Ledger(clerk.folder / "ledger.sqlite") as ledger:
            sent = [d for d in ledger.deliveries() if d.kind == "circular:v2"]
        if sent:
            process.kill()
            break
        time.sleep(0.02)
    process.wait(timeout=30)
    assert process.returncode == -9, "the reissue finished before it could be killed"
    partial = [r for r, m in clerk.circulars() if m["Subject"].startswith("【更正】")]
    assert 0 < len(partial) < len(many)
    clerk("reissue", "--period", PERIOD)
    corrected = [r for r, m in clerk.circulars() if m["Subject"].startswith("【更正】")]
    assert Counter(corrected) == Counter(many)


def test_recheck_after_fixing_a_sender_counts_the_held_report(clerk: Clerk) -> None:
    clerk.configure()
    clerk("run", "--period", PERIOD, "--no-send")
    held = clerk.held("wangli1988@qq.com")
    tree = json.loads(json.dumps(_units()))
    for unit in tree:
        if unit["name"] == "马边县":
            unit["senders"].append("wangli1988@qq.com")
    clerk.configure(units=tree)
    rechecked = clerk("recheck", "--period", PERIOD)
    assert f"第 {held} 号邮件现已计入：马边县 1000" in rechecked.stdout
    clerk("run", "--period", PERIOD, "--no-send")
    units = {u["unit"]: u for u in clerk.standings()["units"]}
    assert (units["马边县"]["completed"], units["马边县"]["status"]) == (1000, "on_track")


def test_inputs_a_clerk_can_get_wrong_and_other_in_the_total(clerk: Clerk) -> None:
    clerk.configure()
    wrong = clerk("run", "--period", "2015-09-21", "--no-send", ok=False)
    assert wrong.returncode == 2 and "2015-09-20" in wrong.stderr and "2015-09-30" in wrong.stderr
    outside = clerk(
        "record", "--unit", "嘉阳集团", "--period", "2016-03-10", "--value", "1", ok=False
    )
    assert outside.returncode == 2 and "不在活动" in outside.stderr
    record = ["record", "--unit", "嘉阳集团", "--period", PERIOD, "--value", "999999"]
    refused = clerk(*record, ok=False)
    assert refused.returncode == 2 and "--force" in refused.stderr
    clerk(*record, "--force", "--note", "核实无误")
    clerk("record", "--unit", "其他", "--period", PERIOD, "--value", "120", "--note", "汇总")
    clerk("run", "--period", PERIOD, "--no-send")
    # 沐川县 sent 峨边县's form; 峨边县 has a counted report of its own this period.
    misfiled = clerk.held("mcxzgh@163.com")
    over = clerk("review", "approve", str(misfiled), "--unit", "峨边县", ok=False)
    assert over.returncode == 2 and "已有计入的报表" in over.stderr and "--force" in over.stderr
    data = clerk.standings()
    rows = [*data["units"], *data["others"]]
    assert {"unit": "其他", "target": 600, "completed": 120} in data["others"]
    assert sum(u["completed"] for u in rows) == data["total"]["completed"]
    pdf = clerk.folder / "out" / PERIOD / "circular.pdf"
    assert pdf.stat().st_size < 1_000_000  # an outlier never makes a giant page
    text = clerk.pdf_text()
    assert "其他" in text and f"{data['total']['completed']:,}" in text
    listed = clerk.json("records")
    assert [r["value"] for r in listed] == [999999, 120]
    clerk("records", "withdraw", str(listed[0]["id"]), "--reason", "录错了")
    register = clerk.json("messages")
    assert any(r["kind"] == "record" and r["outcome"] == "withdrawn" for r in register)


def _units() -> list[dict[str, Any]]:
    from ruamel.yaml import YAML

    root = Path(__file__).resolve().parent.parent
    tree = YAML(typ="safe").load((root / "config.yaml").read_text(encoding="utf-8"))
    return list(tree["units"])


def test_the_year_summary_after_the_last_circular_counts_what_it_named(clerk: Clerk) -> None:
    """A campaign that ends with 9月中旬: issuing that circular writes the year's summary,
    whose 约谈 and 全市通报 counts are those of the issued circulars, this last one included."""
    clerk.configure()
    path = clerk.folder / "config.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("end: 2015-12-31", f"end: {PERIOD}"), encoding="utf-8")
    clerk("run", "--period", PERIOD)
    assert clerk.circulars()
    with Ledger(clerk.folder / "ledger.sqlite") as ledger:
        issued = ledger.latest_version(PERIOD)
    assert issued is not None and issued.standings.summoned
    sheet = load_workbook(clerk.folder / "out" / "summary-2015" / "summary.xlsx").active
    assert sheet is not None
    header = [c.value for c in sheet[3]]
    summoned = header.index("约谈次数")
    rows = sheet.iter_rows(min_row=4, values_only=True)
    counts = {r[1]: r[summoned] for r in rows if r[1] and r[1] != "合计"}
    named = {unit for unit, count in counts.items() if count}
    assert named == set(issued.standings.summoned), counts
    assert all(counts[unit] == 1 for unit in named)
