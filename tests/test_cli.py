"""The `xunbao` command end to end on the sample mailbox, as a user runs it: a real process,
a real SQLite ledger, a real PDF checked through its extracted text and its fonts."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
XUNBAO = Path(sys.executable).parent / "xunbao"
PERIOD = "2015-09-20"
TRUTH = json.loads((ROOT / "tests/fixtures/inbox_expected.json").read_text(encoding="utf-8"))


def make_config(folder: Path) -> Path:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("path: inbox_samples", f"path: {ROOT / 'inbox_samples'}")
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def xunbao(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(XUNBAO), *args, "--config", str(config)], capture_output=True, text=True, timeout=300
    )


def expected_standings() -> dict[str, tuple[int, bool]]:
    """unit → (completed, reported) from the truth file: the latest counted figure."""
    counted = [t for t in TRUTH if t["outcome"] == "counted" and t["period"] <= PERIOD]
    result: dict[str, tuple[int, bool]] = {}
    for t in sorted(counted, key=lambda t: t["file"]):  # file names start with the arrival time
        reported = result.get(t["unit"], (0, False))[1] or t["period"] == PERIOD
        result[t["unit"]] = (t["value"], reported)
    return result


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    config = make_config(folder)
    first = xunbao(config, "run", "--period", PERIOD, "--no-send")
    assert first.returncode == 0, first.stderr
    assert f"收取新邮件 {len(TRUTH)} 封" in first.stdout
    return folder


def test_outputs_exist(workspace: Path) -> None:
    out = workspace / "out" / PERIOD
    for name in ("circular.pdf", "standings.xlsx", "standings.json"):
        assert (out / name).stat().st_size > 0, name


def test_standings_json_agrees_with_the_inbox(workspace: Path) -> None:
    data = json.loads((workspace / "out" / PERIOD / "standings.json").read_text(encoding="utf-8"))
    assert data["period"] == PERIOD
    assert data["total"]["target"] == 71000
    units = {u["unit"]: u for u in data["units"]}
    assert len(units) == 22 and "其他" not in units
    truth = expected_standings()
    for name, unit in units.items():
        completed, reported = truth.get(name, (0, False))
        assert (unit["completed"], unit["reported"]) == (completed, reported), name
        assert unit["rate"] == pytest.approx(completed / unit["target"], abs=1e-4)
        assert unit["status"] in ("completed", "on_track", "lagging", "missing", "pending")
        assert unit["status"] not in ("missing", "pending") or not reported
    # 马边县's form came from an unregistered address and waits for review: 待核实, not 未报送.
    assert units["马边县"]["status"] == "pending" and data["pending"] == ["马边县"]
    assert "马边县" not in data["summoned"]
    assert data["total"]["completed"] == sum(c for c, _ in truth.values())
    ranks = sorted(data["units"], key=lambda u: u["rank"])
    assert [u["rate"] for u in ranks] == sorted((u["rate"] for u in ranks), reverse=True)


def test_second_run_changes_nothing(workspace: Path) -> None:
    config = workspace / "config.yaml"
    before_json = (workspace / "out" / PERIOD / "standings.json").read_bytes()
    before = xunbao(config, "messages", "--json")
    again = xunbao(config, "run", "--period", PERIOD, "--no-send")
    assert again.returncode == 0, again.stderr
    assert "收取新邮件 0 封" in again.stdout
    after = xunbao(config, "messages", "--json")
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert (workspace / "out" / PERIOD / "standings.json").read_bytes() == before_json


def test_register_and_review_queue(workspace: Path) -> None:
    config = workspace / "config.yaml"
    register = json.loads(xunbao(config, "messages", "--json").stdout)
    assert len(register) == len(TRUTH)
    assert {m["outcome"] for m in register} == {"counted", "review", "ignored"}
    assert all(m["reason"] for m in register)
    queue = json.loads(xunbao(config, "review", "--json").stdout)
    assert len(queue) == sum(t["outcome"] == "review" for t in TRUTH)
    assert {"id", "message_id", "from", "subject", "arrival", "reason"} <= set(queue[0])
    assert queue[0]["arrival"].endswith("+08:00")  # the campaign's zone, as people read it
    corrected = [m for m in register if "已被第" in m["reason"]]
    assert corrected, "the 更正 report supersedes the first one and the register says so"


def test_pdf_text_names_every_unit_and_the_totals(workspace: Path) -> None:
    pdf = workspace / "out" / PERIOD / "circular.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    data = json.loads((workspace / "out" / PERIOD / "standings.json").read_text(encoding="utf-8"))
    flat = text.stdout.replace(" ", "")
    for unit in data["units"]:
        assert unit["unit"] in flat, unit["unit"]
    assert "71,000" in flat and f"{data['total']['completed']:,}" in flat
    assert "乐山市总工会" in flat and "通报" in flat


def test_pdf_fonts_are_embedded_cjk_subsets(workspace: Path) -> None:
    pdf = workspace / "out" / PERIOD / "circular.pdf"
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    rows = listing.stdout.splitlines()[2:]
    assert rows
    for row in rows:
        name, *_ = row.split()
        assert "+" in name, f"not a subset: {row}"  # subset fonts are named ABCDEF+Name
        assert "CJK" in name or "UKai" in name, row
        assert " yes yes yes " in f" {row} ".replace("  ", " ") or row.split()[-4:-1] == [
            "yes",
            "yes",
            "yes",
        ], row


def test_clerk_approves_rejects_and_records(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert xunbao(config, "run", "--period", PERIOD, "--no-send").returncode == 0
    queue = json.loads(xunbao(config, "review", "--json").stdout)
    unknown = next(m for m in queue if m["from"] == "wangli1988@qq.com")
    misfiled = next(m for m in queue if m["from"] == "mcxzgh@163.com")
    shown = xunbao(config, "review", "show", str(unknown["id"]))
    assert shown.returncode == 0 and "不是任何单位登记" in shown.stdout and "1000" in shown.stdout
    approved = xunbao(config, "review", "approve", str(unknown["id"]), "--unit", "马边彝族自治县")
    assert approved.returncode == 0, approved.stderr
    assert (
        xunbao(
            config, "review", "reject", str(misfiled["id"]), "--reason", "沐川县代报，已电话核实"
        ).returncode
        == 0
    )
    recorded = xunbao(
        config,
        "record",
        "--unit",
        "嘉阳集团",
        "--period",
        PERIOD,
        "--value",
        "12",
        "--note",
        "电话报送",
    )
    assert recorded.returncode == 0, recorded.stderr
    again = xunbao(config, "review", "approve", str(unknown["id"]))
    assert again.returncode == 2 and "不在待审核队列" in again.stderr
    assert xunbao(config, "run", "--period", PERIOD, "--no-send").returncode == 0
    data = json.loads((tmp_path / "out" / PERIOD / "standings.json").read_text(encoding="utf-8"))
    units = {u["unit"]: u for u in data["units"]}
    assert (units["马边县"]["completed"], units["马边县"]["reported"]) == (1000, True)
    assert (units["嘉阳集团"]["completed"], units["嘉阳集团"]["reported"]) == (12, True)
    assert units["峨边县"]["completed"] == 180  # the rejected form did not count
    register = {m["id"]: m for m in json.loads(xunbao(config, "messages", "--json").stdout)}
    assert register[unknown["id"]]["outcome"] == "counted"
    assert register[misfiled["id"]]["outcome"] == "ignored"
    assert "人工驳回" in register[misfiled["id"]]["reason"]
    with Ledger(tmp_path / "data" / "xunbao.sqlite") as ledger:
        actions = ledger.actions()
    assert [(a.kind, a.message, a.unit, a.value) for a in actions] == [
        ("approve", unknown["id"], "马边县", 1000),
        ("reject", misfiled["id"], None, None),
        ("record", None, "嘉阳集团", 12),
    ]
    assert all(a.at and a.actor for a in actions)


def test_bad_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", config)
    config.write_text(
        config.read_text(encoding="utf-8").replace("target: 5437", "target: 五千"), encoding="utf-8"
    )
    result = xunbao(config, "run", "--no-send")
    assert result.returncode == 2
    assert "units[0].target" in result.stderr and "整数" in result.stderr


def test_bad_period_exits_2(workspace: Path) -> None:
    result = xunbao(workspace / "config.yaml", "run", "--period", "2015/09/20")
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr


def test_runs_on_one_ledger_wait_for_each_other(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    lock = tmp_path / "data" / "xunbao.sqlite.cycle.lock"
    lock.parent.mkdir(parents=True)
    command = [str(XUNBAO), "run", "--period", PERIOD, "--no-send", "--config", str(config)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running cycle would
        waiting = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert waiting.stdout is not None
        assert "等它结束" in waiting.stdout.readline()
        assert waiting.poll() is None, "it must wait while the other cycle holds the ledger"
    rest, _ = waiting.communicate(timeout=300)
    assert waiting.returncode == 0 and f"收取新邮件 {len(TRUTH)} 封" in rest
