"""The wheel is a product too: built from the checkout, installed into a fresh venv, it
starts a site with `xunbao init` and makes the circular with `xunbao run`, far from the
checkout (templates, desk files, starter config and sample inbox travel in the wheel)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_built_wheel_runs_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("xunbao-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=300, env=env)
    # The dependencies are this environment's (installing them again would take minutes),
    # added after the install so that pip never sees this checkout's editable xunbao; a .pth
    # path line does not run that install's import hook, so `pipeline` comes from the wheel.
    found = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    packages = Path(found.stdout.strip())
    (packages / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    site = tmp_path / "site"
    xunbao = str(venv / "bin" / "xunbao")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [xunbao, *args], cwd=site, env=env, capture_output=True, text=True, timeout=600
        )

    site.mkdir()
    started = run("init")
    assert started.returncode == 0, started.stderr
    assert (site / "config.yaml").exists() and len(list((site / "inbox_samples").iterdir())) > 20
    again = run("init")
    assert again.returncode == 2 and "未做任何改动" in again.stdout + again.stderr
    done = run("run", "--period", "2015-09-20", "--no-send")
    assert done.returncode == 0, done.stdout + done.stderr
    pdf = site / "out" / "2015-09-20" / "circular.pdf"
    assert pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "通报" in text and "市中区" in text

    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import pipeline, pipeline.desk.app as a; "
            "print(pipeline.__file__); print(a.STATIC.is_dir())",
        ],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(packages)) and where[1] == "True"
