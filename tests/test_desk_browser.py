"""The desk in a real browser: Debian's chromium driven by Selenium through chromium-driver,
against a real `xunbao desk` process on the sample ledger.

A leader's whole path — log in, open a held report, see its attachment, approve it from the
keyboard, watch the draft circular change from 待核实 (the unit's mail is held, so it is not
named 未报送) to the figure, sign it off, download the PDF — and
hostile attachments that must neither run a script nor send a request. Every page is
screenshotted to out/desk-screenshots/ (or $XUNBAO_SCREENSHOTS) to be looked at.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desk_support import (
    MABIAN,
    PASSWORDS,
    PERIOD,
    XUNBAO,
    copy_sample,
    ingest_hostile,
    require_sign_off,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("chromium") and shutil.which("chromedriver")),
        reason="chromium and chromium-driver are not installed (scripts/setup.sh --dev)",
    ),
]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("XUNBAO_SCREENSHOTS", ROOT / "out/desk-screenshots"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def desk_server(desk_sample: Path, tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """A `xunbao desk` process on its own copy of the sample (plus the hostile mail)."""
    config = copy_sample(desk_sample, tmp_path / "ws")
    require_sign_off(config, "王科长")
    hostile = ingest_hostile(config)
    port = _free_port()
    process = subprocess.Popen(
        [str(XUNBAO), "desk", "--port", str(port), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", tmp_path / "downloads", hostile
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def browser(desk_server: tuple[str, Path, int]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    _, downloads, _ = desk_server
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


# Page images are loading="lazy": as the first ones load they push the rest below the fold,
# where Chrome waits for a scroll. The wait scrolls to each pending image as a reader would,
# and an image that failed (complete, no pixels) fails the test at once, naming it.
PENDING_IMAGES = """
const pending = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0));
const broken = pending.filter(i => i.complete);
if (broken.length) return 'broken: ' + broken.map(i => i.src).join(' ');
if (pending.length) { pending[0].scrollIntoView(); return 'pending'; }
window.scrollTo(0, 0);
return 'loaded';
"""


def images_loaded(browser: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    state = WebDriverWait(browser, 60).until(
        lambda d: (found := d.execute_script(PENDING_IMAGES)) != "pending" and found
    )
    assert state == "loaded", state


def screenshot(driver: Any, name: str) -> Path:
    """The whole page, as tall as it is."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height + 20, 700), 6000))
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    return path


def requests_made(driver: Any) -> list[str]:
    """Every URL the browser asked for since the last call (Chrome's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def log_in(driver: Any, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/login")
    screenshot(driver, "00-登录")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORDS[name])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: "/overview" in d.current_url)


def standing_of(driver: Any, unit: str) -> str:
    from selenium.webdriver.common.by import By

    for row in driver.find_elements(By.CSS_SELECTOR, "#standings tr"):
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        if len(cells) > 3 and cells[1] == unit:
            return str(cells[3])
    raise AssertionError(f"{unit} is not in the draft's table")


def test_a_leader_clears_a_held_report_signs_and_downloads(
    browser: Any, desk_server: tuple[str, Path, int]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    base, downloads, _ = desk_server
    log_in(browser, base, "王科长")
    assert "2015年9月中旬概况" in browser.find_element(By.TAG_NAME, "h1").text
    screenshot(browser, "01-本旬概况")

    browser.get(f"{base}/circular?period={PERIOD}")
    assert standing_of(browser, "马边县") == "待核实"
    screenshot(browser, "02-通报-审核前")

    # Open the held report from the header bar; its spreadsheet is shown as cells.
    browser.find_element(By.LINK_TEXT, "待审核").click()
    browser.get(f"{base}/queue/{PERIOD}/{MABIAN}")
    sheet = browser.find_element(By.CSS_SELECTOR, "#attachment-0 table")
    assert "马边" in sheet.text and "1000" in sheet.text.replace(",", "")
    assert "不是任何单位登记的报送邮箱" in browser.page_source
    screenshot(browser, "03-待审核-马边县")

    # Keyboard only: "a" jumps to the pre-filled figure, Enter approves.
    browser.find_element(By.TAG_NAME, "body").send_keys("a")
    focused = browser.switch_to.active_element
    assert focused.get_attribute("name") == "value"
    assert focused.get_attribute("value") == "1000"
    focused.send_keys(Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: f"/{MABIAN}" not in d.current_url)
    screenshot(browser, "04-待审核-下一封")

    browser.find_element(By.LINK_TEXT, "通报").click()
    browser.get(f"{base}/circular?period={PERIOD}")
    assert standing_of(browser, "马边县") == "1,000"
    images_loaded(browser)
    screenshot(browser, "05-通报-审核后")

    browser.find_element(By.XPATH, "//button[starts-with(., '签发')]").click()
    WebDriverWait(browser, 60).until(lambda d: "done=" in d.current_url)
    versions = browser.find_element(By.XPATH, "//table[.//th[.='签发人']]").text
    assert "第 1 版" in versions and "王科长" in versions
    assert not browser.find_elements(By.XPATH, "//button[starts-with(., '签发')]")
    screenshot(browser, "06-通报-签发后")

    browser.find_element(By.LINK_TEXT, "下载 PDF").click()
    target = downloads / f"通报-{PERIOD}.pdf"
    deadline = time.monotonic() + 60
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert target.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in text.splitlines() if "马边县" in line.split()[1:2]]
    assert rows and all("1,000" in row and "待核实" not in row for row in rows), rows

    for path, name in [
        ("/register", "07-收件登记"),
        ("/phone", "08-电话录入"),
        ("/units/马边县", "09-单位-马边县"),
        ("/settings", "10-配置"),
        (f"/messages/{MABIAN}", "11-邮件详情"),
    ]:
        browser.get(base + path)
        assert browser.find_element(By.TAG_NAME, "h1").text
        screenshot(browser, name)
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not [e for e in severe if "Content Security Policy" in e["message"]], severe


def test_hostile_attachments_run_nothing_and_call_nowhere(
    browser: Any, desk_server: tuple[str, Path, int]
) -> None:
    from selenium.webdriver.common.by import By

    base, _, hostile = desk_server
    log_in(browser, base, "小李")
    requests_made(browser)  # forget the login's requests
    browser.get(f"{base}/queue/{PERIOD}/{hostile}")
    images_loaded(browser)
    time.sleep(1)  # give any script that slipped through time to act
    screenshot(browser, "12-恶意附件")
    assert browser.title != "PWNED" and "PWNED" not in browser.title
    assert browser.execute_script("return document.querySelectorAll('script').length") == 1
    assert browser.find_elements(By.CSS_SELECTOR, "#attachment-0 pre")  # HTML: as source
    assert browser.find_elements(By.CSS_SELECTOR, "#attachment-1 pre")  # SVG: as source
    pdf_page = browser.find_element(By.CSS_SELECTOR, "#attachment-2 img")
    assert pdf_page.get_attribute("src").endswith(f"/messages/{hostile}/attachments/2/1.png")
    urls = requests_made(browser)
    assert urls, "the performance log recorded nothing"
    assert all(u.startswith(base) for u in urls), urls
    assert not [u for u in urls if "beacon" in u], urls
