"""`xunbao status` tells the truth from the ledger, and the service's logs keep secrets out."""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline import config as config_module
from pipeline.ledger import Entry
from pipeline.ledger.records import RunSummary
from pipeline.service import job, logs, status

ROOT = Path(__file__).resolve().parent.parent
XUNBAO = Path(sys.executable).parent / "xunbao"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def make_config(folder: Path, replace: dict[str, str] | None = None) -> config_module.Config:
    (folder / "inbox").mkdir(exist_ok=True)
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("path: inbox_samples", f"path: {folder / 'inbox'}")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    return config_module.load(folder / "config.yaml").config


DELIVERING = {
    'host: ""': "host: smtp.example.invalid",
    "recipients: [zxb@lszgh.example]": "recipients: [zxb@lszgh.example, BGS@lszgh.example]",
}


def test_fresh_install(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    data = status.collect(config, at("2015-09-15 12:00")).to_json(config)
    assert data["last_run"] is None and data["missed"] == [] and data["review"] == 0
    assert data["next_run"] == {
        "at": "2015-09-20T18:00:00+08:00",
        "period": "2015-09-20",
        "label": "2015年9月中旬",
    }
    assert data["mailbox"]["ok"] and data["healthy"] and not data["serving"]
    assert data["summary"][1] == "上次运行：还没有运行记录。"
    assert "下次运行：2015-09-20 18:00（2015年9月中旬，截至 2015-09-20）。" in data["summary"]


def test_runs_reviews_and_undelivered_circulars(tmp_path: Path) -> None:
    config = make_config(tmp_path, DELIVERING)
    ledger = job.open_ledger(config)
    run = ledger.start_run("2015-09-10", "schedule")
    ledger.finish_run(
        run,
        "ok",
        RunSummary.of_json({"new": 5, "counted": 3, "review": 1, "ignored": 1, "sent": 1}),
    )
    ledger.record_delivery("2015-09-10", "zxb@lszgh.example", "circular")
    ledger.record_delivery("2015-09-10", "bgs@lszgh.example", "receipt:1")  # not the circular
    entry = Entry("dir:x.eml", "0" * 64, "review", "发件人 a@b.c 不是任何单位登记的报送邮箱")
    ledger.record(entry, None)
    run = ledger.start_run("2015-09-20", "schedule")
    ledger.finish_run(
        run, "failed", RunSummary.of_json({"new": 0, "error": "收件目录 /srv/inbox 不存在。"})
    )
    ledger.close()

    data = status.collect(config, at("2015-10-01 09:00")).to_json(config)
    assert data["review"] == 1
    assert [(u["period"], u["missing"]) for u in data["undelivered"]] == [
        ("2015-09-10", ["bgs@lszgh.example"]),
        ("2015-09-20", ["zxb@lszgh.example", "bgs@lszgh.example"]),
    ]
    assert [(r["recipient"], r["state"]) for r in data["undelivered"][0]["recipients"]] == [
        ("zxb@lszgh.example", "已送达"),
        ("bgs@lszgh.example", "待发送"),
    ]
    assert data["missed"] == ["2015-09-20", "2015-09-30"]  # a failed run is still owed
    last = data["last_run"]
    assert (last["period"], last["outcome"], last["error"]) == (
        "2015-09-20",
        "failed",
        "收件目录 /srv/inbox 不存在。",
    )
    assert not data["healthy"]
    text = "\n".join(data["summary"])
    assert "2015-09-20（按时运行），失败" in text and "原因：收件目录 /srv/inbox 不存在。" in text
    assert "未送达：2015-09-10 的通报尚未送达 bgs@lszgh.example（待发送）。" in text
    assert "待补跑的旬：2015-09-20、2015-09-30" in text
    assert "待审核邮件：1 封" in text and text.endswith("总体：需要处理，请查看上面的说明。")


def test_a_missing_mailbox_directory_is_reported(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    (tmp_path / "inbox").rmdir()
    data = status.collect(config, at("2015-09-15 12:00")).to_json(config)
    assert data["mailbox"]["ok"] is False and not data["healthy"]
    assert any(line.startswith("收件邮箱：无法连接") for line in data["summary"])


def test_an_unreachable_imap_server_is_reported_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("XUNBAO_IMAP_PASSWORD", "AUTHcode2718")
    config = make_config(tmp_path, {"source: directory": "source: imap"})
    config = config.model_copy(
        update={
            "mailbox": config.mailbox.model_copy(
                update={"host": "127.0.0.1", "port": port, "username": "u", "timeout": 5.0}
            )
        }
    )
    data = status.collect(config, at("2015-09-15 12:00")).to_json(config)
    mailbox = data["mailbox"]
    assert mailbox["source"] == "imap" and mailbox["ok"] is False
    assert "127.0.0.1" in mailbox["detail"] and "AUTHcode2718" not in json.dumps(data)


def test_status_command_json_and_text(tmp_path: Path) -> None:
    make_config(tmp_path)
    result = subprocess.run(
        [str(XUNBAO), "status", "--json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"last_run", "next_run", "review", "undelivered", "mailbox", "healthy"}
    # The seed's campaign ended in 2015: status says so instead of pretending to wait.
    assert data["campaign_over"] and any("活动已于 2015-12-31 结束" in s for s in data["summary"])


# ── logs ───────────────────────────────────────────────────────
@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_logs_mask_passwords_one_line_per_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: object
) -> None:
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", "smtpSECRET99")
    secret_file = tmp_path / "imap.secret"
    secret_file.write_text("fileSECRET42\n", encoding="utf-8")
    config = make_config(
        tmp_path, {"  source: directory": "  password_file: imap.secret\n  source: directory"}
    )
    assert config.mailbox.password_file == Path("imap.secret")
    stream = io.StringIO()
    logs.setup(config=config, stream=stream)
    log = logging.getLogger("xunbao.test")
    log.info("登录 smtp.126.com，口令 smtpSECRET99")
    log.warning("IMAP 错误：用 fileSECRET42 登录被拒绝\n第二行")
    log.info("A1 LOGIN box@126.com other-pass")
    log.info("url=imaps://x?password=hunter2&user=y 授权码：QWERTY123")
    try:
        raise RuntimeError("连接失败 password=smtpSECRET99")
    except RuntimeError:
        log.exception("出错了")
    out = stream.getvalue()
    for secret in ("smtpSECRET99", "fileSECRET42", "other-pass", "hunter2", "QWERTY123"):
        assert secret not in out
    assert out.count("******") >= 6
    lines = out.splitlines()
    assert len(lines) == 5  # multi-line messages and tracebacks stay on their event's line
    assert "第二行" in lines[1] and "Traceback" in lines[4]


def test_json_log_lines(tmp_path: Path, restore_logging: object) -> None:
    stream = io.StringIO()
    logs.setup(as_json=True, config=make_config(tmp_path), stream=stream)
    log = logging.getLogger("xunbao.test")
    logs.event(log, logging.INFO, "run.ok", "2015年9月中旬按时运行完成。", period="2015-09-20")
    log.error("password=abc123 失败")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "run.ok" and first["period"] == "2015-09-20"
    assert first["message"] == "2015年9月中旬按时运行完成。" and first["time"].endswith("+08:00")
    assert second["level"] == "ERROR" and "abc123" not in second["message"]


# ── the truth about what waits ─────────────────────────────────
def test_a_review_backlog_alone_is_not_normal(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    ledger = job.open_ledger(config)
    run = ledger.start_run("2015-09-10", "schedule")
    ledger.finish_run(
        run, "ok", RunSummary.of_json({"new": 3, "counted": 0, "review": 3, "ignored": 0})
    )
    for n in range(3):
        entry = Entry(
            f"dir:{n}.eml", f"{n}" * 64, "review", "发件人 a@b.c 不是任何单位登记的报送邮箱"
        )
        ledger.record(entry, None)
    ledger.close()
    data = status.collect(config, at("2015-09-15 12:00")).to_json(config)
    assert data["review"] == 3 and not data["healthy"]
    assert data["summary"][-1] == "总体：需要处理，请查看上面的说明。"


def test_no_circular_yet_and_no_next_run_after_the_campaign(tmp_path: Path) -> None:
    config = make_config(tmp_path, DELIVERING)
    data = status.collect(config, at("2015-09-15 12:00")).to_json(config)
    assert "通报发送：尚未生成通报。" in data["summary"]
    assert "已生成的通报都已送达" not in "".join(data["summary"])
    # The campaign's last cutoff: 24:00 on 31 December (schedule.year_end, issue 25).
    last = status.collect(config, at("2016-01-01 00:00")).to_json(config)
    assert last["next_run"] is None and not last["campaign_over"]  # its own run is due
    after = status.collect(config, at("2016-01-01 09:00")).to_json(config)
    assert after["next_run"] is None and after["campaign_over"]
    assert not any(line.startswith("下次运行") for line in after["summary"])


def test_receipts_and_reminders_since_the_last_cutoff(tmp_path: Path) -> None:
    config = make_config(tmp_path, DELIVERING | {"receipts: false": "receipts: true"})
    ledger = job.open_ledger(config)
    old = ledger.start_run("2015-09-10", "schedule")
    ledger.finish_run(
        old, "ok", RunSummary.of_json({"sent": 2, "receipts": {"sent": 9, "failed": 0}})
    )
    run = ledger.start_run("2015-09-20", "schedule")
    ledger.finish_run(
        run, "ok", RunSummary.of_json({"sent": 2, "receipts": {"sent": 1, "failed": 0}})
    )
    ledger.record_delivery("2015-09-10", "zxb@lszgh.example", "circular")
    ledger.record_delivery("2015-09-10", "bgs@lszgh.example", "circular")
    ledger.record_delivery("2015-09-20", "zxb@lszgh.example", "circular")
    ledger.record_delivery("2015-09-20", "bgs@lszgh.example", "circular")
    poll = ledger.start_run("2015-09-30", "poll")
    summary = {
        "new": 1,
        "receipts": {"sent": 2, "failed": 1},
        "reminders": {"sent": 5, "failed": 0},
    }
    ledger.finish_run(poll, "ok", RunSummary.of_json(summary))
    ledger.close()
    data = status.collect(config, at("2015-09-25 12:00")).to_json(config)
    assert data["letters"] == {
        "receipts": {"sent": 3, "failed": 1},
        "reminders": {"sent": 5, "failed": 0},
    }
    assert not data["healthy"]  # a receipt could not be sent
    text = "\n".join(data["summary"])
    assert "回执发出 3 封、未能发出 1 封（下次收信时重试）；催报发出 5 封" in text
    assert "上次收信：" in text and "新邮件 1 封" in text


# ── the period's state without pandas ──────────────────────────
def test_the_state_is_memoised_under_its_inputs_and_recomputed_when_one_changes(
    tmp_path: Path,
) -> None:
    from pipeline.issuance import phase
    from pipeline.ledger import Report
    from pipeline.outputs import corrections
    from pipeline.standings.periods import Period

    config = make_config(tmp_path)
    ledger = job.open_ledger(config)
    period, now = Period.parse("2015-09-20"), at("2015-09-21 09:00")

    def fresh() -> str:  # the fingerprint computed from scratch, no memo
        return corrections.fingerprint(phase.standings_for(config, ledger, period))

    empty = phase.state(config, ledger, period, now)
    assert empty.fingerprint == fresh() and phase.state(config, ledger, period, now) == empty
    ledger.add_report(
        Report("市中区", "2015-09-20", 2468, at("2015-09-20 10:00"), origin="recorded")
    )
    counted = phase.state(config, ledger, period, now)
    assert counted.fingerprint != empty.fingerprint and counted.fingerprint == fresh()
    retargeted = make_config(tmp_path, {"target: 71000": "target: 71001", "5437,": "5438,"})
    assert phase.state(retargeted, ledger, period, now).fingerprint != counted.fingerprint


def test_status_loads_no_pandas_once_the_state_is_known(tmp_path: Path) -> None:
    make_config(tmp_path)
    script = (
        "import sys\nfrom pipeline.cli import main\nsys.argv = ['xunbao', 'status']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(*(m in sys.modules for m in ('pandas', 'yaml', 'rich')), file=sys.stderr)"
    )
    loads = [
        subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
        ).stderr.split()[-3:]
        for _ in range(2)
    ]
    # The first computes and keeps the state, the second reads it; the config is parsed
    # afresh each time (no config cache); status prints plain lines, without rich.
    assert loads == [["True", "True", "False"], ["False", "True", "False"]]
