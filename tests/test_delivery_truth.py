"""Delivery state is the server's word: a leader signs while aiosmtpd is down, the CLI and the
desk say 已签发；发送失败（原因）；下次运行时重试, `status` (text and --json) and `circulars`
show each recipient 重试中 with the error; once the server is back the next run delivers
each copy exactly once and everything says 已送达."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from conftest import SMTP_PASSWORD, XUNBAO, MakeServer, write_config
from desk_support import Desk, client, copy_sample, login, require_sign_off
from ruamel.yaml import YAML
from test_delivery import PERIOD, RECIPIENTS, delivery_section, directory_mailbox, env

pytestmark = pytest.mark.slow


def xunbao(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(XUNBAO), *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
    )


def as_json(config: Path, *args: str) -> Any:
    done = xunbao(config, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_sign_off_with_smtp_down_is_reported_unsent_then_delivered_once(
    tmp_path: Path, smtp: MakeServer, certificate: tuple[Path, Path]
) -> None:
    server = smtp()
    section = delivery_section(server.port, certificate[0], sign_off="required", signers=["张建国"])
    config = write_config(tmp_path, mailbox=directory_mailbox(), delivery=section)
    assert "等待签发" in xunbao(config, "run", "--period", PERIOD).stdout

    signed = xunbao(config, "sign", "--period", PERIOD, "--by", "张建国")  # server down
    assert signed.returncode == 1
    assert "已签发；发送失败（无法连接发信服务器" in signed.stderr
    assert "下次运行时重试" in signed.stderr and "已由 张建国 签发" not in signed.stdout

    status = as_json(config, "status")
    (waiting,) = status["undelivered"]
    assert waiting["period"] == PERIOD and waiting["version"] == 1
    assert sorted(waiting["missing"]) == sorted(RECIPIENTS)
    assert {r["state"] for r in waiting["recipients"]} == {"重试中"}
    assert all("无法连接发信服务器" in r["error"] for r in waiting["recipients"])
    text = xunbao(config, "status").stdout
    assert "都已送达" not in text and f"未送达：{PERIOD} 的通报（第 1 版）尚未送达" in text
    assert "重试中：无法连接发信服务器" in text
    assert "第 1 版已定稿，2 位收件人尚未送达" in text and "已发出（第 1 版）" not in text
    (version,) = as_json(config, "circulars")
    assert version["delivered"] is False and version["signed_by"] == "张建国"
    assert {r["state"] for r in version["recipients"]} == {"重试中"}
    listed = xunbao(config, "circulars").stdout
    assert "发出时间" not in listed and "已送达 0/2" in listed
    # times in the campaign's local time, as people read them, not the ledger's UTC
    assert "+00:00" not in listed and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", listed)

    server.start()
    again = xunbao(config, "run", "--period", PERIOD)
    assert again.returncode == 0, again.stderr
    assert "通报已发送给 2 位收件人" in again.stdout
    assert xunbao(config, "run", "--period", PERIOD).returncode == 0  # nothing more goes
    assert sorted(r for r, _ in server.received()) == sorted(RECIPIENTS)
    assert as_json(config, "status")["undelivered"] == []
    (version,) = as_json(config, "circulars")
    assert version["delivered"] is True
    assert {r["state"] for r in version["recipients"]} == {"已送达"}
    text = xunbao(config, "status").stdout
    assert "都已送达" in text and "已发出（第 1 版）" in text


def test_the_desk_says_a_failed_sign_off_was_not_sent(
    desk_sample: Path,
    tmp_path: Path,
    smtp: MakeServer,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace = copy_sample(desk_sample, tmp_path / "ws")
    server = smtp()
    require_sign_off(workspace, "王科长")
    yaml = YAML()
    tree = yaml.load(workspace.read_text(encoding="utf-8"))
    tree["delivery"] |= delivery_section(server.port, certificate[0])
    with workspace.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    leader = Desk(client(workspace), workspace)
    assert login(leader.client, "王科长") == 303

    signed = leader.client.post(f"/circular/{PERIOD}/sign", data={"csrf": leader.csrf()})
    assert signed.status_code == 303
    said = unquote_plus(signed.headers["location"])
    assert "已签发；发送失败（无法连接发信服务器" in said and "下次运行时重试" in said
    page = leader.client.get(signed.headers["location"]).text
    assert "已签发；发送失败" in page and "已发出（第 1 版）" not in page
    assert "尚未全部送达" in page and page.count("重试中") >= len(RECIPIENTS)

    server.start()
    sent = leader.client.post(f"/circular/{PERIOD}/send", data={"csrf": leader.csrf()})
    assert sent.status_code == 303
    page = leader.client.get(sent.headers["location"]).text
    assert "通报已发送给 2 位收件人" in page and "已送达 2/2" in page
    assert "重试中" not in page and "尚未全部送达" not in page
    assert sorted(r for r, _ in server.received()) == sorted(RECIPIENTS)
