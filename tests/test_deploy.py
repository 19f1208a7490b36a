"""The systemd units and the nginx site as shipped: hardened (systemd's own rating), the
desk without the IMAP code, logins rate-limited."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = ("xunbao.service", "xunbao-desk.service")


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / unit).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
@pytest.mark.parametrize("unit", UNITS)
def test_systemd_rates_each_unit_at_most_4(unit: str) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(DEPLOY / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 4.0
    documented = (DEPLOY.parent / "docs" / "deploy.zh.md").read_text(encoding="utf-8")
    assert f"| {unit} | {found.group(1)} OK |" in documented  # the figure in the docs is true


@pytest.mark.parametrize("unit", UNITS)
def test_units_confine_network_memory_and_calls(unit: str) -> None:
    found = directives(unit)
    assert found["IPAddressDeny"] == ["any"] and "localhost" in found["IPAddressAllow"]
    assert "AF_PACKET" not in found["RestrictAddressFamilies"][0]
    assert found["SystemCallFilter"][0].startswith("@system-service")
    assert found["ProtectProc"] == ["invisible"]
    assert found["MemoryMax"] and found["TasksMax"]
    # bubblewrap's /proc: the kernel refuses it under these (pipeline/reading/mails/walls.py).
    assert not {"ProtectKernelTunables", "ProtectKernelLogs", "ProcSubset"} & set(found)


def test_the_desk_holds_no_imap_code() -> None:
    (file,) = directives("xunbao-desk.service")["EnvironmentFile"]
    assert file == "/etc/xunbao/desk.env"
    example = (DEPLOY / "desk.env.example").read_text(encoding="utf-8")
    assert "XUNBAO_SMTP_PASSWORD=" in example and "IMAP_PASSWORD" not in example


def test_nginx_limits_login_requests() -> None:
    site = (DEPLOY / "nginx-xunbao-desk.conf").read_text(encoding="utf-8")
    assert re.search(r"limit_req_zone \$binary_remote_addr zone=xunbao_login:\S+ rate=", site)
    login = site[site.index("location = /login") :]
    assert "limit_req " in login[: login.index("}")]
