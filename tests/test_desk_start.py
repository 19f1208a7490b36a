"""Starting the desk and changing its settings: a busy port is a Chinese error with exit
code 3 (README), an edited config.yaml is used on the next request, and a mail relay that
takes mail without logging in needs no SMTP password."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from conftest import write_config
from desk_support import XUNBAO, Desk, client, copy_sample, login
from ruamel.yaml import YAML


def test_a_busy_port_is_a_chinese_error_with_exit_code_3(desk_sample: Path, tmp_path: Path) -> None:
    config = copy_sample(desk_sample, tmp_path / "ws")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(XUNBAO), "desk", "--port", str(port), "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    said = done.stdout + done.stderr
    assert done.returncode == 3, said
    assert f"端口 {port} 已被其他程序占用" in said
    assert "已启动" not in said and "Errno" not in said and "ERROR" not in said


def test_an_edited_config_is_used_on_the_next_request(desk_sample: Path, tmp_path: Path) -> None:
    config = copy_sample(desk_sample, tmp_path / "ws")
    desk = Desk(client(config), config)
    assert login(desk.client, "小李") == 303
    assert "嘉华集团" in desk.client.get("/units").text
    text = config.read_text(encoding="utf-8").replace(
        "aliases: [嘉华特种水泥公司", "aliases: [嘉华建材"
    )
    config.write_text(text, encoding="utf-8")
    assert "嘉华建材" in desk.client.get("/units/嘉华集团").text
    # a file with errors: the desk keeps the config it has, the 配置 page says why
    config.write_text(text.replace("target: 5437", "target: 五千"), encoding="utf-8")
    assert "嘉华建材" in desk.client.get("/units/嘉华集团").text
    page = desk.client.get("/settings").text
    assert "配置文件有错误" in page and "无需重启" in page


def test_a_relay_without_login_needs_no_password(tmp_path: Path) -> None:
    relay = {"host": "127.0.0.1", "port": 2525, "ssl": False, "username": "",
             "sender": "zxb@lszgh.example", "recipients": ["office@lszgh.example"]}  # fmt: skip
    (tmp_path / "inbox").mkdir()
    mailbox = {"source": "directory", "path": str(tmp_path / "inbox")}
    path = write_config(tmp_path, delivery=relay, mailbox=mailbox)
    environment = {k: v for k, v in os.environ.items() if k != "XUNBAO_SMTP_PASSWORD"}
    done = subprocess.run(
        [str(XUNBAO), "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "XUNBAO_SMTP_PASSWORD" not in done.stdout + done.stderr
    tree = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    tree["delivery"]["username"] = "zxb@lszgh.example"
    tree["delivery"]["password_env"] = "XUNBAO_SMTP_PASSWORD"
    with path.open("w", encoding="utf-8") as out:
        YAML(typ="safe").dump(tree, out)
    done = subprocess.run(
        [str(XUNBAO), "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert done.returncode != 0 and "XUNBAO_SMTP_PASSWORD" in done.stdout + done.stderr
