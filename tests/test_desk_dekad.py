"""The clerk's and the leader's whole dekad in a real browser (Debian's chromium through
chromium-driver), at 1366×768 and at 390×844, against a real `xunbao desk` process and a
real SMTP server (aiosmtpd):

the clerk clears a queue that holds each check the CLI overrides with its force flag — a
report sent for another unit, a figure over 3× the target, a running total below last
dekad's that would also replace this dekad's report — confirming each with a note; sends
one report back (the unit's notice arrives); records a figure by phone and withdraws it.
The leader sees only 签发, signs with the SMTP server down (the page says not sent), then
completes the sending once it is up. No page scrolls sideways; every step is screenshotted
to out/desk-screenshots/ to be looked at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SMTP_PASSWORD
from desk_support import (
    MABIAN,
    PASSWORDS,
    PERIOD,
    XUNBAO,
    copy_sample,
    ingest_mail,
    require_sign_off,
)
from messages import to_mailbox
from ruamel.yaml import YAML
from test_delivery import RECIPIENTS, delivery_section
from test_desk_browser import FLAGS, SHOTS, _free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("chromium") and shutil.which("chromedriver")),
        reason="chromium and chromium-driver are not installed (scripts/setup.sh --dev)",
    ),
]
ON_BEHALF = 26  # 沐川县's address sends 峨边县's form (200); 峨边县 already counted 180
NO_FORM = 15  # 市中区's reply to a receipt, with no form: sent back
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


def report_mail(sender: str, unit: str, figure: int, message_id: str) -> bytes:
    body = f"报送单位：{unit}\n已完成目标任务数（新增 {figure} 名农民工入会）"
    return bytes(
        to_mailbox(sender, f"{unit}旬报表", "Sat, 19 Sep 2015 12:00:00 +0800", message_id, body)
    )


@pytest.fixture(params=list(SIZES))
def dekad(
    request: Any, desk_sample: Path, tmp_path: Path, smtp: Any, certificate: tuple[Path, Path]
) -> Iterator[dict[str, Any]]:
    """A desk process on its own workspace, sign-off required, sending through an SMTP
    server the test starts and stops; two more held reports in the queue."""
    config = copy_sample(desk_sample, tmp_path / "ws")
    require_sign_off(config, "王科长")
    server = smtp()
    yaml = YAML()
    tree = yaml.load(config.read_text(encoding="utf-8"))
    tree["delivery"] = delivery_section(server.port, certificate[0]) | {
        "sign_off": "required",
        "signers": ["王科长"],
    }
    with config.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    big = ingest_mail(config, report_mail("gh@jiayang.com.cn", "嘉阳集团", 999, "<b@x>"), "<b@x>")
    low = ingest_mail(config, report_mail("szqzgh@163.com", "市中区", 1000, "<l@x>"), "<l@x>")
    port = _free_port()
    process = subprocess.Popen(
        [str(XUNBAO), "desk", "--port", str(port), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "XUNBAO_SMTP_PASSWORD": SMTP_PASSWORD},
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    width, height = SIZES[request.param]
    driver.set_window_size(width, height)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                __import__("socket").create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield {
            "base": f"http://127.0.0.1:{port}",
            "driver": driver,
            "size": request.param,
            "server": server,
            "big": big,
            "low": low,
        }
    finally:
        driver.quit()
        process.terminate()
        process.wait(timeout=20)


class Walk:
    """One person's walk through the desk: each page checked for sideways scroll and
    screenshotted at the window's size."""

    def __init__(self, dekad: dict[str, Any]) -> None:
        self.d = dekad["driver"]
        self.base = dekad["base"]
        self.size = dekad["size"]
        self.width, self.height = SIZES[self.size]
        self.step = 0

    def go(self, path: str) -> None:
        self.d.get(self.base + path)

    def shot(self, name: str) -> None:
        """Assert nothing scrolls sideways, then save the whole page as it is tall."""
        wide = self.d.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert wide <= 0, f"{name}: the page scrolls sideways by {wide} px"
        self.step += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        tall = self.d.execute_script(
            "return document.documentElement.scrollHeight + window.outerHeight"
            " - window.innerHeight"  # the window's own bars: the page shown whole
        )
        self.d.set_window_size(self.width, min(max(tall + 20, self.height), 6000))
        self.d.save_screenshot(str(SHOTS / f"dekad-{self.size}-{self.step:02d}-{name}.png"))
        self.d.set_window_size(self.width, self.height)

    def log_in(self, name: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.go("/login")
        self.d.find_element(By.NAME, "name").send_keys(name)
        self.d.find_element(By.NAME, "password").send_keys(PASSWORDS[name])
        self.d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        WebDriverWait(self.d, 20).until(lambda d: "/overview" in d.current_url)

    def log_out(self) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        # wait for it: a logout still on its way would end the next session
        self.d.find_element(By.XPATH, "//button[.='退出']").click()
        WebDriverWait(self.d, 20).until(lambda d: "/login" in d.current_url)

    def fill(self, form: Any, name: str, text: str) -> None:
        from selenium.webdriver.common.by import By

        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            from selenium.webdriver.support.ui import Select

            Select(field).select_by_visible_text(text)
            return
        field.clear()
        field.send_keys(text)

    def submit(self, form: Any, label: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        button = form.find_element(By.XPATH, f".//button[starts-with(., '{label}')]")
        before = self.d.find_element(By.TAG_NAME, "html")
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        WebDriverWait(self.d, 60).until(lambda d: _stale(before))

    def form(self, action_end: str, confirm: bool = False) -> Any:
        from selenium.webdriver.common.by import By

        css = f"form[action$='{action_end}']" + (".confirm" if confirm else ":not(.confirm)")
        return self.d.find_element(By.CSS_SELECTOR, css)

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.d.find_element(By.TAG_NAME, "body").text)


def _stale(element: Any) -> bool:
    try:
        element.is_enabled()
    except Exception:
        return True
    return False


def confirm(walk: Walk, number: int, expect: str, note: str, name: str) -> None:
    """The check's page: its reason and figures shown; 仍然计入 with a note."""
    assert expect in walk.text(), walk.text()
    walk.shot(name)
    box = walk.form(f"/{number}/approve", confirm=True)
    assert box.find_elements("css selector", "table.compared td")
    walk.fill(box, "note", note)
    walk.submit(box, "仍然计入")


def test_the_clerk_and_the_leader_do_the_whole_dekad(dekad: dict[str, Any]) -> None:
    walk = Walk(dekad)
    server = dekad["server"]
    server.start()
    walk.log_in("小李")
    walk.go(f"/overview?period={PERIOD}")
    assert "可以发送" not in walk.text()  # mail is held
    walk.shot("本旬概况")

    # 马边县 from a private address: approved as read
    walk.go(f"/queue/{PERIOD}/{MABIAN}")
    walk.shot("待审核-马边县")
    walk.submit(walk.form(f"/{MABIAN}/approve"), "通过并计入")
    # Back: the page comes again as it is now, decided, with no live form to send twice
    walk.d.back()
    assert "已处理：计入" in walk.text()
    assert not walk.d.find_elements("css selector", f"form[action$='/{MABIAN}/approve']")

    # 峨边县's form from 沐川县's address: 峨边县 has 180 counted → confirm replacing it
    walk.go(f"/queue/{PERIOD}/{ON_BEHALF}")
    approve = walk.form(f"/{ON_BEHALF}/approve")
    walk.fill(approve, "unit", "峨边县")
    walk.submit(approve, "通过并计入")
    confirm(walk, ON_BEHALF, "已有计入的报表", "峨边县委托沐川县代报，已电话核实", "确认-代报")

    # 嘉阳集团 999 against a target of 50
    big = dekad["big"]
    walk.go(f"/queue/{PERIOD}/{big}")
    walk.submit(walk.form(f"/{big}/approve"), "通过并计入")
    confirm(walk, big, "超过其目标任务数 50 的 3 倍", "已电话核实，含下属企业", "确认-超目标")

    # 市中区 1,000 below its 1,203 of last dekad, and replacing this dekad's 2,650
    low = dekad["low"]
    walk.go(f"/queue/{PERIOD}/{low}")
    walk.submit(walk.form(f"/{low}/approve"), "通过并计入")
    confirm(walk, low, "低于此前已确认的 1,203", "单位更正了上旬的重复统计", "确认-低于上旬")
    confirm(walk, low, "已有计入的报表", "单位更正了上旬的重复统计", "确认-替代本旬")

    # 市中区's reply with no form: sent back, and the unit's notice arrives
    walk.go(f"/queue/{PERIOD}/{NO_FORM}")
    back = walk.form(f"/{NO_FORM}/reject")
    walk.fill(back, "reason", "邮件中没有旬报表")
    walk.fill(back, "back_unit", "市中区")
    walk.fill(back, "resend", "本旬的旬报表（Excel）")
    walk.shot("退回修改")
    walk.submit(back, "驳回")
    assert "已退回 市中区，通知已发往 szqzgh@163.com" in walk.text()
    walk.shot("待审核-清空")
    notices = [m for r, m in server.received() if r == "szqzgh@163.com"]
    assert notices and "邮件中没有旬报表" in notices[-1].get_content()

    # a figure by phone, then withdrawn
    walk.go(f"/phone?period={PERIOD}")
    entry = walk.form("/phone")
    walk.fill(entry, "unit", "嘉华集团")
    walk.fill(entry, "value", "30")
    walk.fill(entry, "note", "电话报送，接听人：小李")
    walk.submit(entry, "录入")
    taken = walk.d.find_element("css selector", "form[action$='/withdraw']")
    walk.fill(taken, "reason", "单位来电：数字报错了")
    walk.submit(taken, "撤回")
    assert "已撤回，不计入" in walk.text() and "单位来电：数字报错了" in walk.text()
    walk.shot("电话录入-撤回")
    walk.go(f"/register?period={PERIOD}")
    assert "待重报" in walk.text()
    walk.shot("收件登记")
    walk.go(f"/overview?period={PERIOD}")
    assert "退回修改、待重报" in walk.text()
    walk.shot("本旬概况-审核后")
    walk.log_out()

    # the leader: only 签发 is offered; signed with the SMTP server down
    server.stop()
    walk.log_in("王科长")
    walk.go(f"/circular?period={PERIOD}")
    buttons = [b.text for b in walk.d.find_elements("css selector", ".actions button")]
    assert buttons == ["签发（王科长）"], (buttons, walk.text()[:600])
    walk.shot("通报-待签发")
    walk.submit(walk.form("/sign"), "签发")
    said = walk.text()
    assert "已签发；发送失败" in said and "已发出（第 1 版）" not in said
    walk.shot("通报-签发-未发出")
    server.start()
    buttons = [b.text for b in walk.d.find_elements("css selector", ".actions button")]
    assert buttons == ["补发给未收到的收件人"], buttons
    walk.submit(walk.form("/send"), "补发")
    said = walk.text()
    assert "通报已发送给 2 位收件人" in said and "不重复发送" not in said
    walk.shot("通报-已送达")
    circulars = [r for r, m in server.received() if "通报" in str(m["Subject"])]
    assert sorted(circulars) == sorted(RECIPIENTS)
    # the pages not walked above: none scrolls sideways either
    for path, name in (
        ("/units", "单位"),
        ("/units/市中区", "单位-市中区"),
        (f"/messages/{NO_FORM}", "邮件详情-退回"),
        ("/settings", "配置"),
    ):
        walk.go(path)
        walk.shot(name)
