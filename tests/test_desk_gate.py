"""The desk's front door (issue 23): forwarded headers only from `desk.trusted_proxies`, the
login throttle per account as well as per address, only the configured host names, and
Secure cookies whenever the request came over HTTPS — on the real application over HTTP."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import write_config
from desk_support import csrf_of
from starlette.testclient import TestClient

from pipeline import config as config_module
from pipeline.clerk import accounts
from pipeline.desk.app import create_app
from pipeline.ledger import Ledger

NAME, PASSWORD = "小李", "clerk-password-1"
NGINX = ("127.0.0.1", 40000)  # where the requests come from: the local proxy


def desk(folder: Path, base_url: str = "http://127.0.0.1", **settings: Any) -> TestClient:
    (folder / "inbox").mkdir(parents=True, exist_ok=True)
    mailbox = {"source": "directory", "path": str(folder / "inbox")}
    path = write_config(folder, mailbox=mailbox, desk={"host": "127.0.0.1"} | settings)
    config = config_module.load(path).config
    with Ledger(config.resolve(config.storage.path)) as ledger:
        if accounts.find(ledger, NAME) is None:
            accounts.add(ledger, NAME, "clerk", PASSWORD)
    app = create_app(config, path)
    return TestClient(app, base_url=base_url, follow_redirects=False, client=NGINX)


def log_in(client: TestClient, password: str, **headers: str) -> Any:
    page = client.get("/login", headers=headers)
    # sent back by hand: a Secure cookie set for the browser's HTTPS is not resent over the
    # test's plain HTTP by the client's cookie jar
    cookie = {"Cookie": f"xunbao_login={page.cookies['xunbao_login']}"}
    return client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "name": NAME, "password": password},
        headers=headers | cookie,
    )


def test_a_forwarded_address_does_not_lift_the_lockout(tmp_path: Path) -> None:
    client = desk(tmp_path)  # trusted_proxies: none, the default
    for _ in range(5):
        assert log_in(client, "wrong-password").status_code == 401
    refused = log_in(client, PASSWORD, **{"X-Forwarded-For": "10.9.9.9"})
    assert refused.status_code == 401 and "密码错误次数过多" in refused.text
    assert "xunbao_session" not in refused.headers.get("set-cookie", "")


def test_rotating_forwarded_headers_still_lock(tmp_path: Path) -> None:
    client = desk(tmp_path)
    for n in range(20):
        log_in(client, "wrong-password", **{"X-Forwarded-For": f"10.0.0.{n}"})
    assert "密码错误次数过多" in log_in(client, PASSWORD).text


def test_a_trusted_proxy_names_the_client_and_the_account_is_throttled_too(
    tmp_path: Path,
) -> None:
    client = desk(tmp_path, trusted_proxies=["127.0.0.1"], login_attempts=5, account_attempts=8)
    for _ in range(5):
        log_in(client, "wrong-password", **{"X-Forwarded-For": "10.1.1.1"})
    locked = log_in(client, PASSWORD, **{"X-Forwarded-For": "10.1.1.1"})
    assert "密码错误次数过多" in locked.text
    # Another computer behind the proxy is another address: not locked by 10.1.1.1's tries…
    other = log_in(client, PASSWORD, **{"X-Forwarded-For": "10.2.2.2"})
    assert other.status_code == 303
    # …but failures spread over many addresses lock the account itself.
    for n in range(8):
        log_in(client, "wrong-password", **{"X-Forwarded-For": f"10.3.3.{n}"})
    spread = log_in(client, PASSWORD, **{"X-Forwarded-For": "10.4.4.4"})
    assert spread.status_code == 401 and "密码错误次数过多" in spread.text


def test_only_configured_host_names_are_answered(tmp_path: Path) -> None:
    client = desk(tmp_path, hosts=["desk.example.lan"])
    for host in ("evil.example", "desk.example.lan.evil.example", "192.0.2.1"):
        refused = client.get("/login", headers={"Host": host})
        assert refused.status_code == 421 and "desk.hosts" in refused.text
    assert client.get("/login", headers={"Host": "desk.example.lan"}).status_code == 200
    assert client.get("/login", headers={"Host": "127.0.0.1:8700"}).status_code == 200


@pytest.mark.parametrize("how", ["https", "forwarded"])
def test_cookies_are_secure_when_the_request_came_over_https(tmp_path: Path, how: str) -> None:
    if how == "https":
        client = desk(tmp_path, base_url="https://127.0.0.1")
        headers: dict[str, str] = {}
    else:
        client = desk(tmp_path, trusted_proxies=["127.0.0.0/8"])
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.5.5.5"}
    signed_in = log_in(client, PASSWORD, **headers)
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    assert "xunbao_session=" in cookie and "secure" in cookie.lower()


def test_a_plain_request_claiming_https_gets_no_secure_cookie_from_an_untrusted_hop(
    tmp_path: Path,
) -> None:
    client = desk(tmp_path)
    signed_in = log_in(client, PASSWORD, **{"X-Forwarded-Proto": "https"})
    assert signed_in.status_code == 303
    assert "secure" not in signed_in.headers["set-cookie"].lower()


def test_the_served_desk_trusts_no_forwarded_header_and_answers_its_own_address(
    tmp_path: Path,
) -> None:
    """`xunbao desk` itself (uvicorn): the address given with --host is answered, another
    host name is not, and X-Forwarded-For from 127.0.0.1 does not lift a lockout."""

    desk(tmp_path)  # the config and the account
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        port = probe.getsockname()[1]
    xunbao = Path(sys.executable).parent / "xunbao"
    command = [str(xunbao), "desk", "--config", str(tmp_path / "config.yaml")]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.2", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.2", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)

        def get(host: str) -> int:
            connection = http.client.HTTPConnection("127.0.0.2", port, timeout=30)
            connection.request("GET", "/login", headers={"Host": host})
            status = connection.getresponse().status
            connection.close()
            return status

        assert get(f"127.0.0.2:{port}") == 200
        assert get("evil.example") == 421
        with httpx.Client(base_url=f"http://127.0.0.2:{port}") as browser:
            for _ in range(5):
                page = browser.get("/login")
                browser.post(
                    "/login",
                    data={"csrf": csrf_of(page.text), "name": NAME, "password": "wrong-one"},
                )
            page = browser.get("/login")
            refused = browser.post(
                "/login",
                data={"csrf": csrf_of(page.text), "name": NAME, "password": PASSWORD},
                headers={"X-Forwarded-For": "10.9.9.9"},
                follow_redirects=False,
            )
        assert refused.status_code == 401 and "密码错误次数过多" in refused.text
    finally:
        server.terminate()
        server.wait(timeout=30)
